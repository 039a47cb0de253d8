// Input patch second moments (input_moments.hpp).
#include "input_moments.hpp"

#include <algorithm>

// GCC 12 reports a false -Wmaybe-uninitialized inside Eigen's AVX-512 code,
// where the templates are instantiated: off for this whole file.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>

#include "bitnpu/fp32/im2col.hpp"
#include "bitnpu/sim/parallel.hpp"

namespace bitnpu::calib {
namespace {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

ops::WindowGeometry window_of(const sim::MacLayer& layer, const Shape& x_shape, const Shape& y_shape) {
    const sim::ConvGeometry& c = layer.geometry;
    ops::WindowGeometry g;
    g.input = {x_shape[2], x_shape[3]};
    g.kernel = {layer.weight_shape[2], layer.weight_shape[3]};
    g.stride = {c.stride_h, c.stride_w};
    g.dilation = {c.dilation_h, c.dilation_w};
    g.pad_begin = {c.pad_top, c.pad_left};
    g.pad_end = {c.pad_bottom, c.pad_right};
    g.output = {y_shape[2], y_shape[3]};
    return g;
}

// Images enter H in this many fixed chunks, each summed on its own (in image
// order) and the chunks added in order: the bits do not depend on threads.
constexpr std::int64_t kMomentChunks = 8;

// Adds the patches of images [n0, n1) of group g into h.
void add_image_moments(const Tensor& x, const ops::WindowGeometry& geo, std::int64_t g, std::int64_t cg,
                       std::int64_t n0, std::int64_t n1, Eigen::Map<RowMatrix> h) {
    const Shape& xs = x.shape();
    const std::int64_t k = h.rows(), positions = num_elements(geo.output), plane = xs[2] * xs[3];
    thread_local std::vector<float> col;
    col.resize(static_cast<std::size_t>(k * positions));
    for (std::int64_t n = n0; n < n1; ++n) {
        ops::im2col(x.data<float>() + (n * xs[1] + g * cg) * plane, cg, geo, 0, positions, col.data());
        const RowMatrix c =
            Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(col.data(), k,
                                                                                                  positions)
                .cast<double>();
        h.noalias() += c * c.transpose();
    }
}

void conv_moments(const sim::MacLayer& layer, const Tensor& x, InputMoments& m, int threads) {
    const Shape& xs = x.shape();
    const Shape ys = sim::mac_output_shape(layer, xs);
    const ops::WindowGeometry geo = window_of(layer, xs, ys);
    const std::int64_t positions = ys[2] * ys[3], cg = layer.weight_shape[1];
    const std::int64_t images = std::min<std::int64_t>(xs[0], std::max<std::int64_t>(1, kMomentPositions / positions));
    const double count = static_cast<double>(images * positions);
    auto group_h = [&](std::int64_t g) { return Eigen::Map<RowMatrix>(m.h.data() + g * m.k * m.k, m.k, m.k); };
    if (m.groups > 1) {
        // Grouped (depthwise): one task per group, each summed image by image.
        sim::parallel_for(m.groups, threads, [&](std::int64_t g) {
            add_image_moments(x, geo, g, cg, 0, images, group_h(g));
            group_h(g) /= count;
        });
        return;
    }
    const std::int64_t chunks = std::min(images, kMomentChunks);
    std::vector<double> partial(static_cast<std::size_t>(chunks * m.k * m.k), 0.0);
    sim::parallel_for(chunks, threads, [&](std::int64_t c) {
        add_image_moments(x, geo, 0, cg, images * c / chunks, images * (c + 1) / chunks,
                          Eigen::Map<RowMatrix>(partial.data() + c * m.k * m.k, m.k, m.k));
    });
    Eigen::Map<RowMatrix> h = group_h(0);
    for (std::int64_t c = 0; c < chunks; ++c) h += Eigen::Map<RowMatrix>(partial.data() + c * m.k * m.k, m.k, m.k);
    h /= count;
}

void gemm_moments(const Tensor& x, InputMoments& m) {
    const std::int64_t rows = std::min<std::int64_t>(x.numel() / m.k, kMomentPositions);
    const RowMatrix c =
        Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(x.data<float>(), rows, m.k)
            .cast<double>();
    Eigen::Map<RowMatrix> h(m.h.data(), m.k, m.k);
    h.noalias() = c.transpose() * c;
    h /= static_cast<double>(std::max<std::int64_t>(rows, 1));
}

// The patches of images [n0, n1) of group g of x and x_hat into h_qq += c^ c^^T
// and h_fq += c c^^T.
void add_cross_moments(const Tensor& x, const float* x_hat, const ops::WindowGeometry& geo, std::int64_t g,
                       std::int64_t cg, std::int64_t n0, std::int64_t n1, Eigen::Map<RowMatrix> h_qq,
                       Eigen::Map<RowMatrix> h_fq) {
    const Shape& xs = x.shape();
    const std::int64_t k = h_qq.rows(), positions = num_elements(geo.output), plane = xs[2] * xs[3];
    using FloatMap = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
    std::vector<float> col(static_cast<std::size_t>(k * positions)), col_hat(col.size());
    for (std::int64_t n = n0; n < n1; ++n) {
        const std::int64_t offset = (n * xs[1] + g * cg) * plane;
        ops::im2col(x.data<float>() + offset, cg, geo, 0, positions, col.data());
        ops::im2col(x_hat + offset, cg, geo, 0, positions, col_hat.data());
        const RowMatrix c = FloatMap(col.data(), k, positions).cast<double>();
        const RowMatrix c_hat = FloatMap(col_hat.data(), k, positions).cast<double>();
        h_qq.noalias() += c_hat * c_hat.transpose();
        h_fq.noalias() += c * c_hat.transpose();
    }
}

void conv_cross_moments(const sim::MacLayer& layer, const Tensor& x, const float* x_hat, CrossMoments& m,
                        int threads) {
    const Shape& xs = x.shape();
    const Shape ys = sim::mac_output_shape(layer, xs);
    const ops::WindowGeometry geo = window_of(layer, xs, ys);
    const std::int64_t positions = ys[2] * ys[3], cg = layer.weight_shape[1], kk = m.k * m.k;
    const std::int64_t images = std::min<std::int64_t>(xs[0], std::max<std::int64_t>(1, kAdaRoundPositions / positions));
    const double count = static_cast<double>(images * positions);
    auto map = [&](std::vector<double>& h, std::int64_t at) { return Eigen::Map<RowMatrix>(h.data() + at, m.k, m.k); };
    if (m.groups > 1) {
        sim::parallel_for(m.groups, threads, [&](std::int64_t g) {
            add_cross_moments(x, x_hat, geo, g, cg, 0, images, map(m.h_qq, g * kk), map(m.h_fq, g * kk));
            map(m.h_qq, g * kk) /= count;
            map(m.h_fq, g * kk) /= count;
        });
        return;
    }
    // As conv_moments: fixed chunks of images, added in order.
    const std::int64_t chunks = std::min(images, kMomentChunks);
    std::vector<double> qq(static_cast<std::size_t>(chunks * kk), 0.0), fq(qq.size(), 0.0);
    sim::parallel_for(chunks, threads, [&](std::int64_t c) {
        add_cross_moments(x, x_hat, geo, 0, cg, images * c / chunks, images * (c + 1) / chunks, map(qq, c * kk),
                          map(fq, c * kk));
    });
    for (std::int64_t c = 0; c < chunks; ++c) {
        map(m.h_qq, 0) += map(qq, c * kk);
        map(m.h_fq, 0) += map(fq, c * kk);
    }
    map(m.h_qq, 0) /= count;
    map(m.h_fq, 0) /= count;
}

// The patches cross_moments averages over.
std::int64_t patch_count(const sim::MacLayer& layer, const Shape& xs) {
    const std::int64_t k = sim::reduction_length(layer);
    if (layer.kind != sim::MacKind::conv) return std::min<std::int64_t>(num_elements(xs) / k, kAdaRoundPositions);
    const Shape ys = sim::mac_output_shape(layer, xs);
    const std::int64_t positions = std::max<std::int64_t>(1, ys[2] * ys[3]);
    return std::min<std::int64_t>(xs[0], std::max<std::int64_t>(1, kAdaRoundPositions / positions)) * positions;
}

void gemm_cross_moments(const Tensor& x, const float* x_hat, CrossMoments& m) {
    const std::int64_t rows = std::min<std::int64_t>(x.numel() / m.k, kAdaRoundPositions);
    using FloatMap = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
    const RowMatrix c = FloatMap(x.data<float>(), rows, m.k).cast<double>();
    const RowMatrix c_hat = FloatMap(x_hat, rows, m.k).cast<double>();
    const double count = static_cast<double>(std::max<std::int64_t>(rows, 1));
    Eigen::Map<RowMatrix>(m.h_qq.data(), m.k, m.k).noalias() = c_hat.transpose() * c_hat / count;
    Eigen::Map<RowMatrix>(m.h_fq.data(), m.k, m.k).noalias() = c.transpose() * c_hat / count;
}

}  // namespace

CrossMoments cross_moments(const sim::MacLayer& layer, const Tensor& x, const float* x_hat, int threads) {
    CrossMoments m;
    const std::int64_t k = sim::reduction_length(layer);
    if (k > kMaxAdaRoundK || k == 0 || x.numel() == 0 || patch_count(layer, x.shape()) < k) return m;
    m.k = k;
    m.groups = layer.kind == sim::MacKind::conv ? layer.geometry.groups : 1;
    m.h_qq.assign(static_cast<std::size_t>(m.groups * k * k), 0.0);
    m.h_fq.assign(m.h_qq.size(), 0.0);
    if (layer.kind == sim::MacKind::conv) conv_cross_moments(layer, x, x_hat, m, threads);
    else gemm_cross_moments(x, x_hat, m);
    return m;
}

InputMoments input_moments(const sim::MacLayer& layer, const Tensor& x, int threads) {
    InputMoments m;
    const std::int64_t k = sim::reduction_length(layer);
    if (k > kMaxMomentK || k == 0 || x.numel() == 0) return m;
    m.k = k;
    m.groups = layer.kind == sim::MacKind::conv ? layer.geometry.groups : 1;
    m.h.assign(static_cast<std::size_t>(m.groups * k * k), 0.0);
    if (layer.kind == sim::MacKind::conv) conv_moments(layer, x, m, threads);
    else gemm_moments(x, m);
    return m;
}

}  // namespace bitnpu::calib

#pragma GCC diagnostic pop
