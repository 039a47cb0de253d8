// BatchNormalization (inference form), bitnpu's ChannelAffine, and the
// softmax family (Softmax, LogSoftmax, Hardmax) with their opset-dependent
// axis semantics.
#include <cmath>
#include <limits>

#include "dispatch.hpp"
#include "kernels.hpp"

namespace bitnpu::calib::ops {

namespace {

// y = x * scale[c] + shift[c] over axis 1 of an [N, C, ...] tensor.
template <class T>
Tensor per_channel_affine(const KernelContext& ctx, const Tensor& x, const std::vector<double>& scale,
                          const std::vector<double>& shift) {
    if (x.rank() < 2) ctx.fail("X must have rank >= 2 ([N, C, ...]), got " + shape_to_string(x.shape()));
    const std::int64_t batch = x.dim(0), channels = x.dim(1), inner = x.numel() / std::max<std::int64_t>(1, batch * channels);
    if (static_cast<std::int64_t>(scale.size()) != channels || static_cast<std::int64_t>(shift.size()) != channels)
        ctx.fail("per-channel parameters have " + std::to_string(scale.size()) + " values, X has " +
                 std::to_string(channels) + " channels");
    Tensor y(x.dtype(), x.shape());
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for (std::int64_t n = 0; n < batch; ++n)
        for (std::int64_t c = 0; c < channels; ++c) {
            const T s = static_cast<T>(scale[c]), b = static_cast<T>(shift[c]);
            const std::int64_t base = (n * channels + c) * inner;
            for (std::int64_t i = 0; i < inner; ++i) py[base + i] = px[base + i] * s + b;
        }
    return y;
}

std::vector<double> as_doubles(const Tensor& t) {
    const Tensor d = t.cast(DType::f64);
    return std::vector<double>(d.data<double>(), d.data<double>() + d.numel());
}

}  // namespace

std::vector<Tensor> batch_normalization(const KernelContext& ctx) {
    if (ctx.node.attr_int("training_mode", 0) != 0)
        ctx.fail("training_mode=1 is not supported (the executor runs inference only)");
    const Tensor& x = ctx.input(0);
    const std::vector<double> scale = as_doubles(ctx.input(1)), bias = as_doubles(ctx.input(2));
    const std::vector<double> mean = as_doubles(ctx.input(3)), var = as_doubles(ctx.input(4));
    const double epsilon = ctx.node.attr_float("epsilon", 1e-5f);
    if (scale.size() != bias.size() || scale.size() != mean.size() || scale.size() != var.size())
        ctx.fail("scale, B, mean and var must have the same length");
    // Folded into one multiply-add per element, computed in double.
    std::vector<double> mul(scale.size()), add(scale.size());
    for (std::size_t c = 0; c < scale.size(); ++c) {
        mul[c] = scale[c] / std::sqrt(var[c] + epsilon);
        add[c] = bias[c] - mean[c] * mul[c];
    }
    return one(dispatch_float(ctx, x.dtype(), [&](auto tag) {
        return per_channel_affine<decltype(tag)>(ctx, x, mul, add);
    }));
}

std::vector<Tensor> channel_affine(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    const std::vector<double> scale = as_doubles(ctx.input(1)), bias = as_doubles(ctx.input(2));
    return one(dispatch_float(ctx, x.dtype(), [&](auto tag) {
        return per_channel_affine<decltype(tag)>(ctx, x, scale, bias);
    }));
}

namespace {

enum class SoftmaxKind { softmax, log_softmax, hardmax };

// Before opset 13 the input is flattened to 2-D at `axis` (default 1) and the
// softmax runs over the whole trailing block; from 13 on it runs along one
// axis (default -1).
template <class T>
Tensor softmax_family(const KernelContext& ctx, const Tensor& x, SoftmaxKind kind) {
    const bool legacy = ctx.opset < 13;
    const std::int64_t rank = x.rank();
    if (rank == 0) ctx.fail("input must have rank >= 1");
    const std::int64_t axis = normalize_axis(ctx, ctx.node.attr_int("axis", legacy ? 1 : -1), rank);
    std::int64_t outer = 1, length = 1, inner = 1;
    for (std::int64_t d = 0; d < rank; ++d) {
        const std::int64_t e = x.dim(d);
        if (d < axis) outer *= e;
        else if (d == axis || legacy) length *= e;
        else inner *= e;
    }
    Tensor y(x.dtype(), x.shape());
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for (std::int64_t o = 0; o < outer; ++o)
        for (std::int64_t i = 0; i < inner; ++i) {
            const T* xs = px + o * length * inner + i;
            T* ys = py + o * length * inner + i;
            std::int64_t arg = 0;
            for (std::int64_t j = 1; j < length; ++j)
                if (xs[j * inner] > xs[arg * inner]) arg = j;
            const T max = xs[arg * inner];
            if (kind == SoftmaxKind::hardmax) {
                for (std::int64_t j = 0; j < length; ++j) ys[j * inner] = j == arg ? T(1) : T(0);
                continue;
            }
            T sum = 0;
            for (std::int64_t j = 0; j < length; ++j) sum += std::exp(xs[j * inner] - max);
            if (kind == SoftmaxKind::log_softmax) {
                const T log_sum = std::log(sum);
                for (std::int64_t j = 0; j < length; ++j) ys[j * inner] = xs[j * inner] - max - log_sum;
            } else {
                for (std::int64_t j = 0; j < length; ++j) ys[j * inner] = std::exp(xs[j * inner] - max) / sum;
            }
        }
    return y;
}

std::vector<Tensor> run_softmax(const KernelContext& ctx, SoftmaxKind kind) {
    const Tensor& x = ctx.input(0);
    return one(dispatch_float(ctx, x.dtype(), [&](auto tag) { return softmax_family<decltype(tag)>(ctx, x, kind); }));
}

}  // namespace

std::vector<Tensor> softmax(const KernelContext& ctx) { return run_softmax(ctx, SoftmaxKind::softmax); }
std::vector<Tensor> log_softmax(const KernelContext& ctx) { return run_softmax(ctx, SoftmaxKind::log_softmax); }
std::vector<Tensor> hardmax(const KernelContext& ctx) { return run_softmax(ctx, SoftmaxKind::hardmax); }

}  // namespace bitnpu::calib::ops
