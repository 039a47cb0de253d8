#include "bitnpu/sim/datapath/product.hpp"

#include <stdexcept>
#include <string>

namespace bitnpu::sim {
namespace {

// Sign-extend the low `bits` bits of code.
std::int64_t sign_extend(std::uint32_t code, int bits) {
    const int drop = 64 - bits;
    return std::int64_t(std::uint64_t(code) << drop) >> drop;
}

std::uint64_t low_bits_mask(std::size_t bits) {
    return bits >= 64 ? ~std::uint64_t(0) : (std::uint64_t(1) << bits) - 1;
}

// Sums popcount(combine(a[i], b[i])) over the first k bits.
template <typename Combine>
std::int64_t popcount_over_bits(const std::uint64_t* a, const std::uint64_t* b, std::size_t k,
                                Combine combine) {
    const std::size_t full = k / 64;
    std::int64_t count = 0;
    for (std::size_t i = 0; i < full; ++i) count += __builtin_popcountll(combine(a[i], b[i]));
    const std::size_t tail = k % 64;
    if (tail != 0) count += __builtin_popcountll(combine(a[full], b[full]) & low_bits_mask(tail));
    return count;
}

}  // namespace

std::int64_t decode(std::uint32_t code, arch::ValueType t) {
    switch (t) {
        case arch::ValueType::int1: return (code & 1u) != 0 ? 1 : -1;
        case arch::ValueType::uint1: return code & 1u;
        case arch::ValueType::int2: {
            const std::uint32_t c = code & 3u;
            if (c == 2u) throw std::domain_error("int2 code 0b10 (-2) is not a ternary value {-1,0,+1}");
            return sign_extend(c, 2);
        }
        case arch::ValueType::int4: return sign_extend(code & 0xFu, 4);
        case arch::ValueType::uint4: return code & 0xFu;
        case arch::ValueType::int8: return sign_extend(code & 0xFFu, 8);
        case arch::ValueType::uint8: return code & 0xFFu;
        case arch::ValueType::int16: return sign_extend(code & 0xFFFFu, 16);
    }
    throw std::domain_error("decode: unknown value type");
}

bool is_representable(std::int64_t v, arch::ValueType t) {
    switch (t) {
        case arch::ValueType::int1: return v == -1 || v == 1;
        case arch::ValueType::uint1: return v == 0 || v == 1;
        case arch::ValueType::int2: return v >= -1 && v <= 1;
        case arch::ValueType::int4: return v >= -8 && v <= 7;
        case arch::ValueType::uint4: return v >= 0 && v <= 15;
        case arch::ValueType::int8: return v >= -128 && v <= 127;
        case arch::ValueType::uint8: return v >= 0 && v <= 255;
        case arch::ValueType::int16: return v >= -32768 && v <= 32767;
    }
    return false;
}

std::uint32_t encode(std::int64_t v, arch::ValueType t) {
    if (!is_representable(v, t)) {
        throw std::domain_error("encode: value " + std::to_string(v) + " is not representable in " +
                                std::string(arch::to_string(t)));
    }
    if (t == arch::ValueType::int1) return v > 0 ? 1u : 0u;
    const std::uint64_t mask = low_bits_mask(std::size_t(arch::bit_width(t)));
    return std::uint32_t(std::uint64_t(v) & mask);
}

std::int64_t xnor_popcount_dot(const std::uint64_t* a, const std::uint64_t* b, std::size_t k) {
    const std::int64_t agree =
        popcount_over_bits(a, b, k, [](std::uint64_t x, std::uint64_t y) { return ~(x ^ y); });
    return 2 * agree - std::int64_t(k);
}

std::int64_t and_popcount_dot(const std::uint64_t* a, const std::uint64_t* b, std::size_t k) {
    return popcount_over_bits(a, b, k, [](std::uint64_t x, std::uint64_t y) { return x & y; });
}

void pack_binary(const std::int8_t* values, std::size_t k, std::uint64_t* words) {
    const std::size_t n_words = packed_words(k);
    for (std::size_t w = 0; w < n_words; ++w) words[w] = 0;
    for (std::size_t i = 0; i < k; ++i) {
        if (values[i] != 1 && values[i] != -1) {
            throw std::domain_error("pack_binary: value " + std::to_string(values[i]) + " at index " +
                                    std::to_string(i) + " is not -1 or +1");
        }
        if (values[i] == 1) words[i / 64] |= std::uint64_t(1) << (i % 64);
    }
}

}  // namespace bitnpu::sim
