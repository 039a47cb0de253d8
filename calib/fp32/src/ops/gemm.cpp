// Gemm and MatMul on Eigen row-major views. Large problems are cut into
// fixed blocks of rows (independent of the thread count) run in parallel.
#include <algorithm>

#include "activation.hpp"
#include "broadcast.hpp"
#include "dispatch.hpp"
#include "gemm_util.hpp"
#include "kernels.hpp"
#include "bitnpu/sim/parallel.hpp"

namespace bitnpu::calib::ops {

namespace {

template <class T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using ConstView = Eigen::Map<const Matrix<T>, 0, Eigen::OuterStride<>>;
template <class T>
using View = Eigen::Map<Matrix<T>, 0, Eigen::OuterStride<>>;

constexpr std::int64_t kRowBlock = 64;

// Y[m0:m1, :] = A[m0:m1, :] * B for row-major A [M, K] (or A^T stored [K, M]) and B.
template <class T>
void matmul_rows(const T* a, bool trans_a, const T* b, bool trans_b, T* y, std::int64_t m, std::int64_t k,
                 std::int64_t n, std::int64_t m0, std::int64_t m1) {
    const std::int64_t rows = m1 - m0;
    View<T> out(y + m0 * n, rows, n, Eigen::OuterStride<>(n));
    // A stored [M, K]: rows m0..m1. A stored [K, M] (transA): columns m0..m1, transposed.
    auto run = [&](const auto& lhs) {
        if (trans_b)
            out.noalias() = lhs * ConstView<T>(b, n, k, Eigen::OuterStride<>(k)).transpose();
        else
            out.noalias() = lhs * ConstView<T>(b, k, n, Eigen::OuterStride<>(n));
    };
    if (trans_a)
        run(ConstView<T>(a + m0, k, rows, Eigen::OuterStride<>(m)).transpose());
    else
        run(ConstView<T>(a + m0 * k, rows, k, Eigen::OuterStride<>(k)));
}

template <class T>
void matmul_parallel(const T* a, bool trans_a, const T* b, bool trans_b, T* y, std::int64_t m, std::int64_t k,
                     std::int64_t n, int threads) {
    const std::int64_t blocks = (m + kRowBlock - 1) / kRowBlock;
    sim::parallel_for(blocks, m * k * n < kParallelMinMacs ? 1 : threads, [&](std::int64_t b_i) {
        matmul_rows(a, trans_a, b, trans_b, y, m, k, n, b_i * kRowBlock, std::min(m, (b_i + 1) * kRowBlock));
    }, sim::Schedule::dynamic);
}

}  // namespace

std::vector<Tensor> gemm(const KernelContext& ctx) {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    const Tensor* c = ctx.optional_input(2);
    if (a.rank() != 2 || b.rank() != 2)
        ctx.fail("A and B must be matrices, got " + shape_to_string(a.shape()) + " and " + shape_to_string(b.shape()));
    if (a.dtype() != b.dtype() || (c && c->dtype() != a.dtype())) ctx.fail("A, B and C must have the same type");
    const bool trans_a = ctx.node.attr_int("transA", 0) != 0, trans_b = ctx.node.attr_int("transB", 0) != 0;
    const std::int64_t m = trans_a ? a.dim(1) : a.dim(0), k = trans_a ? a.dim(0) : a.dim(1);
    const std::int64_t n = trans_b ? b.dim(0) : b.dim(1), kb = trans_b ? b.dim(1) : b.dim(0);
    if (k != kb)
        ctx.fail("inner dimensions differ: A " + shape_to_string(a.shape()) + (trans_a ? " (transposed)" : "") +
                 " x B " + shape_to_string(b.shape()) + (trans_b ? " (transposed)" : ""));
    const double alpha = ctx.node.attr_float("alpha", 1.0f), beta = ctx.node.attr_float("beta", 1.0f);
    Tensor y = dispatch_float(ctx, a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        Tensor out(a.dtype(), {m, n});
        T* py = out.data<T>();
        matmul_parallel(a.data<T>(), trans_a, b.data<T>(), trans_b, py, m, k, n, ctx.threads);
        if (alpha != 1.0)
            for (std::int64_t i = 0; i < m * n; ++i) py[i] *= static_cast<T>(alpha);
        if (c) {
            // C broadcasts unidirectionally to [M, N].
            if (broadcast_shapes(ctx, {c->shape(), out.shape()}) != out.shape())
                ctx.fail("C shape " + shape_to_string(c->shape()) + " does not broadcast to [" + std::to_string(m) +
                         ", " + std::to_string(n) + "]");
            const T* pc = c->data<T>();
            const Shape out_shape = out.shape();
            for_each_broadcast<1>(out_shape, {&c->shape()}, [&](std::int64_t o, const std::array<std::int64_t, 1>& off) {
                py[o] += static_cast<T>(beta) * pc[off[0]];
            });
        }
        return out;
    });
    apply_fused_activation(ctx, y);
    return one(std::move(y));
}

std::vector<Tensor> matmul(const KernelContext& ctx) {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    if (a.dtype() != b.dtype()) ctx.fail("A and B have different types");
    if (a.rank() == 0 || b.rank() == 0) ctx.fail("MatMul inputs must have rank >= 1");
    // numpy.matmul: a 1-D A gets a leading 1, a 1-D B a trailing 1; both are dropped again from Y.
    Shape sa = a.shape(), sb = b.shape();
    if (sa.size() == 1) sa.insert(sa.begin(), 1);
    if (sb.size() == 1) sb.push_back(1);
    const std::int64_t m = sa[sa.size() - 2], k = sa.back(), n = sb.back();
    if (sb[sb.size() - 2] != k)
        ctx.fail("inner dimensions differ: A " + shape_to_string(a.shape()) + " x B " + shape_to_string(b.shape()));
    const Shape batch_a(sa.begin(), sa.end() - 2), batch_b(sb.begin(), sb.end() - 2);
    const Shape batch = broadcast_shapes(ctx, {batch_a, batch_b});
    Shape out_shape = batch;
    if (a.rank() > 1) out_shape.push_back(m);
    if (b.rank() > 1) out_shape.push_back(n);
    Tensor y = dispatch_float(ctx, a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        Tensor out(a.dtype(), out_shape);
        const T* pa = a.data<T>();
        const T* pb = b.data<T>();
        T* py = out.data<T>();
        std::vector<std::array<std::int64_t, 2>> pairs;  // (A matrix, B matrix) for each output matrix
        for_each_broadcast<2>(batch, {&batch_a, &batch_b}, [&](std::int64_t, const std::array<std::int64_t, 2>& off) {
            pairs.push_back(off);
        });
        if (batch.empty()) pairs.assign(1, {0, 0});
        const std::int64_t count = static_cast<std::int64_t>(pairs.size());
        if (count == 1) {
            matmul_parallel(pa, false, pb, false, py, m, k, n, ctx.threads);
        } else {
            sim::parallel_for(count, count * m * k * n < kParallelMinMacs ? 1 : ctx.threads, [&](std::int64_t i) {
                matmul_rows(pa + pairs[i][0] * m * k, false, pb + pairs[i][1] * k * n, false, py + i * m * n, m, k, n,
                            0, m);
            }, sim::Schedule::dynamic);
        }
        return out;
    });
    apply_fused_activation(ctx, y);
    return one(std::move(y));
}

}  // namespace bitnpu::calib::ops
