// The fast MAC kernel's shared internals (private to sim/src/functional):
// the GEMM view of a layer, its im2col columns, the exact GEMM sums in
// chunks, the per-pixel patch sums, the per-channel plan. The kernel
// (mac_kernel.cpp: finished outputs and accumulators) and the overflow
// counter (mac_overflow_count.cpp) both build on them, so the two read a
// layer the same way.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

// GCC 12 reports a false -Wmaybe-uninitialized inside Eigen's AVX-512
// transpose intrinsics (a self-initialized __m512 in avx512fintrin.h).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#pragma GCC diagnostic pop
#include "bitnpu/sim/functional/mac_fast.hpp"
#include "bitnpu/sim/functional/mac_layer.hpp"

namespace bitnpu::sim::detail {

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

inline GemmDims gemm_dims(const MacLayer& layer, const Shape& out_shape) {
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
    if (kh == 1 && kw == 1 && geo.stride_h == 1 && geo.stride_w == 1 && geo.pad_top == 0 && geo.pad_left == 0 &&
        geo.pad_bottom == 0 && geo.pad_right == 0) {
        // 1x1, stride 1, no padding: the group's input planes are the col
        // matrix already, [cg, h * w]; only the offset and the type change.
        const std::int32_t* src = x.values.data() + (n * x.shape[1] + g * cg) * h * w;
        for (std::int64_t i = 0; i < cg * P; ++i) col[i] = static_cast<T>(src[i] - offset);
        return;
    }
    // Each input plane goes once (converted, offset applied) into a plane
    // bordered with the padding value and large enough for every window, so
    // the column rows are plain copies: on small planes (7 x 7) the per-row
    // bounds otherwise cost more than the copy.
    const T pad = static_cast<T>(layer.input_zero_point - offset);
    const std::int64_t padded_h = std::max(h + geo.pad_top, (out_h - 1) * geo.stride_h + (kh - 1) * geo.dilation_h + 1);
    const std::int64_t padded_w = std::max(w + geo.pad_left, (out_w - 1) * geo.stride_w + (kw - 1) * geo.dilation_w + 1);
    thread_local std::vector<T> padded;
    padded.assign(static_cast<std::size_t>(padded_h * padded_w), pad);
    std::int64_t k = 0;
    for (std::int64_t ci = 0; ci < cg; ++ci) {
        const std::int32_t* plane = x.values.data() + ((n * x.shape[1]) + g * cg + ci) * h * w;
        for (std::int64_t r = 0; r < h; ++r) {
            T* dst = padded.data() + (r + geo.pad_top) * padded_w + geo.pad_left;
            for (std::int64_t c = 0; c < w; ++c) dst[c] = static_cast<T>(plane[r * w + c] - offset);
        }
        for (std::int64_t ky = 0; ky < kh; ++ky) {
            for (std::int64_t kx = 0; kx < kw; ++kx, ++k) {
                const T* tap = padded.data() + ky * geo.dilation_h * padded_w + kx * geo.dilation_w;
                T* dst = col + k * P;
                for (std::int64_t oy = 0; oy < out_h; ++oy) {
                    const T* src = tap + oy * geo.stride_h * padded_w;
                    T* row = dst + oy * out_w;
                    if (geo.stride_w == 1) {
                        std::memcpy(row, src, static_cast<std::size_t>(out_w) * sizeof(T));
                    } else {
                        for (std::int64_t ox = 0; ox < out_w; ++ox) row[ox] = src[ox * geo.stride_w];
                    }
                }
            }
        }
    }
}

// dst[i] = |src[i]| (exact in float and double).
template <class T>
void absolute_values(const T* src, std::int64_t n, T* dst) {
    for (std::int64_t i = 0; i < n; ++i) dst[i] = std::abs(src[i]);
}

// Scratch reused across calls on one thread, so large GEMM results do not
// fault in fresh pages on every layer run.
struct Scratch {
    RowMatrix<float> part_f, abs_part_f;
    RowMatrix<double> part_d, abs_part_d;
    std::vector<std::int64_t> sums, abs_sums;
    std::vector<std::int32_t> row;
    std::vector<std::uint8_t> risky;        // [rows, P]: element must take the ordered loop
    std::vector<std::uint8_t> pixel_risky;  // [P]: some element of this pixel must
};
inline Scratch& scratch() {
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

// Sums of one block, [rows, P]: the single chunk's GEMM result as it is
// (T), or the int64 total of several chunks. Exactly one pointer is set.
template <class T>
struct BlockSums {
    const T* one_chunk = nullptr;
    const std::int64_t* total = nullptr;
};

// For channels [first, first + rows) of one group: sum_k A[oc, k] * col[k, p]
// by GEMM in K chunks that keep every partial sum exactly representable in T
// (A = w - z_w, or |w - z_w| with col = |x - z_x| for the element bounds: a
// sum of non-negative terms, every partial sum at most the chunk total).
template <class T, bool Abs>
BlockSums<T> gemm_sums(const Context& c, const std::vector<T>& weights, const T* col, std::int64_t first,
                       std::int64_t rows, RowMatrix<T>& part, std::vector<std::int64_t>& sums) {
    const std::int64_t K = c.d.k, P = c.d.pixels;
    Eigen::Map<const RowMatrix<T>> w(weights.data() + first * K, rows, K);
    const std::size_t n = static_cast<std::size_t>(rows * P);
    part.resize(rows, P);
    for (std::int64_t k0 = 0; k0 < K; k0 += c.plan.chunk) {
        const std::int64_t kc = std::min(c.plan.chunk, K - k0);
        const auto wc = w.middleCols(k0, kc);
        if (c.d.gemm) {
            Eigen::Map<const RowMatrix<T>> x(col, P, K);
            if constexpr (Abs) part.noalias() = wc.cwiseAbs() * x.middleCols(k0, kc).transpose();
            else part.noalias() = wc * x.middleCols(k0, kc).transpose();
        } else {
            Eigen::Map<const RowMatrix<T>> x(col, K, P);
            if constexpr (Abs) part.noalias() = wc.cwiseAbs() * x.middleRows(k0, kc);
            else part.noalias() = wc * x.middleRows(k0, kc);
        }
        if (kc == K) return {part.data(), nullptr};   // one chunk: no int64 pass
        const T* src = part.data();
        sums.resize(n);
        if (k0 == 0)
            for (std::size_t i = 0; i < n; ++i) sums[i] = static_cast<std::int64_t>(src[i]);
        else
            for (std::size_t i = 0; i < n; ++i) sums[i] += static_cast<std::int64_t>(src[i]);
    }
    return {nullptr, sums.data()};
}

// Per output pixel of one group's columns (x - z_x, padding 0):
// S1 = sum_k |v| and S2 = sum_k v^2, exact (integers; the double sums stay
// far below 2^53).
template <class T>
void patch_sums(const T* col, const GemmDims& d, std::int64_t* s1, std::int64_t* s2) {
    const std::int64_t K = d.k, P = d.pixels;
    thread_local std::vector<double> a, q;
    a.assign(static_cast<std::size_t>(P), 0.0);
    q.assign(static_cast<std::size_t>(P), 0.0);
    if (d.gemm) {   // [P, K]
        for (std::int64_t p = 0; p < P; ++p)
            for (std::int64_t k = 0; k < K; ++k) {
                const double v = col[p * K + k];
                a[static_cast<std::size_t>(p)] += std::abs(v);
                q[static_cast<std::size_t>(p)] += v * v;
            }
    } else {        // [K, P]
        for (std::int64_t k = 0; k < K; ++k) {
            const T* row = col + k * P;
            for (std::int64_t p = 0; p < P; ++p) {
                const double v = row[p];
                a[static_cast<std::size_t>(p)] += std::abs(v);
                q[static_cast<std::size_t>(p)] += v * v;
            }
        }
    }
    for (std::int64_t p = 0; p < P; ++p) {
        s1[p] = static_cast<std::int64_t>(a[static_cast<std::size_t>(p)]);
        s2[p] = static_cast<std::int64_t>(q[static_cast<std::size_t>(p)]);
    }
}

// Whether the element with patch sums (s1, s2) is cleared by its channel's
// limits (MacPlan::abs_limit).
inline bool patch_clears(std::int64_t s1, std::int64_t s2, std::int64_t abs_limit, std::int64_t sq_limit) {
    return s1 <= abs_limit || s2 <= sq_limit;
}

// The GEMM bound pays for a group when the patch sums leave more than
// 1 in kGemmBoundShare of its element-bound elements uncleared (each costs
// an ordered loop, tens of times a GEMM term).
bool group_needs_gemm_bound(const MacPlan& plan, const GemmDims& d, std::int64_t g, const std::int64_t* s1,
                            const std::int64_t* s2);

// plan_mac, with the channel bound's rule for wrap as a parameter: the
// kernel takes an exact sum for a wrapping channel whatever its bound
// (wrap_is_exact: modular arithmetic does not care about order);
// count_overflows needs the bound itself (the overflow is what it counts).
MacPlan plan_channels(const PreparedMacLayer& prep, const QTensor& x, MacPath requested, bool wrap_is_exact);

}  // namespace bitnpu::sim::detail
