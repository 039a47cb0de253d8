// Ops that select parts of a tensor: Slice, Split, Gather, GatherElements.
// Byte copies, so every element type works.
#include <algorithm>
#include <cstring>
#include <limits>

#include "kernels.hpp"
#include "bitnpu/fp32/window.hpp"

namespace bitnpu::calib::ops {

namespace {

// Copies the strided box (start[d] + i * step[d], i < out_shape[d]) of x.
Tensor copy_box(const Tensor& x, const Shape& out_shape, const std::vector<std::int64_t>& start,
                const std::vector<std::int64_t>& step) {
    Tensor y(x.dtype(), out_shape);
    const std::size_t es = element_size(x.dtype());
    const std::vector<std::int64_t> strides = row_major_strides(x.shape());
    const std::size_t rank = out_shape.size();
    for (std::int64_t o = 0; o < y.numel(); ++o) {
        std::int64_t rem = o, offset = 0;
        for (std::size_t d = rank; d-- > 0;) {
            offset += (start[d] + (rem % out_shape[d]) * step[d]) * strides[d];
            rem /= out_shape[d];
        }
        std::memcpy(y.raw() + o * es, x.raw() + offset * es, es);
    }
    return y;
}

}  // namespace

std::vector<Tensor> slice(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    const std::int64_t rank = x.rank();
    // Opset 10 moved starts/ends/axes to inputs and added steps.
    const bool from_inputs = ctx.opset >= 10;
    const std::vector<std::int64_t> starts = from_inputs ? ctx.input(1).to_int64s() : ctx.node.attr_ints("starts");
    const std::vector<std::int64_t> ends = from_inputs ? ctx.input(2).to_int64s() : ctx.node.attr_ints("ends");
    std::vector<std::int64_t> axes = from_inputs ? (ctx.has_input(3) ? ctx.input(3).to_int64s() : std::vector<std::int64_t>{})
                                                 : ctx.node.attr_ints("axes");
    std::vector<std::int64_t> steps = from_inputs && ctx.has_input(4) ? ctx.input(4).to_int64s() : std::vector<std::int64_t>{};
    if (starts.size() != ends.size()) ctx.fail("starts and ends have different lengths");
    if (axes.empty())
        for (std::size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<std::int64_t>(i));
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (axes.size() != starts.size() || steps.size() != starts.size())
        ctx.fail("starts, ends, axes and steps must have the same length");
    Shape out_shape = x.shape();
    std::vector<std::int64_t> start(static_cast<std::size_t>(rank), 0), step(static_cast<std::size_t>(rank), 1);
    for (std::size_t i = 0; i < axes.size(); ++i) {
        const std::int64_t axis = normalize_axis(ctx, axes[i], rank);
        const std::int64_t dim = x.dim(axis), st = steps[i];
        if (st == 0) ctx.fail("slice step must not be zero");
        std::int64_t b = starts[i], e = ends[i];
        if (b < 0) b += dim;
        if (e < 0) e += dim;
        // Clamping per the ONNX spec: [0, dim] for positive steps, [-1, dim-1] for negative.
        if (st > 0) {
            b = std::clamp<std::int64_t>(b, 0, dim);
            e = std::clamp<std::int64_t>(e, 0, dim);
        } else {
            b = std::clamp<std::int64_t>(b, 0, dim - 1);
            e = std::clamp<std::int64_t>(e, -1, dim - 1);
        }
        const std::int64_t count = st > 0 ? (e - b + st - 1) / st : (b - e + (-st) - 1) / (-st);
        out_shape[axis] = std::max<std::int64_t>(0, count);
        start[axis] = b;
        step[axis] = st;
    }
    return one(copy_box(x, out_shape, start, step));
}

std::vector<Tensor> split(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    const std::int64_t axis = normalize_axis(ctx, ctx.node.attr_int("axis", 0), x.rank());
    const std::int64_t outputs = static_cast<std::int64_t>(ctx.node.outputs.size());
    // The split sizes moved from an attribute to input 1 in opset 13.
    std::vector<std::int64_t> sizes = ctx.opset >= 13 ? (ctx.has_input(1) ? ctx.input(1).to_int64s() : std::vector<std::int64_t>{})
                                                      : ctx.node.attr_ints("split");
    const std::int64_t dim = x.dim(axis);
    if (sizes.empty()) {
        // Equal parts; opset 18's num_outputs allows a smaller last part.
        const std::int64_t parts = ctx.node.attr_int("num_outputs", outputs);
        if (parts < 1) ctx.fail("no outputs to split into");
        const std::int64_t chunk = (dim + parts - 1) / parts;
        if (!ctx.node.has_attr("num_outputs") && dim % parts != 0)
            ctx.fail("axis extent " + std::to_string(dim) + " does not split into " + std::to_string(parts) + " equal parts");
        for (std::int64_t i = 0; i < parts; ++i) sizes.push_back(std::min(chunk, dim - i * chunk));
    }
    std::int64_t total = 0;
    for (auto s : sizes) {
        if (s < 0) ctx.fail("split sizes must be non-negative");
        total += s;
    }
    if (total != dim)
        ctx.fail("split sizes " + shape_to_string(sizes) + " do not add up to the axis extent " + std::to_string(dim));
    std::vector<Tensor> outs;
    std::vector<std::int64_t> start(static_cast<std::size_t>(x.rank()), 0), step(static_cast<std::size_t>(x.rank()), 1);
    for (auto s : sizes) {
        Shape part = x.shape();
        part[axis] = s;
        outs.push_back(copy_box(x, part, start, step));
        start[axis] += s;
    }
    return outs;
}

std::vector<Tensor> gather(const KernelContext& ctx) {
    const Tensor& data = ctx.input(0);
    const Tensor& idx_t = ctx.input(1);
    if (data.rank() == 0) ctx.fail("data must have rank >= 1");
    const std::int64_t axis = normalize_axis(ctx, ctx.node.attr_int("axis", 0), data.rank());
    const std::vector<std::int64_t> indices = idx_t.to_int64s();
    const std::int64_t dim = data.dim(axis);
    std::int64_t outer = 1, inner = 1;
    for (std::int64_t d = 0; d < data.rank(); ++d)
        if (d < axis) outer *= data.dim(d);
        else if (d > axis) inner *= data.dim(d);
    Shape out_shape(data.shape().begin(), data.shape().begin() + axis);
    out_shape.insert(out_shape.end(), idx_t.shape().begin(), idx_t.shape().end());
    out_shape.insert(out_shape.end(), data.shape().begin() + axis + 1, data.shape().end());
    Tensor y(data.dtype(), out_shape);
    const std::size_t chunk = static_cast<std::size_t>(inner) * element_size(data.dtype());
    const std::int64_t n = static_cast<std::int64_t>(indices.size());
    for (std::int64_t o = 0; o < outer; ++o)
        for (std::int64_t j = 0; j < n; ++j) {
            std::int64_t i = indices[j];
            if (i < -dim || i >= dim)
                ctx.fail("index " + std::to_string(i) + " is out of range for axis extent " + std::to_string(dim));
            if (i < 0) i += dim;
            std::memcpy(y.raw() + (o * n + j) * chunk, data.raw() + (o * dim + i) * chunk, chunk);
        }
    return one(std::move(y));
}

std::vector<Tensor> gather_elements(const KernelContext& ctx) {
    const Tensor& data = ctx.input(0);
    const Tensor& idx_t = ctx.input(1);
    if (idx_t.rank() != data.rank()) ctx.fail("indices must have the rank of data");
    const std::int64_t axis = normalize_axis(ctx, ctx.node.attr_int("axis", 0), data.rank());
    const std::vector<std::int64_t> indices = idx_t.to_int64s();
    const std::vector<std::int64_t> strides = row_major_strides(data.shape());
    Tensor y(data.dtype(), idx_t.shape());
    const std::size_t es = element_size(data.dtype());
    const Shape& shape = idx_t.shape();
    for (std::int64_t o = 0; o < y.numel(); ++o) {
        std::int64_t rem = o, offset = 0;
        for (std::size_t d = shape.size(); d-- > 0;) {
            std::int64_t c = rem % shape[d];
            rem /= shape[d];
            if (static_cast<std::int64_t>(d) == axis) {
                c = indices[o];
                const std::int64_t dim = data.dim(axis);
                if (c < -dim || c >= dim) ctx.fail("index " + std::to_string(c) + " is out of range");
                if (c < 0) c += dim;
            }
            offset += c * strides[d];
        }
        std::memcpy(y.raw() + o * es, data.raw() + offset * es, es);
    }
    return one(std::move(y));
}

}  // namespace bitnpu::calib::ops
