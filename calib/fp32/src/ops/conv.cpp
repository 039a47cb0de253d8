// Conv (ONNX default domain): im2col + Eigen float GEMM per (image, group,
// block of output positions); a direct kernel for depthwise 1-D/2-D
// convolution, where im2col would cost more than the arithmetic. One image
// per GEMM keeps each image's result independent of what it is batched with.
#include <algorithm>
#include <cmath>
#include <vector>

#include "activation.hpp"
#include "gemm_util.hpp"
#include "bitnpu/fp32/im2col.hpp"
#include "kernels.hpp"
#include "bitnpu/sim/parallel.hpp"

namespace bitnpu::calib::ops {

namespace {

struct ConvProblem {
    std::int64_t batch, in_channels, out_channels, group;
    WindowGeometry geo;
    std::int64_t in_size, out_size, taps;  // spatial element counts, kernel taps
};

ConvProblem conv_problem(const KernelContext& ctx, const Tensor& x, const Tensor& w) {
    if (x.rank() < 3) ctx.fail("X must have rank >= 3 ([N, C, spatial...]), got " + shape_to_string(x.shape()));
    if (w.rank() != x.rank())
        ctx.fail("W shape " + shape_to_string(w.shape()) + " does not match X rank " + std::to_string(x.rank()));
    ConvProblem p;
    p.batch = x.dim(0);
    p.in_channels = x.dim(1);
    p.out_channels = w.dim(0);
    p.group = ctx.node.attr_int("group", 1);
    if (p.group < 1 || p.in_channels % p.group != 0 || p.out_channels % p.group != 0)
        ctx.fail("group " + std::to_string(p.group) + " does not divide input channels " +
                 std::to_string(p.in_channels) + " and output channels " + std::to_string(p.out_channels));
    if (w.dim(1) != p.in_channels / p.group)
        ctx.fail("W shape " + shape_to_string(w.shape()) + " expects " + std::to_string(w.dim(1) * p.group) +
                 " input channels, X has " + std::to_string(p.in_channels));
    const std::vector<std::int64_t> spatial(x.shape().begin() + 2, x.shape().end());
    const std::vector<std::int64_t> kernel(w.shape().begin() + 2, w.shape().end());
    if (ctx.node.has_attr("kernel_shape") && ctx.node.attr_ints("kernel_shape") != kernel)
        ctx.fail("attribute kernel_shape does not match W shape " + shape_to_string(w.shape()));
    p.geo = window_geometry(ctx, spatial, kernel);
    p.in_size = num_elements(p.geo.input);
    p.out_size = num_elements(p.geo.output);
    p.taps = num_elements(p.geo.kernel);
    return p;
}

bool is_pointwise(const WindowGeometry& g) {
    for (std::size_t d = 0; d < g.rank(); ++d)
        if (g.kernel[d] != 1 || g.stride[d] != 1 || g.pad_begin[d] != 0 || g.pad_end[d] != 0) return false;
    return true;
}

// What happens to each output plane after the convolution sums: + bias[m],
// then the fused activation, applied to a block while it is still in cache.
struct Epilogue {
    const float* bias;  // [M] or nullptr
    FusedActivation act;
    void apply(float* y, std::int64_t n, std::int64_t channel) const {
        add_bias_and_activate(y, n, bias ? bias + channel : nullptr, act);
    }
};

// Depthwise geometry as 2-D (a 1-D conv is one row), decoded once per node.
struct DepthwiseGeometry {
    std::int64_t ih, iw, kh, kw, oh, ow, sh, sw, dh, dw, ph, pw;
    std::int64_t padded_h, padded_w;  // input extent with both paddings

    explicit DepthwiseGeometry(const WindowGeometry& g) {
        const bool two_d = g.rank() == 2;
        ih = two_d ? g.input[0] : 1, iw = g.input.back();
        kh = two_d ? g.kernel[0] : 1, kw = g.kernel.back();
        oh = two_d ? g.output[0] : 1, ow = g.output.back();
        sh = two_d ? g.stride[0] : 1, sw = g.stride.back();
        dh = two_d ? g.dilation[0] : 1, dw = g.dilation.back();
        ph = two_d ? g.pad_begin[0] : 0, pw = g.pad_begin.back();
        padded_h = ih + ph + (two_d ? g.pad_end[0] : 0);
        padded_w = iw + pw + g.pad_end.back();
    }
    bool padded() const { return padded_h != ih || padded_w != iw; }
};

// The general depthwise plane (any window, stride, dilation): y starts at 0
// and each tap adds w * x, taps in row-major kernel order. That order fixes
// the rounding; the unrolled kernels below keep it.
void depthwise_plane_general(const float* x, const float* w, const DepthwiseGeometry& d, float* y) {
    for (std::int64_t ky = 0; ky < d.kh; ++ky) {
        for (std::int64_t kx = 0; kx < d.kw; ++kx) {
            const float wv = w[ky * d.kw + kx];
            // Output columns whose input column ox*sw + kx*dw - pw lies inside [0, iw).
            const std::int64_t shift = kx * d.dw - d.pw;
            const std::int64_t ox_lo = shift >= 0 ? 0 : (-shift + d.sw - 1) / d.sw;
            const std::int64_t ox_hi = std::min(d.ow, d.iw - 1 - shift < 0 ? 0 : (d.iw - 1 - shift) / d.sw + 1);
            for (std::int64_t oy = 0; oy < d.oh; ++oy) {
                const std::int64_t iy = oy * d.sh - d.ph + ky * d.dh;
                if (iy < 0 || iy >= d.ih) continue;
                const float* row = x + iy * d.iw;
                float* out = y + oy * d.ow;
                for (std::int64_t ox = ox_lo; ox < ox_hi; ++ox) out[ox] += wv * row[ox * d.sw + shift];
            }
        }
    }
}

// A whole output plane of an undilated KH x KW window with column stride SW
// over an input that already holds its padding (row pitch `pitch`): taps
// unrolled, in the same order as depthwise_plane_general(). Taps on zero padding add
// w * 0 = +-0, which leaves the sum bit-identical: it starts at +0 and a
// round-to-nearest sum is never -0, so acc + (+-0) == acc (w must be finite;
// the caller checks).
template <int KH, int KW, int SW>
void depthwise_unrolled_plane(const float* x, std::int64_t pitch, const float* w, const DepthwiseGeometry& d,
                              float* y) {
    float wk[KH * KW];
    for (int t = 0; t < KH * KW; ++t) wk[t] = w[t];
    for (std::int64_t oy = 0; oy < d.oh; ++oy) {
        const float* top = x + oy * d.sh * pitch;
        float* out = y + oy * d.ow;
        for (std::int64_t ox = 0; ox < d.ow; ++ox) {
            const float* base = top + ox * SW;
            float acc = 0.0f;
            for (int r = 0; r < KH; ++r)
                for (int k = 0; k < KW; ++k) acc += wk[r * KW + k] * base[r * pitch + k];
            out[ox] = acc;
        }
    }
}

using UnrolledPlane = void (*)(const float*, std::int64_t, const float*, const DepthwiseGeometry&, float*);

// An unrolled kernel for the common window shapes, or nullptr.
UnrolledPlane unrolled_plane_for(const DepthwiseGeometry& d) {
    if (d.dh != 1 || d.dw != 1) return nullptr;
    if (d.kh == 3 && d.kw == 3 && d.sw == 1) return depthwise_unrolled_plane<3, 3, 1>;
    if (d.kh == 3 && d.kw == 3 && d.sw == 2) return depthwise_unrolled_plane<3, 3, 2>;
    if (d.kh == 5 && d.kw == 5 && d.sw == 1) return depthwise_unrolled_plane<5, 5, 1>;
    if (d.kh == 5 && d.kw == 5 && d.sw == 2) return depthwise_unrolled_plane<5, 5, 2>;
    return nullptr;
}

bool all_finite(const float* v, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i)
        if (!std::isfinite(v[i])) return false;
    return true;
}

// x copied into the middle of a zero-filled plane of the padded extent.
void copy_into_padding(const float* x, const DepthwiseGeometry& d, std::vector<float>& padded) {
    padded.assign(static_cast<std::size_t>(d.padded_h * d.padded_w), 0.0f);
    for (std::int64_t r = 0; r < d.ih; ++r)
        std::copy(x + r * d.iw, x + (r + 1) * d.iw, padded.data() + (r + d.ph) * d.padded_w + d.pw);
}

// One output plane of a depthwise convolution, 1-D or 2-D: y = w (*) x.
void depthwise_plane(const float* x, const float* w, const DepthwiseGeometry& d, UnrolledPlane unrolled,
                     float* y) {
    if (unrolled && all_finite(w, d.kh * d.kw)) {
        if (!d.padded()) return unrolled(x, d.iw, w, d, y);
        thread_local std::vector<float> padded;
        copy_into_padding(x, d, padded);
        return unrolled(padded.data(), d.padded_w, w, d, y);
    }
    depthwise_plane_general(x, w, d, y);
}

// The direct kernel suits one input channel per group feeding a few output
// channels (depthwise, multiplier 1-7). With many outputs per input channel
// (a mono signal's first conv: openWakeWord's STFT, 257 outputs of 512 taps
// and stride 160) a GEMM reuses each column across the outputs instead; the
// direct loop ran it 28x slower than ONNX Runtime.
constexpr std::int64_t kDirectMaxOutputsPerGroup = 8;
bool uses_direct_kernel(const ConvProblem& p) {
    return p.in_channels / p.group == 1 && p.out_channels / p.group < kDirectMaxOutputsPerGroup && p.geo.rank() <= 2;
}

void conv_depthwise(const ConvProblem& p, const float* x, const float* w, float* y, const Epilogue& epilogue,
                    int threads) {
    const std::int64_t multiplier = p.out_channels / p.group;
    const std::int64_t macs = p.batch * p.out_channels * p.out_size * p.taps;
    const DepthwiseGeometry geometry(p.geo);
    const UnrolledPlane unrolled = unrolled_plane_for(geometry);
    sim::parallel_for(p.batch * p.out_channels, macs < kParallelMinMacs ? 1 : threads, [&](std::int64_t task) {
        const std::int64_t n = task / p.out_channels, m = task % p.out_channels;
        const std::int64_t c = m / multiplier;
        float* plane = y + (n * p.out_channels + m) * p.out_size;
        depthwise_plane(x + (n * p.in_channels + c) * p.in_size, w + m * p.taps, geometry, unrolled, plane);
        epilogue.apply(plane, p.out_size, m);
    }, sim::Schedule::dynamic);
}

void conv_gemm(const ConvProblem& p, const float* x, const float* w, float* y, const Epilogue& epilogue,
               int threads) {
    const std::int64_t cin_g = p.in_channels / p.group, cout_g = p.out_channels / p.group;
    const std::int64_t k = cin_g * p.taps;
    const std::int64_t blocks = (p.out_size + kColumnBlock - 1) / kColumnBlock;
    const bool pointwise = is_pointwise(p.geo);
    const std::int64_t macs = p.batch * p.out_channels * p.out_size * k;
    sim::parallel_for(p.batch * p.group * blocks, macs < kParallelMinMacs ? 1 : threads, [&](std::int64_t task) {
        const std::int64_t b = task % blocks, g = (task / blocks) % p.group, n = task / (blocks * p.group);
        const std::int64_t p0 = b * kColumnBlock, p1 = std::min(p.out_size, p0 + kColumnBlock);
        const float* xg = x + (n * p.in_channels + g * cin_g) * p.in_size;
        float* yg = y + (n * p.out_channels + g * cout_g) * p.out_size + p0;
        const auto weights = const_view(w + g * cout_g * k, cout_g, k, k);
        if (pointwise) {
            // A 1x1, stride-1, unpadded conv reads its columns straight from X.
            view(yg, cout_g, p1 - p0, p.out_size).noalias() = weights * const_view(xg + p0, k, p1 - p0, p.in_size);
        } else {
            // Per-thread, grown only: a fresh zero-filled buffer per task cost
            // a memset (and page faults) the copy overwrites anyway; im2col
            // writes every element, padding zeros included.
            thread_local std::vector<float> col;
            const auto size = static_cast<std::size_t>(k * (p1 - p0));
            if (col.size() < size) col.resize(size);
            im2col(xg, cin_g, p.geo, p0, p1, col.data());
            view(yg, cout_g, p1 - p0, p.out_size).noalias() = weights * const_view(col.data(), k, p1 - p0, p1 - p0);
        }
        for (std::int64_t r = 0; r < cout_g; ++r) epilogue.apply(yg + r * p.out_size, p1 - p0, g * cout_g + r);
    }, sim::Schedule::dynamic);
}

}  // namespace

std::vector<Tensor> conv(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(1);
    const Tensor* bias = ctx.optional_input(2);
    if (x.dtype() != DType::f32 || w.dtype() != DType::f32)
        ctx.fail("Conv is implemented for float32 X and W only (got " + std::string(to_string(x.dtype())) + ", " +
                 std::string(to_string(w.dtype())) + ")");
    const ConvProblem p = conv_problem(ctx, x, w);
    Shape out_shape{p.batch, p.out_channels};
    out_shape.insert(out_shape.end(), p.geo.output.begin(), p.geo.output.end());
    if (bias && (bias->dtype() != DType::f32 || bias->numel() != p.out_channels))
        ctx.fail("bias B must be float32 with " + std::to_string(p.out_channels) + " elements, got " +
                 shape_to_string(bias->shape()));
    const Epilogue epilogue{bias ? bias->data<float>() : nullptr, fused_activation(ctx)};
    Tensor y(DType::f32, out_shape);
    if (uses_direct_kernel(p))
        conv_depthwise(p, x.data<float>(), w.data<float>(), y.data<float>(), epilogue, ctx.threads);
    else
        conv_gemm(p, x.data<float>(), w.data<float>(), y.data<float>(), epilogue, ctx.threads);
    return one(std::move(y));
}

}  // namespace bitnpu::calib::ops
