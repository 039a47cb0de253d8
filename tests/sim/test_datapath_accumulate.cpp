// Saturation, wrap-around and the accumulator (numerics.md "Saturation and wrap",
// numerics.md "MAC step 4: accumulate").
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "bitnpu/sim/datapath/accumulate.hpp"
#include "bitnpu/sim/datapath/saturate.hpp"
#include "test_datapath_reference.hpp"

using bitnpu::arch::Overflow;
using bitnpu::arch::ValueType;
using bitnpu::test::i128;
namespace sim = bitnpu::sim;

namespace {

// The ordered saturating loop written with std::clamp on 128-bit values.
std::int64_t reference_ordered_saturation(std::int64_t start, const std::vector<std::int64_t>& p, int bits) {
    const i128 hi = bitnpu::test::pow2(bits - 1) - 1, lo = -bitnpu::test::pow2(bits - 1);
    i128 acc = std::clamp<i128>(start, lo, hi);
    for (std::int64_t v : p) acc = std::clamp<i128>(acc + v, lo, hi);
    return std::int64_t(acc);
}

}  // namespace

TEST_CASE("saturate_signed and wrap_signed against references / bits 2..64", "[datapath][saturate]") {
    std::mt19937_64 rng(3);
    std::size_t bad = 0;
    for (int bits = 2; bits <= 64; ++bits) {
        for (i128 x : {i128(0), i128(1), i128(-1), bitnpu::test::pow2(bits - 1), -bitnpu::test::pow2(bits - 1),
                       bitnpu::test::pow2(bits - 1) - 1, -bitnpu::test::pow2(bits - 1) - 1,
                       bitnpu::test::pow2(bits), bitnpu::test::pow2(100) + 5, -bitnpu::test::pow2(100) - 5}) {
            if (sim::saturate_signed(x, bits) != bitnpu::test::reference_saturate(x, bits)) ++bad;
            if (sim::wrap_signed(x, bits) != bitnpu::test::reference_wrap(x, bits)) ++bad;
        }
        for (int i = 0; i < 2000; ++i) {
            const i128 x = bitnpu::test::random_signed(rng, 100);
            if (sim::saturate_signed(x, bits) != bitnpu::test::reference_saturate(x, bits)) ++bad;
            if (sim::wrap_signed(x, bits) != bitnpu::test::reference_wrap(x, bits)) ++bad;
        }
    }
    CHECK(bad == 0);
    CHECK(sim::wrap_signed(128, 8) == -128);
    CHECK(sim::wrap_signed(255, 8) == -1);
    CHECK(sim::wrap_signed(256, 8) == 0);
    CHECK(sim::saturate_signed(200, 8) == 127);
    CHECK(sim::saturate_signed(-200, 8) == -128);
}

TEST_CASE("clamp and saturate_to value types", "[datapath][saturate]") {
    CHECK(sim::clamp(5, -3, 3) == 3);
    CHECK(sim::clamp(-5, -3, 3) == -3);
    CHECK(sim::clamp(2, -3, 3) == 2);
    CHECK(sim::saturate_to(-200, ValueType::int8) == -128);
    CHECK(sim::saturate_to(-200, ValueType::int8, true) == -127);
    CHECK(sim::saturate_to(300, ValueType::uint8) == 255);
    CHECK(sim::saturate_to(-1, ValueType::uint8) == 0);
    CHECK(sim::saturate_to(9, ValueType::int4) == 7);
    CHECK(sim::saturate_to(-9, ValueType::int4) == -8);
    CHECK(sim::saturate_to(-9, ValueType::int4, true) == -7);
    CHECK(sim::saturate_to(20, ValueType::uint4) == 15);
    CHECK(sim::saturate_to(-5, ValueType::int2) == -1);
    CHECK(sim::saturate_to(0, ValueType::int2) == 0);
    CHECK(sim::saturate_to(40000, ValueType::int16) == 32767);
    CHECK(sim::saturate_to(0, ValueType::int1) == 1);   // sign binarization, sign(0) = +1
    CHECK(sim::saturate_to(-3, ValueType::int1) == -1);
    CHECK(sim::saturate_to(7, ValueType::uint1) == 1);
}

TEST_CASE("saturating accumulation depends on order but wrap does not", "[datapath][accumulate]") {
    const sim::AccumulatorRule sat{8, Overflow::saturate};
    const sim::AccumulatorRule wrap{8, Overflow::wrap};
    // 100 + 100 saturates at 127, then -100 gives 27; the exact sum is 100.
    const std::vector<std::int64_t> p = {100, 100, -100};
    CHECK(sim::accumulate_all(0, p.data(), p.size(), sat) == 27);
    const std::vector<std::int64_t> reordered = {100, -100, 100};
    CHECK(sim::accumulate_all(0, reordered.data(), reordered.size(), sat) == 100);
    // Wrap: 200 -> -56, -156 -> 100: the exact sum modulo 256 in either order.
    CHECK(sim::accumulate_all(0, p.data(), p.size(), wrap) == 100);
    CHECK(sim::accumulate_all(0, reordered.data(), reordered.size(), wrap) == 100);
    // Step by step.
    CHECK(sim::accumulate(100, 100, sat) == 127);
    CHECK(sim::accumulate(100, 100, wrap) == -56);
    CHECK(sim::accumulate(-100, -100, sat) == -128);
    CHECK(sim::accumulate(-100, -100, wrap) == 56);
    // Start value (preloaded bias) takes part in the ordering.
    const std::vector<std::int64_t> q = {-50, 60};
    CHECK(sim::accumulate_all(-100, q.data(), q.size(), sat) == -68);  // -150 -> -128, + 60
    CHECK(sim::accumulate(INT64_MAX, 1, {64, Overflow::saturate}) == INT64_MAX);
    CHECK(sim::accumulate(INT64_MAX, 1, {64, Overflow::wrap}) == INT64_MIN);
}

TEST_CASE("exact_sum_is_safe boundary", "[datapath][accumulate]") {
    CHECK(sim::exact_sum_is_safe(127, {8, Overflow::saturate}));
    CHECK_FALSE(sim::exact_sum_is_safe(128, {8, Overflow::saturate}));
    CHECK(sim::exact_sum_is_safe((std::uint64_t(1) << 23) - 1, {24, Overflow::saturate}));
    CHECK_FALSE(sim::exact_sum_is_safe(std::uint64_t(1) << 23, {24, Overflow::saturate}));
    CHECK(sim::exact_sum_is_safe(std::uint64_t(INT64_MAX), {64, Overflow::saturate}));
    CHECK_FALSE(sim::exact_sum_is_safe(std::uint64_t(INT64_MAX) + 1, {64, Overflow::saturate}));
}

TEST_CASE("accumulate_all equals the ordered loop on random data (fast path and slow path)",
          "[datapath][accumulate]") {
    std::mt19937_64 rng(11);
    std::size_t bad = 0, fast = 0, slow = 0;
    for (int trial = 0; trial < 4000; ++trial) {
        const int bits = 2 + int(rng() % 63);
        const std::size_t n = rng() % 300;
        // Product magnitudes around the accumulator size so both paths occur.
        const int mag_bits = std::max(1, bits - 1 - int(rng() % 10));
        std::vector<std::int64_t> p(n);
        std::uint64_t abs_sum = 0;
        bool abs_overflow = false;
        for (auto& v : p) {
            v = std::int64_t(bitnpu::test::random_signed(rng, std::min(mag_bits, 63)));
            abs_overflow |= __builtin_add_overflow(abs_sum, sim::magnitude(v), &abs_sum);
        }
        const std::int64_t start = std::int64_t(bitnpu::test::reference_saturate(
            bitnpu::test::random_signed(rng, std::min(bits, 63)), bits));
        const bool safe = !abs_overflow && !__builtin_add_overflow(abs_sum, sim::magnitude(start), &abs_sum) &&
                          sim::exact_sum_is_safe(abs_sum, {bits, Overflow::saturate});
        (safe ? fast : slow) += 1;
        if (sim::accumulate_all(start, p.data(), n, {bits, Overflow::saturate}) !=
            reference_ordered_saturation(start, p, bits))
            ++bad;
        // Wrap: the exact sum modulo 2^bits.
        i128 exact = start;
        for (std::int64_t v : p) exact += v;
        if (sim::accumulate_all(start, p.data(), n, {bits, Overflow::wrap}) != bitnpu::test::reference_wrap(exact, bits))
            ++bad;
    }
    CHECK(bad == 0);
    CHECK(fast > 100);  // both paths were exercised
    CHECK(slow > 100);
}
