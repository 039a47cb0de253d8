// Products for every type pair, int1/uint1 popcount dot products against
// plain {-1,+1} / {0,1} arithmetic.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "bitnpu/sim/datapath/product.hpp"

using bitnpu::arch::ValueType;
namespace sim = bitnpu::sim;

namespace {

// Two's complement of a `bits`-wide code, written as arithmetic (not shifts).
std::int64_t twos_complement(std::uint32_t code, int bits) {
    const std::int64_t c = code;
    return c >= (std::int64_t(1) << (bits - 1)) ? c - (std::int64_t(1) << bits) : c;
}

}  // namespace

TEST_CASE("decode: int8/uint8/int4/uint4/int16 codes", "[datapath][product]") {
    for (std::uint32_t c = 0; c < 256; ++c) {
        CHECK(sim::decode(c, ValueType::int8) == twos_complement(c, 8));
        CHECK(sim::decode(c, ValueType::uint8) == std::int64_t(c));
        CHECK(sim::encode(sim::decode(c, ValueType::int8), ValueType::int8) == c);
    }
    for (std::uint32_t c = 0; c < 16; ++c) {
        CHECK(sim::decode(c, ValueType::int4) == twos_complement(c, 4));
        CHECK(sim::decode(c, ValueType::uint4) == std::int64_t(c));
        CHECK(sim::decode(c | 0xF0u, ValueType::int4) == twos_complement(c, 4));  // high bits ignored
    }
    CHECK(sim::decode(0x8000u, ValueType::int16) == -32768);
    CHECK(sim::decode(0x7FFFu, ValueType::int16) == 32767);
    CHECK(sim::decode(0xFFFFu, ValueType::int16) == -1);
}

TEST_CASE("decode: int1 binary and uint1 and int2 ternary codes", "[datapath][product]") {
    CHECK(sim::decode(0, ValueType::int1) == -1);
    CHECK(sim::decode(1, ValueType::int1) == 1);
    CHECK(sim::decode(0, ValueType::uint1) == 0);
    CHECK(sim::decode(1, ValueType::uint1) == 1);
    CHECK(sim::decode(0b00, ValueType::int2) == 0);
    CHECK(sim::decode(0b01, ValueType::int2) == 1);
    CHECK(sim::decode(0b11, ValueType::int2) == -1);
    CHECK_THROWS_AS(sim::decode(0b10, ValueType::int2), std::domain_error);
    CHECK(sim::encode(-1, ValueType::int1) == 0u);
    CHECK(sim::encode(1, ValueType::int1) == 1u);
    CHECK(sim::encode(-1, ValueType::int2) == 0b11u);
    CHECK_THROWS_AS(sim::encode(0, ValueType::int1), std::domain_error);
    CHECK_THROWS_AS(sim::encode(-2, ValueType::int2), std::domain_error);
    CHECK_THROWS_AS(sim::encode(128, ValueType::int8), std::domain_error);

    CHECK(sim::is_representable(1, ValueType::int1));
    CHECK_FALSE(sim::is_representable(0, ValueType::int1));
    CHECK(sim::is_representable(0, ValueType::int2));
    CHECK_FALSE(sim::is_representable(-2, ValueType::int2));
    CHECK(sim::is_representable(-8, ValueType::int4));
    CHECK_FALSE(sim::is_representable(8, ValueType::int4));
    CHECK_FALSE(sim::is_representable(-1, ValueType::uint8));
}

TEST_CASE("product: all int8 x int8 / int8 x uint8 with zero-points", "[datapath][product]") {
    std::size_t bad = 0;
    for (std::int64_t w = -128; w <= 127; ++w) {
        for (std::uint32_t xc = 0; xc < 256; ++xc) {
            const std::int64_t x = sim::decode(xc, ValueType::int8);
            if (sim::product(w, x) != w * twos_complement(xc, 8)) ++bad;
            // uint8 activation with zero-point 128: w * (x - 128), expanded.
            const std::int64_t xu = sim::decode(xc, ValueType::uint8);
            if (sim::product(w, xu, 128) != w * xu - 128 * w) ++bad;
        }
    }
    CHECK(bad == 0);
    CHECK(sim::product(-128, -128) == 16384);
    CHECK(sim::product(127, 0, 255) == -32385);
}

TEST_CASE("product: all int4/uint4 pairs and int2/int1 codes", "[datapath][product]") {
    std::size_t bad = 0;
    for (std::uint32_t a = 0; a < 16; ++a) {
        for (std::uint32_t b = 0; b < 16; ++b) {
            const std::int64_t sa = twos_complement(a, 4), sb = twos_complement(b, 4);
            if (sim::product(sim::decode(a, ValueType::int4), sim::decode(b, ValueType::int4)) != sa * sb) ++bad;
            if (sim::product(sim::decode(a, ValueType::int4), sim::decode(b, ValueType::uint4)) != sa * b) ++bad;
            if (sim::product(sim::decode(a, ValueType::uint4), sim::decode(b, ValueType::uint4)) != a * b) ++bad;
        }
    }
    CHECK(bad == 0);
    // Ternary x ternary: the 3x3 multiplication table.
    const std::uint32_t t_codes[] = {0b11, 0b00, 0b01};
    const std::int64_t t_values[] = {-1, 0, 1};
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
            CHECK(sim::product(sim::decode(t_codes[i], ValueType::int2), sim::decode(t_codes[j], ValueType::int2)) ==
                  t_values[i] * t_values[j]);
    // Binary: equal bits give +1, different bits -1 (XNOR).
    for (std::uint32_t a = 0; a < 2; ++a)
        for (std::uint32_t b = 0; b < 2; ++b)
            CHECK(sim::product(sim::decode(a, ValueType::int1), sim::decode(b, ValueType::int1)) == (a == b ? 1 : -1));
}

TEST_CASE("xnor_popcount_dot equals the plus-minus-one dot product for k = 1..1000", "[datapath][product]") {
    std::mt19937_64 rng(99);
    std::size_t bad = 0;
    for (std::size_t k = 1; k <= 1000; ++k) {
        std::vector<std::int8_t> a(k), b(k);
        std::int64_t expected = 0;
        for (std::size_t i = 0; i < k; ++i) {
            a[i] = (rng() & 1) ? 1 : -1;
            b[i] = (rng() & 1) ? 1 : -1;
            expected += a[i] * b[i];
        }
        std::vector<std::uint64_t> pa(sim::packed_words(k)), pb(sim::packed_words(k));
        sim::pack_binary(a.data(), k, pa.data());
        sim::pack_binary(b.data(), k, pb.data());
        if (sim::xnor_popcount_dot(pa.data(), pb.data(), k) != expected) ++bad;
        // Garbage in the unused tail bits must not change the result.
        if (k % 64 != 0) {
            pa.back() |= ~std::uint64_t(0) << (k % 64);
            pb.back() ^= ~std::uint64_t(0) << (k % 64);
            if (sim::xnor_popcount_dot(pa.data(), pb.data(), k) != expected) ++bad;
        }
    }
    CHECK(bad == 0);
}

TEST_CASE("pack_binary layout and errors", "[datapath][product]") {
    const std::int8_t v[] = {1, -1, 1, 1};
    std::uint64_t w = 0xDEADBEEF;
    sim::pack_binary(v, 4, &w);
    CHECK(w == 0b1101u);  // LSB first, +1 -> 1, tail zeroed
    const std::int8_t bad[] = {1, 0, -1};
    CHECK_THROWS_AS(sim::pack_binary(bad, 3, &w), std::domain_error);
}

TEST_CASE("and_popcount_dot equals the 0-1 dot product for k = 1..1000", "[datapath][product]") {
    std::mt19937_64 rng(5);
    std::size_t bad = 0;
    for (std::size_t k = 1; k <= 1000; ++k) {
        std::vector<std::uint64_t> pa(sim::packed_words(k), 0), pb(sim::packed_words(k), 0);
        std::int64_t expected = 0;
        for (std::size_t i = 0; i < k; ++i) {
            const std::uint64_t x = rng() & 1, y = rng() & 1;
            pa[i / 64] |= x << (i % 64);
            pb[i / 64] |= y << (i % 64);
            expected += std::int64_t(x * y);
        }
        if (k % 64 != 0) {  // set the unused tail bits in both operands
            pa.back() |= ~std::uint64_t(0) << (k % 64);
            pb.back() |= ~std::uint64_t(0) << (k % 64);
        }
        if (sim::and_popcount_dot(pa.data(), pb.data(), k) != expected) ++bad;
    }
    CHECK(bad == 0);
}
