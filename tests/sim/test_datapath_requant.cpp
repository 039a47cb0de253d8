// The four requant units and derive_requant (numerics.md "Requantization units",
// numerics.md "Deriving registers").
#include <catch2/catch.hpp>

#include <cfenv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>

#include "bitnpu/sim/datapath/requant.hpp"
#include "test_datapath_reference.hpp"

using bitnpu::arch::RequantKind;
using bitnpu::arch::RequantSpec;
using bitnpu::arch::RoundingMode;
using bitnpu::test::i128;
using bitnpu::test::kAllModes;
namespace sim = bitnpu::sim;

namespace {

RequantSpec spec_of(RequantKind kind, int multiplier_bits, int shift_bits, bool left = false) {
    RequantSpec s;
    s.kind = kind;
    s.multiplier_bits = multiplier_bits;
    s.shift_bits = shift_bits;
    s.allow_left_shift = left;
    s.rounding = RoundingMode::half_up;
    return s;
}

sim::RequantRegisters regs(RequantKind kind, RoundingMode mode, std::int64_t m, int shift, int dst_bits = 32) {
    sim::RequantRegisters r;
    r.kind = kind;
    r.rounding = mode;
    r.multiplier = m;
    r.shift = shift;
    r.dst_bits = dst_bits;
    return r;
}

// round(m * 2^sh) with the C library's nearbyint in round-to-nearest-even.
double nearest_even_scaled(double m, int sh) {
    std::fesetround(FE_TONEAREST);
    return std::nearbyint(std::ldexp(m, sh));
}

}  // namespace

TEST_CASE("shifter and multiplier requant match the exact rational rounding", "[datapath][requant]") {
    std::mt19937_64 rng(31);
    std::size_t bad = 0;
    for (int i = 0; i < 200000; ++i) {
        const std::int64_t acc = std::int64_t(bitnpu::test::random_signed(rng, 64));
        const RoundingMode mode = kAllModes[i % 5];
        const int sh = int(rng() % 64);
        const std::int64_t m = std::int64_t(rng() % (std::uint64_t(1) << (1 + rng() % 32)));
        if (sim::requantize(acc, regs(RequantKind::shifter, mode, 1, sh)) !=
            bitnpu::test::reference_round_shift(acc, sh, mode))
            ++bad;
        const i128 expected = bitnpu::test::reference_saturate(
            bitnpu::test::reference_round_shift(i128(acc) * m, sh, mode), 64);
        if (sim::requantize(acc, regs(RequantKind::multiplier, mode, m, sh)) != expected) ++bad;
    }
    CHECK(bad == 0);
    // Hand examples: 1000 * 181 / 2^10 = 176.757...
    CHECK(sim::requantize(1000, regs(RequantKind::multiplier, RoundingMode::floor, 181, 10)) == 176);
    CHECK(sim::requantize(1000, regs(RequantKind::multiplier, RoundingMode::half_up, 181, 10)) == 177);
    CHECK(sim::requantize(-1000, regs(RequantKind::multiplier, RoundingMode::trunc, 181, 10)) == -176);
    CHECK(sim::requantize(-1000, regs(RequantKind::multiplier, RoundingMode::floor, 181, 10)) == -177);
    // 3 * 3 / 2 = 4.5: ties differ by mode.
    CHECK(sim::requantize(3, regs(RequantKind::multiplier, RoundingMode::half_even, 3, 1)) == 4);
    CHECK(sim::requantize(-3, regs(RequantKind::multiplier, RoundingMode::half_up, 3, 1)) == -4);
    CHECK(sim::requantize(-3, regs(RequantKind::multiplier, RoundingMode::half_away, 3, 1)) == -5);
    // Left shift saturates to the accumulator width.
    CHECK(sim::requantize(100, regs(RequantKind::shifter, RoundingMode::floor, 1, -2, 16)) == 400);
    CHECK(sim::requantize(10000, regs(RequantKind::shifter, RoundingMode::floor, 1, -2, 16)) == 32767);
    // Large products saturate to int64 instead of wrapping.
    CHECK(sim::requantize(INT64_MAX, regs(RequantKind::multiplier, RoundingMode::floor, 65535, 0)) == INT64_MAX);
}

TEST_CASE("gemmlowp requant saturates a wide accumulator to int32 first", "[datapath][requant]") {
    const std::int32_t half = 1 << 30;
    CHECK(sim::requantize(101, regs(RequantKind::gemmlowp, RoundingMode::floor, half, 0)) == 51);
    CHECK(sim::requantize(5, regs(RequantKind::gemmlowp, RoundingMode::floor, half, -1)) == 2);
    // 2^40 -> INT32_MAX = 2^31 - 1; times 0.5 = 2^30 - 0.5 -> 2^30 (tie up).
    CHECK(sim::requantize(std::int64_t(1) << 40, regs(RequantKind::gemmlowp, RoundingMode::floor, half, 0)) ==
          1073741824);
    CHECK(sim::requantize(-(std::int64_t(1) << 40), regs(RequantKind::gemmlowp, RoundingMode::floor, half, 0)) ==
          -1073741824);
}

TEST_CASE("float32 requant equals explicit fp32 arithmetic with nearbyint", "[datapath][requant]") {
    std::fesetround(FE_TONEAREST);
    std::mt19937_64 rng(41);
    std::uniform_real_distribution<float> log_scale(-20.0f, 2.0f);
    std::size_t bad = 0;
    for (int i = 0; i < 200000; ++i) {
        const std::int64_t acc = std::int64_t(bitnpu::test::random_signed(rng, 32));
        const float scale = std::exp2(log_scale(rng));
        sim::RequantRegisters r;
        r.kind = RequantKind::float32;
        r.float_scale = scale;
        volatile float product = static_cast<float>(acc) * scale;
        const auto expected = static_cast<std::int64_t>(std::nearbyint(product));
        if (sim::requantize(acc, r) != expected) ++bad;
    }
    CHECK(bad == 0);
    sim::RequantRegisters r;
    r.kind = RequantKind::float32;
    r.float_scale = 0.5f;
    CHECK(sim::requantize(5, r) == 2);    // 2.5 -> even
    CHECK(sim::requantize(7, r) == 4);    // 3.5 -> even
    CHECK(sim::requantize(-5, r) == -2);
    r.float_scale = 1.0f;
    CHECK(sim::requantize(16777217, r) == 16777216);  // fp32(2^24 + 1) = 2^24: the product is fp32
    r.float_scale = 3.0f;
    CHECK(sim::requantize(std::int64_t(1) << 62, r) == INT64_MAX);  // saturates
}

TEST_CASE("add_zero_point_and_clamp", "[datapath][requant]") {
    CHECK(sim::add_zero_point_and_clamp(10, 5, -128, 127) == 15);
    CHECK(sim::add_zero_point_and_clamp(200, 5, -128, 127) == 127);
    CHECK(sim::add_zero_point_and_clamp(-10, 3, 3, 127) == 3);  // ReLU: lo = z_y
    CHECK(sim::add_zero_point_and_clamp(INT64_MAX, 100, 0, 255) == 255);
}

TEST_CASE("derive_requant multiplier: largest shift / M fits / relative error bound", "[datapath][requant]") {
    std::mt19937_64 rng(51);
    std::uniform_real_distribution<double> log_m(-24.0, 6.0);
    std::size_t bad = 0;
    for (int mb : {8, 12, 16, 24, 31, 32}) {
        for (int sb : {4, 5, 6}) {
            const RequantSpec spec = spec_of(RequantKind::multiplier, mb, sb);
            const int max_sh = (1 << sb) - 1;
            for (int i = 0; i < 2000; ++i) {
                const double m = std::exp2(log_m(rng));
                const double limit = std::ldexp(1.0, mb);
                if (nearest_even_scaled(m, 0) >= limit) {
                    CHECK_THROWS_AS(sim::derive_requant(m, spec, 32), std::domain_error);
                    continue;
                }
                const sim::DerivedRequant d = sim::derive_requant(m, spec, 32);
                const auto& r = d.registers;
                bool ok = r.kind == RequantKind::multiplier && r.shift >= 0 && r.shift <= max_sh &&
                          r.multiplier >= 0 && double(r.multiplier) < limit &&
                          double(r.multiplier) == nearest_even_scaled(m, r.shift) &&
                          d.realized == std::ldexp(double(r.multiplier), -r.shift);
                if (r.shift < max_sh) {
                    // Not clamped: one more shift would overflow M, and the error is bounded.
                    ok = ok && nearest_even_scaled(m, r.shift + 1) >= limit;
                    ok = ok && std::fabs(d.realized - m) / m <= std::ldexp(1.0, -(mb - 1));
                    ok = ok && r.multiplier >= (std::int64_t(1) << (mb - 1));
                }
                if (!ok) ++bad;
            }
        }
    }
    CHECK(bad == 0);
    // Hand examples, 16-bit M, 5-bit shift (0..31).
    const RequantSpec s16 = spec_of(RequantKind::multiplier, 16, 5);
    auto d = sim::derive_requant(0.5, s16, 32);
    CHECK(d.registers.multiplier == 32768);  // 2^15 * 2^-16
    CHECK(d.registers.shift == 16);
    d = sim::derive_requant(65535.4, s16, 32);
    CHECK(d.registers.multiplier == 65535);
    CHECK(d.registers.shift == 0);
    CHECK_THROWS_AS(sim::derive_requant(65535.6, s16, 32), std::domain_error);  // rounds to 2^16
    d = sim::derive_requant(std::ldexp(1.0, -20), s16, 32);  // clamped at 31: M = 2^11
    CHECK(d.registers.shift == 31);
    CHECK(d.registers.multiplier == 2048);
    d = sim::derive_requant(std::ldexp(1.0, -40), s16, 32);  // too small: M = 0
    CHECK(d.registers.multiplier == 0);
    CHECK(d.realized == 0.0);
    // The carry case: m just below 2^-3 gives m * 2^19 = 65535.99993, which
    // rounds to 2^16 and does not fit; one shift less gives 32767.99997 -> 32768.
    d = sim::derive_requant(std::ldexp(1.0 - 1e-9, -3), s16, 32);
    CHECK(d.registers.multiplier == 32768);
    CHECK(d.registers.shift == 18);
}

TEST_CASE("derive_requant shifter: nearest power of two in the log domain", "[datapath][requant]") {
    const RequantSpec s = spec_of(RequantKind::shifter, 0, 4);  // shifts 0..15
    CHECK(sim::derive_requant(0.25, s, 24).registers.shift == 2);
    CHECK(sim::derive_requant(0.3, s, 24).registers.shift == 2);   // log2 = -1.74
    CHECK(sim::derive_requant(0.36, s, 24).registers.shift == 1);  // log2 = -1.47
    CHECK(sim::derive_requant(1.0, s, 24).registers.shift == 0);
    CHECK(sim::derive_requant(1.4, s, 24).registers.shift == 0);   // log2 = 0.49
    CHECK_THROWS_AS(sim::derive_requant(1.5, s, 24), std::domain_error);  // needs a left shift
    auto d = sim::derive_requant(std::ldexp(1.0, -40), s, 24);  // clamped to 15
    CHECK(d.registers.shift == 15);
    CHECK(d.realized == std::ldexp(1.0, -15));
    const RequantSpec left = spec_of(RequantKind::shifter, 0, 4, true);
    d = sim::derive_requant(4.0, left, 24);
    CHECK(d.registers.shift == -2);
    CHECK(d.realized == 4.0);
    CHECK(d.registers.dst_bits == 24);
    CHECK_THROWS_AS(sim::derive_requant(std::ldexp(1.0, 16), left, 24), std::domain_error);  // -16 < -15

    // Around the log-domain midpoint 2^-1.5: decided exactly. With m = f * 2^e,
    // f = F / 2^53, the larger power wins iff f^2 >= 1/2 iff F^2 >= 2^105.
    const double mid = std::exp2(-1.5);
    for (double m = std::nextafter(mid, 0.0), i = 0; i < 20; ++i, m = std::nextafter(m, 1.0)) {
        int e = 0;
        const double f = std::frexp(m, &e);
        const auto F = static_cast<unsigned __int128>(std::ldexp(f, 53));
        const bool larger = F * F >= (static_cast<unsigned __int128>(1) << 105);
        CHECK(sim::derive_requant(m, s, 24).registers.shift == (larger ? -e : 1 - e));
    }
    // Random m: |log2(m) - log2(m')| <= 1/2.
    std::mt19937_64 rng(61);
    std::uniform_real_distribution<double> log_m(-15.0, 0.0);
    std::size_t bad = 0;
    for (int i = 0; i < 20000; ++i) {
        const double m = std::exp2(log_m(rng));
        const auto d2 = sim::derive_requant(m, s, 24);
        if (std::fabs(std::log2(m) + d2.registers.shift) > 0.5 + 1e-12) ++bad;
        if (d2.realized != std::ldexp(1.0, -d2.registers.shift)) ++bad;
    }
    CHECK(bad == 0);
}

TEST_CASE("derive_requant gemmlowp and float32", "[datapath][requant]") {
    const RequantSpec g = spec_of(RequantKind::gemmlowp, 32, 5);
    auto d = sim::derive_requant(0.5, g, 32);
    CHECK(d.registers.multiplier == (1 << 30));
    CHECK(d.registers.shift == 0);
    CHECK(d.realized == 0.5);
    d = sim::derive_requant(0.3, g, 32);
    CHECK(d.registers.multiplier == 1288490189);
    CHECK(d.registers.shift == -1);
    CHECK(d.realized == 1288490189.0 / 4294967296.0);
    d = sim::derive_requant(std::ldexp(1.0, -40), g, 32);
    CHECK(d.registers.multiplier == 0);
    CHECK(d.realized == 0.0);
    CHECK_THROWS_AS(sim::derive_requant(std::ldexp(1.0, 31), g, 32), std::domain_error);
    CHECK_THROWS_AS(sim::derive_requant(std::ldexp(1.0, 30), g, 32), std::domain_error);  // TFLite shift 31 > 30
    CHECK(sim::derive_requant(std::ldexp(1.0, 29), g, 32).registers.shift == 30);

    const RequantSpec f = spec_of(RequantKind::float32, 0, 0);
    d = sim::derive_requant(0.1, f, 32);
    CHECK(d.registers.float_scale == 0.1f);
    CHECK(d.realized == double(0.1f));
    CHECK_THROWS_AS(sim::derive_requant(1e300, f, 32), std::domain_error);
}

TEST_CASE("derive_requant rejects m <= 0 / NaN / inf for every kind", "[datapath][requant]") {
    for (RequantKind kind : {RequantKind::shifter, RequantKind::multiplier, RequantKind::gemmlowp, RequantKind::float32}) {
        const RequantSpec s = spec_of(kind, 16, 5);
        for (double m : {0.0, -0.5, std::nan(""), std::numeric_limits<double>::infinity()}) {
            CHECK_THROWS_AS(sim::derive_requant(m, s, 32), std::domain_error);
        }
        CHECK_THROWS_AS(sim::derive_requant(0.5, s, 1), std::domain_error);
        CHECK_THROWS_AS(sim::derive_requant(0.5, s, 65), std::domain_error);
    }
}
