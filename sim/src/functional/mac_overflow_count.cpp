// count_overflows (mac_accumulators.hpp): what a MAC layer's accumulator
// rule does on an input, the reference's counts exactly, stepping only
// through the elements no bound clears (the kernel's plan and patch sums,
// mac_kernel_parts.hpp).
#include <algorithm>
#include <type_traits>
#include <vector>

#include "bitnpu/errors.hpp"
#include "bitnpu/sim/datapath/accumulate.hpp"
#include "bitnpu/sim/datapath/product.hpp"
#include "bitnpu/sim/functional/mac_accumulators.hpp"
#include "bitnpu/sim/parallel.hpp"
#include "mac_kernel_parts.hpp"

namespace bitnpu::sim {

using namespace detail;

namespace {

template <class T>
RowMatrix<T>& abs_part(Scratch& s) {
    if constexpr (std::is_same_v<T, float>)
        return s.abs_part_f;
    else
        return s.abs_part_d;
}

// One element in the canonical order (bias at its stage, then or after the
// products), counting the steps that leave the accumulator's range.
void step_through(const MacLayer& layer, std::int64_t oc, const std::int32_t* row, OverflowCounts& counts) {
    const std::int64_t K = reduction_length(layer);
    const std::int32_t* w = layer.weights.data() + oc * K;
    const std::int64_t b = layer.bias.empty() ? 0 : layer.bias[static_cast<std::size_t>(oc)];
    const AccumulatorRule& rule = layer.accumulator;
    const bool preload = layer.bias_stage == arch::BiasStage::preload;
    std::int64_t sum = 0, overflowed = 0;
    auto step = [&](std::int64_t v) {
        overflowed += step_overflows(sum, v, rule) ? 1 : 0;
        sum = accumulate(sum, v, rule);
    };
    if (preload) step(b);
    for (std::int64_t k = 0; k < K; ++k) step(product(w[k] - layer.weight_zero_point, row[k], layer.input_zero_point));
    if (!preload) step(b);
    counts.overflowed_steps += overflowed;
    counts.overflowed_outputs += overflowed > 0 ? 1 : 0;
    ++counts.stepped_outputs;
}

// Channels [first, first + rows) of batch n, group g, element-bound in
// c.plan: each element cleared by its patch sums (s1, s2) or, with abs_col,
// by its bound from a GEMM of |w - z_w| and the group's |x - z_x| columns;
// the elements not cleared are stepped through.
template <class T>
void count_block(const Context& c, const std::vector<T>& weights, const T* abs_col, const std::int64_t* s1,
                 const std::int64_t* s2, std::int64_t n, std::int64_t g, std::int64_t first, std::int64_t rows,
                 OverflowCounts& counts) {
    const std::int64_t P = c.d.pixels;
    Scratch& s = scratch();
    BlockSums<T> bounds;
    if (abs_col) bounds = gemm_sums<T, true>(c, weights, abs_col, first, rows, abs_part<T>(s), s.abs_sums);
    s.row.resize(static_cast<std::size_t>(c.d.k));
    for (std::int64_t r = 0; r < rows; ++r) {
        const std::int64_t oc = first + r;
        const auto i = static_cast<std::size_t>(oc);
        if (!c.plan.element_bound[i]) continue;
        const std::uint64_t b = magnitude(c.layer.bias.empty() ? 0 : c.layer.bias[i]);
        for (std::int64_t p = 0; p < P; ++p) {
            if (abs_col) {
                const auto bound = static_cast<std::uint64_t>(bounds.one_chunk ? bounds.one_chunk[r * P + p]
                                                                               : bounds.total[r * P + p]);
                if (exact_sum_is_safe(bound + b, c.layer.accumulator)) continue;
            } else if (patch_clears(s1[p], s2[p], c.plan.abs_limit[i], c.plan.sq_limit[i])) {
                continue;
            }
            if (c.d.gemm)
                im2col_row(c.layer, c.x, p, 0, 0, 0, s.row.data());
            else
                im2col_row(c.layer, c.x, n, g, p / c.d.out_w, p % c.d.out_w, s.row.data());
            step_through(c.layer, oc, s.row.data(), counts);
        }
    }
}

template <class T>
void count_overflows_with(const Context& c, const std::vector<T>& weights, int threads, OverflowCounts& total) {
    const std::int64_t K = c.d.k, P = c.d.pixels;
    std::vector<T> col(static_cast<std::size_t>(K * P));   // x - z_x of one group, then |x - z_x|
    std::vector<std::int64_t> s1(static_cast<std::size_t>(P)), s2(static_cast<std::size_t>(P));
    const std::int64_t blocks = std::max<std::int64_t>(1, std::min<std::int64_t>(threads, c.d.channels_per_group));
    for (std::int64_t n = 0; n < c.d.batches; ++n) {
        for (std::int64_t g = 0; g < c.d.groups; ++g) {
            const std::int64_t g0 = g * c.d.channels_per_group;
            bool any = false;
            for (std::int64_t oc = g0; oc < g0 + c.d.channels_per_group; ++oc)
                any = any || c.plan.element_bound[static_cast<std::size_t>(oc)];
            if (!any) continue;
            im2col_block(c.layer, c.x, c.d, n, g, c.layer.input_zero_point, col.data());
            patch_sums(col.data(), c.d, s1.data(), s2.data());
            const bool gemm_bound = group_needs_gemm_bound(c.plan, c.d, g, s1.data(), s2.data());
            if (gemm_bound) absolute_values(col.data(), K * P, col.data());
            // One count per task, summed in task order: the same totals for any thread count.
            std::vector<OverflowCounts> parts(static_cast<std::size_t>(blocks));
            parallel_for(blocks, threads, [&](std::int64_t b) {
                const std::int64_t oc0 = c.d.channels_per_group * b / blocks, oc1 = c.d.channels_per_group * (b + 1) / blocks;
                count_block(c, weights, gemm_bound ? col.data() : nullptr, s1.data(), s2.data(), n, g, g0 + oc0,
                            oc1 - oc0, parts[static_cast<std::size_t>(b)]);
            });
            for (const OverflowCounts& p : parts) {
                total.overflowed_steps += p.overflowed_steps;
                total.overflowed_outputs += p.overflowed_outputs;
                total.stepped_outputs += p.stepped_outputs;
            }
        }
    }
}

}  // namespace

OverflowCounts count_overflows(const PreparedMacLayer& prep, const QTensor& x, int threads) {
    const MacLayer& layer = *prep.layer;
    const Shape out_shape = mac_output_shape(layer, x.shape);
    if (element_count(x.shape) != x.size()) throw UserError("MAC layer input values do not match its shape");
    const std::int64_t K = reduction_length(layer);
    OverflowCounts counts;
    counts.outputs = element_count(out_shape);
    counts.steps = counts.outputs * (K + 1);
    const GemmDims d = gemm_dims(layer, out_shape);
    if (d.pixels == 0 || d.channels_per_group == 0) return counts;

    // The kernel's plan, with wrapping channels bounded too: the channels
    // whose bound fails are element-bound, the others cannot overflow.
    const MacPlan plan = plan_channels(prep, x, MacPath::automatic, /*wrap_is_exact=*/false);
    if (std::find(plan.element_bound.begin(), plan.element_bound.end(), true) == plan.element_bound.end())
        return counts;
    const Context c{prep, layer, x, plan, d};
    if (plan.engine == MacPath::exact_float)
        count_overflows_with(c, prep.weights_f, threads, counts);
    else
        count_overflows_with(c, prep.weights_d, threads, counts);
    return counts;
}

OverflowCounts count_overflows(const MacLayer& layer, const QTensor& x, int threads) {
    const PreparedMacLayer prep = prepare_mac_layer(layer);
    return count_overflows(prep, x, threads);
}

}  // namespace bitnpu::sim
