// Resize (opsets 10-18) and Upsample: nearest and N-d linear interpolation
// with every coordinate_transformation_mode; cubic is rejected by name.
#include <algorithm>
#include <cmath>

#include "dispatch.hpp"
#include "kernels.hpp"
#include "bitnpu/fp32/window.hpp"
#include "bitnpu/sim/parallel.hpp"

namespace bitnpu::calib::ops {

namespace {

struct ResizeSpec {
    std::string mode;        // "nearest" or "linear"
    std::string transform;   // coordinate_transformation_mode
    std::string nearest_mode;
    std::vector<double> scales;  // per axis, output / input
    Shape out_shape;
    std::vector<double> roi;     // [starts..., ends...] for tf_crop_and_resize
    double extrapolation = 0.0;
};

ResizeSpec resize_spec(const KernelContext& ctx, const Tensor& x) {
    const std::int64_t rank = x.rank();
    ResizeSpec s;
    s.mode = ctx.node.attr_string("mode", "nearest");
    if (s.mode == "bilinear" || s.mode == "trilinear") s.mode = "linear";  // Upsample-7 spellings
    if (s.mode == "cubic")
        ctx.fail("mode 'cubic' is not supported (supported modes: nearest, linear)");
    if (s.mode != "nearest" && s.mode != "linear")
        ctx.fail("unknown mode '" + s.mode + "' (supported modes: nearest, linear)");
    if (ctx.node.attr_int("antialias", 0) != 0) ctx.fail("antialias=1 is not supported");
    if (ctx.node.attr_string("keep_aspect_ratio_policy", "stretch") != "stretch")
        ctx.fail("keep_aspect_ratio_policy other than 'stretch' is not supported");
    const bool legacy = ctx.node.op_type == "Upsample" || ctx.opset < 11;
    // Before opset 11 (and in Upsample) the mapping is asymmetric with floor rounding.
    s.transform = legacy ? "asymmetric" : ctx.node.attr_string("coordinate_transformation_mode", "half_pixel");
    s.nearest_mode = legacy ? "floor" : ctx.node.attr_string("nearest_mode", "round_prefer_floor");
    s.extrapolation = ctx.node.attr_float("extrapolation_value", 0.0f);

    // Where scales/sizes come from: Upsample-7 attribute; Upsample-9 and Resize-10 input 1;
    // Resize-11+ inputs 2 (scales) and 3 (sizes), input 1 being roi.
    std::vector<double> scales;
    std::vector<std::int64_t> sizes;
    if (legacy && ctx.node.op_type == "Upsample" && ctx.opset < 9) {
        for (float f : ctx.node.attr_floats("scales")) scales.push_back(f);
    } else if (legacy) {
        for (float f : ctx.input(1).to_floats()) scales.push_back(f);
    } else {
        if (ctx.has_input(2) && ctx.input(2).numel() > 0)
            for (float f : ctx.input(2).to_floats()) scales.push_back(f);
        if (ctx.has_input(3) && ctx.input(3).numel() > 0) sizes = ctx.input(3).to_int64s();
        if (ctx.has_input(1) && ctx.input(1).numel() > 0)
            for (float f : ctx.input(1).to_floats()) s.roi.push_back(f);
    }
    if (scales.empty() == sizes.empty()) ctx.fail("exactly one of scales and sizes must be given");
    // Opset 18 'axes' names the axes scales/sizes refer to; the others keep scale 1.
    std::vector<std::int64_t> axes = ctx.node.attr_ints("axes");
    if (axes.empty())
        for (std::int64_t d = 0; d < rank; ++d) axes.push_back(d);
    for (auto& a : axes) a = normalize_axis(ctx, a, rank);
    const std::size_t given = scales.empty() ? sizes.size() : scales.size();
    if (given != axes.size())
        ctx.fail((scales.empty() ? "sizes has " : "scales has ") + std::to_string(given) + " values, expected " +
                 std::to_string(axes.size()));
    s.scales.assign(static_cast<std::size_t>(rank), 1.0);
    s.out_shape = x.shape();
    for (std::size_t i = 0; i < axes.size(); ++i) {
        const std::int64_t d = axes[i];
        if (!scales.empty()) {
            if (scales[i] <= 0) ctx.fail("scales must be positive");
            s.scales[d] = scales[i];
            s.out_shape[d] = static_cast<std::int64_t>(std::floor(static_cast<double>(x.dim(d)) * scales[i]));
        } else {
            s.out_shape[d] = sizes[i];
            s.scales[d] = x.dim(d) == 0 ? 1.0 : static_cast<double>(sizes[i]) / static_cast<double>(x.dim(d));
        }
    }
    if (s.transform == "tf_crop_and_resize" && s.roi.size() != 2 * static_cast<std::size_t>(rank)) {
        if (s.roi.size() != 2 * axes.size()) ctx.fail("roi must have 2 values per resized axis");
        std::vector<double> full(2 * static_cast<std::size_t>(rank));
        for (std::int64_t d = 0; d < rank; ++d) full[d] = 0.0, full[d + rank] = 1.0;
        for (std::size_t i = 0; i < axes.size(); ++i) full[axes[i]] = s.roi[i], full[axes[i] + rank] = s.roi[i + axes.size()];
        s.roi = full;
    }
    return s;
}

// Position in the input of output coordinate `o` along an axis.
double source_coordinate(const KernelContext& ctx, const ResizeSpec& s, std::size_t axis, std::int64_t o,
                         std::int64_t in, std::int64_t out) {
    // The ONNX reference maps coordinates with the unrounded output length in * scale.
    (void)out;
    const double scale = s.scales[axis], x = static_cast<double>(o);
    const double out_len = static_cast<double>(in) * scale;
    const std::string& t = s.transform;
    if (t == "half_pixel") return (x + 0.5) / scale - 0.5;
    if (t == "pytorch_half_pixel") return out_len > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    if (t == "align_corners") return out_len == 1 ? 0.0 : x * static_cast<double>(in - 1) / (out_len - 1);
    if (t == "asymmetric") return x / scale;
    if (t == "tf_half_pixel_for_nn") return (x + 0.5) / scale;
    if (t == "tf_crop_and_resize") {
        const std::size_t rank = s.scales.size();
        const double start = s.roi[axis], end = s.roi[axis + rank];
        return out_len > 1 ? start * static_cast<double>(in - 1) + x * (end - start) * static_cast<double>(in - 1) / (out_len - 1)
                           : 0.5 * (start + end) * static_cast<double>(in - 1);
    }
    ctx.fail("unknown coordinate_transformation_mode '" + t + "'");
}

std::int64_t nearest_index(const KernelContext& ctx, const std::string& mode, double v) {
    if (mode == "floor") return static_cast<std::int64_t>(std::floor(v));
    if (mode == "ceil") return static_cast<std::int64_t>(std::ceil(v));
    const double f = std::floor(v);
    if (v - f == 0.5) return static_cast<std::int64_t>(mode == "round_prefer_ceil" ? f + 1 : f);
    if (mode != "round_prefer_floor" && mode != "round_prefer_ceil") ctx.fail("unknown nearest_mode '" + mode + "'");
    return static_cast<std::int64_t>(std::round(v));
}

// Per axis and output coordinate: up to two (input index, weight) taps; index
// -1 means "outside the roi" (tf_crop_and_resize extrapolation).
struct Tap {
    std::int64_t index;
    double weight;
};

std::vector<std::vector<std::vector<Tap>>> axis_taps(const KernelContext& ctx, const ResizeSpec& s, const Shape& in) {
    std::vector<std::vector<std::vector<Tap>>> taps(in.size());
    const bool crop = s.transform == "tf_crop_and_resize";
    for (std::size_t d = 0; d < in.size(); ++d) {
        const std::int64_t n_in = in[d], n_out = s.out_shape[d];
        for (std::int64_t o = 0; o < n_out; ++o) {
            if (n_in == n_out && s.scales[d] == 1.0 && !crop) {  // untouched axis
                taps[d].push_back({Tap{o, 1.0}});
                continue;
            }
            const double v = source_coordinate(ctx, s, d, o, n_in, n_out);
            if (crop && (v < 0 || v > static_cast<double>(n_in - 1))) {
                taps[d].push_back({Tap{-1, 1.0}});
                continue;
            }
            if (s.mode == "nearest") {
                taps[d].push_back({Tap{std::clamp<std::int64_t>(nearest_index(ctx, s.nearest_mode, v), 0, n_in - 1), 1.0}});
                continue;
            }
            const double c = std::clamp(v, 0.0, static_cast<double>(n_in - 1));
            const std::int64_t i0 = static_cast<std::int64_t>(std::floor(c));
            const std::int64_t i1 = std::min(i0 + 1, n_in - 1);
            const double w1 = c - static_cast<double>(i0);
            if (i1 == i0 || w1 == 0.0) taps[d].push_back({Tap{i0, 1.0}});
            else taps[d].push_back({Tap{i0, 1.0 - w1}, Tap{i1, w1}});
        }
    }
    return taps;
}

using AxisTaps = std::vector<std::vector<Tap>>;   // per output position of one axis

// Whether every axis but the last two is copied: one tap per output
// position, its own index, weight 1 (how real models resize: N and C kept).
bool only_last_two_axes_move(const std::vector<AxisTaps>& taps) {
    if (taps.size() < 2) return false;
    for (std::size_t d = 0; d + 2 < taps.size(); ++d)
        for (std::size_t o = 0; o < taps[d].size(); ++o)
            if (taps[d][o].size() != 1 || taps[d][o][0].index != static_cast<std::int64_t>(o) ||
                taps[d][o][0].weight != 1.0)
                return false;
    return true;
}

// interpolate_any's arithmetic for the case above, plane by plane: the same
// corners in the same order (row taps outer, column taps inner), the weight
// as the same product (1 * ... * 1 * w_row * w_col, exact up to the last
// two factors), the same double sum, without its per-element index
// arithmetic. 5-10x faster on the decoders' bilinear upsampling.
template <class T>
void interpolate_planes(const KernelContext& ctx, const T* px, T* py, std::int64_t planes, const AxisTaps& rows,
                        const AxisTaps& cols, std::int64_t in_h, std::int64_t in_w, double extrapolation) {
    const auto out_h = static_cast<std::int64_t>(rows.size());
    const auto out_w = static_cast<std::int64_t>(cols.size());
    const std::int64_t work = planes * out_h * out_w;
    sim::parallel_for(planes, work < (std::int64_t{1} << 16) ? 1 : ctx.threads, [&](std::int64_t plane) {
        const T* xin = px + plane * in_h * in_w;
        T* yout = py + plane * out_h * out_w;
        for (std::int64_t oy = 0; oy < out_h; ++oy) {
            const std::vector<Tap>& ty = rows[static_cast<std::size_t>(oy)];
            T* yrow = yout + oy * out_w;
            if (ty[0].index < 0) {
                std::fill(yrow, yrow + out_w, static_cast<T>(extrapolation));
                continue;
            }
            for (std::int64_t ox = 0; ox < out_w; ++ox) {
                const std::vector<Tap>& tx = cols[static_cast<std::size_t>(ox)];
                if (tx[0].index < 0) {
                    yrow[ox] = static_cast<T>(extrapolation);
                    continue;
                }
                double acc = 0.0;
                for (const Tap& r : ty) {
                    const T* xrow = xin + r.index * in_w;
                    for (const Tap& c : tx) acc += (r.weight * c.weight) * static_cast<double>(xrow[c.index]);
                }
                yrow[ox] = static_cast<T>(acc);
            }
        }
    }, sim::Schedule::dynamic);
}

template <class T>
Tensor interpolate_any(const Tensor& x, const ResizeSpec& s, const std::vector<AxisTaps>& taps);

template <class T>
Tensor interpolate(const KernelContext& ctx, const Tensor& x, const ResizeSpec& s) {
    const auto taps = axis_taps(ctx, s, x.shape());
    const std::size_t r = x.shape().size();
    if (only_last_two_axes_move(taps)) {
        Tensor y(x.dtype(), s.out_shape);
        std::int64_t planes = 1;
        for (std::size_t d = 0; d + 2 < r; ++d) planes *= x.shape()[d];
        interpolate_planes<T>(ctx, x.data<T>(), y.data<T>(), planes, taps[r - 2], taps[r - 1], x.shape()[r - 2],
                              x.shape()[r - 1], s.extrapolation);
        return y;
    }
    return interpolate_any<T>(x, s, taps);
}

// The definition: for every output element, the sum over the corners of its
// interpolation cell (one tap list per axis) of the product of the axes'
// weights times the input there, in double.
template <class T>
Tensor interpolate_any(const Tensor& x, const ResizeSpec& s, const std::vector<AxisTaps>& taps) {
    const std::vector<std::int64_t> strides = row_major_strides(x.shape());
    const std::size_t rank = x.shape().size();
    Tensor y(x.dtype(), s.out_shape);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    std::vector<const std::vector<Tap>*> sel(rank);
    std::vector<std::size_t> pick(rank);
    for (std::int64_t o = 0; o < y.numel(); ++o) {
        std::int64_t rem = o;
        bool outside = false;
        for (std::size_t d = rank; d-- > 0;) {
            sel[d] = &taps[d][static_cast<std::size_t>(rem % s.out_shape[d])];
            rem /= s.out_shape[d];
            if ((*sel[d])[0].index < 0) outside = true;
        }
        if (outside) {
            py[o] = static_cast<T>(s.extrapolation);
            continue;
        }
        // Sum over every corner of the interpolation cell (one per untouched axis).
        double acc = 0.0;
        std::fill(pick.begin(), pick.end(), 0);
        for (;;) {
            double w = 1.0;
            std::int64_t offset = 0;
            for (std::size_t d = 0; d < rank; ++d) {
                const Tap& t = (*sel[d])[pick[d]];
                w *= t.weight;
                offset += t.index * strides[d];
            }
            acc += w * static_cast<double>(px[offset]);
            std::size_t d = rank;
            while (d-- > 0 && ++pick[d] == sel[d]->size()) pick[d] = 0;
            if (d == static_cast<std::size_t>(-1)) break;
        }
        py[o] = static_cast<T>(acc);
    }
    return y;
}

}  // namespace

std::vector<Tensor> resize(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    const ResizeSpec s = resize_spec(ctx, x);
    if (s.mode == "nearest")
        return one(dispatch_numeric(ctx, x.dtype(), [&](auto tag) { return interpolate<decltype(tag)>(ctx, x, s); }));
    return one(dispatch_float(ctx, x.dtype(), [&](auto tag) { return interpolate<decltype(tag)>(ctx, x, s); }));
}

}  // namespace bitnpu::calib::ops
