// round_shift in every mode against an exact rational reference
// (test_datapath_reference.hpp), on edge values and random values.
#include <catch2/catch.hpp>

#include <climits>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "bitnpu/sim/datapath/rounding.hpp"
#include "test_datapath_reference.hpp"

using bitnpu::arch::RoundingMode;
using bitnpu::sim::round_shift;
using bitnpu::test::i128;
using bitnpu::test::kAllModes;
using bitnpu::test::pow2;
using bitnpu::test::reference_round_shift;

namespace {

std::string show(i128 v) {
    if (v == 0) return "0";
    const bool neg = v < 0;
    unsigned __int128 m = neg ? static_cast<unsigned __int128>(0) - static_cast<unsigned __int128>(v)
                              : static_cast<unsigned __int128>(v);
    std::string s;
    while (m != 0) {
        s.insert(s.begin(), char('0' + int(m % 10)));
        m /= 10;
    }
    return neg ? "-" + s : s;
}

std::vector<i128> edge_values() {
    std::vector<i128> v = {0, 1, -1, INT64_MAX, INT64_MIN, i128(INT64_MAX) + 1, i128(INT64_MIN) - 1};
    for (int k = 0; k <= 126; ++k) {
        for (i128 base : {pow2(k), -pow2(k)}) {
            v.push_back(base);
            v.push_back(base + 1);
            v.push_back(base - 1);
        }
    }
    const i128 max128 = i128(~static_cast<unsigned __int128>(0) >> 1);
    v.push_back(max128);
    v.push_back(-max128 - 1);
    v.push_back(-max128);
    return v;
}

// Calls the named function for a mode, so each one is tested by name.
i128 named_shift(i128 x, int n, RoundingMode mode) {
    switch (mode) {
        case RoundingMode::floor: return bitnpu::sim::shift_floor(x, n);
        case RoundingMode::trunc: return bitnpu::sim::shift_trunc(x, n);
        case RoundingMode::half_up: return bitnpu::sim::shift_half_up(x, n);
        case RoundingMode::half_away: return bitnpu::sim::shift_half_away(x, n);
        case RoundingMode::half_even: return bitnpu::sim::shift_half_even(x, n);
    }
    return 0;
}

}  // namespace

TEST_CASE("round_shift: hand-computed ties and neighbours", "[datapath][rounding]") {
    struct Case {
        i128 x;
        int n;
        i128 floor, trunc, half_up, half_away, half_even;
    };
    const Case cases[] = {
        {5, 1, 2, 2, 3, 3, 2},          // 2.5
        {-5, 1, -3, -2, -2, -3, -2},    // -2.5
        {7, 1, 3, 3, 4, 4, 4},          // 3.5
        {-7, 1, -4, -3, -3, -4, -4},    // -3.5
        {6, 2, 1, 1, 2, 2, 2},          // 1.5
        {-6, 2, -2, -1, -1, -2, -2},    // -1.5
        {5, 2, 1, 1, 1, 1, 1},          // 1.25
        {-5, 2, -2, -1, -1, -1, -1},    // -1.25
        {7, 2, 1, 1, 2, 2, 2},          // 1.75
        {-7, 2, -2, -1, -2, -2, -2},    // -1.75
        {-1, 1, -1, 0, 0, -1, 0},       // -0.5
        {1, 1, 0, 0, 1, 1, 0},          // 0.5
        {-1, 10, -1, 0, 0, 0, 0},       // -1/1024
        {42, 0, 42, 42, 42, 42, 42},    // n = 0 is the identity
    };
    for (const Case& c : cases) {
        INFO("x=" << show(c.x) << " n=" << c.n);
        CHECK(round_shift(c.x, c.n, RoundingMode::floor) == c.floor);
        CHECK(round_shift(c.x, c.n, RoundingMode::trunc) == c.trunc);
        CHECK(round_shift(c.x, c.n, RoundingMode::half_up) == c.half_up);
        CHECK(round_shift(c.x, c.n, RoundingMode::half_away) == c.half_away);
        CHECK(round_shift(c.x, c.n, RoundingMode::half_even) == c.half_even);
    }
}

TEST_CASE("round_shift: every mode matches the rational reference on edge values / n = 0..126",
          "[datapath][rounding]") {
    const std::vector<i128> values = edge_values();
    std::size_t mismatches = 0;
    for (RoundingMode mode : kAllModes) {
        for (int n = 0; n <= 126; ++n) {
            // Exact ties at this n: (2j+1) * 2^(n-1), where that fits in 127 bits.
            std::vector<i128> local = values;
            if (n >= 1 && n <= 116) {
                for (i128 j : {0, 1, 2, 3, 1000}) {
                    local.push_back((2 * j + 1) * pow2(n - 1));
                    local.push_back(-(2 * j + 1) * pow2(n - 1));
                }
            }
            for (i128 x : local) {
                const i128 expected = reference_round_shift(x, n, mode);
                const i128 got = round_shift(x, n, mode);
                if (got != expected || named_shift(x, n, mode) != expected) {
                    if (++mismatches <= 10) {
                        FAIL_CHECK("mode " << int(mode) << " x=" << show(x) << " n=" << n << ": got " << show(got)
                                           << ", expected " << show(expected));
                    }
                }
            }
        }
    }
    CHECK(mismatches == 0);
}

TEST_CASE("round_shift: 10^6 random values (up to 96 bits) / n = 0..62", "[datapath][rounding]") {
    std::mt19937_64 rng(12345);
    std::size_t mismatches = 0;
    for (int i = 0; i < 1000000; ++i) {
        const i128 x = bitnpu::test::random_signed(rng, 96);
        const int n = int(rng() % 63);
        const RoundingMode mode = kAllModes[i % 5];
        const i128 expected = reference_round_shift(x, n, mode);
        const i128 got = round_shift(x, n, mode);
        if (got != expected && ++mismatches <= 10) {
            FAIL_CHECK("mode " << int(mode) << " x=" << show(x) << " n=" << n << ": got " << show(got)
                               << ", expected " << show(expected));
        }
    }
    CHECK(mismatches == 0);
}

TEST_CASE("round_shift: shifts of 127 and more", "[datapath][rounding]") {
    const i128 max128 = i128(~static_cast<unsigned __int128>(0) >> 1);
    const i128 min128 = -max128 - 1;
    // x / 2^127 = -1 exactly.
    for (RoundingMode mode : kAllModes) CHECK(round_shift(min128, 127, mode) == -1);
    // (2^127 - 1) / 2^127 = 1 - 2^-127.
    CHECK(round_shift(max128, 127, RoundingMode::floor) == 0);
    CHECK(round_shift(max128, 127, RoundingMode::trunc) == 0);
    CHECK(round_shift(max128, 127, RoundingMode::half_up) == 1);
    CHECK(round_shift(max128, 127, RoundingMode::half_away) == 1);
    CHECK(round_shift(max128, 127, RoundingMode::half_even) == 1);
    // -2^126 / 2^127 = -1/2 and -2^127 / 2^128 = -1/2: ties.
    for (auto [x, n] : {std::pair<i128, int>{-pow2(126), 127}, {min128, 128}}) {
        CHECK(round_shift(x, n, RoundingMode::floor) == -1);
        CHECK(round_shift(x, n, RoundingMode::trunc) == 0);
        CHECK(round_shift(x, n, RoundingMode::half_up) == 0);
        CHECK(round_shift(x, n, RoundingMode::half_away) == -1);
        CHECK(round_shift(x, n, RoundingMode::half_even) == 0);
    }
    // Far beyond the width: only floor of a negative value is not 0.
    for (int n : {129, 200, 1000, INT_MAX}) {
        for (RoundingMode mode : kAllModes) {
            CHECK(round_shift(max128, n, mode) == 0);
            CHECK(round_shift(min128, n, mode) == (mode == RoundingMode::floor ? -1 : 0));
            CHECK(round_shift(-1, n, mode) == (mode == RoundingMode::floor ? -1 : 0));
        }
    }
}

TEST_CASE("round_shift: negative n is a left shift saturated to dst_bits", "[datapath][rounding]") {
    CHECK(round_shift(3, -2, RoundingMode::floor, 8) == 12);
    CHECK(round_shift(31, -2, RoundingMode::floor, 8) == 124);
    CHECK(round_shift(32, -2, RoundingMode::floor, 8) == 127);
    CHECK(round_shift(-32, -2, RoundingMode::floor, 8) == -128);  // exactly the minimum
    CHECK(round_shift(-33, -2, RoundingMode::half_even, 8) == -128);
    CHECK(round_shift(-1, -63, RoundingMode::floor, 64) == INT64_MIN);
    CHECK(round_shift(1, -63, RoundingMode::floor, 64) == INT64_MAX);
    CHECK(round_shift(1, -62, RoundingMode::floor, 64) == pow2(62));
    CHECK(round_shift(0, INT_MIN, RoundingMode::floor, 16) == 0);
    CHECK(round_shift(5, INT_MIN, RoundingMode::floor, 16) == 32767);
    CHECK(round_shift(-5, INT_MIN, RoundingMode::floor, 16) == -32768);

    std::mt19937_64 rng(7);
    std::size_t mismatches = 0;
    for (int i = 0; i < 200000; ++i) {
        const i128 x = bitnpu::test::random_signed(rng, 64);
        const int s = 1 + int(rng() % 62);
        const int bits = 2 + int(rng() % 63);
        const i128 expected = bitnpu::test::reference_saturate(x * pow2(s), bits);
        if (round_shift(x, -s, kAllModes[i % 5], bits) != expected) ++mismatches;
    }
    CHECK(mismatches == 0);
}
