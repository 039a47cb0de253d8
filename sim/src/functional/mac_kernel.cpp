// Whole-layer execution of a MAC layer: im2col, then per output channel
// either an exact sum (float/double GEMM or XNOR/popcount) finished by the
// accumulator rule, or the ordered per-element loop. docs/functional.md
// explains why the exact paths give the same bits as the ordered loop.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

// GCC 12 reports a false -Wmaybe-uninitialized inside Eigen's AVX-512
// transpose intrinsics (a self-initialized __m512 in avx512fintrin.h).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#pragma GCC diagnostic pop
#include "bitnpu/errors.hpp"
#include "bitnpu/sim/datapath/product.hpp"
#include "bitnpu/sim/functional/mac_layer.hpp"
#include "parallel.hpp"

namespace bitnpu::sim {

namespace {

// Integers up to these magnitudes are exact in float / double, and so is every
// partial sum of a dot product whose sum of |products| stays below them.
constexpr std::int64_t kFloatExactLimit = std::int64_t{1} << 24;
constexpr std::int64_t kDoubleExactLimit = std::int64_t{1} << 53;

template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// The GEMM view of a layer: per (batch, group), out[oc, p] = W[oc, :] . col[:, p].
// Conv: col is im2col [K, pixels]; Gemm: col is the input itself, [rows, K].
struct GemmDims {
    std::int64_t batches = 1, groups = 1, channels_per_group = 0, c_out = 0, k = 0, pixels = 0, out_w = 1;
    bool gemm = false;
    std::int64_t k_stride() const { return gemm ? 1 : pixels; }
    std::int64_t p_stride() const { return gemm ? k : 1; }
};

GemmDims gemm_dims(const MacLayer& layer, const Shape& out_shape) {
    GemmDims d;
    d.k = reduction_length(layer);
    d.c_out = output_channels(layer);
    if (layer.kind == MacKind::gemm) {
        d.gemm = true;
        d.channels_per_group = d.c_out;
        d.pixels = d.c_out == 0 ? 0 : element_count(out_shape) / d.c_out;
        return d;
    }
    d.batches = out_shape[0];
    d.groups = layer.geometry.groups;
    d.channels_per_group = d.c_out / d.groups;
    d.pixels = out_shape[2] * out_shape[3];
    d.out_w = out_shape[3];
    return d;
}

// ceil(a / b) for b > 0 and any sign of a.
std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

// Conv: col[k * pixels + p] = x - offset for batch n, group g (padding reads
// z_x). Gemm: col[p * K + k] = x - offset.
template <class T>
void im2col_block(const MacLayer& layer, const QTensor& x, const GemmDims& d, std::int64_t n, std::int64_t g,
                  std::int64_t offset, T* col) {
    if (d.gemm) {
        for (std::size_t i = 0; i < x.values.size(); ++i) col[i] = static_cast<T>(x.values[i] - offset);
        return;
    }
    const ConvGeometry& geo = layer.geometry;
    const std::int64_t P = d.pixels, cg = layer.weight_shape[1], kh = layer.weight_shape[2], kw = layer.weight_shape[3];
    const std::int64_t h = x.shape[2], w = x.shape[3], out_h = P / d.out_w, out_w = d.out_w;
    const T pad = static_cast<T>(layer.input_zero_point - offset);
    std::int64_t k = 0;
    for (std::int64_t ci = 0; ci < cg; ++ci) {
        const std::int32_t* plane = x.values.data() + ((n * x.shape[1]) + g * cg + ci) * h * w;
        for (std::int64_t ky = 0; ky < kh; ++ky) {
            for (std::int64_t kx = 0; kx < kw; ++kx, ++k) {
                T* dst = col + k * P;
                for (std::int64_t oy = 0; oy < out_h; ++oy) {
                    const std::int64_t iy = oy * geo.stride_h - geo.pad_top + ky * geo.dilation_h;
                    T* row = dst + oy * out_w;
                    if (iy < 0 || iy >= h) {
                        std::fill(row, row + out_w, pad);
                        continue;
                    }
                    // Output columns whose input column lies inside the image:
                    // ox in [lo, hi) (ix = ox * stride - pad + kx * dilation).
                    const std::int64_t shift = geo.pad_left - kx * geo.dilation_w;
                    const std::int64_t lo = std::clamp<std::int64_t>(ceil_div(shift, geo.stride_w), 0, out_w);
                    const std::int64_t hi = std::clamp<std::int64_t>(ceil_div(w + shift, geo.stride_w), lo, out_w);
                    const std::int32_t* src = plane + iy * w;
                    std::fill(row, row + lo, pad);
                    if (geo.stride_w == 1) {
                        for (std::int64_t ox = lo; ox < hi; ++ox) row[ox] = static_cast<T>(src[ox - shift] - offset);
                    } else {
                        for (std::int64_t ox = lo; ox < hi; ++ox)
                            row[ox] = static_cast<T>(src[ox * geo.stride_w - shift] - offset);
                    }
                    std::fill(row + hi, row + out_w, pad);
                }
            }
        }
    }
}

bool is_binary_layer(const MacLayer& layer) {
    return layer.input_type == arch::ValueType::int1 && layer.weight_type == arch::ValueType::int1 &&
           layer.input_zero_point == 0 && layer.weight_zero_point == 0;
}

// Scratch reused across calls on one thread, so large GEMM results do not
// fault in fresh pages on every layer run.
struct Scratch {
    RowMatrix<float> part_f;
    RowMatrix<double> part_d;
    std::vector<std::int64_t> sums;
    std::vector<std::int32_t> row;
};
Scratch& scratch() {
    thread_local Scratch s;
    return s;
}

struct Context {
    const PreparedMacLayer& prep;
    const MacLayer& layer;
    const QTensor& x;
    const MacPlan& plan;
    const GemmDims& d;
};

// Exact sums for channels [oc0, oc1) of group g (first = the group's first
// channel) by GEMM in K chunks that keep every partial sum exactly representable.
template <class T>
void exact_sums_gemm(const Context& c, const std::vector<T>& weights, const T* col, std::int64_t first,
                     std::int64_t rows, RowMatrix<T>& part, std::vector<std::int64_t>& sums) {
    const std::int64_t K = c.d.k, P = c.d.pixels;
    Eigen::Map<const RowMatrix<T>> w(weights.data() + first * K, rows, K);
    const std::size_t n = static_cast<std::size_t>(rows * P);
    sums.resize(n);
    part.resize(rows, P);
    for (std::int64_t k0 = 0; k0 < K; k0 += c.plan.chunk) {
        const std::int64_t kc = std::min(c.plan.chunk, K - k0);
        if (c.d.gemm) {
            Eigen::Map<const RowMatrix<T>> x(col, P, K);
            part.noalias() = w.middleCols(k0, kc) * x.middleCols(k0, kc).transpose();
        } else {
            Eigen::Map<const RowMatrix<T>> x(col, K, P);
            part.noalias() = w.middleCols(k0, kc) * x.middleRows(k0, kc);
        }
        const T* src = part.data();
        if (k0 == 0)
            for (std::size_t i = 0; i < n; ++i) sums[i] = static_cast<std::int64_t>(src[i]);
        else
            for (std::size_t i = 0; i < n; ++i) sums[i] += static_cast<std::int64_t>(src[i]);
    }
}

// Exact int1 sums by XNOR/popcount. Padding (x = z_x = 0) is packed as -1 and
// corrected: the true product there is 0, the packed one -w_k. Whether a
// position is padding depends only on its kernel tap (kh, kw), so the
// correction is the sum of the channel's tap_weight_sums over padded taps.
void exact_sums_xnor(const Context& c, const std::int32_t* col, std::int64_t first, std::int64_t rows,
                     std::vector<std::int64_t>& sums) {
    const std::int64_t K = c.d.k, P = c.d.pixels;
    const std::int64_t taps = c.d.gemm ? 0 : c.layer.weight_shape[2] * c.layer.weight_shape[3];
    sums.resize(static_cast<std::size_t>(rows * P));
    std::vector<std::int8_t> values(static_cast<std::size_t>(K));
    std::vector<std::uint64_t> bits(static_cast<std::size_t>(c.prep.words));
    std::vector<std::int64_t> padded_taps;
    for (std::int64_t p = 0; p < P; ++p) {
        for (std::int64_t k = 0; k < K; ++k) {
            const std::int32_t v = col[k * c.d.k_stride() + p * c.d.p_stride()];
            values[static_cast<std::size_t>(k)] = static_cast<std::int8_t>(v == 0 ? -1 : v);
        }
        padded_taps.clear();
        for (std::int64_t t = 0; t < taps; ++t)   // k = t is tap t of input channel 0
            if (col[t * c.d.k_stride() + p * c.d.p_stride()] == 0) padded_taps.push_back(t);
        pack_binary(values.data(), static_cast<std::size_t>(K), bits.data());
        for (std::int64_t r = 0; r < rows; ++r) {
            const std::int64_t oc = first + r;
            std::int64_t dot = xnor_popcount_dot(c.prep.weight_bits.data() + oc * c.prep.words, bits.data(),
                                                 static_cast<std::size_t>(K));
            for (std::int64_t t : padded_taps) dot += c.prep.tap_weight_sums[static_cast<std::size_t>(oc * taps + t)];
            sums[static_cast<std::size_t>(r * P + p)] = dot;
        }
    }
}

// The finish loop of one exact channel, instantiated per requant kind and
// rounding mode: the registers' kind and mode become constants, so the
// datapath's inline requantize() compiles to straight-line code (its values
// are unchanged: they are assigned what they already hold).
template <arch::RequantKind Kind, arch::RoundingMode Mode>
void finish_exact(const MacLayer& layer, std::int64_t oc, const std::int64_t* sums, std::int64_t pixels,
                  std::int32_t* dst, std::int64_t stride) {
    RequantRegisters r = mac_registers(layer, oc);
    r.kind = Kind;
    r.rounding = Mode;
    for (std::int64_t p = 0; p < pixels; ++p)
        dst[p * stride] = static_cast<std::int32_t>(mac_finish_with(layer, r, mac_accumulate_exact(layer, oc, sums[p])));
}

using FinishFn = void (*)(const MacLayer&, std::int64_t, const std::int64_t*, std::int64_t, std::int32_t*, std::int64_t);

template <arch::RequantKind Kind>
FinishFn finish_for_mode(arch::RoundingMode mode) {
    switch (mode) {
        case arch::RoundingMode::floor: return &finish_exact<Kind, arch::RoundingMode::floor>;
        case arch::RoundingMode::trunc: return &finish_exact<Kind, arch::RoundingMode::trunc>;
        case arch::RoundingMode::half_up: return &finish_exact<Kind, arch::RoundingMode::half_up>;
        case arch::RoundingMode::half_away: return &finish_exact<Kind, arch::RoundingMode::half_away>;
        case arch::RoundingMode::half_even: return &finish_exact<Kind, arch::RoundingMode::half_even>;
    }
    return &finish_exact<Kind, arch::RoundingMode::floor>;
}

FinishFn finish_for(const RequantRegisters& r) {
    switch (r.kind) {
        case arch::RequantKind::shifter: return finish_for_mode<arch::RequantKind::shifter>(r.rounding);
        case arch::RequantKind::multiplier: return finish_for_mode<arch::RequantKind::multiplier>(r.rounding);
        case arch::RequantKind::gemmlowp: return finish_for_mode<arch::RequantKind::gemmlowp>(r.rounding);
        case arch::RequantKind::float32: return finish_for_mode<arch::RequantKind::float32>(r.rounding);
    }
    return nullptr;
}

struct ColBuffers {
    std::vector<float> f;
    std::vector<double> d;
    std::vector<std::int32_t> i;   // raw x values, for XNOR
};

// Output channels [oc0, oc1) (within group g) of batch n.
void run_block(const Context& c, const ColBuffers& col, std::int64_t n, std::int64_t g, std::int64_t oc0,
               std::int64_t oc1, QTensor& out) {
    const MacLayer& layer = c.layer;
    const std::int64_t K = c.d.k, P = c.d.pixels, col_offset = g * K * P;
    const std::int64_t first = g * c.d.channels_per_group + oc0, rows = oc1 - oc0;
    bool any_exact = false;
    for (std::int64_t r = 0; r < rows; ++r) any_exact = any_exact || c.plan.exact_ok[static_cast<std::size_t>(first + r)];

    Scratch& s = scratch();
    if (any_exact) {
        if (c.plan.engine == MacPath::exact_float)
            exact_sums_gemm(c, c.prep.weights_f, col.f.data() + col_offset, first, rows, s.part_f, s.sums);
        else if (c.plan.engine == MacPath::exact_double)
            exact_sums_gemm(c, c.prep.weights_d, col.d.data() + col_offset, first, rows, s.part_d, s.sums);
        else
            exact_sums_xnor(c, col.i.data() + col_offset, first, rows, s.sums);
    }
    std::vector<std::int64_t> ordered;   // channels that need the ordered loop
    for (std::int64_t r = 0; r < rows; ++r) {
        const std::int64_t oc = first + r;
        if (!c.plan.exact_ok[static_cast<std::size_t>(oc)]) {
            ordered.push_back(oc);
            continue;
        }
        // Conv output [n, oc, p]; Gemm output [p, oc].
        std::int32_t* dst = out.values.data() + (c.d.gemm ? oc : (n * c.d.c_out + oc) * P);
        finish_for(mac_registers(layer, oc))(layer, oc, s.sums.data() + r * P, P, dst, c.d.gemm ? c.d.c_out : 1);
    }
    if (ordered.empty()) return;
    // The ordered loop, pixel by pixel: one im2col row serves every channel.
    s.row.resize(static_cast<std::size_t>(K));
    for (std::int64_t p = 0; p < P; ++p) {
        if (c.d.gemm)
            im2col_row(layer, c.x, p, 0, 0, 0, s.row.data());
        else
            im2col_row(layer, c.x, n, g, p / c.d.out_w, p % c.d.out_w, s.row.data());
        for (std::int64_t oc : ordered) {
            const std::int64_t index = c.d.gemm ? p * c.d.c_out + oc : (n * c.d.c_out + oc) * P + p;
            out.values[static_cast<std::size_t>(index)] =
                static_cast<std::int32_t>(mac_output_element(layer, oc, s.row.data()));
        }
    }
}

}  // namespace

PreparedMacLayer prepare_mac_layer(const MacLayer& layer) {
    validate(layer);
    PreparedMacLayer prep;
    prep.layer = &layer;
    const std::int64_t c_out = output_channels(layer), K = reduction_length(layer);
    prep.weights_f.resize(layer.weights.size());
    prep.weights_d.resize(layer.weights.size());
    prep.abs_weight_sum.assign(static_cast<std::size_t>(c_out), 0);
    for (std::size_t i = 0; i < layer.weights.size(); ++i) {
        const std::int64_t w = layer.weights[i] - layer.weight_zero_point;
        prep.weights_f[i] = static_cast<float>(w);   // exact: |w| < 2^24 for every type
        prep.weights_d[i] = static_cast<double>(w);
        prep.abs_weight_sum[i / static_cast<std::size_t>(std::max<std::int64_t>(K, 1))] += static_cast<std::uint64_t>(std::llabs(w));
        prep.max_abs_weight = std::max<std::int64_t>(prep.max_abs_weight, std::llabs(w));
    }
    if (is_binary_layer(layer)) {
        prep.words = (K + 63) / 64;
        prep.weight_bits.assign(static_cast<std::size_t>(c_out * prep.words), 0);
        std::vector<std::int8_t> row(static_cast<std::size_t>(K));
        for (std::int64_t oc = 0; oc < c_out; ++oc) {
            for (std::int64_t k = 0; k < K; ++k) {
                const std::int32_t w = layer.weights[static_cast<std::size_t>(oc * K + k)];
                if (w != 1 && w != -1) throw UserError("int1 layer has a weight other than -1/+1");
                row[static_cast<std::size_t>(k)] = static_cast<std::int8_t>(w);
            }
            pack_binary(row.data(), static_cast<std::size_t>(K), prep.weight_bits.data() + oc * prep.words);
        }
        if (layer.kind == MacKind::conv) {
            const std::int64_t taps = layer.weight_shape[2] * layer.weight_shape[3];
            prep.tap_weight_sums.assign(static_cast<std::size_t>(c_out * taps), 0);
            for (std::size_t i = 0; i < layer.weights.size(); ++i) {
                const auto k = static_cast<std::int64_t>(i) % K;
                prep.tap_weight_sums[static_cast<std::size_t>((static_cast<std::int64_t>(i) / K) * taps + k % taps)] +=
                    layer.weights[i];
            }
        }
    }
    return prep;
}

MacPlan plan_mac(const PreparedMacLayer& prep, const QTensor& x, MacPath requested) {
    const MacLayer& layer = *prep.layer;
    MacPlan plan;
    plan.max_abs_weight = prep.max_abs_weight;
    for (std::int32_t v : x.values)
        plan.max_abs_input = std::max<std::int64_t>(plan.max_abs_input, std::llabs(v - layer.input_zero_point));
    const std::int64_t c_out = output_channels(layer), K = reduction_length(layer);
    const bool wrap = layer.accumulator.overflow == arch::Overflow::wrap;
    plan.exact_ok.assign(static_cast<std::size_t>(c_out), false);
    if (requested == MacPath::ordered) return plan;

    // NUMERICS.md step 4: an exact sum is the ordered result when no partial
    // sum in any order can leave the range (sum |p_k| + |b_q| fits), or always
    // for wrap (modular arithmetic does not care about order).
    for (std::int64_t oc = 0; oc < c_out; ++oc) {
        const std::uint64_t b =
            layer.bias.empty() ? 0 : static_cast<std::uint64_t>(std::llabs(layer.bias[static_cast<std::size_t>(oc)]));
        const std::uint64_t bound =
            prep.abs_weight_sum[static_cast<std::size_t>(oc)] * static_cast<std::uint64_t>(plan.max_abs_input) + b;
        plan.exact_ok[static_cast<std::size_t>(oc)] = wrap || exact_sum_is_safe(bound, layer.accumulator);
    }

    const std::int64_t max_product = plan.max_abs_weight * plan.max_abs_input;
    const bool binary = is_binary_layer(layer);
    if (requested == MacPath::xnor_popcount && !binary)
        throw UserError("the XNOR/popcount path needs int1 weights and activations with zero-points 0");
    if (requested == MacPath::exact_float && max_product > kFloatExactLimit)
        throw UserError("one product can reach " + std::to_string(max_product) +
                        ", more than float represents exactly; use the double path");
    if (requested == MacPath::automatic)
        requested = max_product <= kFloatExactLimit ? MacPath::exact_float : MacPath::exact_double;
    plan.engine = requested;
    const std::int64_t limit = requested == MacPath::exact_float ? kFloatExactLimit : kDoubleExactLimit;
    const std::int64_t k_max = std::max<std::int64_t>(K, 1);
    plan.chunk = max_product == 0 ? k_max : std::clamp<std::int64_t>(limit / max_product, 1, k_max);
    return plan;
}

MacPlan plan_mac(const MacLayer& layer, const QTensor& x, MacPath requested) {
    const PreparedMacLayer prep = prepare_mac_layer(layer);
    return plan_mac(prep, x, requested);
}

QTensor run_mac_layer(const PreparedMacLayer& prep, const QTensor& x, const MacOptions& options) {
    const MacLayer& layer = *prep.layer;
    const Shape out_shape = mac_output_shape(layer, x.shape);
    if (element_count(x.shape) != x.size()) throw UserError("MAC layer input values do not match its shape");
    const MacPlan plan = plan_mac(prep, x, options.path);
    QTensor out(out_shape, per_tensor(layer.output_type, 1.0f, layer.output_zero_point));
    const GemmDims d = gemm_dims(layer, out_shape);
    if (d.pixels == 0 || d.channels_per_group == 0) return out;
    const Context c{prep, layer, x, plan, d};

    const bool any_exact = std::find(plan.exact_ok.begin(), plan.exact_ok.end(), true) != plan.exact_ok.end();
    const bool use_f = any_exact && plan.engine == MacPath::exact_float;
    const bool use_d = any_exact && plan.engine == MacPath::exact_double;
    const bool use_xnor = any_exact && plan.engine == MacPath::xnor_popcount;
    if (use_xnor)
        for (std::int32_t v : x.values)
            if (v != 1 && v != -1) throw UserError("int1 layer input has a value other than -1/+1");

    // The caller thread's buffers, reused across runs (workers only read them).
    const std::size_t col_size = static_cast<std::size_t>(d.groups * d.k * d.pixels);
    thread_local ColBuffers caller_buffers;
    ColBuffers& col = caller_buffers;   // a plain reference: workers must see the caller's buffers
    // Grown only (never shrunk) so a reused buffer is not zero-filled again;
    // im2col writes every element the run reads.
    if (use_f && col.f.size() < col_size) col.f.resize(col_size);
    if (use_d && col.d.size() < col_size) col.d.resize(col_size);
    const bool use_i = use_xnor;
    if (use_i && col.i.size() < col_size) col.i.resize(col_size);
    const std::int64_t blocks = std::max<std::int64_t>(1, std::min<std::int64_t>(options.threads, d.channels_per_group));
    const std::int64_t group_size = d.k * d.pixels;
    for (std::int64_t n = 0; n < d.batches; ++n) {
        detail::parallel_for(d.groups, options.threads, [&](std::int64_t g) {
            if (use_f) im2col_block(layer, x, d, n, g, layer.input_zero_point, col.f.data() + g * group_size);
            if (use_d) im2col_block(layer, x, d, n, g, layer.input_zero_point, col.d.data() + g * group_size);
            if (use_i) im2col_block(layer, x, d, n, g, 0, col.i.data() + g * group_size);
        });
        detail::parallel_for(d.groups * blocks, options.threads, [&](std::int64_t i) {
            const std::int64_t g = i / blocks, b = i % blocks;
            run_block(c, col, n, g, d.channels_per_group * b / blocks, d.channels_per_group * (b + 1) / blocks, out);
        });
    }
    return out;
}

QTensor run_mac_layer(const MacLayer& layer, const QTensor& x, const MacOptions& options) {
    const PreparedMacLayer prep = prepare_mac_layer(layer);
    return run_mac_layer(prep, x, options);
}

}  // namespace bitnpu::sim
