// Reductions over a set of axes (ReduceMean, ReduceSum, ReduceMax, ...) and
// ArgMax/ArgMin along one axis.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "broadcast.hpp"
#include "dispatch.hpp"
#include "kernels.hpp"

namespace bitnpu::calib::ops {

namespace {

enum class Reduction { sum, mean, max, min, prod, sum_square, l1, l2, log_sum, log_sum_exp };

// The reduced axes (sorted, normalized), or nullopt for "identity" when the
// axes are empty and noop_with_empty_axes is set.
std::optional<std::vector<std::int64_t>> reduced_axes(const KernelContext& ctx, std::int64_t rank,
                                                       bool axes_is_input) {
    std::vector<std::int64_t> axes =
        axes_is_input ? (ctx.has_input(1) ? ctx.input(1).to_int64s() : std::vector<std::int64_t>{})
                      : ctx.node.attr_ints("axes");
    if (axes.empty()) {
        if (ctx.node.attr_int("noop_with_empty_axes", 0) != 0) return std::nullopt;
        for (std::int64_t d = 0; d < rank; ++d) axes.push_back(d);
    }
    for (auto& a : axes) a = normalize_axis(ctx, a, rank);
    std::sort(axes.begin(), axes.end());
    if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) ctx.fail("axes contain a repeated axis");
    return axes;
}

template <class T>
Tensor reduce(const KernelContext& ctx, const Tensor& x, const std::vector<std::int64_t>& axes, Reduction kind) {
    Shape kept = x.shape();
    std::int64_t count = 1;
    for (auto a : axes) {
        count *= kept[a];
        kept[a] = 1;
    }
    const std::int64_t outputs = num_elements(kept);
    const bool is_max = kind == Reduction::max, is_min = kind == Reduction::min;
    const double init = kind == Reduction::prod ? 1.0
                        : is_max               ? -std::numeric_limits<double>::infinity()
                        : is_min               ? std::numeric_limits<double>::infinity()
                                               : 0.0;
    if (count == 0 && (is_max || is_min)) ctx.fail("cannot reduce an empty tensor with max/min");
    std::vector<double> acc(static_cast<std::size_t>(outputs), init);
    const T* px = x.data<T>();
    for_each_broadcast<1>(x.shape(), {&kept}, [&](std::int64_t i, const std::array<std::int64_t, 1>& off) {
        const double v = static_cast<double>(px[i]);
        double& a = acc[static_cast<std::size_t>(off[0])];
        switch (kind) {
            case Reduction::sum: case Reduction::mean: case Reduction::log_sum: a += v; break;
            case Reduction::max: a = std::max(a, v); break;
            case Reduction::min: a = std::min(a, v); break;
            case Reduction::prod: a *= v; break;
            case Reduction::sum_square: case Reduction::l2: a += v * v; break;
            case Reduction::l1: a += std::abs(v); break;
            case Reduction::log_sum_exp: a += std::exp(v); break;
        }
    });
    Shape out_shape;
    if (ctx.node.attr_int("keepdims", 1) != 0) {
        out_shape = kept;
    } else {
        for (std::int64_t d = 0; d < x.rank(); ++d)
            if (!std::binary_search(axes.begin(), axes.end(), d)) out_shape.push_back(x.dim(d));
    }
    Tensor y(x.dtype(), out_shape);
    T* py = y.data<T>();
    for (std::int64_t o = 0; o < outputs; ++o) {
        double a = acc[static_cast<std::size_t>(o)];
        if (kind == Reduction::mean) a /= static_cast<double>(count);
        if (kind == Reduction::l2) a = std::sqrt(a);
        if (kind == Reduction::log_sum || kind == Reduction::log_sum_exp) a = std::log(a);
        py[o] = static_cast<T>(a);
    }
    return y;
}

std::vector<Tensor> run_reduce(const KernelContext& ctx, Reduction kind, std::int64_t axes_input_opset) {
    const Tensor& x = ctx.input(0);
    const auto axes = reduced_axes(ctx, x.rank(), ctx.opset >= axes_input_opset);
    if (!axes) return one(x);
    return one(dispatch_numeric(ctx, x.dtype(), [&](auto tag) { return reduce<decltype(tag)>(ctx, x, *axes, kind); }));
}

}  // namespace

// ReduceSum took its axes as an input from opset 13, the others from 18.
std::vector<Tensor> reduce_sum(const KernelContext& ctx) { return run_reduce(ctx, Reduction::sum, 13); }
std::vector<Tensor> reduce_mean(const KernelContext& ctx) { return run_reduce(ctx, Reduction::mean, 18); }
std::vector<Tensor> reduce_max(const KernelContext& ctx) { return run_reduce(ctx, Reduction::max, 18); }
std::vector<Tensor> reduce_min(const KernelContext& ctx) { return run_reduce(ctx, Reduction::min, 18); }
std::vector<Tensor> reduce_prod(const KernelContext& ctx) { return run_reduce(ctx, Reduction::prod, 18); }
std::vector<Tensor> reduce_sum_square(const KernelContext& ctx) { return run_reduce(ctx, Reduction::sum_square, 18); }
std::vector<Tensor> reduce_l1(const KernelContext& ctx) { return run_reduce(ctx, Reduction::l1, 18); }
std::vector<Tensor> reduce_l2(const KernelContext& ctx) { return run_reduce(ctx, Reduction::l2, 18); }
std::vector<Tensor> reduce_log_sum(const KernelContext& ctx) { return run_reduce(ctx, Reduction::log_sum, 18); }
std::vector<Tensor> reduce_log_sum_exp(const KernelContext& ctx) { return run_reduce(ctx, Reduction::log_sum_exp, 18); }

namespace {

std::vector<Tensor> arg_extreme(const KernelContext& ctx, bool want_max) {
    const Tensor& x = ctx.input(0);
    if (x.rank() == 0) ctx.fail("input must have rank >= 1");
    const std::int64_t axis = normalize_axis(ctx, ctx.node.attr_int("axis", 0), x.rank());
    const bool last = ctx.node.attr_int("select_last_index", 0) != 0;
    std::int64_t outer = 1, inner = 1;
    for (std::int64_t d = 0; d < x.rank(); ++d)
        (d < axis ? outer : inner) *= d == axis ? 1 : x.dim(d);
    const std::int64_t length = x.dim(axis);
    if (length == 0) ctx.fail("cannot take ArgMax/ArgMin along an empty axis");
    Shape out_shape = x.shape();
    if (ctx.node.attr_int("keepdims", 1) != 0) out_shape[axis] = 1;
    else out_shape.erase(out_shape.begin() + axis);
    Tensor y(DType::i64, out_shape);
    dispatch_numeric(ctx, x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* px = x.data<T>();
        for (std::int64_t o = 0; o < outer; ++o)
            for (std::int64_t i = 0; i < inner; ++i) {
                const T* xs = px + o * length * inner + i;
                std::int64_t best = 0;
                for (std::int64_t j = 1; j < length; ++j) {
                    const T v = xs[j * inner], b = xs[best * inner];
                    const bool better = want_max ? (v > b || (last && v == b)) : (v < b || (last && v == b));
                    if (better) best = j;
                }
                y.data<std::int64_t>()[o * inner + i] = best;
            }
        return 0;
    });
    return one(std::move(y));
}

}  // namespace

std::vector<Tensor> arg_max(const KernelContext& ctx) { return arg_extreme(ctx, true); }
std::vector<Tensor> arg_min(const KernelContext& ctx) { return arg_extreme(ctx, false); }

}  // namespace bitnpu::calib::ops
