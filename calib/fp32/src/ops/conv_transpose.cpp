// ConvTranspose: per (image, group) one GEMM W_g^T x X_g giving columns,
// scattered back into the output image by col2im (the adjoint of Conv).
#include <algorithm>

#include "activation.hpp"
#include "gemm_util.hpp"
#include "bitnpu/fp32/im2col.hpp"
#include "kernels.hpp"
#include "bitnpu/sim/parallel.hpp"

namespace bitnpu::calib::ops {

namespace {

std::vector<std::int64_t> spatial_attr(const KernelContext& ctx, const std::string& name, std::size_t rank,
                                       std::int64_t fallback) {
    std::vector<std::int64_t> v = ctx.node.attr_ints(name, std::vector<std::int64_t>(rank, fallback));
    if (v.size() != rank)
        ctx.fail("attribute '" + name + "' has " + std::to_string(v.size()) + " values, expected " +
                 std::to_string(rank));
    return v;
}

// The geometry of the equivalent Conv: its "input" is our output image and
// its "output" is our input X.
WindowGeometry transpose_geometry(const KernelContext& ctx, const std::vector<std::int64_t>& in_spatial,
                                  const std::vector<std::int64_t>& kernel) {
    const std::size_t rank = in_spatial.size();
    WindowGeometry g;
    g.kernel = kernel;
    g.output = in_spatial;
    g.stride = spatial_attr(ctx, "strides", rank, 1);
    g.dilation = spatial_attr(ctx, "dilations", rank, 1);
    const std::vector<std::int64_t> out_pad = spatial_attr(ctx, "output_padding", rank, 0);
    const std::string auto_pad = ctx.node.attr_string("auto_pad", "NOTSET");
    std::vector<std::int64_t> out_shape = ctx.node.attr_ints("output_shape");
    if (out_shape.size() > rank) out_shape.erase(out_shape.begin(), out_shape.end() - static_cast<std::ptrdiff_t>(rank));
    if (!out_shape.empty() && out_shape.size() != rank)
        ctx.fail("attribute output_shape must have one value per spatial axis");
    if (out_shape.empty() && (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER"))
        for (std::size_t d = 0; d < rank; ++d) out_shape.push_back(in_spatial[d] * g.stride[d]);
    g.pad_begin.assign(rank, 0);
    g.pad_end.assign(rank, 0);
    g.input.assign(rank, 0);
    const std::vector<std::int64_t> pads = ctx.node.attr_ints("pads", std::vector<std::int64_t>(2 * rank, 0));
    if (pads.size() != 2 * rank) ctx.fail("attribute 'pads' must have 2 values per spatial axis");
    for (std::size_t d = 0; d < rank; ++d) {
        const std::int64_t natural = g.stride[d] * (in_spatial[d] - 1) + out_pad[d] + (kernel[d] - 1) * g.dilation[d] + 1;
        if (!out_shape.empty()) {
            // Padding is derived from the requested output size (ONNX spec).
            const std::int64_t total = natural - out_shape[d];
            const bool upper = auto_pad == "SAME_UPPER";
            // An output larger than the natural one grows at the end (zeros), as
            // the ONNX reference does.
            g.pad_begin[d] = total < 0 ? 0 : upper ? total / 2 : total - total / 2;
            g.pad_end[d] = total - g.pad_begin[d];
            g.input[d] = out_shape[d];
        } else {
            if (auto_pad != "VALID") {
                g.pad_begin[d] = pads[d];
                g.pad_end[d] = pads[d + rank];
            }
            g.input[d] = natural - g.pad_begin[d] - g.pad_end[d];
        }
        if (g.input[d] <= 0) ctx.fail("output extent on spatial axis " + std::to_string(d) + " is not positive");
    }
    return g;
}

}  // namespace

std::vector<Tensor> conv_transpose(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(1);
    const Tensor* bias = ctx.optional_input(2);
    if (x.dtype() != DType::f32 || w.dtype() != DType::f32) ctx.fail("implemented for float32 X and W only");
    if (x.rank() < 3 || w.rank() != x.rank())
        ctx.fail("X " + shape_to_string(x.shape()) + " and W " + shape_to_string(w.shape()) +
                 " must be [N, C, spatial...] and [C, M/group, kernel...]");
    const std::int64_t batch = x.dim(0), in_channels = x.dim(1), group = ctx.node.attr_int("group", 1);
    if (group < 1 || in_channels % group != 0 || w.dim(0) != in_channels)
        ctx.fail("W shape " + shape_to_string(w.shape()) + " does not match X channels " +
                 std::to_string(in_channels) + " with group " + std::to_string(group));
    const std::int64_t cout_g = w.dim(1), out_channels = cout_g * group, cin_g = in_channels / group;
    const std::vector<std::int64_t> spatial(x.shape().begin() + 2, x.shape().end());
    const std::vector<std::int64_t> kernel(w.shape().begin() + 2, w.shape().end());
    const WindowGeometry g = transpose_geometry(ctx, spatial, kernel);
    const std::int64_t in_size = num_elements(spatial), out_size = num_elements(g.input);
    const std::int64_t rows = cout_g * num_elements(kernel);

    Shape out_shape{batch, out_channels};
    out_shape.insert(out_shape.end(), g.input.begin(), g.input.end());
    Tensor y(DType::f32, out_shape);
    const float* px = x.data<float>();
    const float* pw = w.data<float>();
    float* py = y.data<float>();
    const std::int64_t macs = batch * in_channels * rows * in_size;
    sim::parallel_for(batch * group, macs < kParallelMinMacs ? 1 : ctx.threads, [&](std::int64_t task) {
        const std::int64_t n = task / group, gi = task % group;
        std::vector<float> col(static_cast<std::size_t>(rows * in_size));
        view(col.data(), rows, in_size, in_size).noalias() =
            const_view(pw + gi * cin_g * rows, cin_g, rows, rows).transpose() *
            const_view(px + (n * in_channels + gi * cin_g) * in_size, cin_g, in_size, in_size);
        col2im_add(col.data(), cout_g, g, py + (n * out_channels + gi * cout_g) * out_size);
    }, sim::Schedule::dynamic);
    if (bias) {
        if (bias->dtype() != DType::f32 || bias->numel() != out_channels)
            ctx.fail("bias B must be float32 with " + std::to_string(out_channels) + " elements");
        for (std::int64_t n = 0; n < batch; ++n)
            for (std::int64_t m = 0; m < out_channels; ++m) {
                float* plane = py + (n * out_channels + m) * out_size;
                for (std::int64_t i = 0; i < out_size; ++i) plane[i] += bias->data<float>()[m];
            }
    }
    apply_fused_activation(ctx, y);
    return one(std::move(y));
}

}  // namespace bitnpu::calib::ops
