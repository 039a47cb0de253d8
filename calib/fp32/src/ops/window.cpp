// Output size and padding rules of ONNX Conv / pooling (auto_pad included).
#include "bitnpu/fp32/window.hpp"

#include <algorithm>

namespace bitnpu::calib::ops {

namespace {

std::vector<std::int64_t> per_axis(const KernelContext& ctx, const std::string& name, std::size_t rank,
                                   std::int64_t fallback) {
    std::vector<std::int64_t> v = ctx.node.attr_ints(name, std::vector<std::int64_t>(rank, fallback));
    if (v.size() != rank)
        ctx.fail("attribute '" + name + "' has " + std::to_string(v.size()) + " values, expected " +
                 std::to_string(rank) + " (one per spatial axis)");
    for (auto x : v)
        if (x < 1) ctx.fail("attribute '" + name + "' must be positive, got " + std::to_string(x));
    return v;
}

}  // namespace

std::vector<std::int64_t> row_major_strides(const Shape& shape) {
    std::vector<std::int64_t> s(shape.size(), 1);
    for (std::size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
    return s;
}

WindowGeometry window_geometry(const KernelContext& ctx, const std::vector<std::int64_t>& input_spatial,
                               const std::vector<std::int64_t>& kernel, bool ceil_mode) {
    const std::size_t rank = input_spatial.size();
    WindowGeometry g;
    g.input = input_spatial;
    g.kernel = kernel;
    if (kernel.size() != rank)
        ctx.fail("kernel has " + std::to_string(kernel.size()) + " spatial axes but the input has " +
                 std::to_string(rank));
    for (auto k : kernel)
        if (k < 1) ctx.fail("kernel extent must be positive");
    g.stride = per_axis(ctx, "strides", rank, 1);
    g.dilation = per_axis(ctx, "dilations", rank, 1);
    g.pad_begin.assign(rank, 0);
    g.pad_end.assign(rank, 0);
    g.output.assign(rank, 0);
    const std::string auto_pad = ctx.node.attr_string("auto_pad", "NOTSET");
    if (auto_pad != "NOTSET" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER" && auto_pad != "VALID")
        ctx.fail("unknown auto_pad '" + auto_pad + "' (expected NOTSET, SAME_UPPER, SAME_LOWER or VALID)");
    std::vector<std::int64_t> pads = ctx.node.attr_ints("pads", std::vector<std::int64_t>(2 * rank, 0));
    if (auto_pad == "NOTSET" && pads.size() != 2 * rank)
        ctx.fail("attribute 'pads' has " + std::to_string(pads.size()) + " values, expected " +
                 std::to_string(2 * rank));
    for (std::size_t d = 0; d < rank; ++d) {
        const std::int64_t extent = (kernel[d] - 1) * g.dilation[d] + 1;  // dilated kernel
        if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
            const std::int64_t out = (input_spatial[d] + g.stride[d] - 1) / g.stride[d];
            const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * g.stride[d] + extent - input_spatial[d]);
            // SAME_UPPER puts the odd padding element at the end, SAME_LOWER at the beginning.
            g.pad_begin[d] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
            g.pad_end[d] = total - g.pad_begin[d];
            g.output[d] = out;
            continue;
        }
        if (auto_pad == "NOTSET") {
            g.pad_begin[d] = pads[d];
            g.pad_end[d] = pads[d + rank];
            if (g.pad_begin[d] < 0 || g.pad_end[d] < 0) ctx.fail("negative pads are not supported");
        }
        const std::int64_t span = input_spatial[d] + g.pad_begin[d] + g.pad_end[d] - extent;
        if (span < 0)
            ctx.fail("the (dilated) kernel extent " + std::to_string(extent) + " exceeds the padded input extent " +
                     std::to_string(input_spatial[d] + g.pad_begin[d] + g.pad_end[d]) + " on spatial axis " +
                     std::to_string(d));
        std::int64_t out = ceil_mode ? (span + g.stride[d] - 1) / g.stride[d] + 1 : span / g.stride[d] + 1;
        // With ceil_mode the last window must start inside the input or the begin padding.
        if (ceil_mode && (out - 1) * g.stride[d] >= input_spatial[d] + g.pad_begin[d]) --out;
        g.output[d] = out;
    }
    return g;
}

}  // namespace bitnpu::calib::ops
