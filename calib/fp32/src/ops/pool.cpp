// MaxPool (with optional Indices), AveragePool, GlobalAveragePool,
// GlobalMaxPool over any number of spatial axes.
#include <algorithm>
#include <limits>

#include "dispatch.hpp"
#include "kernels.hpp"
#include "bitnpu/sim/parallel.hpp"
#include "bitnpu/fp32/window.hpp"

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

// The taps k (0 <= k < kernel) of one window along one axis whose position
// start + k * dilation lies in [lo, hi): always a contiguous range [first, last).
struct TapRange {
    std::int64_t first, last;
    std::int64_t count() const { return last - first; }
};

TapRange taps_between(std::int64_t start, std::int64_t kernel, std::int64_t dilation, std::int64_t lo,
                      std::int64_t hi) {
    const std::int64_t first = start >= lo ? 0 : (lo - start + dilation - 1) / dilation;
    const std::int64_t last = start >= hi ? 0 : std::min(kernel, (hi - start + dilation - 1) / dilation);
    return {std::min(first, last), last};
}

// Calls visit(out_index, window) for every output position of one plane,
// where window(f) calls f(input_offset) for each tap inside the input (in
// row-major kernel order) and returns the number of taps inside the padded
// input. Built once per pool node; visit_plane() is then called per plane.
class PlaneWindows {
public:
    explicit PlaneWindows(const WindowGeometry& g) : g_(g), rank_(g.rank()), in_strides_(row_major_strides(g.input)) {
        if (rank_ == 2) {
            // Per output row / column: the kernel rows / columns inside the input and
            // inside the padded input, so the 2-D walk needs no per-tap bounds checks.
            for (std::size_t d = 0; d < 2; ++d)
                for (std::int64_t o = 0; o < g.output[d]; ++o) {
                    const std::int64_t start = o * g.stride[d] - g.pad_begin[d];
                    inside_[d].push_back(taps_between(start, g.kernel[d], g.dilation[d], 0, g.input[d]));
                    padded_[d].push_back(taps_between(start, g.kernel[d], g.dilation[d], -g.pad_begin[d],
                                                      g.input[d] + g.pad_end[d]).count());
                }
            // The output columns whose whole kernel row lies inside the input
            // (a contiguous range: the window start grows with the column).
            std::int64_t first = g.output[1], last = 0;
            for (std::int64_t o = 0; o < g.output[1]; ++o) {
                const TapRange& kx = inside_[1][static_cast<std::size_t>(o)];
                if (kx.first == 0 && kx.last == g.kernel[1]) {
                    first = std::min(first, o);
                    last = o + 1;
                }
            }
            full_columns_ = {std::min(first, last), last};
            return;
        }
        // Each tap's dilated offset per axis, decoded once (not per output position).
        const std::int64_t taps = num_elements(g.kernel);
        tap_offset_.resize(static_cast<std::size_t>(taps) * rank_);
        for (std::int64_t t = 0; t < taps; ++t)
            for (std::size_t d = rank_, rem = static_cast<std::size_t>(t); d-- > 0;) {
                tap_offset_[static_cast<std::size_t>(t) * rank_ + d] =
                    static_cast<std::int64_t>(rem % static_cast<std::size_t>(g.kernel[d])) * g.dilation[d];
                rem /= static_cast<std::size_t>(g.kernel[d]);
            }
    }

    bool planar() const { return rank_ == 2; }

    // The max of every window of one 2-D plane (planar() only), with the
    // taps visited in the same order as visit_plane and the same rule (a tap
    // replaces the best when it is greater, so a NaN first tap stays and
    // later NaNs are skipped). Columns whose window row lies wholly inside
    // the input take one pass per tap across the output row (it vectorizes);
    // the edge columns walk their windows.
    template <class T>
    void max_plane_2d(const T* x, T* y) const {
        const std::int64_t oh = g_.output[0], ow = g_.output[1], iw = g_.input[1];
        const std::int64_t kw = g_.kernel[1], sw = g_.stride[1], dh = g_.dilation[0], dw = g_.dilation[1];
        for (std::int64_t oy = 0; oy < oh; ++oy) {
            const TapRange ky = inside_[0][static_cast<std::size_t>(oy)];
            const std::int64_t iy0 = oy * g_.stride[0] - g_.pad_begin[0];
            T* out = y + oy * ow;
            auto window_max = [&](std::int64_t ox) {
                const TapRange kx = inside_[1][static_cast<std::size_t>(ox)];
                const std::int64_t ix0 = ox * sw - g_.pad_begin[1];
                T best = std::numeric_limits<T>::lowest();
                bool any = false;
                for (std::int64_t r = ky.first; r < ky.last; ++r)
                    for (std::int64_t c = kx.first; c < kx.last; ++c) {
                        const T v = x[(iy0 + r * dh) * iw + ix0 + c * dw];
                        if (!any || v > best) best = v;
                        any = true;
                    }
                out[ox] = best;
            };
            const std::int64_t c0 = ky.count() > 0 ? full_columns_.first : 0;
            const std::int64_t c1 = ky.count() > 0 ? full_columns_.last : 0;
            for (std::int64_t ox = 0; ox < c0; ++ox) window_max(ox);
            for (std::int64_t ox = std::max(c1, c0); ox < ow; ++ox) window_max(ox);
            bool first = true;
            for (std::int64_t r = ky.first; r < ky.last; ++r) {
                const T* row = x + (iy0 + r * dh) * iw - g_.pad_begin[1];
                for (std::int64_t c = 0; c < kw; ++c, first = false) {
                    const T* src = row + c * dw;
                    if (first) {
                        for (std::int64_t ox = c0; ox < c1; ++ox) out[ox] = src[ox * sw];
                    } else {
                        for (std::int64_t ox = c0; ox < c1; ++ox) {
                            const T v = src[ox * sw];
                            out[ox] = v > out[ox] ? v : out[ox];
                        }
                    }
                }
            }
        }
    }

    template <class Visit>
    void visit_plane(Visit&& visit) const {
        if (rank_ == 2)
            visit_plane_2d(visit);
        else
            visit_plane_nd(visit);
    }

private:
    template <class Visit>
    void visit_plane_2d(Visit& visit) const {
        const std::int64_t oh = g_.output[0], ow = g_.output[1], iw = g_.input[1];
        const std::int64_t dh = g_.dilation[0], dw = g_.dilation[1];
        for (std::int64_t oy = 0; oy < oh; ++oy) {
            const TapRange ky = inside_[0][static_cast<std::size_t>(oy)];
            const std::int64_t iy0 = oy * g_.stride[0] - g_.pad_begin[0];
            const std::int64_t padded_rows = padded_[0][static_cast<std::size_t>(oy)];
            for (std::int64_t ox = 0; ox < ow; ++ox) {
                const TapRange kx = inside_[1][static_cast<std::size_t>(ox)];
                const std::int64_t ix0 = ox * g_.stride[1] - g_.pad_begin[1];
                auto taps_inside = [&](auto&& f) {
                    for (std::int64_t y = ky.first; y < ky.last; ++y) {
                        const std::int64_t row = (iy0 + y * dh) * iw + ix0;
                        for (std::int64_t x = kx.first; x < kx.last; ++x) f(row + x * dw);
                    }
                    return padded_rows * padded_[1][static_cast<std::size_t>(ox)];
                };
                visit(oy * ow + ox, taps_inside);
            }
        }
    }

    template <class Visit>
    void visit_plane_nd(Visit& visit) const {
        const WindowGeometry& g = g_;
        const std::size_t rank = rank_;
        const std::int64_t out_size = num_elements(g.output), taps = num_elements(g.kernel);
        std::vector<std::int64_t> start(rank);
        for (std::int64_t o = 0; o < out_size; ++o) {
            for (std::size_t d = rank, rem = static_cast<std::size_t>(o); d-- > 0;) {
                start[d] =
                    static_cast<std::int64_t>(rem % static_cast<std::size_t>(g.output[d])) * g.stride[d] - g.pad_begin[d];
                rem /= static_cast<std::size_t>(g.output[d]);
            }
            auto taps_inside = [&](auto&& f) {
                std::int64_t padded = 0;
                for (std::int64_t t = 0; t < taps; ++t) {
                    const std::int64_t* k = &tap_offset_[static_cast<std::size_t>(t) * rank];
                    std::int64_t offset = 0;
                    bool inside = true, in_padded = true;
                    for (std::size_t d = 0; d < rank; ++d) {
                        const std::int64_t i = start[d] + k[d];
                        if (i < 0 || i >= g.input[d]) inside = false;
                        if (i < -g.pad_begin[d] || i >= g.input[d] + g.pad_end[d]) in_padded = false;
                        offset += i * in_strides_[d];
                    }
                    if (in_padded) ++padded;
                    if (inside) f(offset);
                }
                return padded;
            };
            visit(o, taps_inside);
        }
    }

    const WindowGeometry& g_;
    std::size_t rank_;
    std::vector<std::int64_t> in_strides_;
    std::vector<std::int64_t> tap_offset_;     // N-D: per tap, per axis
    std::vector<TapRange> inside_[2];          // 2-D: per output row / column
    std::vector<std::int64_t> padded_[2];      // 2-D: taps inside the padded input
    TapRange full_columns_{0, 0};              // 2-D: output columns with every kernel column inside
};

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
        const PlaneWindows windows(p.geo);
        if (!pi && windows.planar()) {
            sim::parallel_for(p.batch * p.channels, p.threads(ctx.threads), [&](std::int64_t plane) {
                windows.max_plane_2d(px + plane * p.in_size, py + plane * p.out_size);
            }, sim::Schedule::dynamic);
            return out;
        }
        sim::parallel_for(p.batch * p.channels, p.threads(ctx.threads), [&](std::int64_t plane) {
            const T* xin = px + plane * p.in_size;
            windows.visit_plane([&](std::int64_t o, auto&& taps) {
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
        }, sim::Schedule::dynamic);
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
        const PlaneWindows windows(p.geo);
        sim::parallel_for(p.batch * p.channels, p.threads(ctx.threads), [&](std::int64_t plane) {
            const T* xin = px + plane * p.in_size;
            windows.visit_plane([&](std::int64_t o, auto&& taps) {
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
        }, sim::Schedule::dynamic);
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
