// Scale, zero-point and multiplier derivation (scale.hpp), checked against
// the formulas of numerics.md "Quantization of real values" written out here.
#include <catch2/catch.hpp>

#include <cmath>

#include "bitnpu/quant/scale.hpp"
#include "bitnpu/quant/statistics.hpp"
#include "bitnpu/errors.hpp"

using namespace bitnpu;
using namespace bitnpu::calib;
using arch::ValueType;

namespace {

const ScaleOptions kSym{ScaleMode::symmetric, false};
const ScaleOptions kAsym{ScaleMode::asymmetric, false};
const ScaleOptions kSymPow2{ScaleMode::symmetric, true};
const ScaleOptions kAsymPow2{ScaleMode::asymmetric, true};

arch::EngineSpec mac_engine(arch::RequantKind kind, bool per_channel) {
    arch::EngineSpec e;
    e.name = "mac";
    e.accumulator.bits = 32;
    e.requant.kind = kind;
    e.requant.multiplier_bits = 16;
    e.requant.shift_bits = 5;
    e.requant.per_channel = per_channel;
    e.requant.allow_left_shift = true;
    return e;
}

}  // namespace

TEST_CASE("scale: grids of the value types", "[scale]") {
    CHECK(grid_for(ValueType::int8, false).qmin == -128);
    CHECK(grid_for(ValueType::int8, true).qmin == -127);
    CHECK(grid_for(ValueType::uint8, false).qmax == 255);
    CHECK(grid_for(ValueType::int4, false).qmax == 7);
    CHECK(grid_for(ValueType::int1, false).binary);
    CHECK(grid_for(ValueType::int1, false).levels() == 2);
}

TEST_CASE("scale: symmetric scales use qmax", "[scale]") {
    const AffineQuant q = derive_quant({-2.54, 1.0}, ValueType::int8, true, kSym);
    CHECK(q.scale == static_cast<float>(2.54 / 127));
    CHECK(q.zero_point == 0);
    CHECK(q.hi() == Approx(2.54));
    CHECK(q.lo() == Approx(-2.54));
    // Unrestricted int8 still divides by 127 (the -128 code is left unused).
    CHECK(derive_quant({-1.0, 1.27}, ValueType::int8, false, kSym).scale == static_cast<float>(1.27 / 127));
    // Unsigned: s = hi / 255.
    CHECK(derive_quant({0.0, 5.1}, ValueType::uint8, false, kSym).scale == static_cast<float>(5.1 / 255));
    CHECK(derive_quant({-3.0, 3.0}, ValueType::int4, false, kSym).scale == static_cast<float>(3.0 / 7));
}

TEST_CASE("scale: asymmetric ranges represent zero exactly", "[scale]") {
    // [-1, 3] on uint8: s = 4/255, z = round_half_even(0 + 1/s) = round(63.75) = 64.
    const AffineQuant q = derive_quant({-1.0, 3.0}, ValueType::uint8, false, kAsym);
    const float s = static_cast<float>(4.0 / 255);
    CHECK(q.scale == s);
    CHECK(q.zero_point == 64);
    CHECK(quantize_value(0.0, q) == q.zero_point);
    CHECK(fake_quantize(0.0, q) == 0.0);
    CHECK(q.lo() == Approx(-64.0 * s));
    CHECK(q.hi() == Approx(191.0 * s));

    // A range not containing 0 is widened to include it: [1, 3] -> [0, 3], z = qmin.
    const AffineQuant w = derive_quant({1.0, 3.0}, ValueType::int8, false, kAsym);
    CHECK(w.zero_point == -128);
    CHECK(w.scale == static_cast<float>(3.0 / 255));
    const AffineQuant neg = derive_quant({-3.0, -1.0}, ValueType::int8, false, kAsym);
    CHECK(neg.zero_point == 127);
    CHECK(fake_quantize(0.0, neg) == 0.0);

    // Many random ranges: zero always exact, z inside the grid.
    for (int i = 1; i < 200; ++i) {
        const double lo = -0.013 * i * i, hi = 0.7 * i + 0.01;
        const AffineQuant r = derive_quant({lo, hi}, ValueType::int8, false, kAsym);
        CHECK(r.zero_point >= -128);
        CHECK(r.zero_point <= 127);
        CHECK(fake_quantize(0.0, r) == 0.0);
    }
    // Ties round to even: [-0.5, 254.5] on uint8: s = 1, z = round(0.5) = 0.
    CHECK(derive_quant({-0.5, 254.5}, ValueType::uint8, false, kAsym).zero_point == 0);
    CHECK(derive_quant({-1.5, 253.5}, ValueType::uint8, false, kAsym).zero_point == 2);
}

TEST_CASE("scale: power-of-two scales cover the range", "[scale]") {
    const AffineQuant q = derive_quant({-2.54, 1.0}, ValueType::int8, true, kSymPow2);
    // 2.54 / 127 = 0.02 -> 2^ceil(log2 0.02) = 2^-5.
    CHECK(q.scale == 0.03125f);
    REQUIRE(q.exponent.has_value());
    CHECK(*q.exponent == 5);
    CHECK(q.hi() >= 2.54);
    // An exact power of two stays put.
    const AffineQuant e = derive_quant({-127.0 * 0.25, 0.0}, ValueType::int8, true, kSymPow2);
    CHECK(e.scale == 0.25f);
    CHECK(*e.exponent == 2);
    // Large scales give negative exponents.
    const AffineQuant big = derive_quant({-1000.0, 1000.0}, ValueType::int8, true, kSymPow2);
    CHECK(big.scale == 8.0f);
    CHECK(*big.exponent == -3);
    for (double t = 0.001; t < 1000.0; t *= 1.37) {
        const AffineQuant p = derive_quant({-t, t}, ValueType::int4, false, kSymPow2);
        CHECK(std::ldexp(1.0, -*p.exponent) == p.scale);
        CHECK(p.hi() >= t);
        CHECK(p.hi() < 2 * t + 1e-12);
    }
    const AffineQuant a = derive_quant({-1.0, 3.0}, ValueType::uint8, false, kAsymPow2);
    CHECK(a.scale == 0.03125f);  // 4/255 = 0.01569 > 2^-6 -> 2^-5
    CHECK(a.lo() <= -1.0);
    CHECK(a.hi() >= 3.0);
    CHECK(fake_quantize(0.0, a) == 0.0);
}

TEST_CASE("scale: degenerate ranges never give a zero or NaN scale", "[scale]") {
    for (const auto& opt : {kSym, kAsym, kSymPow2}) {
        const AffineQuant q = derive_quant({0.0, 0.0}, ValueType::int8, false, opt);
        CHECK(q.scale == kDegenerateScale);
        CHECK(std::isfinite(q.scale));
        CHECK(fake_quantize(0.0, q) == 0.0);
        CHECK(derive_quant({-1e-44, 1e-44}, ValueType::int8, false, opt).scale == kDegenerateScale);
    }
    CHECK_THROWS_AS(derive_quant({std::nan(""), 1.0}, ValueType::int8, false, kSym), std::invalid_argument);
}

TEST_CASE("scale: unsigned activations after ReLU", "[scale]") {
    CHECK(activation_type_for({0.0, 6.0}, ValueType::int8, true) == ValueType::uint8);
    CHECK(activation_type_for({-0.1, 6.0}, ValueType::int8, true) == ValueType::int8);
    CHECK(activation_type_for({0.0, 6.0}, ValueType::int8, false) == ValueType::int8);
    CHECK(activation_type_for({0.0, 6.0}, ValueType::int4, true) == ValueType::uint4);
    CHECK(activation_type_for({0.0, 6.0}, ValueType::int16, true) == ValueType::int16);
}

TEST_CASE("scale: weights per channel or per tensor, bias scales", "[scale]") {
    ChannelRanges r;
    r.axis = 0;
    r.min = {-1.27, -0.5, 0.0};
    r.max = {0.3, 2.54, 0.0};
    const QuantParams pc = weight_params(r, ValueType::int8, true, true, kSym);
    CHECK(pc.per_channel());
    REQUIRE(pc.scales.size() == 3);
    CHECK(pc.scales[0] == static_cast<float>(1.27 / 127));
    CHECK(pc.scales[1] == static_cast<float>(2.54 / 127));
    CHECK(pc.scales[2] == kDegenerateScale);  // an all-zero (pruned) channel
    CHECK(pc.zero_points == std::vector<std::int64_t>{0, 0, 0});
    const QuantParams pt = weight_params(r, ValueType::int8, true, false, kSym);
    CHECK_FALSE(pt.per_channel());
    CHECK(pt.scales == std::vector<float>{static_cast<float>(2.54 / 127)});

    const auto sb = bias_scales(pc, 0.05f);
    REQUIRE(sb.size() == 3);
    CHECK(sb[0] == pc.scales[0] * 0.05f);
    CHECK(sb[1] == pc.scales[1] * 0.05f);
}

TEST_CASE("scale: layer multipliers go through the datapath's derivation", "[scale]") {
    QuantParams w;
    w.scales = {0.01f, 0.002f};
    w.zero_points = {0, 0};
    w.axis = 0;
    const float sx = 0.05f, sy = 0.1f;

    const auto mult = derive_layer_requant(w, sx, sy, mac_engine(arch::RequantKind::multiplier, true), "conv1");
    REQUIRE(mult.size() == 2);
    for (std::size_t c = 0; c < 2; ++c) {
        const double m = static_cast<double>(w.scales[c]) * sx / sy;
        CHECK(mult[c].ideal == m);
        // 16-bit multiplier with the largest shift that fits: relative error <= 2^-15.
        CHECK(std::fabs(mult[c].derived.realized - m) <= m * std::ldexp(1.0, -15));
        const auto& reg = mult[c].derived.registers;
        CHECK(reg.multiplier < (1 << 16));
        CHECK(static_cast<double>(reg.multiplier) * std::ldexp(1.0, -reg.shift) == mult[c].derived.realized);
    }

    // float32 units: m in fp32 in ONNX Runtime's order (s_x * s_w) / s_y.
    const auto f32 = derive_layer_requant(w, sx, sy, mac_engine(arch::RequantKind::float32, true));
    CHECK(f32[1].ideal == static_cast<double>((sx * w.scales[1]) / sy));

    // Shifter engines with power-of-two scales realize m exactly.
    QuantParams w2;
    w2.scales = {0.0078125f};  // 2^-7
    w2.zero_points = {0};
    w2.exponents = {7};
    const auto sh = derive_layer_requant(w2, 0.0625f, 0.5f, mac_engine(arch::RequantKind::shifter, false));
    REQUIRE(sh.size() == 1);
    CHECK(sh[0].ideal == std::ldexp(1.0, -7 - 4 + 1));
    CHECK(sh[0].derived.realized == sh[0].ideal);
    CHECK(needs_power_of_two_scales(mac_engine(arch::RequantKind::shifter, false)));
    CHECK_FALSE(needs_power_of_two_scales(mac_engine(arch::RequantKind::multiplier, false)));

    // Per-channel weights need a per-channel requant unit.
    CHECK_THROWS_WITH(derive_layer_requant(w, sx, sy, mac_engine(arch::RequantKind::multiplier, false), "conv1"),
                      Catch::Matchers::Contains("conv1") && Catch::Matchers::Contains("per-tensor"));
}

TEST_CASE("scale: calibration_sqnr_db judges a grid on everything the statistics saw", "[scale]") {
    // 0.1 x 90, 0.2 x 9, 1.0 x 1: the one large value holds half the energy.
    std::vector<float> v(90, 0.1f);
    v.insert(v.end(), 9, 0.2f);
    v.push_back(1.0f);
    TensorStats stats;
    stats.observe(v.data(), v.size());
    const double ms = calibration_mean_square(stats);
    CHECK(ms == Approx((90 * 0.01 + 9 * 0.04 + 1.0) / 100).epsilon(0.02));   // bin centers
    QuantParams wide = sim::per_tensor(arch::ValueType::uint8, 1.0f / 255, 0);
    QuantParams clipping = sim::per_tensor(arch::ValueType::uint8, 0.25f / 255, 0);
    // The clipping grid loses 0.75 of the 1.0: noise ~0.56 against signal
    // ~2.26 gives about 6 dB; the wide grid only rounds (tens of dB).
    CHECK(calibration_sqnr_db(stats, clipping) == Approx(6.0).margin(0.5));
    CHECK(calibration_sqnr_db(stats, wide) > 30.0);
    TensorStats empty;
    CHECK(std::isinf(calibration_sqnr_db(empty, wide)));
}
