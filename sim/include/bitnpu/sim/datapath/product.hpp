// Products of the MAC datapath (numerics.md "MAC step 2: product") for every type pair,
// including int1 XNOR/popcount and uint1 AND/popcount dot products on packed
// 64-bit words.
#pragma once

#include <cstddef>
#include <cstdint>

#include "bitnpu/arch/types.hpp"

namespace bitnpu::sim {

// Decode a stored code of type t to its integer value. Only the low
// bit_width(t) bits of code are read. int1: bit b -> 2b-1; uint1: b;
// int2: 2-bit two's complement restricted to {-1,0,+1} (code 0b10 is not a
// ternary value: throws std::domain_error); int4/int8/int16: two's complement;
// uint4/uint8: plain binary.
std::int64_t decode(std::uint32_t code, arch::ValueType t);
// The stored code of value v (inverse of decode); throws std::domain_error if
// v is not representable in t.
std::uint32_t encode(std::int64_t v, arch::ValueType t);
// True if v is a legal value of type t (e.g. int1 only -1/+1, int2 only -1..1).
bool is_representable(std::int64_t v, arch::ValueType t);

// p = w * (x - zx), exact. w, x are decoded values of their types (so the
// product of any two types up to 16 bits, with any zero-point up to 16 bits,
// cannot overflow int64).
inline std::int64_t product(std::int64_t w, std::int64_t x, std::int64_t zx = 0) {
    return w * (x - zx);
}

// Binary (int1) dot product over k elements packed LSB-first into 64-bit words
// (bit b means 2b-1): sum = 2 * popcount(xnor(a, b)) - k. Bits at positions
// >= k in the last word are ignored (masked), whatever they hold.
std::int64_t xnor_popcount_dot(const std::uint64_t* a, const std::uint64_t* b, std::size_t k);
// uint1 dot product: popcount(a AND b) over the first k bits.
std::int64_t and_popcount_dot(const std::uint64_t* a, const std::uint64_t* b, std::size_t k);

// Words needed to pack k one-bit values.
inline std::size_t packed_words(std::size_t k) { return (k + 63) / 64; }

// Pack {-1,+1} values into packed_words(k) words for xnor_popcount_dot
// (+1 -> bit 1, -1 -> bit 0; unused tail bits are 0). Any other value throws
// std::domain_error (binarize before packing: there is no int1 zero).
void pack_binary(const std::int8_t* values, std::size_t k, std::uint64_t* words);

}  // namespace bitnpu::sim
