// The calibrator's data-aware steps against brute-force definitions built on
// sim::im2col_row (the bit-accurate model's own patch order, an independent
// path from the tap loops and ops::im2col the code under test uses):
// the mean patch and bias correction (calibrator/bias_correction.hpp), the
// input second moments (calibrator/input_moments.hpp) and the weight
// clipping they steer (calibrator/weight_clipping.hpp).
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "calibrator/src/bias_correction.hpp"
#include "calibrator/src/input_moments.hpp"
#include "bitnpu/quant/weight_clipping.hpp"

namespace {

using namespace bitnpu;
using calib::Tensor;

struct ConvCase {
    int c_in, c_out, groups, kh, kw, stride, pad, dilation;
    std::int64_t batch, h, w;
};

sim::MacLayer conv_layer(const ConvCase& c, std::mt19937& rng) {
    sim::MacLayer layer;
    layer.kind = sim::MacKind::conv;
    layer.weight_type = arch::ValueType::int4;
    layer.weight_shape = {c.c_out, c.c_in / c.groups, c.kh, c.kw};
    layer.geometry.groups = c.groups;
    layer.geometry.stride_h = layer.geometry.stride_w = c.stride;
    layer.geometry.pad_top = layer.geometry.pad_left = layer.geometry.pad_bottom = layer.geometry.pad_right = c.pad;
    layer.geometry.dilation_h = layer.geometry.dilation_w = c.dilation;
    std::uniform_int_distribution<int> w(-7, 7);
    for (std::int64_t i = 0; i < c.c_out * (c.c_in / c.groups) * c.kh * c.kw; ++i) layer.weights.push_back(w(rng));
    layer.requant.assign(1, sim::RequantRegisters{});
    return layer;
}

// Random integer-valued input, as a QTensor (scale s, zero-point z) and as
// the float tensor it dequantizes to.
struct Input {
    sim::QTensor q;
    Tensor f;
};
Input random_input(const ConvCase& c, float s, std::int64_t z, std::mt19937& rng) {
    Input in;
    in.q = sim::QTensor({c.batch, c.c_in, c.h, c.w}, sim::per_tensor(arch::ValueType::int8, s, z));
    std::uniform_int_distribution<int> v(-128, 127);
    for (auto& x : in.q.values) x = v(rng);
    const sim::FloatTensor d = sim::dequantize_tensor(in.q);
    in.f = Tensor::from_vector<float>(d.shape, d.data);
    return in;
}

// Every patch of the layer, dequantized: calls f(group, patch) per output position.
template <class F>
void for_each_patch(sim::MacLayer layer, const sim::QTensor& x, std::int64_t images, F f) {
    layer.input_zero_point = x.quant.zero_points[0];   // padding reads z_x: a real 0
    const sim::Shape y = sim::mac_output_shape(layer, x.shape);
    const std::int64_t K = sim::reduction_length(layer);
    const auto& q = x.quant;
    std::vector<std::int32_t> row(static_cast<std::size_t>(K));
    std::vector<double> patch(static_cast<std::size_t>(K));
    for (std::int64_t g = 0; g < layer.geometry.groups; ++g)
        for (std::int64_t n = 0; n < images; ++n)
            for (std::int64_t oy = 0; oy < y[2]; ++oy)
                for (std::int64_t ox = 0; ox < y[3]; ++ox) {
                    sim::im2col_row(layer, x, n, g, oy, ox, row.data());
                    for (std::int64_t k = 0; k < K; ++k)
                        patch[k] = static_cast<double>(q.scales[0]) * (row[k] - q.zero_points[0]);
                    f(g, patch);
                }
}

const ConvCase kCases[] = {
    {3, 4, 1, 3, 3, 1, 1, 1, 2, 7, 6},     // plain 3x3, padded
    {4, 6, 2, 3, 3, 2, 1, 1, 3, 9, 8},     // grouped, strided
    {5, 5, 5, 3, 3, 1, 2, 2, 2, 8, 8},     // depthwise, dilated
    {6, 3, 1, 1, 1, 1, 0, 1, 2, 5, 5},     // 1x1
};

}  // namespace

TEST_CASE("calibrator: mean_patch is the mean im2col row, padding read as 0", "[calibrator]") {
    std::mt19937 rng(11);
    for (const ConvCase& c : kCases) {
        const sim::MacLayer layer = conv_layer(c, rng);
        const Input in = random_input(c, 0.25f, 3, rng);
        const std::vector<double> mean = calib::mean_patch(layer, in.f.shape(), in.f.data<float>());
        const std::int64_t taps = c.kh * c.kw, cg = c.c_in / c.groups;
        std::vector<double> sum(mean.size(), 0.0);
        std::vector<double> count(mean.size(), 0.0);
        for_each_patch(layer, in.q, c.batch, [&](std::int64_t g, const std::vector<double>& p) {
            for (std::size_t k = 0; k < p.size(); ++k) {
                const std::size_t idx = static_cast<std::size_t>((g * cg + static_cast<std::int64_t>(k) / taps) * taps +
                                                                 static_cast<std::int64_t>(k) % taps);
                sum[idx] += p[k];
                count[idx] += 1.0;
            }
        });
        REQUIRE(mean.size() == static_cast<std::size_t>(c.c_in * taps));
        for (std::size_t i = 0; i < mean.size(); ++i) CHECK(mean[i] == Approx(sum[i] / count[i]).margin(1e-12));
    }
}

TEST_CASE("calibrator: bias correction is the mean output shift of FP32 vs the quantized layer", "[calibrator]") {
    std::mt19937 rng(12);
    for (const ConvCase& c : kCases) {
        const sim::MacLayer layer = conv_layer(c, rng);
        const Input fp = random_input(c, 0.125f, 0, rng);   // the "FP32" input (exact binary scales)
        Input q = fp;                                      // the quantized upstream: a coarser grid
        q.q.quant = sim::per_tensor(arch::ValueType::int8, 0.25f, -2);
        for (auto& v : q.q.values) v = std::clamp(static_cast<int>(std::lround(v / 2.0)) - 2, -128, 127);
        const std::int64_t K = sim::reduction_length(layer);
        // Float weights: the quantized ones plus a per-weight rounding error.
        std::vector<float> wf(layer.weights.size());
        std::vector<float> scales(static_cast<std::size_t>(c.c_out));
        std::uniform_real_distribution<float> err(-0.5f, 0.5f), sc(0.01f, 0.05f);
        for (auto& s : scales) s = sc(rng);
        for (std::size_t i = 0; i < wf.size(); ++i)
            wf[i] = scales[i / static_cast<std::size_t>(K)] * (static_cast<float>(layer.weights[i]) + err(rng));
        const Tensor weight = Tensor::from_vector<float>(layer.weight_shape, wf);

        const std::vector<double> delta = calib::bias_correction(layer, weight, scales, fp.f, q.q);
        const std::int64_t per_group = c.c_out / c.groups;
        std::vector<double> out_fp(static_cast<std::size_t>(c.c_out), 0.0), out_q(out_fp), n(out_fp);
        for_each_patch(layer, fp.q, c.batch, [&](std::int64_t g, const std::vector<double>& p) {
            for (std::int64_t oc = g * per_group; oc < (g + 1) * per_group; ++oc) {
                for (std::int64_t k = 0; k < K; ++k) out_fp[oc] += wf[oc * K + k] * p[k];
                n[oc] += 1.0;
            }
        });
        for_each_patch(layer, q.q, c.batch, [&](std::int64_t g, const std::vector<double>& p) {
            for (std::int64_t oc = g * per_group; oc < (g + 1) * per_group; ++oc)
                for (std::int64_t k = 0; k < K; ++k)
                    out_q[oc] += static_cast<double>(scales[oc]) * layer.weights[oc * K + k] * p[k];
        });
        for (std::int64_t oc = 0; oc < c.c_out; ++oc)
            CHECK(delta[oc] == Approx((out_fp[oc] - out_q[oc]) / n[oc]).margin(1e-9));
    }
}

TEST_CASE("calibrator: bias correction is zero when nothing was quantized away", "[calibrator]") {
    std::mt19937 rng(13);
    const ConvCase c = kCases[1];
    const sim::MacLayer layer = conv_layer(c, rng);
    const Input in = random_input(c, 0.5f, 1, rng);
    std::vector<float> wf(layer.weights.begin(), layer.weights.end());
    for (float& w : wf) w *= 0.125f;   // exact: the float weight is s_w * w_q
    const Tensor weight = Tensor::from_vector<float>(layer.weight_shape, wf);
    for (double d : calib::bias_correction(layer, weight, {0.125f}, in.f, in.q)) CHECK(d == Approx(0.0).margin(1e-12));
}

TEST_CASE("calibrator: input moments are E[x x^T] over the patches of the first images", "[calibrator]") {
    std::mt19937 rng(14);
    for (const ConvCase& c : kCases) {
        const sim::MacLayer layer = conv_layer(c, rng);
        const Input in = random_input(c, 0.25f, -1, rng);
        const calib::InputMoments m = calib::input_moments(layer, in.f);
        const std::int64_t K = sim::reduction_length(layer);
        REQUIRE(m.k == K);
        REQUIRE(m.groups == c.groups);
        const sim::Shape y = sim::mac_output_shape(layer, in.q.shape);
        const std::int64_t positions = y[2] * y[3];
        const std::int64_t images = std::min<std::int64_t>(c.batch, std::max<std::int64_t>(1, calib::kMomentPositions / positions));
        std::vector<double> h(static_cast<std::size_t>(c.groups * K * K), 0.0);
        for_each_patch(layer, in.q, images, [&](std::int64_t g, const std::vector<double>& p) {
            for (std::int64_t i = 0; i < K; ++i)
                for (std::int64_t j = 0; j < K; ++j) h[(g * K + i) * K + j] += p[i] * p[j];
        });
        for (std::size_t i = 0; i < h.size(); ++i)
            CHECK(m.h[i] == Approx(h[i] / static_cast<double>(images * positions)).epsilon(1e-12).margin(1e-12));
    }
}

TEST_CASE("calibrator: input moments are skipped for long patches", "[calibrator]") {
    std::mt19937 rng(15);
    const ConvCase c{32, 2, 1, 3, 3, 1, 1, 1, 1, 4, 4};   // K = 288 > kMaxMomentK
    const sim::MacLayer layer = conv_layer(c, rng);
    const Input in = random_input(c, 1.0f, 0, rng);
    CHECK(calib::input_moments(layer, in.f).k == 0);
}

TEST_CASE("calibrator: weight clipping with input moments lowers the output error it is judged by",
          "[calibrator]") {
    std::mt19937 rng(16);
    const std::int64_t channels = 8, K = 9;
    // Heavy-tailed weights, so clipping matters at int4.
    std::student_t_distribution<float> t(2.0f);
    std::vector<float> w(static_cast<std::size_t>(channels * K));
    for (float& v : w) v = 0.05f * t(rng);
    const Tensor weight = Tensor::from_vector<float>({channels, K}, w);
    const calib::ChannelRanges observed = calib::channel_ranges(weight, 0, "w");
    calib::ScaleOptions options;
    options.mode = calib::ScaleMode::symmetric;

    // Identity moments: the same choice as the raw weight MSE.
    calib::InputMoments identity;
    identity.k = K;
    identity.groups = 1;
    identity.h.assign(static_cast<std::size_t>(K * K), 0.0);
    for (std::int64_t i = 0; i < K; ++i) identity.h[i * K + i] = 1.0;
    const auto plain = calib::mse_weight_ranges(weight, observed, arch::ValueType::int4, false, true, options);
    const auto with_identity =
        calib::mse_weight_ranges(weight, observed, arch::ValueType::int4, false, true, options, &identity);
    CHECK(plain.min == with_identity.min);
    CHECK(plain.max == with_identity.max);

    // Strongly correlated inputs (a smooth image): H = 1 1^T + 0.05 I. The
    // moment-aware choice must not be worse under the error it minimizes.
    calib::InputMoments smooth = identity;
    for (std::int64_t i = 0; i < K; ++i)
        for (std::int64_t j = 0; j < K; ++j) smooth.h[i * K + j] = 1.0 + (i == j ? 0.05 : 0.0);
    const auto aware = calib::mse_weight_ranges(weight, observed, arch::ValueType::int4, false, true, options, &smooth);
    auto output_error = [&](const calib::ChannelRanges& r) {
        const calib::QuantParams q = calib::weight_params(r, arch::ValueType::int4, false, true, options);
        double e = 0;
        for (std::int64_t c = 0; c < channels; ++c) {
            std::vector<double> d(static_cast<std::size_t>(K));
            for (std::int64_t k = 0; k < K; ++k) {
                const float v = w[c * K + k];
                d[k] = v - calib::fake_quantize(v, calib::channel_quant(q, static_cast<std::size_t>(c)));
            }
            for (std::int64_t i = 0; i < K; ++i)
                for (std::int64_t j = 0; j < K; ++j) e += d[i] * smooth.h[i * K + j] * d[j];
        }
        return e;
    };
    CHECK(output_error(aware) <= output_error(plain));
}
