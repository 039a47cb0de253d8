// The accumulator (numerics.md "MAC step 4: accumulate"): wrap modulo 2^bits,
// or saturate after every addition in the canonical order.
#pragma once

#include <cstddef>
#include <cstdint>

#include "bitnpu/arch/arch_spec.hpp"
#include "bitnpu/sim/datapath/saturate.hpp"

namespace bitnpu::sim {

struct AccumulatorRule {
    int bits = 32;  // 2..64
    arch::Overflow overflow = arch::Overflow::saturate;
};

// One accumulation step: acc + p (exact), then saturate or wrap to bits.
inline std::int64_t accumulate(std::int64_t acc, std::int64_t p, const AccumulatorRule& rule) {
    const __int128 sum = __int128(acc) + p;
    return rule.overflow == arch::Overflow::wrap ? wrap_signed(sum, rule.bits)
                                                 : saturate_signed(sum, rule.bits);
}

// Whether the step acc + p leaves the accumulator's range [-(2^(bits-1)),
// 2^(bits-1) - 1] (the step that accumulate then wraps or saturates). Example:
// 16 bits, acc = 32000, p = 800: 32800 > 32767, true.
inline bool step_overflows(std::int64_t acc, std::int64_t p, const AccumulatorRule& rule) {
    const __int128 sum = __int128(acc) + p;
    return sum > signed_max(rule.bits) || sum < signed_min(rule.bits);
}

// acc = start; for k in 0..n-1: acc = accumulate(acc, products[k]). For
// saturate this is the ordered loop unless sum(|p|) + |start| fits, in which
// case the exact sum is returned (the fast path that
// numerics.md "MAC step 4: accumulate" allows). For wrap
// the sum is taken modulo 2^64 and wrapped once (wrapping commutes with
// addition). start should already lie in the accumulator's range (it is the
// preloaded bias); if it does not, it is first saturated or wrapped into it.
std::int64_t accumulate_all(std::int64_t start, const std::int64_t* products, std::size_t n,
                            const AccumulatorRule& rule);

// True when no ordering of adding values with sum of magnitudes abs_sum_bound
// (which includes |start|) can leave the accumulator's range: every partial
// sum S then has |S| <= abs_sum_bound <= 2^(bits-1) - 1. This is a pure range
// test; with overflow wrap leaving the range would not matter anyway.
inline bool exact_sum_is_safe(std::uint64_t abs_sum_bound, const AccumulatorRule& rule) {
    return abs_sum_bound <= std::uint64_t(signed_max(rule.bits));
}

// |v| as an unsigned value (exact also for INT64_MIN).
inline std::uint64_t magnitude(std::int64_t v) {
    return v < 0 ? std::uint64_t(0) - std::uint64_t(v) : std::uint64_t(v);
}

}  // namespace bitnpu::sim
