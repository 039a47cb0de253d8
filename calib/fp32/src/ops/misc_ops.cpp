// Less common ops that real models still use: Mod, Trilu, CumSum,
// DepthToSpace, SpaceToDepth, LayerNormalization, InstanceNormalization.
#include <cmath>
#include <cstring>

#include "elementwise.hpp"
#include "kernels.hpp"
#include "bitnpu/fp32/window.hpp"

namespace bitnpu::calib::ops {

std::vector<Tensor> mod(const KernelContext& ctx) {
    const bool c_fmod = ctx.node.attr_int("fmod", 0) != 0;
    const Tensor& a = ctx.input(0);
    if (!c_fmod && (a.dtype() == DType::f32 || a.dtype() == DType::f64)) ctx.fail("fmod must be 1 for float inputs");
    return one(binary_same_type(ctx, a, ctx.input(1), [&](auto x, auto y) {
        using T = decltype(x);
        if constexpr (std::is_floating_point_v<T>) {
            return std::fmod(x, y);
        } else {
            if (y == 0) ctx.fail("integer modulo by zero");
            T r = static_cast<T>(x % y);
            // fmod=0: the result takes the sign of the divisor (Python's %).
            if (!c_fmod && r != 0 && ((r < 0) != (y < 0))) r = static_cast<T>(r + y);
            return r;
        }
    }));
}

std::vector<Tensor> trilu(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    if (x.rank() < 2) ctx.fail("input must have rank >= 2");
    const std::int64_t k = ctx.has_input(1) ? ctx.input(1).to_int64s().at(0) : 0;
    const bool upper = ctx.node.attr_int("upper", 1) != 0;
    const std::int64_t rows = x.dim(-2), cols = x.dim(-1);
    Tensor y = x;
    const std::size_t es = element_size(x.dtype());
    const std::int64_t mats = rows * cols == 0 ? 0 : x.numel() / (rows * cols);
    for (std::int64_t m = 0; m < mats; ++m)
        for (std::int64_t i = 0; i < rows; ++i)
            for (std::int64_t j = 0; j < cols; ++j) {
                const bool keep = upper ? j - i >= k : j - i <= k;
                if (!keep) std::memset(y.raw() + ((m * rows + i) * cols + j) * es, 0, es);
            }
    return one(std::move(y));
}

std::vector<Tensor> cum_sum(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    const std::int64_t axis = normalize_axis(ctx, ctx.input(1).to_int64s().at(0), x.rank());
    const bool exclusive = ctx.node.attr_int("exclusive", 0) != 0, reverse = ctx.node.attr_int("reverse", 0) != 0;
    std::int64_t outer = 1, inner = 1;
    for (std::int64_t d = 0; d < x.rank(); ++d)
        if (d < axis) outer *= x.dim(d);
        else if (d > axis) inner *= x.dim(d);
    const std::int64_t length = x.dim(axis);
    return one(dispatch_numeric(ctx, x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        Tensor y(x.dtype(), x.shape());
        for (std::int64_t o = 0; o < outer; ++o)
            for (std::int64_t i = 0; i < inner; ++i) {
                T acc = 0;
                for (std::int64_t s = 0; s < length; ++s) {
                    const std::int64_t j = reverse ? length - 1 - s : s;
                    const std::int64_t at = (o * length + j) * inner + i;
                    if (exclusive) {
                        y.data<T>()[at] = acc;
                        acc = static_cast<T>(acc + x.data<T>()[at]);
                    } else {
                        acc = static_cast<T>(acc + x.data<T>()[at]);
                        y.data<T>()[at] = acc;
                    }
                }
            }
        return y;
    }));
}

namespace {

// Moves blocks between depth and space. For each output element, `source`
// returns the input (c, y, x) it comes from.
template <class Source>
Tensor rearrange(const Tensor& x, const Shape& out_shape, Source&& source) {
    Tensor y(x.dtype(), out_shape);
    const std::size_t es = element_size(x.dtype());
    const std::int64_t c_in = x.dim(1), h_in = x.dim(2), w_in = x.dim(3);
    const std::int64_t c_out = out_shape[1], h_out = out_shape[2], w_out = out_shape[3];
    for (std::int64_t n = 0; n < out_shape[0]; ++n)
        for (std::int64_t c = 0; c < c_out; ++c)
            for (std::int64_t h = 0; h < h_out; ++h)
                for (std::int64_t w = 0; w < w_out; ++w) {
                    const auto [ci, hi, wi] = source(c, h, w);
                    std::memcpy(y.raw() + (((n * c_out + c) * h_out + h) * w_out + w) * es,
                                x.raw() + (((n * c_in + ci) * h_in + hi) * w_in + wi) * es, es);
                }
    return y;
}

std::int64_t block_size(const KernelContext& ctx, const Tensor& x) {
    if (x.rank() != 4) ctx.fail("input must be [N, C, H, W]");
    const std::int64_t b = ctx.node.attr_int("blocksize", 0);
    if (b < 1) ctx.fail("attribute blocksize must be positive");
    return b;
}

}  // namespace

std::vector<Tensor> depth_to_space(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    const std::int64_t b = block_size(ctx, x);
    if (x.dim(1) % (b * b) != 0) ctx.fail("channels are not a multiple of blocksize^2");
    const std::int64_t c_out = x.dim(1) / (b * b);
    const bool crd = ctx.node.attr_string("mode", "DCR") == "CRD";
    return one(rearrange(x, {x.dim(0), c_out, x.dim(2) * b, x.dim(3) * b}, [&](std::int64_t c, std::int64_t h, std::int64_t w) {
        const std::int64_t by = h % b, bx = w % b;
        // DCR: depth is (by, bx, c); CRD: depth is (c, by, bx).
        const std::int64_t ci = crd ? (c * b + by) * b + bx : (by * b + bx) * c_out + c;
        return std::array<std::int64_t, 3>{ci, h / b, w / b};
    }));
}

std::vector<Tensor> space_to_depth(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    const std::int64_t b = block_size(ctx, x);
    if (x.dim(2) % b != 0 || x.dim(3) % b != 0) ctx.fail("H and W must be multiples of blocksize");
    const std::int64_t c_in = x.dim(1);
    return one(rearrange(x, {x.dim(0), c_in * b * b, x.dim(2) / b, x.dim(3) / b}, [&](std::int64_t c, std::int64_t h, std::int64_t w) {
        const std::int64_t ci = c % c_in, block = c / c_in;
        return std::array<std::int64_t, 3>{ci, h * b + block / b, w * b + block % b};
    }));
}

namespace {

// Normalizes each of `groups` contiguous runs of `size` elements, then applies
// scale/bias picked by affine(group, index in run).
template <class T, class Affine>
void normalize_runs(const T* x, T* y, std::int64_t groups, std::int64_t size, double epsilon, Affine&& affine,
                    T* mean_out, T* inv_std_out) {
    for (std::int64_t g = 0; g < groups; ++g) {
        const T* xs = x + g * size;
        double mean = 0, var = 0;
        for (std::int64_t i = 0; i < size; ++i) mean += xs[i];
        mean /= static_cast<double>(size);
        for (std::int64_t i = 0; i < size; ++i) var += (xs[i] - mean) * (xs[i] - mean);
        var /= static_cast<double>(size);
        const double inv_std = 1.0 / std::sqrt(var + epsilon);
        for (std::int64_t i = 0; i < size; ++i) {
            const auto [s, b] = affine(g, i);
            y[g * size + i] = static_cast<T>((xs[i] - mean) * inv_std * s + b);
        }
        if (mean_out) mean_out[g] = static_cast<T>(mean);
        if (inv_std_out) inv_std_out[g] = static_cast<T>(inv_std);
    }
}

}  // namespace

std::vector<Tensor> layer_normalization(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    const std::int64_t axis = normalize_axis(ctx, ctx.node.attr_int("axis", -1), x.rank());
    const double epsilon = ctx.node.attr_float("epsilon", 1e-5f);
    std::int64_t groups = 1;
    for (std::int64_t d = 0; d < axis; ++d) groups *= x.dim(d);
    const Shape norm_shape(x.shape().begin() + axis, x.shape().end());
    const std::int64_t size = num_elements(norm_shape);
    // Scale and B broadcast to the normalized shape.
    const Tensor scale = ctx.input(1).cast(DType::f64);
    const Tensor bias = ctx.has_input(2) ? ctx.input(2).cast(DType::f64) : Tensor::scalar<double>(0.0);
    for (const Tensor* t : {&scale, &bias})
        if (broadcast_shapes(ctx, {t->shape(), norm_shape}) != norm_shape)
            ctx.fail("Scale/B shape " + shape_to_string(t->shape()) + " does not broadcast to " + shape_to_string(norm_shape));
    std::vector<double> s(static_cast<std::size_t>(size)), b(static_cast<std::size_t>(size));
    for_each_broadcast<2>(norm_shape, {&scale.shape(), &bias.shape()}, [&](std::int64_t o, const std::array<std::int64_t, 2>& off) {
        s[o] = scale.data<double>()[off[0]];
        b[o] = bias.data<double>()[off[1]];
    });
    Shape stat_shape = x.shape();
    for (std::int64_t d = axis; d < x.rank(); ++d) stat_shape[d] = 1;
    return dispatch_float(ctx, x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        std::vector<Tensor> outs;
        outs.emplace_back(x.dtype(), x.shape());
        outs.emplace_back(x.dtype(), stat_shape);
        outs.emplace_back(x.dtype(), stat_shape);
        normalize_runs<T>(x.data<T>(), outs[0].template data<T>(), groups, size, epsilon,
                          [&](std::int64_t, std::int64_t i) { return std::pair<double, double>{s[i], b[i]}; },
                          outs[1].template data<T>(), outs[2].template data<T>());
        return outs;
    });
}

std::vector<Tensor> instance_normalization(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    if (x.rank() < 3) ctx.fail("input must be [N, C, spatial...]");
    const std::vector<float> scale = ctx.input(1).to_floats(), bias = ctx.input(2).to_floats();
    const std::int64_t channels = x.dim(1);
    if (static_cast<std::int64_t>(scale.size()) != channels || static_cast<std::int64_t>(bias.size()) != channels)
        ctx.fail("scale and B must have one value per channel");
    const double epsilon = ctx.node.attr_float("epsilon", 1e-5f);
    const std::int64_t groups = x.dim(0) * channels, size = groups == 0 ? 0 : x.numel() / groups;
    return one(dispatch_float(ctx, x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        Tensor y(x.dtype(), x.shape());
        normalize_runs<T>(x.data<T>(), y.data<T>(), groups, size, epsilon,
                          [&](std::int64_t g, std::int64_t) {
                              return std::pair<double, double>{scale[g % channels], bias[g % channels]};
                          },
                          static_cast<T*>(nullptr), static_cast<T*>(nullptr));
        return y;
    }));
}

}  // namespace bitnpu::calib::ops
