// Lookup tables, quantize / dequantize and round_half_even(double).
#include <catch2/catch.hpp>

#include <cfenv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>

#include "bitnpu/sim/datapath/lut.hpp"
#include "bitnpu/sim/datapath/quantize.hpp"

using bitnpu::arch::ValueType;
namespace sim = bitnpu::sim;

TEST_CASE("round_half_even(double)", "[datapath][quantize]") {
    CHECK(sim::round_half_even(0.5) == 0);
    CHECK(sim::round_half_even(1.5) == 2);
    CHECK(sim::round_half_even(2.5) == 2);
    CHECK(sim::round_half_even(-0.5) == 0);
    CHECK(sim::round_half_even(-1.5) == -2);
    CHECK(sim::round_half_even(-2.5) == -2);
    CHECK(sim::round_half_even(0.49999999999999994) == 0);  // x + 0.5 would round up to 1
    CHECK(sim::round_half_even(-2.4) == -2);
    CHECK(sim::round_half_even(2.6) == 3);
    CHECK(sim::round_half_even(4503599627370497.0) == 4503599627370497);  // 2^52 + 1
    CHECK(sim::round_half_even(9223372036854775808.0) == INT64_MAX);     // 2^63
    CHECK(sim::round_half_even(-9223372036854775808.0) == INT64_MIN);
    CHECK(sim::round_half_even(-1e300) == INT64_MIN);
    CHECK(sim::round_half_even(std::numeric_limits<double>::infinity()) == INT64_MAX);
    CHECK(sim::round_half_even(std::nan("")) == 0);
    // Independent of the floating-point rounding mode.
    std::fesetround(FE_UPWARD);
    const std::int64_t up = sim::round_half_even(2.5) + sim::round_half_even(-3.5) + sim::round_half_even(0.2);
    std::fesetround(FE_DOWNWARD);
    const std::int64_t down = sim::round_half_even(2.5) + sim::round_half_even(-3.5) + sim::round_half_even(0.8);
    std::fesetround(FE_TONEAREST);
    CHECK(up == 2 - 4 + 0);
    CHECK(down == 2 - 4 + 1);
}

TEST_CASE("quantize and dequantize", "[datapath][quantize]") {
    CHECK(sim::quantize(0.5f, 1.0f, 0, -128, 127) == 0);
    CHECK(sim::quantize(1.5f, 1.0f, 0, -128, 127) == 2);
    CHECK(sim::quantize(2.5f, 1.0f, 0, -128, 127) == 2);
    CHECK(sim::quantize(-2.5f, 1.0f, 0, -128, 127) == -2);
    CHECK(sim::quantize(300.0f, 1.0f, 0, -128, 127) == 127);
    CHECK(sim::quantize(-300.0f, 1.0f, 0, -128, 127) == -128);
    CHECK(sim::quantize(0.3f, 0.1f, 10, 0, 255) == 13);
    CHECK(sim::quantize(-1.0f, 0.5f, 128, 0, 255) == 126);
    CHECK(sim::quantize(-1.0f, 0.5f, 128, 127, 255) == 127);  // narrowed range
    CHECK(sim::dequantize(3, 0.5f, 1) == 1.0f);
    CHECK(sim::dequantize(0, 0.25f, 128) == -32.0f);
    // Round trip on the grid.
    for (std::int64_t q = -128; q <= 127; ++q) CHECK(sim::quantize(sim::dequantize(q, 0.037f, 5), 0.037f, 5, -128, 127) == q);
}

TEST_CASE("round_half_even equals nearbyint (ties to even) on random doubles", "[datapath][quantize]") {
    // Independent reference: the FPU's round-to-nearest-even mode.
    REQUIRE(std::fegetround() == FE_TONEAREST);
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<double> mag(-60.0, 60.0);
    for (int i = 0; i < 200000; ++i) {
        double x = std::ldexp(1.0, static_cast<int>(mag(rng))) * (static_cast<double>(rng() % 2000000) / 1000000.0 - 1.0);
        if (i % 4 == 0) x = std::floor(x) + 0.5;   // ties
        if (std::fabs(x) >= 9.2e18) continue;
        INFO(x);
        REQUIRE(sim::round_half_even(x) == static_cast<std::int64_t>(std::nearbyint(x)));
        REQUIRE(sim::round_half_even_value(x) == std::nearbyint(x));
    }
}

TEST_CASE("fake_quantize equals dequantize(quantize(x))", "[datapath][quantize]") {
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> unit(-1.0, 1.0);
    const struct { std::int64_t qmin, qmax; } grids[] = {{-128, 127}, {-127, 127}, {0, 255}, {-8, 7}, {0, 15},
                                                         {-32768, 32767}, {-1, 1}};
    for (const auto& g : grids) {
        for (int i = 0; i < 20000; ++i) {
            const float scale = static_cast<float>(std::ldexp(1.0 + std::fabs(unit(rng)), static_cast<int>(unit(rng) * 20)));
            const std::int64_t zero = g.qmin < 0 ? 0 : static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(g.qmax + 1));
            const std::int64_t k = static_cast<std::int64_t>(rng() % 600) - 300;
            float x = static_cast<float>(unit(rng) * (g.qmax - g.qmin) * 1.5 * scale);
            if (i % 3 == 0) x = (static_cast<float>(k) + 0.5f) * scale;   // ties (when exact in fp32)
            if (i % 97 == 0) x = std::numeric_limits<float>::infinity() * (i % 2 ? 1.0f : -1.0f);
            if (i % 101 == 0) x = 3.0e38f;
            const float expected = sim::dequantize(sim::quantize(x, scale, zero, g.qmin, g.qmax), scale, zero);
            const float actual = sim::fake_quantize(x, scale, static_cast<double>(zero), static_cast<double>(g.qmin),
                                                    static_cast<double>(g.qmax));
            INFO("x " << x << " scale " << scale << " zero " << zero << " grid [" << g.qmin << ", " << g.qmax << "]");
            REQUIRE(actual == expected);
        }
    }
}

TEST_CASE("build_lut: sigmoid int8 -> uint8 spot values", "[datapath][lut]") {
    const sim::LutQuant in{1.0f / 16, 0, ValueType::int8};
    const sim::LutQuant out{1.0f / 256, 0, ValueType::uint8};
    const auto table = sim::build_lut([](double x) { return 1.0 / (1.0 + std::exp(-x)); }, in, out);
    REQUIRE(table.size() == 256);
    // sigmoid(q / 16) * 256, rounded by hand:
    CHECK(sim::lut_lookup(table, 0, -128) == 128);    // 128.0
    CHECK(sim::lut_lookup(table, 1, -128) == 132);    // 131.9987
    CHECK(sim::lut_lookup(table, 16, -128) == 187);   // 187.151
    CHECK(sim::lut_lookup(table, -16, -128) == 69);   // 68.849
    CHECK(sim::lut_lookup(table, 40, -128) == 237);   // 236.580
    CHECK(sim::lut_lookup(table, 127, -128) == 255);  // 255.909 -> 256 -> clamped
    CHECK(sim::lut_lookup(table, -128, -128) == 0);   // 0.0858
    // Same table with an int8 output and zero-point -128.
    const auto shifted = sim::build_lut([](double x) { return 1.0 / (1.0 + std::exp(-x)); }, in,
                                        sim::LutQuant{1.0f / 256, -128, ValueType::int8});
    CHECK(sim::lut_lookup(shifted, 0, -128) == 0);
    CHECK(sim::lut_lookup(shifted, 16, -128) == 59);
}

TEST_CASE("build_lut: tanh / zero-points / ties and errors", "[datapath][lut]") {
    const auto tanh_table = sim::build_lut([](double x) { return std::tanh(x); }, {1.0f / 32, 0, ValueType::int8},
                                           {1.0f / 128, 0, ValueType::int8});
    CHECK(sim::lut_lookup(tanh_table, 32, -128) == 97);     // 97.484
    CHECK(sim::lut_lookup(tanh_table, 16, -128) == 59);     // 59.151
    CHECK(sim::lut_lookup(tanh_table, 127, -128) == 127);   // 127.909 -> 128 -> clamped
    CHECK(sim::lut_lookup(tanh_table, -128, -128) == -128); // -127.914 -> -128
    // Identity halved: q / 2 with ties to even; input zero-point 3.
    const auto half = sim::build_lut([](double x) { return x; }, {1.0f, 3, ValueType::int4}, {2.0f, 0, ValueType::int4});
    REQUIRE(half.size() == 16);
    CHECK(sim::lut_lookup(half, 4, -8) == 0);    // (4-3)/2 = 0.5 -> 0
    CHECK(sim::lut_lookup(half, 6, -8) == 2);    // 1.5 -> 2
    CHECK(sim::lut_lookup(half, 2, -8) == 0);    // -0.5 -> 0
    CHECK(sim::lut_lookup(half, -8, -8) == -6);  // -5.5 -> -6
    CHECK(sim::lut_lookup(half, 7, -8) == 2);    // 2
    CHECK_THROWS_AS(sim::build_lut([](double) { return std::nan(""); }, {}, {}), std::domain_error);
    CHECK_THROWS_AS(sim::build_lut([](double x) { return x; }, {0.0f, 0, ValueType::int8}, {}), std::domain_error);
}
