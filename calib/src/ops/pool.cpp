// MaxPool (with optional Indices), AveragePool, GlobalAveragePool,
// GlobalMaxPool over any number of spatial axes.
#include <algorithm>
#include <limits>

#include "dispatch.hpp"
#include "kernels.hpp"
#include "parallel.hpp"
#include "window.hpp"

namespace bitnpu::calib::ops {

namespace {

struct PoolProblem {
    std::int64_t batch, channels;
    WindowGeometry geo;
    std::int64_t in_size, out_size;
    Shape out_shape;
    // Threads worth starting: small pools run on the calling thread.
    int threads(int available) const {
        return batch * channels * out_size * num_elements(geo.kernel) < (1 << 18) ? 1 : available;
    }
};

PoolProblem pool_problem(const KernelContext& ctx, const Tensor& x) {
    if (x.rank() < 3) ctx.fail("X must have rank >= 3 ([N, C, spatial...]), got " + shape_to_string(x.shape()));
    if (!ctx.node.has_attr("kernel_shape")) ctx.fail("attribute kernel_shape is required");
    PoolProblem p;
    p.batch = x.dim(0);
    p.channels = x.dim(1);
    const std::vector<std::int64_t> spatial(x.shape().begin() + 2, x.shape().end());
    const bool ceil_mode = ctx.node.attr_int("ceil_mode", 0) != 0;
    p.geo = window_geometry(ctx, spatial, ctx.node.attr_ints("kernel_shape"), ceil_mode);
    p.in_size = num_elements(p.geo.input);
    p.out_size = num_elements(p.geo.output);
    p.out_shape = {p.batch, p.channels};
    p.out_shape.insert(p.out_shape.end(), p.geo.output.begin(), p.geo.output.end());
    return p;
}

// Calls visit(out_index, window) for every output position of one plane,
// where window(f) calls f(input_offset) for each tap inside the input and
// window.padded_count() counts the taps inside the padded input.
template <class Visit>
void for_each_window(const WindowGeometry& g, Visit&& visit) {
    const std::size_t rank = g.rank();
    const std::vector<std::int64_t> in_strides = row_major_strides(g.input);
    const std::int64_t out_size = num_elements(g.output), taps = num_elements(g.kernel);
    // Each tap's dilated offset per axis, decoded once (not per output position).
    std::vector<std::int64_t> tap_offset(static_cast<std::size_t>(taps) * rank);
    for (std::int64_t t = 0; t < taps; ++t)
        for (std::size_t d = rank, rem = static_cast<std::size_t>(t); d-- > 0;) {
            tap_offset[static_cast<std::size_t>(t) * rank + d] =
                static_cast<std::int64_t>(rem % static_cast<std::size_t>(g.kernel[d])) * g.dilation[d];
            rem /= static_cast<std::size_t>(g.kernel[d]);
        }
    std::vector<std::int64_t> start(rank);
    for (std::int64_t o = 0; o < out_size; ++o) {
        for (std::size_t d = rank, rem = static_cast<std::size_t>(o); d-- > 0;) {
            start[d] = static_cast<std::int64_t>(rem % static_cast<std::size_t>(g.output[d])) * g.stride[d] - g.pad_begin[d];
            rem /= static_cast<std::size_t>(g.output[d]);
        }
        auto taps_inside = [&](auto&& f) {
            std::int64_t padded = 0;
            for (std::int64_t t = 0; t < taps; ++t) {
                const std::int64_t* k = &tap_offset[static_cast<std::size_t>(t) * rank];
                std::int64_t offset = 0;
                bool inside = true, in_padded = true;
                for (std::size_t d = 0; d < rank; ++d) {
                    const std::int64_t i = start[d] + k[d];
                    if (i < 0 || i >= g.input[d]) inside = false;
                    if (i < -g.pad_begin[d] || i >= g.input[d] + g.pad_end[d]) in_padded = false;
                    offset += i * in_strides[d];
                }
                if (in_padded) ++padded;
                if (inside) f(offset);
            }
            return padded;
        };
        visit(o, taps_inside);
    }
}

// Index of an element in the layout storage_order asks for (0: row-major, 1: column-major).
std::int64_t storage_index(std::int64_t plane, std::int64_t offset, const std::vector<std::int64_t>& dims,
                           bool column_major) {
    const std::int64_t size = num_elements(dims);
    if (!column_major) return plane * size + offset;
    std::int64_t idx = 0, stride = 1;
    std::vector<std::int64_t> coord(dims.size());
    for (std::size_t d = dims.size(); d-- > 0;) {
        coord[d] = offset % dims[d];
        offset /= dims[d];
    }
    for (std::size_t d = 0; d < dims.size(); ++d) {
        idx += coord[d] * stride;
        stride *= dims[d];
    }
    return plane * size + idx;
}

}  // namespace

std::vector<Tensor> max_pool(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    const PoolProblem p = pool_problem(ctx, x);
    const bool want_indices = ctx.node.outputs.size() > 1 && !ctx.node.outputs[1].empty();
    const bool column_major = ctx.node.attr_int("storage_order", 0) != 0;
    Tensor indices(DType::i64, want_indices ? p.out_shape : Shape{0});
    Tensor y = dispatch_numeric(ctx, x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        Tensor out(x.dtype(), p.out_shape);
        const T* px = x.data<T>();
        T* py = out.data<T>();
        std::int64_t* pi = want_indices ? indices.data<std::int64_t>() : nullptr;
        parallel_for(p.threads(ctx.threads), p.batch * p.channels, [&](std::int64_t plane) {
            const T* xin = px + plane * p.in_size;
            for_each_window(p.geo, [&](std::int64_t o, auto&& taps) {
                T best = std::numeric_limits<T>::lowest();
                std::int64_t best_offset = -1;
                taps([&](std::int64_t off) {
                    if (best_offset < 0 || xin[off] > best) {
                        best = xin[off];
                        best_offset = off;
                    }
                });
                py[plane * p.out_size + o] = best;
                if (pi) pi[plane * p.out_size + o] = storage_index(plane, best_offset, p.geo.input, column_major);
            });
        });
        return out;
    });
    std::vector<Tensor> outs;
    outs.push_back(std::move(y));
    if (want_indices) outs.push_back(std::move(indices));
    return outs;
}

std::vector<Tensor> average_pool(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    const PoolProblem p = pool_problem(ctx, x);
    const bool include_pad = ctx.node.attr_int("count_include_pad", 0) != 0;
    return one(dispatch_float(ctx, x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        Tensor out(x.dtype(), p.out_shape);
        const T* px = x.data<T>();
        T* py = out.data<T>();
        parallel_for(p.threads(ctx.threads), p.batch * p.channels, [&](std::int64_t plane) {
            const T* xin = px + plane * p.in_size;
            for_each_window(p.geo, [&](std::int64_t o, auto&& taps) {
                T sum = 0;
                std::int64_t count = 0;
                const std::int64_t padded = taps([&](std::int64_t off) {
                    sum += xin[off];
                    ++count;
                });
                // count_include_pad counts the taps in the padding, but not
                // those beyond it that ceil_mode adds.
                const std::int64_t divisor = include_pad ? padded : count;
                py[plane * p.out_size + o] = divisor > 0 ? sum / static_cast<T>(divisor) : T(0);
            });
        });
        return out;
    }));
}

namespace {

template <class Reduce>
Tensor global_pool(const KernelContext& ctx, Reduce&& reduce) {
    const Tensor& x = ctx.input(0);
    if (x.rank() < 3) ctx.fail("X must have rank >= 3 ([N, C, spatial...])");
    Shape out_shape(x.shape().size(), 1);
    out_shape[0] = x.dim(0);
    out_shape[1] = x.dim(1);
    const std::int64_t planes = x.dim(0) * x.dim(1), size = x.numel() / std::max<std::int64_t>(planes, 1);
    return dispatch_float(ctx, x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        Tensor out(x.dtype(), out_shape);
        for (std::int64_t i = 0; i < planes; ++i) out.data<T>()[i] = reduce(x.data<T>() + i * size, size);
        return out;
    });
}

}  // namespace

std::vector<Tensor> global_average_pool(const KernelContext& ctx) {
    return one(global_pool(ctx, [](const auto* v, std::int64_t n) {
        using T = std::remove_cv_t<std::remove_pointer_t<decltype(v)>>;
        T sum = 0;
        for (std::int64_t i = 0; i < n; ++i) sum += v[i];
        return sum / static_cast<T>(n);
    }));
}

std::vector<Tensor> global_max_pool(const KernelContext& ctx) {
    return one(global_pool(ctx, [](const auto* v, std::int64_t n) { return *std::max_element(v, v + n); }));
}

}  // namespace bitnpu::calib::ops
