#include "bitnpu/sim/datapath/accumulate.hpp"

namespace bitnpu::sim {
namespace {

// Wrapping is a ring homomorphism from Z/2^64 to Z/2^bits, so summing modulo
// 2^64 and wrapping once equals wrapping after every addition.
std::int64_t wrapping_sum(std::int64_t start, const std::int64_t* products, std::size_t n, int bits) {
    std::uint64_t sum = std::uint64_t(start);
    for (std::size_t k = 0; k < n; ++k) sum += std::uint64_t(products[k]);
    return wrap_signed(std::int64_t(sum), bits);
}

std::int64_t ordered_saturating_sum(std::int64_t acc, const std::int64_t* products, std::size_t n,
                                    int bits) {
    for (std::size_t k = 0; k < n; ++k) acc = saturate_signed(__int128(acc) + products[k], bits);
    return acc;
}

}  // namespace

std::int64_t accumulate_all(std::int64_t start, const std::int64_t* products, std::size_t n,
                            const AccumulatorRule& rule) {
    if (rule.overflow == arch::Overflow::wrap) return wrapping_sum(start, products, n, rule.bits);
    const std::int64_t acc0 = saturate_signed(start, rule.bits);

    // One pass computes the sum modulo 2^64 and a bound on sum |p| (saturating
    // at 2^64-1, which is never "safe"). When the bound is safe no partial sum
    // left the range, so the modular sum is the exact sum.
    std::uint64_t sum = std::uint64_t(acc0);
    std::uint64_t abs_sum = magnitude(acc0);
    bool abs_overflow = false;
    for (std::size_t k = 0; k < n; ++k) {
        sum += std::uint64_t(products[k]);
        abs_overflow |= __builtin_add_overflow(abs_sum, magnitude(products[k]), &abs_sum);
    }
    if (!abs_overflow && exact_sum_is_safe(abs_sum, rule)) return std::int64_t(sum);
    return ordered_saturating_sum(acc0, products, n, rule.bits);
}

}  // namespace bitnpu::sim
