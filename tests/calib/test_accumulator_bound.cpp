// The accumulator-aware weight bound (quant/accumulator_bound.hpp) against
// the bit-accurate reference MAC (sim::reference::accumulator_stats): on
// random small layers (int8 and int4 weights, signed and unsigned inputs,
// with and without zero-points, both bias stages, saturate and wrap) the
// adversarial inputs (every x_k at the end of its range whose sign matches
// w_k, and the opposite) never make an accumulation leave the accumulator
// with the bounded scales, while the normal (max-range) scales do for some
// layers, and running_sum_range's extremes are exactly what the reference's
// running sums reach.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>

#include "bitnpu/errors.hpp"
#include "bitnpu/quant/accumulator_bound.hpp"
#include "bitnpu/sim/reference/mac.hpp"

namespace {

using namespace bitnpu;
using calib::Tensor;

struct Case {
    arch::ValueType weight_type, input_type;
    std::int64_t input_zero_point;
    arch::BiasStage stage;
    arch::Overflow overflow;
    bool per_channel, power_of_two;
};

// The normal weight quantization: symmetric, the channel's (or tensor's)
// max |w| on the grid's max, as weight_params would give without clipping.
calib::QuantParams max_scales(const Tensor& w, const Case& c) {
    const std::int64_t channels = w.dim(0), k = w.numel() / channels;
    const double qmax = double(arch::value_range(c.weight_type).max);
    calib::QuantParams p;
    p.type = c.weight_type;
    p.scales.clear();
    for (std::int64_t ch = 0; ch < channels; ++ch) {
        float m = 0.0f;
        for (std::int64_t i = 0; i < k; ++i) m = std::max(m, std::abs(w.data<float>()[ch * k + i]));
        p.scales.push_back(static_cast<float>(m / qmax));
    }
    if (!c.per_channel) p.scales = {*std::max_element(p.scales.begin(), p.scales.end())};
    if (c.power_of_two)
        for (float& s : p.scales) {
            const int f = -static_cast<int>(std::ceil(std::log2(double(s))));
            s = std::ldexp(1.0f, -f);
            p.exponents.push_back(f);
        }
    p.zero_points.assign(p.scales.size(), 0);
    p.axis = c.per_channel ? 0 : -1;
    return p;
}

// The Gemm the lowering would build from float weights, their quantization
// and the float bias.
sim::MacLayer gemm_layer(const Tensor& w, const calib::QuantParams& wq, const std::vector<double>& bias, double s_x,
                         const Case& c, int accumulator_bits, int bias_bits) {
    const std::int64_t channels = w.dim(0), k = w.numel() / channels;
    sim::MacLayer layer;
    layer.kind = sim::MacKind::gemm;
    layer.input_type = c.input_type;
    layer.weight_type = c.weight_type;
    layer.input_zero_point = c.input_zero_point;
    layer.weight_shape = {channels, k};
    for (std::int64_t ch = 0; ch < channels; ++ch) {
        const calib::AffineQuant q = calib::channel_quant(wq, static_cast<std::size_t>(ch));
        for (std::int64_t i = 0; i < k; ++i)
            layer.weights.push_back(static_cast<std::int32_t>(calib::quantize_value(w.data<float>()[ch * k + i], q)));
        layer.bias.push_back(sim::quantize_bias(bias[static_cast<std::size_t>(ch)], q.scale, s_x, bias_bits));
    }
    layer.accumulator = {accumulator_bits, c.overflow};
    layer.bias_stage = c.stage;
    layer.requant.assign(1, sim::RequantRegisters{});
    return layer;
}

// Two rows per channel: every x_k at the end of the input range whose sign
// matches w_k - z_w (the largest running sums) and at the other end (the
// smallest), as input values (x_q, z_x added back).
sim::QTensor adversarial_inputs(const sim::MacLayer& layer) {
    const std::int64_t channels = layer.weight_shape[0], k = layer.weight_shape[1];
    const calib::OperandRange x = calib::input_operand_range(layer.input_type, layer.input_zero_point);
    sim::QTensor in({2 * channels, k}, sim::per_tensor(layer.input_type, 1.0f, layer.input_zero_point));
    for (std::int64_t ch = 0; ch < channels; ++ch)
        for (std::int64_t i = 0; i < k; ++i) {
            const bool positive = layer.weights[static_cast<std::size_t>(ch * k + i)] > 0;
            in.values[static_cast<std::size_t>(2 * ch * k + i)] =
                static_cast<std::int32_t>((positive ? x.hi : x.lo) + layer.input_zero_point);
            in.values[static_cast<std::size_t>((2 * ch + 1) * k + i)] =
                static_cast<std::int32_t>((positive ? x.lo : x.hi) + layer.input_zero_point);
        }
    return in;
}

// The largest |extreme| running_sum_range gives over the layer's channels.
std::int64_t largest_extreme(const sim::MacLayer& layer) {
    const std::int64_t channels = layer.weight_shape[0], k = layer.weight_shape[1];
    const calib::OperandRange x = calib::input_operand_range(layer.input_type, layer.input_zero_point);
    std::int64_t out = 0;
    for (std::int64_t ch = 0; ch < channels; ++ch) {
        const calib::RunningSumRange r = calib::running_sum_range(layer.weights.data() + ch * k, k, 0, x,
                                                                  layer.bias[static_cast<std::size_t>(ch)], layer.bias_stage);
        out = std::max({out, r.hi, -r.lo});
    }
    return out;
}

// The smallest accumulator width that holds every running sum up to `extreme`.
int bits_for(std::int64_t extreme) {
    int bits = 2;
    while (sim::signed_max(bits) < extreme) ++bits;
    return bits;
}

}  // namespace

TEST_CASE("accumulator bound: running_sum_range on the worked example of numerics.md", "[quant][accumulator]") {
    const std::int32_t w[] = {100, -50, 20, -70};
    // uint8, z_x = 0: x - z_x in [0, 255], so the positive weights alone set the top.
    const calib::OperandRange u = calib::input_operand_range(arch::ValueType::uint8, 0);
    CHECK(u.lo == 0);
    CHECK(u.hi == 255);
    calib::RunningSumRange r = calib::running_sum_range(w, 4, 0, u, 1000, arch::BiasStage::preload);
    CHECK(r.hi == 1000 + 255 * 120);
    CHECK(r.lo == 1000 - 255 * 120);
    CHECK(calib::fits_accumulator(r, 16));
    CHECK_FALSE(calib::fits_accumulator(calib::running_sum_range(w, 4, 0, u, 3000, arch::BiasStage::preload), 16));
    // post: the bias comes after the last product; a negative bias no longer
    // lowers the top.
    r = calib::running_sum_range(w, 4, 0, u, -1000, arch::BiasStage::post);
    CHECK(r.hi == 255 * 120);
    CHECK(r.lo == -255 * 120 - 1000);
    // int8 with z_x = -128 is the same operand range as uint8.
    const calib::OperandRange s = calib::input_operand_range(arch::ValueType::int8, -128);
    CHECK(s.lo == 0);
    CHECK(s.hi == 255);
    // Signed, z_x = 0: [-128, 127]; each product takes its larger end.
    r = calib::running_sum_range(w, 4, 0, calib::input_operand_range(arch::ValueType::int8, 0), 0,
                                 arch::BiasStage::preload);
    CHECK(r.hi == 12700 + 6400 + 2540 + 8960);
    CHECK(r.lo == -(12800 + 6350 + 2560 + 8890));
}

TEST_CASE("accumulator bound: adversarial inputs never overflow the bounded scales; the normal ones do",
          "[quant][accumulator]") {
    using arch::ValueType;
    struct Input {
        ValueType type;
        std::int64_t zero_point;
    };
    const Input inputs[] = {{ValueType::uint8, 0},  {ValueType::uint8, 131}, {ValueType::int8, 0},
                            {ValueType::int8, -9},  {ValueType::uint4, 0},   {ValueType::int4, 3}};
    std::mt19937 rng(18);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_int_distribution<int> length(3, 40), narrower(1, 4);
    std::uniform_real_distribution<double> input_scale(0.005, 0.1);
    int cases = 0, normal_overflowed = 0, widened = 0;
    for (ValueType weight_type : {ValueType::int8, ValueType::int4})
        for (const Input& in : inputs)
            for (arch::BiasStage stage : {arch::BiasStage::preload, arch::BiasStage::post})
                for (int variant = 0; variant < 4; ++variant) {
                    const Case c{weight_type, in.type, in.zero_point, stage,
                                 variant % 2 ? arch::Overflow::wrap : arch::Overflow::saturate, variant != 2,
                                 variant == 3};
                    const std::int64_t channels = 3, k = length(rng);
                    std::vector<float> values(static_cast<std::size_t>(channels * k));
                    for (float& v : values) v = normal(rng);
                    const Tensor w = Tensor::from_vector<float>({channels, k}, values);
                    const double s_x = input_scale(rng);
                    const calib::OperandRange x = calib::input_operand_range(in.type, in.zero_point);
                    std::vector<double> bias;
                    for (std::int64_t ch = 0; ch < channels; ++ch) {
                        double l1 = 0.0;
                        for (std::int64_t i = 0; i < k; ++i) l1 += std::abs(values[static_cast<std::size_t>(ch * k + i)]);
                        bias.push_back(0.2 * normal(rng) * l1 * s_x * double(std::max(-x.lo, x.hi)));
                    }
                    const calib::QuantParams normal_q = max_scales(w, c);
                    // An accumulator 1-4 bits narrower than the normal weights' worst case.
                    const sim::MacLayer wide = gemm_layer(w, normal_q, bias, s_x, c, 64, 32);
                    const int bits = std::max(4, bits_for(largest_extreme(wide)) - narrower(rng));
                    CAPTURE(arch::to_string(weight_type), arch::to_string(in.type), in.zero_point,
                            arch::to_string(stage), variant, k, bits);
                    // running_sum_range is exact: the reference's running sums reach its extremes.
                    CHECK(sim::reference::accumulator_stats(wide, adversarial_inputs(wide)).max_abs_partial ==
                          largest_extreme(wide));

                    const sim::MacLayer naive = gemm_layer(w, normal_q, bias, s_x, c, bits, bits);
                    const auto naive_stats = sim::reference::accumulator_stats(naive, adversarial_inputs(naive));
                    normal_overflowed += naive_stats.overflowed_steps > 0 ? 1 : 0;

                    calib::AccumulatorBudget budget;
                    budget.input = x;
                    budget.input_scale = s_x;
                    budget.bias = bias;
                    budget.bias_bits = bits;
                    budget.accumulator_bits = bits;
                    budget.bias_stage = stage;
                    const calib::QuantParams bounded = calib::accumulator_bounded_weights(w, normal_q, budget);
                    REQUIRE(bounded.scales.size() == normal_q.scales.size());
                    for (std::size_t s = 0; s < bounded.scales.size(); ++s) {
                        CHECK(bounded.scales[s] >= normal_q.scales[s]);
                        if (c.power_of_two) CHECK(bounded.scales[s] == std::ldexp(1.0f, -bounded.exponents[s]));
                        widened += bounded.scales[s] > normal_q.scales[s] ? 1 : 0;
                    }
                    const sim::MacLayer layer = gemm_layer(w, bounded, bias, s_x, c, bits, bits);
                    CHECK(sim::reference::accumulator_stats(layer, adversarial_inputs(layer)).overflowed_steps == 0);
                    const std::vector<bool> overflowable = calib::overflowable_channels(layer);
                    CHECK(std::none_of(overflowable.begin(), overflowable.end(), [](bool b) { return b; }));
                    // Random inputs too (the adversarial ones are the worst, so these pass a fortiori).
                    sim::QTensor random = adversarial_inputs(layer);
                    std::uniform_int_distribution<std::int64_t> code(x.lo, x.hi);
                    for (auto& v : random.values) v = static_cast<std::int32_t>(code(rng) + in.zero_point);
                    CHECK(sim::reference::accumulator_stats(layer, random).overflowed_steps == 0);
                    ++cases;
                }
    // The test can fail: the normal scales overflow on most layers.
    CHECK(normal_overflowed > cases / 2);
    CHECK(widened > cases / 2);
}

TEST_CASE("accumulator bound: bad input is a UserError", "[quant][accumulator]") {
    const Tensor w = Tensor::from_vector<float>({2, 2}, {0.5f, -0.25f, 0.125f, 1.0f});
    calib::QuantParams q;
    q.type = arch::ValueType::int8;
    q.scales = {0.01f, 0.01f};
    q.zero_points = {0, 0};
    q.axis = 0;
    calib::AccumulatorBudget budget;
    budget.input = calib::input_operand_range(arch::ValueType::uint8, 0);
    budget.accumulator_bits = 12;
    CHECK_NOTHROW(calib::accumulator_bounded_weights(w, q, budget));
    budget.bias = {1.0};
    CHECK_THROWS_AS(calib::accumulator_bounded_weights(w, q, budget), UserError);
    budget.bias.clear();
    calib::QuantParams binary = q;
    binary.type = arch::ValueType::int1;
    CHECK_THROWS_AS(calib::accumulator_bounded_weights(w, binary, budget), UserError);
    calib::QuantParams asymmetric = q;
    asymmetric.zero_points = {3, 0};
    CHECK_THROWS_AS(calib::accumulator_bounded_weights(w, asymmetric, budget), UserError);
}

TEST_CASE("accumulator bound: scales_between goes from the clipped to the bounded scales in the log domain",
          "[quant][accumulator]") {
    calib::QuantParams clipped, bounded;
    clipped.scales = {0.01f, 0.02f};
    bounded.scales = {0.04f, 0.02f};
    clipped.zero_points = bounded.zero_points = {0, 0};
    clipped.axis = bounded.axis = 0;
    CHECK(calib::scales_between(clipped, bounded, {0.0}).scales == clipped.scales);
    CHECK(calib::scales_between(clipped, bounded, {1.0}).scales == bounded.scales);
    const calib::QuantParams half = calib::scales_between(clipped, bounded, {0.5});
    CHECK(half.scales[0] == Approx(0.02f));   // sqrt(0.01 * 0.04)
    CHECK(half.scales[1] == 0.02f);
    CHECK(calib::scales_between(clipped, bounded, {0.0, 1.0}).scales == std::vector<float>{0.01f, 0.02f});
    // Power-of-two grids: the exponent moves, rounded half up.
    calib::QuantParams p2c = clipped, p2b = bounded;
    p2c.scales = {0.0078125f, 0.0078125f};   // 2^-7
    p2c.exponents = {7, 7};
    p2b.scales = {0.03125f, 0.0078125f};     // 2^-5
    p2b.exponents = {5, 7};
    const calib::QuantParams p2 = calib::scales_between(p2c, p2b, {0.25});
    CHECK(p2.exponents == std::vector<int>{7, 7});   // 7 - 0.5 rounds half up to 7
    CHECK(calib::scales_between(p2c, p2b, {0.5}).exponents == std::vector<int>{6, 7});
    CHECK(calib::scales_between(p2c, p2b, {0.5}).scales[0] == 0.015625f);
    CHECK_THROWS_AS(calib::scales_between(clipped, bounded, {0.5, 0.5, 0.5}), std::logic_error);
}
