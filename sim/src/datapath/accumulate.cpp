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

// Products added in one step when no partial sum inside the block can reach
// a bound. The block's sums are exact in int64 when every |p| < 2^58
// (32 * 2^58 = 2^63); MAC products of operands up to 16 bits are below 2^33.
constexpr std::size_t kSaturationBlock = 32;
constexpr std::uint64_t kBlockMagnitudeLimit = std::uint64_t{1} << 58;

// acc <- saturate(acc + p_k) for k = 0..n-1, in order. A block whose partial
// sums all stay inside the range (each lies between acc + the block's
// negative products and acc + its positive products) adds its exact sum at
// once: nothing in it saturates, so that is what the ordered loop gives. Only
// blocks that may touch a bound run element by element.
std::int64_t ordered_saturating_sum(std::int64_t acc, const std::int64_t* products, std::size_t n,
                                    int bits) {
    const std::int64_t lo = signed_min(bits), hi = signed_max(bits);
    std::size_t k = 0;
    for (; k + kSaturationBlock <= n; k += kSaturationBlock) {
        // Summed modulo 2^64 (no signed overflow whatever the data); exact
        // when the magnitudes are below the limit, and only used then.
        std::uint64_t up_bits = 0, down_bits = 0;
        std::uint64_t magnitudes = 0;   // OR of |p|: below the limit iff every |p| is
        for (std::size_t i = k; i < k + kSaturationBlock; ++i) {
            const std::int64_t p = products[i];
            up_bits += std::uint64_t(p > 0 ? p : 0);
            down_bits += std::uint64_t(p < 0 ? p : 0);
            magnitudes |= magnitude(p);
        }
        const auto up = std::int64_t(up_bits), down = std::int64_t(down_bits);
        if (magnitudes < kBlockMagnitudeLimit && __int128(acc) + up <= hi && __int128(acc) + down >= lo) {
            acc += up + down;
            continue;
        }
        for (std::size_t i = k; i < k + kSaturationBlock; ++i) acc = saturate_signed(__int128(acc) + products[i], bits);
    }
    for (; k < n; ++k) acc = saturate_signed(__int128(acc) + products[k], bits);
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
