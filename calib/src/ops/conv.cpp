// Conv (ONNX default domain): im2col + Eigen float GEMM per (image, group,
// block of output positions); a direct kernel for depthwise 1-D/2-D
// convolution, where im2col would cost more than the arithmetic.
#include <algorithm>

#include "activation.hpp"
#include "gemm_util.hpp"
#include "im2col.hpp"
#include "kernels.hpp"
#include "parallel.hpp"

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

// One output plane of a depthwise convolution: y += w (*) x, 1-D or 2-D.
void depthwise_plane(const float* x, const float* w, const WindowGeometry& g, float* y) {
    const bool two_d = g.rank() == 2;
    const std::int64_t ih = two_d ? g.input[0] : 1, iw = g.input.back();
    const std::int64_t kh = two_d ? g.kernel[0] : 1, kw = g.kernel.back();
    const std::int64_t oh = two_d ? g.output[0] : 1, ow = g.output.back();
    const std::int64_t sh = two_d ? g.stride[0] : 1, sw = g.stride.back();
    const std::int64_t dh = two_d ? g.dilation[0] : 1, dw = g.dilation.back();
    const std::int64_t ph = two_d ? g.pad_begin[0] : 0, pw = g.pad_begin.back();
    for (std::int64_t ky = 0; ky < kh; ++ky) {
        for (std::int64_t kx = 0; kx < kw; ++kx) {
            const float wv = w[ky * kw + kx];
            // Output columns whose input column ox*sw + kx*dw - pw lies inside [0, iw).
            const std::int64_t shift = kx * dw - pw;
            const std::int64_t ox_lo = shift >= 0 ? 0 : (-shift + sw - 1) / sw;
            const std::int64_t ox_hi = std::min(ow, iw - 1 - shift < 0 ? 0 : (iw - 1 - shift) / sw + 1);
            for (std::int64_t oy = 0; oy < oh; ++oy) {
                const std::int64_t iy = oy * sh - ph + ky * dh;
                if (iy < 0 || iy >= ih) continue;
                const float* row = x + iy * iw;
                float* out = y + oy * ow;
                for (std::int64_t ox = ox_lo; ox < ox_hi; ++ox) out[ox] += wv * row[ox * sw + shift];
            }
        }
    }
}

void conv_depthwise(const ConvProblem& p, const float* x, const float* w, float* y, int threads) {
    const std::int64_t multiplier = p.out_channels / p.group;
    const std::int64_t macs = p.batch * p.out_channels * p.out_size * p.taps;
    parallel_for(macs < kParallelMinMacs ? 1 : threads, p.batch * p.out_channels, [&](std::int64_t task) {
        const std::int64_t n = task / p.out_channels, m = task % p.out_channels;
        const std::int64_t c = m / multiplier;
        depthwise_plane(x + (n * p.in_channels + c) * p.in_size, w + m * p.taps, p.geo,
                        y + (n * p.out_channels + m) * p.out_size);
    });
}

void conv_gemm(const ConvProblem& p, const float* x, const float* w, float* y, int threads) {
    const std::int64_t cin_g = p.in_channels / p.group, cout_g = p.out_channels / p.group;
    const std::int64_t k = cin_g * p.taps;
    const std::int64_t blocks = (p.out_size + kColumnBlock - 1) / kColumnBlock;
    const bool pointwise = is_pointwise(p.geo);
    const std::int64_t macs = p.batch * p.out_channels * p.out_size * k;
    parallel_for(macs < kParallelMinMacs ? 1 : threads, p.batch * p.group * blocks, [&](std::int64_t task) {
        const std::int64_t b = task % blocks, g = (task / blocks) % p.group, n = task / (blocks * p.group);
        const std::int64_t p0 = b * kColumnBlock, p1 = std::min(p.out_size, p0 + kColumnBlock);
        const float* xg = x + (n * p.in_channels + g * cin_g) * p.in_size;
        float* yg = y + (n * p.out_channels + g * cout_g) * p.out_size + p0;
        const auto weights = const_view(w + g * cout_g * k, cout_g, k, k);
        if (pointwise) {
            // A 1x1, stride-1, unpadded conv reads its columns straight from X.
            view(yg, cout_g, p1 - p0, p.out_size).noalias() = weights * const_view(xg + p0, k, p1 - p0, p.in_size);
            return;
        }
        std::vector<float> col(static_cast<std::size_t>(k * (p1 - p0)));
        im2col(xg, cin_g, p.geo, p0, p1, col.data());
        view(yg, cout_g, p1 - p0, p.out_size).noalias() = weights * const_view(col.data(), k, p1 - p0, p1 - p0);
    });
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
    Tensor y(DType::f32, out_shape);
    if (p.in_channels / p.group == 1 && p.geo.rank() <= 2)
        conv_depthwise(p, x.data<float>(), w.data<float>(), y.data<float>(), ctx.threads);
    else
        conv_gemm(p, x.data<float>(), w.data<float>(), y.data<float>(), ctx.threads);
    if (bias) {
        if (bias->dtype() != DType::f32 || bias->numel() != p.out_channels)
            ctx.fail("bias B must be float32 with " + std::to_string(p.out_channels) + " elements, got " +
                     shape_to_string(bias->shape()));
        float* py = y.data<float>();
        const float* pb = bias->data<float>();
        for (std::int64_t n = 0; n < p.batch; ++n)
            for (std::int64_t m = 0; m < p.out_channels; ++m) {
                float* plane = py + (n * p.out_channels + m) * p.out_size;
                for (std::int64_t i = 0; i < p.out_size; ++i) plane[i] += pb[m];
            }
    }
    apply_fused_activation(ctx, y);
    return one(std::move(y));
}

}  // namespace bitnpu::calib::ops
