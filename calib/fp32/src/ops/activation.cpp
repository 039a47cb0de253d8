// Activation kernels: Relu, LeakyRelu, PRelu, Clip, Sigmoid, Tanh,
// HardSigmoid, HardSwish, Gelu, Mish, Swish, Elu, Selu, Celu, ThresholdedRelu; and the fused
// activation of Conv/Gemm/MatMul.
#include "activation.hpp"

#include <algorithm>
#include <limits>

#include "elementwise.hpp"
#include "kernels.hpp"

namespace bitnpu::calib::ops {

namespace {

template <class F>
std::vector<Tensor> float_activation(const KernelContext& ctx, F&& f) {
    const Tensor& x = ctx.input(0);
    return one(dispatch_float(ctx, x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        return map_unary<T>(x, [&](T v) { return static_cast<T>(f(v)); });
    }));
}

}  // namespace

std::vector<Tensor> relu(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    return one(dispatch_numeric(ctx, x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        return map_unary<T>(x, [](T v) { return v > T(0) ? v : T(0); });
    }));
}

std::vector<Tensor> leaky_relu(const KernelContext& ctx) {
    const double alpha = ctx.node.attr_float("alpha", 0.01f);
    return float_activation(ctx, [alpha](auto v) { return v >= 0 ? v : v * static_cast<decltype(v)>(alpha); });
}

std::vector<Tensor> prelu(const KernelContext& ctx) {
    // The slope broadcasts unidirectionally to X (per-channel slopes are
    // usually exported as [C,1,1]).
    const Tensor& x = ctx.input(0);
    const Tensor& slope = ctx.input(1);
    if (x.dtype() != slope.dtype()) ctx.fail("X and slope have different types");
    Tensor y = dispatch_float(ctx, x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        return broadcast_binary<T, T, T>(ctx, x, slope, [](T v, T s) { return v >= T(0) ? v : v * s; });
    });
    if (y.shape() != x.shape())
        ctx.fail("slope shape " + shape_to_string(slope.shape()) + " does not broadcast to X shape " +
                 shape_to_string(x.shape()));
    return one(std::move(y));
}

std::vector<Tensor> clip(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    return one(dispatch_numeric(ctx, x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        T lo = std::numeric_limits<T>::lowest();
        T hi = std::numeric_limits<T>::max();
        if (ctx.opset < 11) {
            // min/max were attributes before opset 11.
            lo = static_cast<T>(ctx.node.attr_float("min", -std::numeric_limits<float>::max()));
            hi = static_cast<T>(ctx.node.attr_float("max", std::numeric_limits<float>::max()));
        } else {
            for (std::size_t i : {1, 2}) {
                if (!ctx.has_input(i)) continue;
                const Tensor& bound = ctx.input(i);
                if (bound.numel() != 1) ctx.fail("min/max must be scalars");
                if (bound.dtype() != x.dtype()) ctx.fail("min/max must have the type of the input");
                (i == 1 ? lo : hi) = bound.data<T>()[0];
            }
        }
        return map_unary<T>(x, [lo, hi](T v) { return v < lo ? lo : (v > hi ? hi : v); });
    }));
}

std::vector<Tensor> sigmoid(const KernelContext& ctx) {
    return float_activation(ctx, [](auto v) {
        using T = decltype(v);
        // Written so that neither branch overflows exp().
        if (v >= 0) return T(1) / (T(1) + std::exp(-v));
        const T e = std::exp(v);
        return e / (T(1) + e);
    });
}

std::vector<Tensor> tanh(const KernelContext& ctx) { return float_activation(ctx, [](auto v) { return std::tanh(v); }); }

std::vector<Tensor> hard_sigmoid(const KernelContext& ctx) {
    const double alpha = ctx.node.attr_float("alpha", 0.2f);
    const double beta = ctx.node.attr_float("beta", 0.5f);
    return float_activation(ctx, [alpha, beta](auto v) {
        using T = decltype(v);
        return std::max(T(0), std::min(T(1), static_cast<T>(alpha) * v + static_cast<T>(beta)));
    });
}

std::vector<Tensor> hard_swish(const KernelContext& ctx) {
    return float_activation(ctx, [](auto v) {
        using T = decltype(v);
        return v * std::max(T(0), std::min(T(1), v / T(6) + T(0.5)));
    });
}

// Gelu (opset 20): x * Phi(x), exactly (approximate = "none") or with the
// tanh approximation (approximate = "tanh"); computed in double, rounded once.
std::vector<Tensor> gelu(const KernelContext& ctx) {
    const std::string approximate = ctx.node.attr_string("approximate", "none");
    if (approximate != "none" && approximate != "tanh")
        ctx.fail("approximate '" + approximate + "' is not supported (expected none or tanh)");
    if (approximate == "tanh")
        return float_activation(ctx, [](auto v) {
            const double x = v, k = 0.7978845608028654;  // sqrt(2 / pi)
            return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
        });
    return float_activation(ctx, [](auto v) {
        const double x = v;
        return 0.5 * x * (1.0 + std::erf(x * 0.7071067811865476));  // 1 / sqrt(2)
    });
}

// Mish (opset 18): x * tanh(softplus(x)), computed in double, rounded once.
std::vector<Tensor> mish(const KernelContext& ctx) {
    return float_activation(ctx, [](auto v) {
        const double x = v;
        return x * std::tanh(std::log1p(std::exp(x)));
    });
}

// Swish (opset 24; fuse_swish writes it at any opset): x * sigmoid(alpha x),
// computed in double, rounded once.
std::vector<Tensor> swish(const KernelContext& ctx) {
    const double alpha = ctx.node.attr_float("alpha", 1.0f);
    return float_activation(ctx, [alpha](auto v) {
        const double x = v;
        return x / (1.0 + std::exp(-alpha * x));
    });
}

std::vector<Tensor> elu(const KernelContext& ctx) {
    const double alpha = ctx.node.attr_float("alpha", 1.0f);
    return float_activation(ctx, [alpha](auto v) {
        using T = decltype(v);
        return v >= 0 ? v : static_cast<T>(alpha) * (std::exp(v) - T(1));
    });
}

std::vector<Tensor> selu(const KernelContext& ctx) {
    const double alpha = ctx.node.attr_float("alpha", 1.67326319217681884765625f);
    const double gamma = ctx.node.attr_float("gamma", 1.05070102214813232421875f);
    return float_activation(ctx, [alpha, gamma](auto v) {
        using T = decltype(v);
        return static_cast<T>(gamma) * (v > 0 ? v : static_cast<T>(alpha) * (std::exp(v) - T(1)));
    });
}

std::vector<Tensor> celu(const KernelContext& ctx) {
    const double alpha = ctx.node.attr_float("alpha", 1.0f);
    return float_activation(ctx, [alpha](auto v) {
        using T = decltype(v);
        const T a = static_cast<T>(alpha);
        return std::max(T(0), v) + std::min(T(0), a * (std::exp(v / a) - T(1)));
    });
}

std::vector<Tensor> thresholded_relu(const KernelContext& ctx) {
    const double alpha = ctx.node.attr_float("alpha", 1.0f);
    return float_activation(ctx, [alpha](auto v) { return v > static_cast<decltype(v)>(alpha) ? v : decltype(v)(0); });
}

FusedActivation fused_activation(const KernelContext& ctx) {
    FusedActivation a;
    if (!ctx.node.has_attr(fused::kActivation)) return a;
    const std::string act = ctx.node.attr_string(fused::kActivation, "");
    if (act == "Relu") {
        a.kind = FusedActivation::Kind::relu;
    } else if (act == "Clip") {
        a.kind = FusedActivation::Kind::clip;
        a.lo = ctx.node.attr_float(fused::kClipMin, -std::numeric_limits<float>::infinity());
        a.hi = ctx.node.attr_float(fused::kClipMax, std::numeric_limits<float>::infinity());
    } else if (act == "LeakyRelu") {
        a.kind = FusedActivation::Kind::leaky_relu;
        a.alpha = ctx.node.attr_float(fused::kAlpha, 0.01f);
    } else {
        ctx.fail(std::string("unknown fused activation '") + act + "' in attribute " + fused::kActivation +
                 " (expected Relu, Clip or LeakyRelu)");
    }
    return a;
}

namespace {

// One loop per (activation, bias or not) so each one vectorizes.
template <class F>
void map_in_place(float* y, std::int64_t n, const float* bias, F&& f) {
    if (bias) {
        const float b = *bias;
        for (std::int64_t i = 0; i < n; ++i) y[i] = f(y[i] + b);
    } else {
        for (std::int64_t i = 0; i < n; ++i) y[i] = f(y[i]);
    }
}

}  // namespace

void add_bias_and_activate(float* y, std::int64_t n, const float* bias, const FusedActivation& act) {
    switch (act.kind) {
    case FusedActivation::Kind::none:
        if (bias) map_in_place(y, n, bias, [](float v) { return v; });
        break;
    case FusedActivation::Kind::relu:
        map_in_place(y, n, bias, [](float v) { return relu_value(v); });
        break;
    case FusedActivation::Kind::clip:
        map_in_place(y, n, bias, [lo = act.lo, hi = act.hi](float v) { return clip_value(v, lo, hi); });
        break;
    case FusedActivation::Kind::leaky_relu:
        map_in_place(y, n, bias, [alpha = act.alpha](float v) { return leaky_relu_value(v, alpha); });
        break;
    }
}

void apply_fused_activation(const KernelContext& ctx, Tensor& y) {
    const FusedActivation act = fused_activation(ctx);
    if (act.kind == FusedActivation::Kind::none) return;
    if (y.dtype() != DType::f32) ctx.fail("fused activations are implemented for float32 outputs only");
    add_bias_and_activate(y.data<float>(), y.numel(), nullptr, act);
}

}  // namespace bitnpu::calib::ops
