// Ops that only rearrange or describe data: Reshape, Flatten, Transpose,
// Squeeze, Unsqueeze, Concat, Shape, Size, Identity, Dropout, Expand, Tile.
// They move bytes and so work for every element type.
#include <algorithm>
#include <cstring>

#include "broadcast.hpp"
#include "kernels.hpp"
#include "bitnpu/fp32/window.hpp"

namespace bitnpu::calib::ops {

std::vector<Tensor> reshape(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    // Opset 5 moved the target shape from an attribute to input 1.
    std::vector<std::int64_t> shape = ctx.ints_from_input_or_attr(1, "shape");
    const bool allow_zero = ctx.node.attr_int("allowzero", 0) != 0;
    std::int64_t known = 1, infer_at = -1;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == 0 && !allow_zero) {
            if (static_cast<std::int64_t>(i) >= x.rank())
                ctx.fail("shape " + shape_to_string(shape) + " copies dimension " + std::to_string(i) +
                         " (a 0) that input " + shape_to_string(x.shape()) + " does not have");
            shape[i] = x.dim(static_cast<std::int64_t>(i));
        }
        if (shape[i] == -1) {
            if (infer_at >= 0) ctx.fail("shape " + shape_to_string(shape) + " has more than one -1");
            infer_at = static_cast<std::int64_t>(i);
        } else if (shape[i] < 0) {
            ctx.fail("shape has invalid dimension " + std::to_string(shape[i]));
        } else if (__builtin_mul_overflow(known, shape[i], &known)) {
            ctx.fail("shape " + shape_to_string(shape) + " has more elements than fit in 64 bits");
        }
    }
    if (infer_at >= 0) {
        if (known == 0 || x.numel() % known != 0)
            ctx.fail("cannot infer the -1 in shape " + shape_to_string(shape) + " for input " +
                     shape_to_string(x.shape()));
        shape[infer_at] = x.numel() / known;
    }
    if (num_elements(shape) != x.numel())
        ctx.fail("cannot reshape " + shape_to_string(x.shape()) + " (" + std::to_string(x.numel()) +
                 " elements) to " + shape_to_string(shape));
    return one(x.reshaped(shape));
}

std::vector<Tensor> flatten(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    std::int64_t axis = ctx.node.attr_int("axis", 1);
    if (axis < -x.rank() || axis > x.rank()) ctx.fail("axis " + std::to_string(axis) + " is out of range");
    if (axis < 0) axis += x.rank();
    std::int64_t outer = 1, inner = 1;
    for (std::int64_t d = 0; d < x.rank(); ++d) (d < axis ? outer : inner) *= x.dim(d);
    return one(x.reshaped({outer, inner}));
}

std::vector<Tensor> transpose(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    const std::int64_t rank = x.rank();
    std::vector<std::int64_t> perm = ctx.node.attr_ints("perm");
    if (perm.empty())
        for (std::int64_t d = rank - 1; d >= 0; --d) perm.push_back(d);
    std::vector<std::int64_t> sorted = perm;
    std::sort(sorted.begin(), sorted.end());
    for (std::int64_t d = 0; d < rank; ++d)
        if (static_cast<std::int64_t>(sorted.size()) != rank || sorted[d] != d)
            ctx.fail("perm " + shape_to_string(perm) + " is not a permutation of the " + std::to_string(rank) + " axes");
    Shape out_shape(static_cast<std::size_t>(rank));
    for (std::int64_t d = 0; d < rank; ++d) out_shape[d] = x.dim(perm[d]);
    const std::vector<std::int64_t> in_strides = row_major_strides(x.shape());
    // Walk the output row-major; the input offset moves by the permuted input strides.
    Tensor y(x.dtype(), out_shape);
    const std::size_t es = element_size(x.dtype());
    const std::byte* src = x.raw();
    std::byte* dst = y.raw();
    std::vector<std::int64_t> index(static_cast<std::size_t>(rank), 0);
    const std::int64_t total = y.numel();
    std::int64_t offset = 0;
    for (std::int64_t o = 0; o < total; ++o) {
        std::memcpy(dst + o * es, src + offset * es, es);
        for (std::int64_t d = rank - 1; d >= 0; --d) {
            offset += in_strides[perm[d]];
            if (++index[d] < out_shape[d]) break;
            offset -= in_strides[perm[d]] * out_shape[d];
            index[d] = 0;
        }
    }
    return one(std::move(y));
}

std::vector<Tensor> squeeze(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    // Axes moved from an attribute to input 1 in opset 13.
    std::vector<std::int64_t> axes = ctx.ints_from_input_or_attr(1, "axes");
    for (auto& a : axes) a = normalize_axis(ctx, a, x.rank());
    Shape out;
    for (std::int64_t d = 0; d < x.rank(); ++d) {
        const bool listed = std::find(axes.begin(), axes.end(), d) != axes.end();
        if (listed && x.dim(d) != 1)
            ctx.fail("cannot squeeze axis " + std::to_string(d) + " of shape " + shape_to_string(x.shape()) +
                     ": its extent is not 1");
        if (listed || (axes.empty() && x.dim(d) == 1)) continue;
        out.push_back(x.dim(d));
    }
    return one(x.reshaped(out));
}

std::vector<Tensor> unsqueeze(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    std::vector<std::int64_t> axes = ctx.ints_from_input_or_attr(1, "axes");
    const std::int64_t out_rank = x.rank() + static_cast<std::int64_t>(axes.size());
    for (auto& a : axes) a = normalize_axis(ctx, a, out_rank);
    std::sort(axes.begin(), axes.end());
    if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) ctx.fail("axes contain a repeated axis");
    Shape out;
    std::int64_t next = 0;
    for (std::int64_t d = 0; d < out_rank; ++d)
        out.push_back(std::binary_search(axes.begin(), axes.end(), d) ? 1 : x.dim(next++));
    return one(x.reshaped(out));
}

std::vector<Tensor> concat(const KernelContext& ctx) {
    if (ctx.num_inputs() == 0) ctx.fail("needs at least one input");
    const Tensor& first = ctx.input(0);
    if (first.rank() == 0) ctx.fail("cannot concatenate scalars");
    const std::int64_t axis = normalize_axis(ctx, ctx.node.attr_int("axis", 0), first.rank());
    Shape out_shape = first.shape();
    out_shape[axis] = 0;
    for (std::size_t i = 0; i < ctx.num_inputs(); ++i) {
        const Tensor& t = ctx.input(i);
        if (t.dtype() != first.dtype()) ctx.fail("inputs have different types");
        bool same = t.rank() == first.rank();
        for (std::int64_t d = 0; same && d < t.rank(); ++d) same = d == axis || t.dim(d) == first.dim(d);
        if (!same)
            ctx.fail("input " + std::to_string(i) + " shape " + shape_to_string(t.shape()) +
                     " does not match input 0 shape " + shape_to_string(first.shape()) + " outside axis " +
                     std::to_string(axis));
        out_shape[axis] += t.dim(axis);
    }
    Tensor y(first.dtype(), out_shape);
    const std::size_t es = element_size(first.dtype());
    std::int64_t outer = 1, inner = 1;
    for (std::int64_t d = 0; d < first.rank(); ++d)
        if (d < axis) outer *= first.dim(d);
        else if (d > axis) inner *= first.dim(d);
    const std::int64_t out_row = out_shape[axis] * inner;
    std::int64_t column = 0;
    for (std::size_t i = 0; i < ctx.num_inputs(); ++i) {
        const Tensor& t = ctx.input(i);
        const std::int64_t row = t.dim(axis) * inner;
        if (row == 0) continue;   // an empty input adds nothing (and has no data pointer)
        for (std::int64_t o = 0; o < outer; ++o)
            std::memcpy(y.raw() + (o * out_row + column) * es, t.raw() + o * row * es, static_cast<std::size_t>(row) * es);
        column += row;
    }
    return one(std::move(y));
}

std::vector<Tensor> shape(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    // start/end (opset 15) select a slice of the shape; out-of-range values clamp.
    auto clamp_index = [&](std::int64_t v) {
        if (v < 0) v += x.rank();
        return std::clamp<std::int64_t>(v, 0, x.rank());
    };
    const std::int64_t start = clamp_index(ctx.node.attr_int("start", 0));
    const std::int64_t end = clamp_index(ctx.node.attr_int("end", x.rank()));
    std::vector<std::int64_t> dims;
    for (std::int64_t d = start; d < end; ++d) dims.push_back(x.dim(d));
    return one(Tensor::from_vector<std::int64_t>({static_cast<std::int64_t>(dims.size())}, dims));
}

std::vector<Tensor> size(const KernelContext& ctx) { return one(Tensor::scalar<std::int64_t>(ctx.input(0).numel())); }

std::vector<Tensor> identity(const KernelContext& ctx) { return one(ctx.input(0)); }

std::vector<Tensor> dropout(const KernelContext& ctx) {
    // Inference: Y = X and the optional mask is all true.
    if (ctx.has_input(2) && ctx.input(2).numel() == 1 && ctx.input(2).to_int64s()[0] != 0)
        ctx.fail("training_mode=true is not supported (the executor runs inference only)");
    if (ctx.opset < 7 && ctx.node.attr_int("is_test", 0) == 0)
        ctx.fail("is_test=0 (training) is not supported (the executor runs inference only)");
    std::vector<Tensor> outs = one(ctx.input(0));
    if (ctx.node.outputs.size() > 1 && !ctx.node.outputs[1].empty()) {
        Tensor mask(DType::boolean, ctx.input(0).shape());
        std::fill(mask.data<bool>(), mask.data<bool>() + mask.numel(), true);
        outs.push_back(std::move(mask));
    }
    return outs;
}

namespace {

// Copies x into a tensor of out_shape where x broadcasts (numpy rules).
Tensor broadcast_to(const Tensor& x, const Shape& out_shape) {
    Tensor y(x.dtype(), out_shape);
    const std::size_t es = element_size(x.dtype());
    const std::byte* src = x.raw();
    std::byte* dst = y.raw();
    for_each_broadcast<1>(out_shape, {&x.shape()}, [&](std::int64_t o, const std::array<std::int64_t, 1>& off) {
        std::memcpy(dst + o * es, src + off[0] * es, es);
    });
    return y;
}

}  // namespace

std::vector<Tensor> expand(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    const Shape target = ctx.input(1).to_int64s();
    return one(broadcast_to(x, broadcast_shapes(ctx, {x.shape(), target})));
}

std::vector<Tensor> tile(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    const std::vector<std::int64_t> repeats = ctx.input(1).to_int64s();
    if (static_cast<std::int64_t>(repeats.size()) != x.rank())
        ctx.fail("repeats has " + std::to_string(repeats.size()) + " values, input rank is " + std::to_string(x.rank()));
    Shape out_shape = x.shape();
    for (std::size_t d = 0; d < repeats.size(); ++d) {
        if (repeats[d] < 0) ctx.fail("repeats must be non-negative");
        out_shape[d] *= repeats[d];
    }
    Tensor y(x.dtype(), out_shape);
    const std::size_t es = element_size(x.dtype());
    const std::vector<std::int64_t> in_strides = row_major_strides(x.shape());
    std::vector<std::int64_t> index(out_shape.size(), 0);
    for (std::int64_t o = 0; o < y.numel(); ++o) {
        std::int64_t rem = o, offset = 0;
        for (std::size_t d = out_shape.size(); d-- > 0;) {
            offset += (rem % out_shape[d]) % x.dim(static_cast<std::int64_t>(d)) * in_strides[d];
            rem /= out_shape[d];
        }
        std::memcpy(y.raw() + o * es, x.raw() + offset * es, es);
    }
    return one(std::move(y));
}

}  // namespace bitnpu::calib::ops
