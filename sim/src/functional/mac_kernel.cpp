// Whole-layer execution of a MAC layer (mac_fast.hpp): im2col, then per
// output element either an exact sum (float/double GEMM or XNOR/popcount; safe
// for the whole channel, or for this element by its own bound) finished by the
// accumulator rule and requant (directly or by the channel's step table), or
// the ordered per-element loop. docs/functional.md explains why the exact
// paths give the same bits as the ordered loop. The same kernel emits the raw
// accumulators instead (steps 1-4 only) for mac_accumulators.hpp. The parts
// it shares with the overflow counter (mac_overflow_count.cpp) are in
// mac_kernel_parts.hpp.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "bitnpu/errors.hpp"
#include "bitnpu/sim/datapath/product.hpp"
#include "bitnpu/sim/functional/detail/mac_step_table.hpp"
#include "bitnpu/sim/functional/mac_accumulators.hpp"
#include "bitnpu/sim/functional/mac_fast.hpp"
#include "bitnpu/sim/parallel.hpp"
#include "mac_kernel_parts.hpp"

namespace bitnpu::sim {

using namespace detail;

namespace {

// Exact int1 sums by XNOR/popcount. Padding (x = z_x = 0) is packed as -1 and
// corrected: the true product there is 0, the packed one -w_k. Whether a
// position is padding depends only on its kernel tap (kh, kw), so the
// correction is the sum of the channel's tap_weight_sums over padded taps.
void exact_sums_xnor(const Context& c, const std::int32_t* col, std::int64_t first, std::int64_t rows,
                     std::vector<std::int64_t>& sums) {
    const std::int64_t K = c.d.k, P = c.d.pixels;
    const std::int64_t taps = c.d.gemm ? 0 : c.layer.weight_shape[2] * c.layer.weight_shape[3];
    sums.resize(static_cast<std::size_t>(rows * P));
    std::vector<std::int8_t> values(static_cast<std::size_t>(K));
    std::vector<std::uint64_t> bits(static_cast<std::size_t>(c.prep.words));
    std::vector<std::int64_t> padded_taps;
    for (std::int64_t p = 0; p < P; ++p) {
        for (std::int64_t k = 0; k < K; ++k) {
            const std::int32_t v = col[k * c.d.k_stride() + p * c.d.p_stride()];
            values[static_cast<std::size_t>(k)] = static_cast<std::int8_t>(v == 0 ? -1 : v);
        }
        padded_taps.clear();
        for (std::int64_t t = 0; t < taps; ++t)   // k = t is tap t of input channel 0
            if (col[t * c.d.k_stride() + p * c.d.p_stride()] == 0) padded_taps.push_back(t);
        pack_binary(values.data(), static_cast<std::size_t>(K), bits.data());
        for (std::int64_t r = 0; r < rows; ++r) {
            const std::int64_t oc = first + r;
            std::int64_t dot = xnor_popcount_dot(c.prep.weight_bits.data() + oc * c.prep.words, bits.data(),
                                                 static_cast<std::size_t>(K));
            for (std::int64_t t : padded_taps) dot += c.prep.tap_weight_sums[static_cast<std::size_t>(oc * taps + t)];
            sums[static_cast<std::size_t>(r * P + p)] = dot;
        }
    }
}

// The finish loop of one channel over exact sums, instantiated per sum type,
// requant kind and rounding mode: the registers' kind and mode become
// constants and the channel's values are hoisted, so the datapath's inline
// accumulate/requantize/clamp compile to straight-line code (the values are
// unchanged: kind and mode are assigned what they already hold; gemmlowp and
// float32 ignore the mode).
template <class S, arch::RequantKind Kind, arch::RoundingMode Mode>
void finish_exact(const MacChannel& channel, const S* sums, std::int64_t pixels, std::int32_t* dst,
                  std::int64_t stride) {
    MacChannel ch = channel;
    ch.registers.kind = Kind;
    ch.registers.rounding = Mode;
    for (std::int64_t p = 0; p < pixels; ++p)
        dst[p * stride] = static_cast<std::int32_t>(
            mac_finish_with(ch, ch.registers, mac_accumulate_exact(ch, static_cast<std::int64_t>(sums[p]))));
}

template <class S>
using FinishFn = void (*)(const MacChannel&, const S*, std::int64_t, std::int32_t*, std::int64_t);

template <class S, arch::RequantKind Kind>
FinishFn<S> finish_for_mode(arch::RoundingMode mode) {
    switch (mode) {
        case arch::RoundingMode::floor: return &finish_exact<S, Kind, arch::RoundingMode::floor>;
        case arch::RoundingMode::trunc: return &finish_exact<S, Kind, arch::RoundingMode::trunc>;
        case arch::RoundingMode::half_up: return &finish_exact<S, Kind, arch::RoundingMode::half_up>;
        case arch::RoundingMode::half_away: return &finish_exact<S, Kind, arch::RoundingMode::half_away>;
        case arch::RoundingMode::half_even: return &finish_exact<S, Kind, arch::RoundingMode::half_even>;
    }
    return &finish_exact<S, Kind, arch::RoundingMode::floor>;
}

// gemmlowp and float32 ignore the rounding register (their rounding is fixed).
template <class S>
FinishFn<S> finish_for(const RequantRegisters& r) {
    switch (r.kind) {
        case arch::RequantKind::shifter: return finish_for_mode<S, arch::RequantKind::shifter>(r.rounding);
        case arch::RequantKind::multiplier: return finish_for_mode<S, arch::RequantKind::multiplier>(r.rounding);
        case arch::RequantKind::gemmlowp:
            return &finish_exact<S, arch::RequantKind::gemmlowp, arch::RoundingMode::half_away>;
        case arch::RequantKind::float32:
            return &finish_exact<S, arch::RequantKind::float32, arch::RoundingMode::half_even>;
    }
    return nullptr;
}

// The finish by the channel's step table (see MacStepTable): the same bits.
template <class S>
void finish_by_table(const MacChannel& ch, const MacStepTable& t, const S* sums, std::int64_t pixels,
                     std::int32_t* dst, std::int64_t stride) {
    if (!t.sum_domain) {   // wrap: the table takes the accumulator value
        for (std::int64_t p = 0; p < pixels; ++p)
            dst[p * stride] = static_cast<std::int32_t>(
                step_lookup(t, mac_accumulate_exact(ch, static_cast<std::int64_t>(sums[p]))));
        return;
    }
    if (stride == 1) {
        step_lookup_all(t, sums, pixels, dst);
        return;
    }
    thread_local std::vector<std::int32_t> levels;
    levels.resize(static_cast<std::size_t>(pixels));
    step_lookup_all(t, sums, pixels, levels.data());
    for (std::int64_t p = 0; p < pixels; ++p) dst[p * stride] = levels[static_cast<std::size_t>(p)];
}

template <class S>
void finish_channel(const MacChannel& ch, const MacStepTable* table, BlockSums<S> sums, std::int64_t r,
                    std::int64_t P, std::int32_t* dst, std::int64_t stride) {
    if (table && sums.one_chunk)
        finish_by_table(ch, *table, sums.one_chunk + r * P, P, dst, stride);
    else if (table)
        finish_by_table(ch, *table, sums.total + r * P, P, dst, stride);
    else if (sums.one_chunk)
        finish_for<S>(ch.registers)(ch, sums.one_chunk + r * P, P, dst, stride);
    else
        finish_for<std::int64_t>(ch.registers)(ch, sums.total + r * P, P, dst, stride);
}

// The accumulators of one channel from its exact sums (steps 3-4: the bias at
// its stage, the accumulator rule), for mac_accumulators.
template <class S, class Out>
void accumulate_channel(const MacChannel& ch, const S* sums, std::int64_t pixels, Out* dst, std::int64_t stride) {
    for (std::int64_t p = 0; p < pixels; ++p)
        dst[p * stride] = static_cast<Out>(mac_accumulate_exact(ch, static_cast<std::int64_t>(sums[p])));
}

// Channel r of a block from its exact sums: the finished outputs (Acc =
// false; by the step table when there is one) or the accumulators (Acc).
template <bool Acc, class S, class Out>
void emit_channel(const MacChannel& ch, const MacStepTable* table, BlockSums<S> sums, std::int64_t r,
                  std::int64_t P, Out* dst, std::int64_t stride) {
    if constexpr (Acc) {
        if (sums.one_chunk)
            accumulate_channel(ch, sums.one_chunk + r * P, P, dst, stride);
        else
            accumulate_channel(ch, sums.total + r * P, P, dst, stride);
    } else {
        finish_channel(ch, table, sums, r, P, dst, stride);
    }
}

// Element bounds of one channel: risky[p] = 1 where sum_k |p_k| + |b_q| could
// leave the accumulator's range (numerics.md "MAC step 4: accumulate": only
// there may the ordered loop differ from the exact sum). Returns the number of
// risky elements.
template <class S>
std::int64_t mark_risky(const S* bound, std::int64_t P, const MacChannel& ch, std::uint8_t* risky) {
    const std::uint64_t b = magnitude(ch.bias);
    std::int64_t count = 0;
    for (std::int64_t p = 0; p < P; ++p) {
        const bool r = !exact_sum_is_safe(static_cast<std::uint64_t>(bound[p]) + b, ch.accumulator);
        risky[p] = r;
        count += r;
    }
    return count;
}

template <class S>
std::int64_t mark_risky(BlockSums<S> bounds, std::int64_t r, std::int64_t P, const MacChannel& ch,
                        std::uint8_t* risky) {
    return bounds.one_chunk ? mark_risky(bounds.one_chunk + r * P, P, ch, risky)
                            : mark_risky(bounds.total + r * P, P, ch, risky);
}

struct ColBuffers {
    std::vector<float> f, fa;      // x - z_x and |x - z_x| (element bounds by GEMM)
    std::vector<double> d, da;
    std::vector<std::int32_t> i;   // raw x values, for XNOR
    // Element bounds: per group, each output pixel's patch sums S1, S2
    // (MacPlan::abs_limit), [groups, P]; whether the group's |x - z_x|
    // columns were filled for the GEMM bound (where the patch sums leave too
    // many elements uncleared).
    std::vector<std::int64_t> s1, s2;
    std::vector<std::uint8_t> abs_filled;
};

// Elements of one channel its patch sums do not clear: risky[p] = 1.
std::int64_t mark_risky_by_patch(const std::int64_t* s1, const std::int64_t* s2, std::int64_t P,
                                 std::int64_t abs_limit, std::int64_t sq_limit, std::uint8_t* risky) {
    std::int64_t count = 0;
    for (std::int64_t p = 0; p < P; ++p) {
        const bool r = !patch_clears(s1[p], s2[p], abs_limit, sq_limit);
        risky[p] = r;
        count += r;
    }
    return count;
}

const MacStepTable* channel_table(const Context& c, std::int64_t oc, const MacChannel& ch) {
    // |exact sum| <= K * max|p|: inside the table's sum domain?
    const auto bound = static_cast<unsigned __int128>(c.d.k) * static_cast<std::uint64_t>(c.plan.max_abs_weight) *
                       static_cast<std::uint64_t>(c.plan.max_abs_input);
    const bool in_domain = bound <= static_cast<unsigned __int128>(kStepTableSumLimit);
    return in_domain ? cached_step_table(c.prep, oc, ch, c.d.pixels) : nullptr;
}

// Exact sums (and element bounds) of a float or double engine, then the
// finish (or, with Acc, the accumulators) of every exact channel; marks the
// elements the ordered loop owes.
template <bool Acc, class Out, class T>
void finish_gemm_block(const Context& c, const std::vector<T>& weights, const std::vector<T>& col,
                       const std::vector<T>& abs_col, const ColBuffers& buffers, std::int64_t col_offset,
                       std::int64_t n, std::int64_t g, std::int64_t first, std::int64_t rows, bool any_bound,
                       RowMatrix<T>& part, RowMatrix<T>& abs_part, Scratch& s, Out* out, MacStats& stats) {
    const std::int64_t P = c.d.pixels;
    const BlockSums<T> sums = gemm_sums<T, false>(c, weights, col.data() + col_offset, first, rows, part, s.sums);
    const bool gemm_bound = any_bound && buffers.abs_filled[static_cast<std::size_t>(g)];
    BlockSums<T> bounds;
    if (gemm_bound) bounds = gemm_sums<T, true>(c, weights, abs_col.data() + col_offset, first, rows, abs_part, s.abs_sums);
    for (std::int64_t r = 0; r < rows; ++r) {
        const std::int64_t oc = first + r;
        const auto i = static_cast<std::size_t>(oc);
        if (!c.plan.exact_ok[i] && !c.plan.element_bound[i]) continue;
        const MacChannel ch = mac_channel(c.layer, oc);
        // Conv output [n, oc, p]; Gemm output [p, oc]. Risky elements get an
        // exact-sum value here too, overwritten by the ordered loop.
        Out* dst = out + (c.d.gemm ? oc : (n * c.d.c_out + oc) * P);
        const MacStepTable* table = Acc ? nullptr : channel_table(c, oc, ch);
        emit_channel<Acc>(ch, table, sums, r, P, dst, c.d.gemm ? c.d.c_out : 1);
        if (c.plan.exact_ok[i]) {
            stats.exact_channel += P;
            if (table) stats.by_table += P;
            continue;
        }
        const std::int64_t risky =
            gemm_bound ? mark_risky(bounds, r, P, ch, s.risky.data() + r * P)
                       : mark_risky_by_patch(buffers.s1.data() + g * P, buffers.s2.data() + g * P, P,
                                             c.plan.abs_limit[i], c.plan.sq_limit[i], s.risky.data() + r * P);
        if (table) stats.by_table += P - risky;
        if (!gemm_bound) stats.by_patch += P - risky;
        stats.exact_element += P - risky;
        stats.ordered += risky;
    }
}

// Output channels [oc0, oc1) (within group g) of batch n: their outputs, or
// with Acc their accumulators.
template <bool Acc, class Out>
void run_block(const Context& c, const ColBuffers& col, std::int64_t n, std::int64_t g, std::int64_t oc0,
               std::int64_t oc1, Out* out, MacStats& stats) {
    const MacLayer& layer = c.layer;
    const std::int64_t K = c.d.k, P = c.d.pixels, col_offset = g * K * P;
    const std::int64_t first = g * c.d.channels_per_group + oc0, rows = oc1 - oc0;
    bool any_exact = false, any_bound = false;
    std::vector<std::int64_t> ordered;   // channels that take the ordered loop for every element
    for (std::int64_t r = 0; r < rows; ++r) {
        const auto i = static_cast<std::size_t>(first + r);
        any_exact = any_exact || c.plan.exact_ok[i] || c.plan.element_bound[i];
        any_bound = any_bound || c.plan.element_bound[i];
        if (!c.plan.exact_ok[i] && !c.plan.element_bound[i]) ordered.push_back(first + r);
    }

    Scratch& s = scratch();
    if (any_bound) s.risky.assign(static_cast<std::size_t>(rows * P), 0);
    if (any_exact) {
        if (c.plan.engine == MacPath::exact_float) {
            finish_gemm_block<Acc>(c, c.prep.weights_f, col.f, col.fa, col, col_offset, n, g, first, rows, any_bound,
                                   s.part_f, s.abs_part_f, s, out, stats);
        } else if (c.plan.engine == MacPath::exact_double) {
            finish_gemm_block<Acc>(c, c.prep.weights_d, col.d, col.da, col, col_offset, n, g, first, rows, any_bound,
                                   s.part_d, s.abs_part_d, s, out, stats);
        } else {   // XNOR: channel-level exactness only (plan.element_bound is all false)
            exact_sums_xnor(c, col.i.data() + col_offset, first, rows, s.sums);
            for (std::int64_t r = 0; r < rows; ++r) {
                const std::int64_t oc = first + r;
                if (!c.plan.exact_ok[static_cast<std::size_t>(oc)]) continue;
                Out* dst = out + (c.d.gemm ? oc : (n * c.d.c_out + oc) * P);
                const MacChannel ch = mac_channel(layer, oc);
                const MacStepTable* table = Acc ? nullptr : channel_table(c, oc, ch);
                emit_channel<Acc>(ch, table, BlockSums<std::int64_t>{s.sums.data(), nullptr}, r, P, dst,
                                  c.d.gemm ? c.d.c_out : 1);
                stats.exact_channel += P;
                if (table) stats.by_table += P;
            }
        }
    }
    stats.ordered += static_cast<std::int64_t>(ordered.size()) * P;
    if (ordered.empty() && !any_bound) return;
    s.pixel_risky.assign(static_cast<std::size_t>(P), ordered.empty() ? 0 : 1);
    if (any_bound)
        for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t p = 0; p < P; ++p) s.pixel_risky[static_cast<std::size_t>(p)] |= s.risky[static_cast<std::size_t>(r * P + p)];
    // The ordered loop, pixel by pixel: one im2col row serves every channel.
    s.row.resize(static_cast<std::size_t>(K));
    for (std::int64_t p = 0; p < P; ++p) {
        if (!s.pixel_risky[static_cast<std::size_t>(p)]) continue;
        if (c.d.gemm)
            im2col_row(layer, c.x, p, 0, 0, 0, s.row.data());
        else
            im2col_row(layer, c.x, n, g, p / c.d.out_w, p % c.d.out_w, s.row.data());
        for (std::int64_t r = 0; r < rows; ++r) {
            const std::int64_t oc = first + r;
            const auto i = static_cast<std::size_t>(oc);
            const bool owed = c.plan.element_bound[i] ? s.risky[static_cast<std::size_t>(r * P + p)] != 0
                                                      : !c.plan.exact_ok[i];
            if (!owed) continue;
            const std::int64_t index = c.d.gemm ? p * c.d.c_out + oc : (n * c.d.c_out + oc) * P + p;
            if constexpr (Acc)
                out[index] = static_cast<Out>(mac_accumulate(layer, oc, s.row.data()));
            else
                out[index] = static_cast<std::int32_t>(mac_output_element(layer, oc, s.row.data()));
        }
    }
}

}  // namespace

namespace {

// MacPlan::abs_limit and sq_limit of the element_bound channels.
void set_patch_limits(const PreparedMacLayer& prep, MacPlan& plan) {
    const MacLayer& layer = *prep.layer;
    const std::size_t c_out = plan.element_bound.size();
    plan.abs_limit.assign(c_out, -1);
    plan.sq_limit.assign(c_out, -1);
    const auto top = static_cast<std::uint64_t>(signed_max(layer.accumulator.bits));
    constexpr auto kNoLimit = static_cast<unsigned __int128>(std::numeric_limits<std::int64_t>::max());
    for (std::size_t i = 0; i < c_out; ++i) {
        const std::uint64_t b = magnitude(layer.bias.empty() ? 0 : layer.bias[i]);
        if (!plan.element_bound[i] || b > top) continue;
        const std::uint64_t room = top - b;   // A - |b_q|
        const auto w_max = static_cast<std::uint64_t>(prep.channel_max_abs_weight[i]);
        const std::uint64_t w_sq = prep.sq_weight_sum[i];
        plan.abs_limit[i] = static_cast<std::int64_t>(std::min<unsigned __int128>(w_max == 0 ? kNoLimit : room / w_max, kNoLimit));
        plan.sq_limit[i] = static_cast<std::int64_t>(
            std::min<unsigned __int128>(w_sq == 0 ? kNoLimit : static_cast<unsigned __int128>(room) * room / w_sq, kNoLimit));
    }
}

}  // namespace

// The GEMM bound pays for a group when the patch sums leave more than
// 1 in kGemmBoundShare of its element-bound elements uncleared (each costs
// an ordered loop, tens of times a GEMM term).
constexpr std::int64_t kGemmBoundShare = 32;
bool detail::group_needs_gemm_bound(const MacPlan& plan, const GemmDims& d, std::int64_t g, const std::int64_t* s1,
                            const std::int64_t* s2) {
    std::int64_t uncleared = 0, considered = 0;
    for (std::int64_t oc = g * d.channels_per_group; oc < (g + 1) * d.channels_per_group; ++oc) {
        const auto i = static_cast<std::size_t>(oc);
        if (!plan.element_bound[i]) continue;
        considered += d.pixels;
        for (std::int64_t p = 0; p < d.pixels; ++p)
            uncleared += !patch_clears(s1[p], s2[p], plan.abs_limit[i], plan.sq_limit[i]);
    }
    return uncleared * kGemmBoundShare > considered;
}

// plan_mac, with the channel bound's rule for wrap as a parameter: the
// kernel takes an exact sum for a wrapping channel whatever its bound
// (wrap_is_exact: modular arithmetic does not care about order);
// count_overflows needs the bound itself (the overflow is what it counts).
MacPlan detail::plan_channels(const PreparedMacLayer& prep, const QTensor& x, MacPath requested, bool wrap_is_exact) {
    const MacLayer& layer = *prep.layer;
    MacPlan plan;
    plan.max_abs_weight = prep.max_abs_weight;
    for (std::int32_t v : x.values)
        plan.max_abs_input = std::max<std::int64_t>(plan.max_abs_input, std::llabs(v - layer.input_zero_point));
    const std::int64_t c_out = output_channels(layer), K = reduction_length(layer);
    const bool wrap = wrap_is_exact && layer.accumulator.overflow == arch::Overflow::wrap;
    plan.exact_ok.assign(static_cast<std::size_t>(c_out), false);
    plan.element_bound.assign(static_cast<std::size_t>(c_out), false);
    if (requested == MacPath::ordered) return plan;

    // numerics.md "MAC step 4: accumulate": an exact sum is the ordered result
    // when no partial sum in any order can leave the range (sum |p_k| + |b_q|
    // fits), or always for wrap (modular arithmetic does not care about order).
    const auto top = static_cast<unsigned __int128>(signed_max(layer.accumulator.bits));
    for (std::int64_t oc = 0; oc < c_out; ++oc) {
        const auto i = static_cast<std::size_t>(oc);
        const std::uint64_t b = magnitude(layer.bias.empty() ? 0 : layer.bias[i]);
        const auto bound =
            static_cast<unsigned __int128>(prep.abs_weight_sum[i]) * static_cast<std::uint64_t>(plan.max_abs_input) + b;
        plan.exact_ok[i] = wrap || bound <= top;   // exact_sum_is_safe, without a 64-bit product's wrap
    }

    const std::int64_t max_product = plan.max_abs_weight * plan.max_abs_input;
    const bool binary = is_binary_layer(layer);
    if (requested == MacPath::xnor_popcount && !binary)
        throw UserError("the XNOR/popcount path needs int1 weights and activations with zero-points 0");
    if (requested == MacPath::exact_float && max_product > kFloatExactLimit)
        throw UserError("one product can reach " + std::to_string(max_product) +
                        ", more than float represents exactly; use the double path");
    if (requested == MacPath::automatic)
        requested = max_product <= kFloatExactLimit ? MacPath::exact_float : MacPath::exact_double;
    plan.engine = requested;
    const std::int64_t limit = requested == MacPath::exact_float ? kFloatExactLimit : kDoubleExactLimit;
    const std::int64_t k_max = std::max<std::int64_t>(K, 1);
    plan.chunk = max_product == 0 ? k_max : std::clamp<std::int64_t>(limit / max_product, 1, k_max);
    // The GEMM engines also bound each element of a failing channel:
    // sum_k |w_k - z_w| * |x_k - z_x| by a second GEMM, exact in the same
    // chunks (non-negative terms: every partial sum is at most the chunk's
    // sum of |products|, the quantity the chunk size keeps below the limit).
    if (requested == MacPath::exact_float || requested == MacPath::exact_double)
        for (std::size_t i = 0; i < plan.exact_ok.size(); ++i) plan.element_bound[i] = !plan.exact_ok[i];
    // The patch-sum limits of those channels, which spare most elements that GEMM.
    set_patch_limits(prep, plan);
    return plan;
}


MacPlan plan_mac(const PreparedMacLayer& prep, const QTensor& x, MacPath requested) {
    return plan_channels(prep, x, requested, /*wrap_is_exact=*/true);
}

MacPlan plan_mac(const MacLayer& layer, const QTensor& x, MacPath requested) {
    const PreparedMacLayer prep = prepare_mac_layer(layer);
    return plan_mac(prep, x, requested);
}

namespace {

// Column buffers reused across runs: the calling thread's (workers only read
// them), and one per worker thread for the image-parallel split.
ColBuffers& caller_columns() {
    thread_local ColBuffers buffers;
    return buffers;
}
ColBuffers& image_columns() {
    thread_local ColBuffers buffers;
    return buffers;
}

// The whole layer into out (out_shape's layout): the finished outputs, or
// with Acc the accumulators. The caller checked x against the layer.
template <bool Acc, class Out>
void run_kernel(const PreparedMacLayer& prep, const QTensor& x, const Shape& out_shape, const MacOptions& options,
                Out* out) {
    const MacLayer& layer = *prep.layer;
    const MacPlan plan = plan_mac(prep, x, options.path);
    if (options.stats) *options.stats = MacStats{};
    const GemmDims d = gemm_dims(layer, out_shape);
    if (d.pixels == 0 || d.channels_per_group == 0) return;
    const Context c{prep, layer, x, plan, d};

    const bool any_bound = std::find(plan.element_bound.begin(), plan.element_bound.end(), true) != plan.element_bound.end();
    const bool any_exact =
        any_bound || std::find(plan.exact_ok.begin(), plan.exact_ok.end(), true) != plan.exact_ok.end();
    const bool use_f = any_exact && plan.engine == MacPath::exact_float;
    const bool use_d = any_exact && plan.engine == MacPath::exact_double;
    const bool use_xnor = any_exact && plan.engine == MacPath::xnor_popcount;
    const bool use_i = use_xnor;
    if (use_xnor)
        for (std::int32_t v : x.values)
            if (v != 1 && v != -1) throw UserError("int1 layer input has a value other than -1/+1");

    const std::size_t col_size = static_cast<std::size_t>(d.groups * d.k * d.pixels);
    // Column buffers are grown only (never shrunk) so a reused buffer is not
    // zero-filled again; im2col writes every element a run reads.
    auto grow_columns = [&](ColBuffers& b) {
        if (use_f && b.f.size() < col_size) b.f.resize(col_size);
        if (use_d && b.d.size() < col_size) b.d.resize(col_size);
        if (use_i && b.i.size() < col_size) b.i.resize(col_size);
        if (any_bound) {
            b.s1.resize(static_cast<std::size_t>(d.groups * d.pixels));
            b.s2.resize(static_cast<std::size_t>(d.groups * d.pixels));
            b.abs_filled.assign(static_cast<std::size_t>(d.groups), 0);
        }
    };
    const std::int64_t group_size = d.k * d.pixels;
    auto fill_columns = [&](ColBuffers& buffers, std::int64_t n, std::int64_t g) {
        const std::int64_t at = g * group_size;
        if (use_f) im2col_block(layer, x, d, n, g, layer.input_zero_point, buffers.f.data() + at);
        if (use_d) im2col_block(layer, x, d, n, g, layer.input_zero_point, buffers.d.data() + at);
        if (use_i) im2col_block(layer, x, d, n, g, 0, buffers.i.data() + at);
        if (!any_bound) return;
        std::int64_t* s1 = buffers.s1.data() + g * d.pixels;
        std::int64_t* s2 = buffers.s2.data() + g * d.pixels;
        if (use_f) patch_sums(buffers.f.data() + at, d, s1, s2);
        if (use_d) patch_sums(buffers.d.data() + at, d, s1, s2);
        buffers.abs_filled[static_cast<std::size_t>(g)] = group_needs_gemm_bound(plan, d, g, s1, s2);
    };
    // |x - z_x| for the groups whose patch sums left too much uncleared
    // (after fill_columns: the buffers grow here, outside any worker).
    auto fill_abs_columns = [&](ColBuffers& buffers, int threads) {
        if (!any_bound) return;
        if (std::find(buffers.abs_filled.begin(), buffers.abs_filled.end(), 1) == buffers.abs_filled.end()) return;
        if (use_f && buffers.fa.size() < col_size) buffers.fa.resize(col_size);
        if (use_d && buffers.da.size() < col_size) buffers.da.resize(col_size);
        parallel_for(d.groups, threads, [&](std::int64_t g) {
            if (!buffers.abs_filled[static_cast<std::size_t>(g)]) return;
            const std::int64_t at = g * group_size;
            if (use_f) absolute_values(buffers.f.data() + at, group_size, buffers.fa.data() + at);
            if (use_d) absolute_values(buffers.d.data() + at, group_size, buffers.da.data() + at);
        });
    };
    auto sum_stats = [&](const std::vector<MacStats>& parts) {
        if (!options.stats) return;
        for (const MacStats& t : parts) {
            options.stats->exact_channel += t.exact_channel;
            options.stats->exact_element += t.exact_element;
            options.stats->ordered += t.ordered;
            options.stats->by_table += t.by_table;
            options.stats->by_patch += t.by_patch;
        }
    };
    // At least as many images as threads: one image per task, each thread
    // with its own column buffers (one job for the whole batch instead of
    // one per image). Every output element is computed by the same code
    // either way, so the bits do not depend on the split.
    if (options.threads > 1 && d.batches >= options.threads) {
        std::vector<MacStats> image_stats(static_cast<std::size_t>(d.batches));
        parallel_for(d.batches, options.threads, [&](std::int64_t n) {
            ColBuffers& own = image_columns();
            grow_columns(own);
            for (std::int64_t g = 0; g < d.groups; ++g) fill_columns(own, n, g);
            fill_abs_columns(own, 1);
            for (std::int64_t g = 0; g < d.groups; ++g)
                run_block<Acc>(c, own, n, g, 0, d.channels_per_group, out, image_stats[static_cast<std::size_t>(n)]);
        });
        sum_stats(image_stats);
        return;
    }
    // The caller thread's buffers, reused across runs (workers only read them).
    ColBuffers& col = caller_columns();   // a plain reference: workers must see the caller's buffers
    grow_columns(col);
    const std::int64_t blocks = std::max<std::int64_t>(1, std::min<std::int64_t>(options.threads, d.channels_per_group));
    // One stats slot per task, summed in task order: the same totals for any thread count.
    std::vector<MacStats> task_stats(static_cast<std::size_t>(d.groups * blocks));
    for (std::int64_t n = 0; n < d.batches; ++n) {
        parallel_for(d.groups, options.threads, [&](std::int64_t g) { fill_columns(col, n, g); });
        fill_abs_columns(col, options.threads);
        parallel_for(d.groups * blocks, options.threads, [&](std::int64_t i) {
            const std::int64_t g = i / blocks, b = i % blocks;
            run_block<Acc>(c, col, n, g, d.channels_per_group * b / blocks, d.channels_per_group * (b + 1) / blocks,
                           out, task_stats[static_cast<std::size_t>(i)]);
        });
    }
    sum_stats(task_stats);
}

}  // namespace

QTensor run_mac_layer(const PreparedMacLayer& prep, const QTensor& x, const MacOptions& options) {
    const MacLayer& layer = *prep.layer;
    const Shape out_shape = mac_output_shape(layer, x.shape);
    if (element_count(x.shape) != x.size()) throw UserError("MAC layer input values do not match its shape");
    QTensor out(out_shape, per_tensor(layer.output_type, 1.0f, layer.output_zero_point));
    run_kernel<false>(prep, x, out_shape, options, out.values.data());
    return out;
}

QTensor run_mac_layer(const MacLayer& layer, const QTensor& x, const MacOptions& options) {
    const PreparedMacLayer prep = prepare_mac_layer(layer);
    return run_mac_layer(prep, x, options);
}

template <class T>
MacAccumulators<T> mac_accumulators(const PreparedMacLayer& prep, const QTensor& x, const MacOptions& options) {
    const MacLayer& layer = *prep.layer;
    if (std::is_same_v<T, std::int32_t> && layer.accumulator.bits > 32)
        throw std::invalid_argument("mac_accumulators<int32_t>: a " + std::to_string(layer.accumulator.bits) +
                                    "-bit accumulator does not fit int32");
    MacAccumulators<T> acc;
    acc.shape = mac_output_shape(layer, x.shape);
    if (element_count(x.shape) != x.size()) throw UserError("MAC layer input values do not match its shape");
    acc.values.assign(static_cast<std::size_t>(element_count(acc.shape)), 0);
    run_kernel<true>(prep, x, acc.shape, options, acc.values.data());
    return acc;
}

template <class T>
MacAccumulators<T> mac_accumulators(const MacLayer& layer, const QTensor& x, const MacOptions& options) {
    const PreparedMacLayer prep = prepare_mac_layer(layer);
    return mac_accumulators<T>(prep, x, options);
}

template MacAccumulators<std::int32_t> mac_accumulators(const PreparedMacLayer&, const QTensor&, const MacOptions&);
template MacAccumulators<std::int64_t> mac_accumulators(const PreparedMacLayer&, const QTensor&, const MacOptions&);
template MacAccumulators<std::int32_t> mac_accumulators(const MacLayer&, const QTensor&, const MacOptions&);
template MacAccumulators<std::int64_t> mac_accumulators(const MacLayer&, const QTensor&, const MacOptions&);

}  // namespace bitnpu::sim
