// gemmlowp / TFLite fixed-point functions against hand-computed vectors of
// TFLite's documented behaviour, and against exact rational rounding.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "bitnpu/sim/datapath/gemmlowp.hpp"
#include "test_datapath_reference.hpp"

namespace g = bitnpu::sim::gemmlowp;
using bitnpu::arch::RoundingMode;
using bitnpu::test::i128;
using bitnpu::test::reference_round_shift;

namespace {
constexpr std::int32_t kMin = std::numeric_limits<std::int32_t>::min();
constexpr std::int32_t kMax = std::numeric_limits<std::int32_t>::max();
}  // namespace

TEST_CASE("SaturatingRoundingDoublingHighMul: known vectors", "[datapath][gemmlowp]") {
    CHECK(g::SaturatingRoundingDoublingHighMul(kMin, kMin) == kMax);  // the one overflow
    CHECK(g::SaturatingRoundingDoublingHighMul(kMin, kMax) == -2147483647);  // exact
    CHECK(g::SaturatingRoundingDoublingHighMul(kMax, kMax) == 2147483646);   // 2^31 - 2 + 2^-31
    CHECK(g::SaturatingRoundingDoublingHighMul(kMin, 1 << 30) == -(1 << 30));
    CHECK(g::SaturatingRoundingDoublingHighMul(1 << 30, 1 << 30) == 1 << 29);
    // x * 2^30 * 2 / 2^32 = x / 2: ties go toward +infinity (the nudge).
    CHECK(g::SaturatingRoundingDoublingHighMul(5, 1 << 30) == 3);    // 2.5
    CHECK(g::SaturatingRoundingDoublingHighMul(-5, 1 << 30) == -2);  // -2.5
    CHECK(g::SaturatingRoundingDoublingHighMul(-7, 1 << 30) == -3);  // -3.5
    CHECK(g::SaturatingRoundingDoublingHighMul(7, 1 << 30) == 4);    // 3.5
    CHECK(g::SaturatingRoundingDoublingHighMul(0, kMin) == 0);
}

TEST_CASE("SaturatingRoundingDoublingHighMul = round-half-up(2ab / 2^32) except the overflow",
          "[datapath][gemmlowp]") {
    std::mt19937_64 rng(21);
    std::size_t bad = 0;
    for (int i = 0; i < 200000; ++i) {
        const auto a = std::int32_t(std::uint32_t(rng())), b = std::int32_t(std::uint32_t(rng() >> 7));
        const std::int32_t a_small = std::int32_t(bitnpu::test::random_signed(rng, 32));
        for (std::int32_t x : {a, a_small}) {
            if (x == kMin && b == kMin) continue;
            const i128 expected = reference_round_shift(i128(2) * x * b, 32, RoundingMode::half_up);
            if (g::SaturatingRoundingDoublingHighMul(x, b) != expected) ++bad;
        }
    }
    CHECK(bad == 0);
}

TEST_CASE("RoundingDivideByPOT: ties away from zero", "[datapath][gemmlowp]") {
    CHECK(g::RoundingDivideByPOT(5, 1) == 3);
    CHECK(g::RoundingDivideByPOT(-5, 1) == -3);
    CHECK(g::RoundingDivideByPOT(4, 1) == 2);
    CHECK(g::RoundingDivideByPOT(-4, 1) == -2);
    CHECK(g::RoundingDivideByPOT(3, 1) == 2);
    CHECK(g::RoundingDivideByPOT(-3, 1) == -2);
    CHECK(g::RoundingDivideByPOT(-1, 1) == -1);
    CHECK(g::RoundingDivideByPOT(1, 1) == 1);
    CHECK(g::RoundingDivideByPOT(12, 3) == 2);    // 1.5
    CHECK(g::RoundingDivideByPOT(-12, 3) == -2);  // -1.5
    CHECK(g::RoundingDivideByPOT(11, 3) == 1);    // 1.375
    CHECK(g::RoundingDivideByPOT(123, 0) == 123);
    CHECK(g::RoundingDivideByPOT(kMin, 31) == -1);
    CHECK(g::RoundingDivideByPOT(kMax, 31) == 1);
    CHECK(g::RoundingDivideByPOT(1 << 30, 31) == 1);     // 0.5
    CHECK(g::RoundingDivideByPOT(-(1 << 30), 31) == -1);  // -0.5
    CHECK(g::RoundingDivideByPOT((1 << 30) - 1, 31) == 0);

    std::mt19937_64 rng(22);
    std::size_t bad = 0;
    for (int i = 0; i < 200000; ++i) {
        const auto x = std::int32_t(std::uint32_t(rng()));
        const int e = int(rng() % 32);
        if (g::RoundingDivideByPOT(x, e) != reference_round_shift(x, e, RoundingMode::half_away)) ++bad;
    }
    CHECK(bad == 0);
}

TEST_CASE("MultiplyByQuantizedMultiplier: double rounding / left shifts", "[datapath][gemmlowp]") {
    const std::int32_t half = 1 << 30;  // 0.5 in Q31
    CHECK(g::MultiplyByQuantizedMultiplier(100, half, 0) == 50);
    CHECK(g::MultiplyByQuantizedMultiplier(101, half, 0) == 51);    // 50.5
    CHECK(g::MultiplyByQuantizedMultiplier(-101, half, 0) == -50);  // -50.5: SRDHM ties up
    CHECK(g::MultiplyByQuantizedMultiplier(100, half, -1) == 25);
    CHECK(g::MultiplyByQuantizedMultiplier(102, half, -2) == 13);  // 51 / 4 = 12.75
    // m = 0.25, x = 5: exact 1.25, but SRDHM gives 3 (2.5 up) and 3/2 rounds to 2.
    CHECK(g::MultiplyByQuantizedMultiplier(5, half, -1) == 2);
    CHECK(g::MultiplyByQuantizedMultiplier(3, half, 2) == 6);  // 3 * 4 * 0.5
    // x * 2^shift wraps in 32 bits as compiled TFLite does: 2^30 * 4 = 2^32 -> 0.
    CHECK(g::MultiplyByQuantizedMultiplier(1 << 30, half, 2) == 0);
    CHECK(g::MultiplyByQuantizedMultiplier(kMax, kMax, 0) == 2147483646);
}

TEST_CASE("QuantizeMultiplier: TFLite's decomposition", "[datapath][gemmlowp]") {
    struct Case {
        double m;
        std::int32_t q;
        int shift;
    };
    const Case cases[] = {
        {0.5, 1 << 30, 0},
        {1.0, 1 << 30, 1},
        {0.25, 1 << 30, -1},
        {0.75, 1610612736, 0},           // 0.75 * 2^31
        {0.3, 1288490189, -1},           // 0.6 * 2^31 = 1288490188.8
        {std::ldexp(1.0, -32), 1 << 30, -31},
        {std::ldexp(1.0, -33), 0, 0},    // shift -32 < -31: flushed to zero
        {1.0 - std::ldexp(1.0, -40), 1 << 30, 1},  // rounds to 2^31: renormalized
        {0.0, 0, 0},
        {3.0, 1610612736, 2},
        {-0.5, -(1 << 30), 0},
    };
    for (const Case& c : cases) {
        std::int32_t q = -1;
        int shift = -100;
        g::QuantizeMultiplier(c.m, &q, &shift);
        INFO("m = " << c.m);
        CHECK(q == c.q);
        CHECK(shift == c.shift);
    }
    std::int32_t q = 0;
    int shift = 0;
    CHECK_THROWS_AS(g::QuantizeMultiplier(std::nan(""), &q, &shift), std::domain_error);
}
