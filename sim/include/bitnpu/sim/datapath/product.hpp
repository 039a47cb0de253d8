// Products of the MAC datapath (NUMERICS.md step 2) for every type pair,
// including int1 XNOR/popcount and int2 ternary dot products on packed words.
#pragma once

#include <cstddef>
#include <cstdint>

#include "bitnpu/arch/types.hpp"

namespace bitnpu::sim {

// Decode a stored code of type t to its integer value (int1: bit b -> 2b-1;
// int2: 2-bit two's complement code restricted to {-1,0,+1}).
std::int64_t decode(std::uint32_t code, arch::ValueType t);
// True if v is a legal value of type t (e.g. int1 only -1/+1, int2 only -1..1).
bool is_representable(std::int64_t v, arch::ValueType t);

// p = w * (x - zx), exact. w, x are decoded values of their types.
std::int64_t product(std::int64_t w, std::int64_t x, std::int64_t zx = 0);

// Binary (int1) dot product over k elements packed LSB-first into 64-bit words
// (bit b means 2b-1): sum = 2 * popcount(xnor(a, b)) - k.
std::int64_t xnor_popcount_dot(const std::uint64_t* a, const std::uint64_t* b, std::size_t k);
// uint1 dot product: popcount(a AND b).
std::int64_t and_popcount_dot(const std::uint64_t* a, const std::uint64_t* b, std::size_t k);

// Pack {-1,+1} values into words for xnor_popcount_dot (+1 -> bit 1).
void pack_binary(const std::int8_t* values, std::size_t k, std::uint64_t* words);

}  // namespace bitnpu::sim
