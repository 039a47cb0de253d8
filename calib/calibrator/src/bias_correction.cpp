// Empirical bias correction (bias_correction.hpp).
#include "bias_correction.hpp"

#include <algorithm>
#include <stdexcept>
#include <type_traits>

#include "bitnpu/sim/parallel.hpp"

namespace bitnpu::calib {
namespace {

// ceil(a / b) for b > 0 and any sign of a.
std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

// Channels whose tap sums run side by side (independent chains of adds;
// each channel's own sum keeps its order, so its bits do not depend on it).
constexpr std::int64_t kTapLanes = 8;

// For channels c0 .. c0 + count - 1 (count <= kTapLanes): the sum over the
// batch and the output positions of the input value kernel tap (ky, kx)
// reads (padded positions read 0), each in (n, oy, ox) order.
void tap_sums(const sim::MacLayer& layer, const Shape& x_shape, const Shape& y_shape, const float* x, std::int64_t c0,
              std::int64_t count, std::int64_t ky, std::int64_t kx, double* totals) {
    const sim::ConvGeometry& geo = layer.geometry;
    const std::int64_t batch = x_shape[0], channels = x_shape[1], h = x_shape[2], w = x_shape[3];
    const std::int64_t out_h = y_shape[2], out_w = y_shape[3], plane = h * w;
    // Output columns whose input column lies inside the image: ox in [lo, hi).
    const std::int64_t shift = geo.pad_left - kx * geo.dilation_w;
    const std::int64_t lo = std::clamp<std::int64_t>(ceil_div(shift, geo.stride_w), 0, out_w);
    const std::int64_t hi = std::clamp<std::int64_t>(ceil_div(w + shift, geo.stride_w), lo, out_w);
    double sum[kTapLanes] = {};
    auto walk = [&](auto lanes) {   // lanes: a compile-time kTapLanes, or count
        for (std::int64_t n = 0; n < batch; ++n) {
            const float* first = x + (n * channels + c0) * plane;
            for (std::int64_t oy = 0; oy < out_h; ++oy) {
                const std::int64_t iy = oy * geo.stride_h - geo.pad_top + ky * geo.dilation_h;
                if (iy < 0 || iy >= h) continue;
                const float* row = first + iy * w;
                for (std::int64_t ox = lo; ox < hi; ++ox) {
                    const float* at = row + ox * geo.stride_w - shift;
                    for (std::int64_t j = 0; j < static_cast<std::int64_t>(lanes); ++j) sum[j] += at[j * plane];
                }
            }
        }
    };
    if (count == kTapLanes) walk(std::integral_constant<std::int64_t, kTapLanes>{});
    else walk(count);
    for (std::int64_t j = 0; j < count; ++j) totals[j] = sum[j];
}

// The index into mean_patch's vector of entry k of output channel oc's dot product.
std::int64_t patch_index(const sim::MacLayer& layer, std::int64_t oc, std::int64_t k) {
    if (layer.kind == sim::MacKind::gemm) return k;
    const std::int64_t taps = layer.weight_shape[2] * layer.weight_shape[3];
    const std::int64_t channels_per_group = layer.weight_shape[1];
    const std::int64_t c = sim::group_of(layer, oc) * channels_per_group + k / taps;
    return c * taps + k % taps;
}

}  // namespace

std::vector<double> mean_patch(const sim::MacLayer& layer, const Shape& x_shape, const float* x, int threads) {
    const std::int64_t elements = sim::element_count(x_shape);
    if (layer.kind == sim::MacKind::gemm) {
        const std::int64_t K = sim::reduction_length(layer);
        const std::int64_t rows = K == 0 ? 0 : elements / K;
        std::vector<double> mean(static_cast<std::size_t>(K), 0.0);
        for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t k = 0; k < K; ++k) mean[static_cast<std::size_t>(k)] += x[r * K + k];
        for (double& m : mean) m /= static_cast<double>(std::max<std::int64_t>(rows, 1));
        return mean;
    }
    const Shape y_shape = sim::mac_output_shape(layer, x_shape);
    const std::int64_t kh = layer.weight_shape[2], kw = layer.weight_shape[3];
    const double positions = static_cast<double>(std::max<std::int64_t>(1, y_shape[0] * y_shape[2] * y_shape[3]));
    // One task per (block of channels, tap): each sum is the same serial sum
    // on any thread count.
    const std::int64_t channels = x_shape[1], blocks = (channels + kTapLanes - 1) / kTapLanes;
    std::vector<double> mean(static_cast<std::size_t>(channels * kh * kw));
    sim::parallel_for(blocks * kh * kw, threads, [&](std::int64_t t) {
        const std::int64_t c0 = t / (kh * kw) * kTapLanes, ky = t / kw % kh, kx = t % kw;
        const std::int64_t count = std::min(kTapLanes, channels - c0);
        double totals[kTapLanes];
        tap_sums(layer, x_shape, y_shape, x, c0, count, ky, kx, totals);
        for (std::int64_t j = 0; j < count; ++j)
            mean[static_cast<std::size_t>(((c0 + j) * kh + ky) * kw + kx)] = totals[j] / positions;
    });
    return mean;
}

std::vector<double> bias_correction(const sim::MacLayer& layer, const Tensor& float_weight,
                                    const std::vector<float>& weight_scale, const Tensor& x_fp32,
                                    const sim::QTensor& x_quantized, int threads) {
    const std::int64_t channels = sim::output_channels(layer), K = sim::reduction_length(layer);
    if (float_weight.numel() != channels * K || static_cast<std::int64_t>(layer.weights.size()) != channels * K)
        throw std::logic_error("bias correction: weight sizes differ");
    if (weight_scale.size() != 1 && static_cast<std::int64_t>(weight_scale.size()) != channels)
        throw std::logic_error("bias correction: wrong number of weight scales");
    const std::vector<double> mean_fp32 = mean_patch(layer, x_fp32.shape(), x_fp32.data<float>(), threads);
    const sim::FloatTensor x_hat = sim::dequantize_tensor(x_quantized);
    const std::vector<double> mean_hat = mean_patch(layer, x_hat.shape, x_hat.data.data(), threads);
    const float* w = float_weight.data<float>();
    std::vector<double> delta(static_cast<std::size_t>(channels), 0.0);
    for (std::int64_t oc = 0; oc < channels; ++oc) {
        const double s_w = weight_scale.size() == 1 ? weight_scale[0] : weight_scale[static_cast<std::size_t>(oc)];
        double d = 0.0;
        for (std::int64_t k = 0; k < K; ++k) {
            const std::size_t i = static_cast<std::size_t>(oc * K + k);
            const std::size_t m = static_cast<std::size_t>(patch_index(layer, oc, k));
            const double w_hat = s_w * static_cast<double>(layer.weights[i] - layer.weight_zero_point);
            d += static_cast<double>(w[i]) * mean_fp32[m] - w_hat * mean_hat[m];
        }
        delta[static_cast<std::size_t>(oc)] = d;
    }
    return delta;
}

}  // namespace bitnpu::calib
