// Pad: constant, reflect and edge modes; negative pads crop.
#include <cstring>

#include "dispatch.hpp"
#include "kernels.hpp"
#include "bitnpu/fp32/window.hpp"

namespace bitnpu::calib::ops {

namespace {

// Maps an output coordinate shifted by the begin pad to an input coordinate,
// or -1 where the constant fills in.
std::int64_t source_index(std::int64_t i, std::int64_t dim, const std::string& mode) {
    if (i >= 0 && i < dim) return i;
    if (mode == "constant") return -1;
    if (mode == "edge") return i < 0 ? 0 : dim - 1;
    // reflect: mirror without repeating the edge element (numpy 'reflect').
    const std::int64_t period = 2 * (dim - 1);
    std::int64_t r = i % period;
    if (r < 0) r += period;
    return r < dim ? r : period - r;
}

}  // namespace

std::vector<Tensor> pad(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    const std::int64_t rank = x.rank();
    const std::string mode = ctx.node.attr_string("mode", "constant");
    if (mode != "constant" && mode != "reflect" && mode != "edge")
        ctx.fail("mode '" + mode + "' is not supported (supported: constant, reflect, edge)");
    // pads/value were attributes before opset 11 (pads was named 'paddings' in opset 1).
    std::vector<std::int64_t> pads = ctx.opset >= 11 ? ctx.input(1).to_int64s()
                                                     : ctx.node.attr_ints("pads", ctx.node.attr_ints("paddings"));
    std::vector<std::int64_t> axes;
    if (ctx.has_input(3)) {
        for (auto a : ctx.input(3).to_int64s()) axes.push_back(normalize_axis(ctx, a, rank));
    } else {
        for (std::int64_t d = 0; d < rank; ++d) axes.push_back(d);
    }
    const std::size_t n_axes = axes.size();
    if (pads.size() != 2 * n_axes)
        ctx.fail("pads has " + std::to_string(pads.size()) + " values, expected " + std::to_string(2 * n_axes));
    std::vector<std::int64_t> begin(static_cast<std::size_t>(rank), 0), end(static_cast<std::size_t>(rank), 0);
    for (std::size_t i = 0; i < n_axes; ++i) {
        begin[axes[i]] = pads[i];
        end[axes[i]] = pads[i + n_axes];
    }
    Shape out_shape = x.shape();
    for (std::int64_t d = 0; d < rank; ++d) {
        out_shape[d] += begin[d] + end[d];
        if (out_shape[d] < 0) ctx.fail("negative pads remove more than the whole axis " + std::to_string(d));
        if (mode != "constant" && out_shape[d] > 0 && x.dim(d) == 0)
            ctx.fail("cannot " + mode + "-pad an empty axis");
        if (mode == "reflect" && (begin[d] > 0 || end[d] > 0) && x.dim(d) < 2)
            ctx.fail("reflect padding needs at least 2 elements on axis " + std::to_string(d));
    }
    Tensor value(x.dtype(), {});
    if (ctx.opset >= 11) {
        if (ctx.has_input(2)) value = ctx.input(2).cast(x.dtype()).reshaped({});
    } else {
        value = Tensor::scalar<float>(ctx.node.attr_float("value", 0.0f)).cast(x.dtype());
    }
    Tensor y(x.dtype(), out_shape);
    const std::size_t es = element_size(x.dtype());
    const std::vector<std::int64_t> strides = row_major_strides(x.shape());
    for (std::int64_t o = 0; o < y.numel(); ++o) {
        std::int64_t rem = o, offset = 0;
        bool fill = false;
        for (std::int64_t d = rank - 1; d >= 0; --d) {
            const std::int64_t c = rem % out_shape[d];
            rem /= out_shape[d];
            const std::int64_t s = source_index(c - begin[d], x.dim(d), mode);
            if (s < 0) fill = true;
            else offset += s * strides[d];
        }
        std::memcpy(y.raw() + o * es, fill ? value.raw() : x.raw() + offset * es, es);
    }
    return one(std::move(y));
}

}  // namespace bitnpu::calib::ops
