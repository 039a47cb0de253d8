// The fp32 vector unit (sim/datapath/fp32_vector.hpp, numerics.md "fp32
// vector units"): each rule on hand-computed values where the order of the
// fp32 roundings decides the result, and the functional Add/Mul layers equal
// their references with fp32 units, broadcast operands and swaps included.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "bitnpu/sim/datapath/fp32_vector.hpp"
#include "bitnpu/sim/functional/add_sub.hpp"
#include "bitnpu/sim/functional/mul.hpp"
#include "bitnpu/sim/reference/add_sub.hpp"
#include "bitnpu/sim/reference/mul.hpp"

using namespace bitnpu;
using namespace bitnpu::sim;

TEST_CASE("fp32_vector::add: ratios, offset and one fma chain, ties to even", "[datapath][fp32_vector]") {
    const fp32_vector::AddUnit u = fp32_vector::add_unit(0.1f, 0, 0.1f, 0, 0.2f, 0);
    CHECK(u.ratio_a == 0.1f / 0.2f);
    CHECK(fp32_vector::add(3, 2, u) == 2);    // 2.5 -> 2
    CHECK(fp32_vector::add(3, 4, u) == 4);    // 3.5 -> 4
    CHECK(fp32_vector::add(-3, -2, u) == -2);
    // Zero points fold into the offset: z_y - (r_a z_a + r_b z_b).
    const fp32_vector::AddUnit z = fp32_vector::add_unit(0.5f, 10, 0.25f, -4, 1.0f, 7);
    CHECK(z.offset == 7.0f - (0.5f * 10.0f + 0.25f * -4.0f));
    CHECK(fp32_vector::add(12, 0, z) == std::lround(7 + 0.5 * 2 + 0.25 * 4));
    // One rounding of a*r_a + inner: with r_a = fp32(1/3) the fma and a
    // separately rounded product can differ; the unit uses the fma.
    const float r = 1.0f / 3.0f;
    const fp32_vector::AddUnit third = fp32_vector::add_unit_from_ratios(r, 0, 0.0f, 0, 0);
    for (int a = -255; a <= 255; ++a) {
        const float exact = std::fma(static_cast<float>(a), r, 0.0f);
        CHECK(fp32_vector::add(a, 0, third) == round_half_even(static_cast<double>(exact)));
    }
}

TEST_CASE("fp32_vector::mul: the zero point is added in fp32 before the rounding", "[datapath][fp32_vector]") {
    CHECK(fp32_vector::mul_ratio(0.5f, 0.25f, 0.1f) == (0.5f * 0.25f) / 0.1f);
    CHECK(fp32_vector::mul(5, 0.5f, 0) == 2);   // 2.5 -> 2
    CHECK(fp32_vector::mul(5, 0.5f, 1) == 4);   // fp32(2.5 + 1) = 3.5 -> 4 (round-then-add would give 3)
    // A product whose fraction is lost when z_y is added in fp32:
    // 2^-22 + 2^23 rounds to 2^23 in fp32, so the rounding sees an integer.
    CHECK(fp32_vector::mul(1, std::ldexp(1.0f, -22), 8388608) == 8388608);
}

TEST_CASE("fp32_vector::average_scale: s_x / fp32(s_y * n)", "[datapath][fp32_vector]") {
    const float sx = 0.3f, sy = 0.7f;
    for (std::int64_t n : {1, 3, 49, 196, 12544}) {
        const float denominator = sy * static_cast<float>(n);
        CHECK(fp32_vector::average_scale(sx, sy, n) == sx / denominator);
    }
}

TEST_CASE("fp32 Add and Mul layers equal their references, broadcast and swapped operands included",
          "[datapath][fp32_vector][reference]") {
    std::mt19937 rng(12);
    std::uniform_int_distribution<int> u8(0, 255);
    std::uniform_real_distribution<float> scale(0.01f, 0.5f);
    for (int trial = 0; trial < 50; ++trial) {
        const Shape full{2, 3, 4, 5};
        const Shape channel{1, 3, 1, 1};
        const bool a_broadcast = trial % 3 == 1, b_broadcast = trial % 3 == 2;
        QTensor a(a_broadcast ? channel : full, per_tensor(arch::ValueType::uint8, 1.0f, 0));
        QTensor b(b_broadcast ? channel : full, per_tensor(arch::ValueType::uint8, 1.0f, 0));
        for (auto& v : a.values) v = u8(rng);
        for (auto& v : b.values) v = u8(rng);
        const float sa = scale(rng), sb = scale(rng), sy = scale(rng);
        const std::int64_t za = u8(rng), zb = u8(rng), zy = u8(rng);

        AddLayer add;
        add.fp32_swapped = a_broadcast;
        add.fp32 = a_broadcast ? fp32_vector::add_unit(sb, zb, sa, za, sy, zy) : fp32_vector::add_unit(sa, za, sb, zb, sy, zy);
        add.output_type = arch::ValueType::uint8;
        add.output_zero_point = zy;
        add.clamp_lo = 0;
        add.clamp_hi = 255;
        CHECK(run_add_layer(add, a, b).values == reference::add(add, a, b).values);

        MulLayer mul;
        mul.a_zero_point = za;
        mul.b_zero_point = zb;
        mul.accumulator = {32, arch::Overflow::wrap};
        mul.requant = {arch::RequantKind::float32, arch::RoundingMode::half_even, 1, 0,
                       fp32_vector::mul_ratio(sa, sb, sy), 32};
        mul.output_type = arch::ValueType::uint8;
        mul.output_zero_point = zy;
        mul.clamp_lo = 0;
        mul.clamp_hi = 255;
        const QTensor fast = run_mul_layer(mul, a, b);
        CHECK(fast.values == reference::mul(mul, a, b).values);
        // And each element is the rule itself.
        if (!a_broadcast && !b_broadcast)
            for (std::size_t i = 0; i < fast.values.size(); ++i)
                CHECK(fast.values[i] == std::clamp<std::int64_t>(
                                            fp32_vector::mul((a.values[i] - za) * (b.values[i] - zb), mul.requant.float_scale, zy), 0, 255));
    }
}
