// Reference MAC layers (sim/reference/mac.hpp), from numerics.md "The MAC datapath".
#include "bitnpu/sim/reference/mac.hpp"

#include <algorithm>
#include <limits>

#include <string>

#include "bitnpu/errors.hpp"
#include "bitnpu/sim/datapath/accumulate.hpp"
#include "bitnpu/sim/datapath/product.hpp"
#include "bitnpu/sim/datapath/requant.hpp"
#include "check.hpp"

namespace bitnpu::sim::reference {

namespace {

// ONNX's output size of one spatial dimension.
std::int64_t conv_output_size(std::int64_t input, std::int64_t kernel, int stride, int pad_begin, int pad_end,
                              int dilation) {
    const std::int64_t dilated_kernel = static_cast<std::int64_t>(dilation) * (kernel - 1) + 1;
    const std::int64_t padded_input = input + pad_begin + pad_end;
    if (padded_input < dilated_kernel) return 0;
    return (padded_input - dilated_kernel) / stride + 1;
}

// The flat index of element [i0, i1, i2, i3] of a row-major 4-D tensor of
// shape `dims` (TFLite's Offset).
std::size_t offset(const Shape& dims, std::int64_t i0, std::int64_t i1, std::int64_t i2, std::int64_t i3) {
    return static_cast<std::size_t>(((i0 * dims[1] + i1) * dims[2] + i2) * dims[3] + i3);
}

void check_common(const MacLayer& layer, std::int64_t output_depth) {
    check(static_cast<std::int64_t>(layer.weights.size()) == element_count(layer.weight_shape),
          "MAC layer: the weight count does not match the weight shape");
    check(layer.bias.empty() || static_cast<std::int64_t>(layer.bias.size()) == output_depth,
          "MAC layer: one bias per output channel, or none");
    check(layer.requant.size() == 1 || static_cast<std::int64_t>(layer.requant.size()) == output_depth,
          "MAC layer: one register set, or one per output channel");
    check(layer.clamp_lo <= layer.clamp_hi, "MAC layer: empty clamp range");
}

// One accumulation step, with the statistics when asked for: `exact` is the
// unbounded running sum beside the hardware's `sum`.
struct Stepper {
    const AccumulatorRule& rule;
    AccumulatorStats* stats;
    __int128 exact = 0;
    bool overflowed = false;
    std::int64_t step(std::int64_t sum, std::int64_t value) {
        if (stats) {
            const __int128 raw = __int128(sum) + value;
            const __int128 hi = (__int128(1) << (rule.bits - 1)) - 1, lo = -hi - 1;
            ++stats->steps;
            if (raw > hi || raw < lo) {
                ++stats->overflowed_steps;
                overflowed = true;
            }
            exact += value;
            const __int128 magnitude = exact < 0 ? -exact : exact;
            const __int128 cap = std::numeric_limits<std::int64_t>::max();
            stats->max_abs_partial = std::max<std::int64_t>(stats->max_abs_partial, std::int64_t(std::min(magnitude, cap)));
        }
        return accumulate(sum, value, rule);
    }
    void begin() {
        exact = 0;
        overflowed = false;
    }
    void end() {
        if (!stats) return;
        ++stats->outputs;
        if (overflowed) ++stats->overflowed_outputs;
    }
};

// Conv, steps 1-4, into acc (the output's layout).
void conv_accumulators(const MacLayer& layer, const QTensor& input, std::vector<std::int64_t>& acc,
                       AccumulatorStats* stats = nullptr) {
    // Parameters.
    const ConvGeometry& geometry = layer.geometry;
    const int stride_height = geometry.stride_h, stride_width = geometry.stride_w;
    const int dilation_height = geometry.dilation_h, dilation_width = geometry.dilation_w;
    const int pad_top = geometry.pad_top, pad_left = geometry.pad_left;
    const int groups = geometry.groups;
    const std::int64_t input_zero_point = layer.input_zero_point;     // z_x
    const std::int64_t weight_zero_point = layer.weight_zero_point;   // z_w
    const AccumulatorRule& accumulator = layer.accumulator;
    const bool bias_preload = layer.bias_stage == arch::BiasStage::preload;

    // Shapes.
    check(layer.kind == MacKind::conv, "reference conv: not a Conv layer");
    check(layer.weight_shape.size() == 4, "Conv weights must be [C_out, C_in/groups, kH, kW]");
    check(input.shape.size() == 4, "Conv input must be [N, C_in, H, W]");
    check(element_count(input.shape) == input.size(), "Conv input values do not match its shape");
    const std::int64_t batches = input.shape[0], input_depth = input.shape[1];
    const std::int64_t input_height = input.shape[2], input_width = input.shape[3];
    const std::int64_t output_depth = layer.weight_shape[0], filter_input_depth = layer.weight_shape[1];
    const std::int64_t filter_height = layer.weight_shape[2], filter_width = layer.weight_shape[3];
    check(groups >= 1 && output_depth % groups == 0, "Conv groups must divide C_out");
    check(input_depth == filter_input_depth * groups, "Conv input channels must be C_in/groups * groups");
    check(stride_height >= 1 && stride_width >= 1 && dilation_height >= 1 && dilation_width >= 1 &&
              pad_top >= 0 && pad_left >= 0 && geometry.pad_bottom >= 0 && geometry.pad_right >= 0,
          "Conv strides and dilations must be >= 1 and pads >= 0");
    check_common(layer, output_depth);
    const std::int64_t filters_per_group = output_depth / groups;
    const std::int64_t output_height = conv_output_size(input_height, filter_height, stride_height, pad_top,
                                                        geometry.pad_bottom, dilation_height);
    const std::int64_t output_width = conv_output_size(input_width, filter_width, stride_width, pad_left,
                                                       geometry.pad_right, dilation_width);
    const Shape output_shape{batches, output_depth, output_height, output_width};
    acc.assign(static_cast<std::size_t>(element_count(output_shape)), 0);
    Stepper stepper{accumulator, stats};

    for (std::int64_t batch = 0; batch < batches; ++batch) {
        for (std::int64_t out_channel = 0; out_channel < output_depth; ++out_channel) {
            const std::int64_t group = out_channel / filters_per_group;
            const std::int64_t bias_value = layer.bias.empty() ? 0 : layer.bias[static_cast<std::size_t>(out_channel)];
            for (std::int64_t out_y = 0; out_y < output_height; ++out_y) {
                for (std::int64_t out_x = 0; out_x < output_width; ++out_x) {
                    // Step 3 (preload): loading b_q is itself an accumulation step.
                    stepper.begin();
                    std::int64_t sum = bias_preload ? stepper.step(0, bias_value) : 0;
                    // The canonical k order: (c_in, kh, kw), kw fastest, within the group.
                    for (std::int64_t filter_channel = 0; filter_channel < filter_input_depth; ++filter_channel) {
                        const std::int64_t in_channel = group * filter_input_depth + filter_channel;
                        for (std::int64_t filter_y = 0; filter_y < filter_height; ++filter_y) {
                            const std::int64_t in_y = out_y * stride_height - pad_top + filter_y * dilation_height;
                            for (std::int64_t filter_x = 0; filter_x < filter_width; ++filter_x) {
                                const std::int64_t in_x = out_x * stride_width - pad_left + filter_x * dilation_width;
                                // Step 1: the operands; a padded position reads z_x.
                                const bool inside = in_y >= 0 && in_y < input_height && in_x >= 0 && in_x < input_width;
                                const std::int64_t input_value =
                                    inside ? input.values[offset(input.shape, batch, in_channel, in_y, in_x)]
                                           : input_zero_point;
                                const std::int64_t weight_value =
                                    layer.weights[offset(layer.weight_shape, out_channel, filter_channel, filter_y, filter_x)];
                                // Step 2: p = (w - z_w)(x - z_x), exact.
                                const std::int64_t p =
                                    product(weight_value - weight_zero_point, input_value, input_zero_point);
                                // Step 4: add, then the overflow rule (wrap, or saturate after every addition).
                                sum = stepper.step(sum, p);
                            }
                        }
                    }
                    // Step 3 (post): one more accumulation step after the last product.
                    if (!bias_preload) sum = stepper.step(sum, bias_value);
                    stepper.end();
                    acc[offset(output_shape, batch, out_channel, out_y, out_x)] = sum;
                }
            }
        }
    }
}

// Gemm / MatMul, steps 1-4, into acc ([rows, N_out]).
void gemm_accumulators(const MacLayer& layer, const QTensor& input, std::vector<std::int64_t>& acc,
                       AccumulatorStats* stats = nullptr) {
    // Parameters.
    const std::int64_t input_zero_point = layer.input_zero_point;
    const std::int64_t weight_zero_point = layer.weight_zero_point;
    const AccumulatorRule& accumulator = layer.accumulator;
    const bool bias_preload = layer.bias_stage == arch::BiasStage::preload;

    // Shapes: input [..., K] (rows = every leading dimension), weights [N_out, K].
    check(layer.kind == MacKind::gemm, "reference gemm: not a Gemm layer");
    check(layer.weight_shape.size() == 2, "Gemm weights must be [N_out, K]");
    const std::int64_t output_depth = layer.weight_shape[0], accum_depth = layer.weight_shape[1];
    check(!input.shape.empty() && input.shape.back() == accum_depth, "Gemm input must end in K");
    check(element_count(input.shape) == input.size(), "Gemm input values do not match its shape");
    check_common(layer, output_depth);
    const std::int64_t rows = accum_depth == 0 ? 0 : input.size() / accum_depth;
    acc.assign(static_cast<std::size_t>(rows * output_depth), 0);
    Stepper stepper{accumulator, stats};

    for (std::int64_t row = 0; row < rows; ++row) {
        for (std::int64_t out_channel = 0; out_channel < output_depth; ++out_channel) {
            const std::int64_t bias_value = layer.bias.empty() ? 0 : layer.bias[static_cast<std::size_t>(out_channel)];
            stepper.begin();
            std::int64_t sum = bias_preload ? stepper.step(0, bias_value) : 0;   // step 3 (preload)
            for (std::int64_t k = 0; k < accum_depth; ++k) {
                const std::int64_t input_value = input.values[static_cast<std::size_t>(row * accum_depth + k)];
                const std::int64_t weight_value = layer.weights[static_cast<std::size_t>(out_channel * accum_depth + k)];
                const std::int64_t p = product(weight_value - weight_zero_point, input_value, input_zero_point);   // step 2
                sum = stepper.step(sum, p);                                                                         // step 4
            }
            if (!bias_preload) sum = stepper.step(sum, bias_value);   // step 3 (post)
            stepper.end();
            acc[static_cast<std::size_t>(row * output_depth + out_channel)] = sum;
        }
    }
}

// Steps 5-6 of every element of acc into a tensor of the output shape.
QTensor finish_all(const MacLayer& layer, const Shape& shape, const std::vector<std::int64_t>& acc) {
    QTensor output(shape, per_tensor(layer.output_type, 1.0f, layer.output_zero_point));
    const std::int64_t output_depth = layer.weight_shape[0];
    // Conv [N, C_out, OH, OW]: OH * OW elements per channel in a row; Gemm [..., N_out]: one.
    const std::int64_t per_channel = layer.kind == MacKind::conv ? shape[2] * shape[3] : 1;
    for (std::int64_t i = 0; i < output.size(); ++i) {
        const std::int64_t out_channel = (i / per_channel) % output_depth;
        output.values[static_cast<std::size_t>(i)] =
            static_cast<std::int32_t>(finish(layer, out_channel, acc[static_cast<std::size_t>(i)]));
    }
    return output;
}

}  // namespace

Shape output_shape(const MacLayer& layer, const Shape& input_shape) {
    if (layer.kind == MacKind::gemm) {
        check(layer.weight_shape.size() == 2, "Gemm weights must be [N_out, K]");
        check(!input_shape.empty() && input_shape.back() == layer.weight_shape[1], "Gemm input must end in K");
        Shape out = input_shape;
        out.back() = layer.weight_shape[0];
        return out;
    }
    check(layer.weight_shape.size() == 4, "Conv weights must be [C_out, C_in/groups, kH, kW]");
    check(input_shape.size() == 4, "Conv input must be [N, C_in, H, W]");
    const ConvGeometry& g = layer.geometry;
    return {input_shape[0], layer.weight_shape[0],
            conv_output_size(input_shape[2], layer.weight_shape[2], g.stride_h, g.pad_top, g.pad_bottom, g.dilation_h),
            conv_output_size(input_shape[3], layer.weight_shape[3], g.stride_w, g.pad_left, g.pad_right, g.dilation_w)};
}

std::vector<std::int64_t> accumulators(const MacLayer& layer, const QTensor& input) {
    std::vector<std::int64_t> acc;
    if (layer.kind == MacKind::conv)
        conv_accumulators(layer, input, acc);
    else
        gemm_accumulators(layer, input, acc);
    return acc;
}

AccumulatorStats accumulator_stats(const MacLayer& layer, const QTensor& input) {
    AccumulatorStats stats;
    stats.accumulator_max = std::int64_t(((__int128(1) << (layer.accumulator.bits - 1)) - 1));
    std::vector<std::int64_t> acc;
    if (layer.kind == MacKind::conv)
        conv_accumulators(layer, input, acc, &stats);
    else
        gemm_accumulators(layer, input, acc, &stats);
    return stats;
}

std::int64_t finish(const MacLayer& layer, std::int64_t oc, std::int64_t acc) {
    const RequantRegisters& registers =
        layer.requant.size() == 1 ? layer.requant[0] : layer.requant.at(static_cast<std::size_t>(oc));
    const std::int64_t y = sim::requantize(acc, registers);                                        // step 5
    const std::int64_t out =
        add_zero_point_and_clamp(y, layer.output_zero_point, layer.clamp_lo, layer.clamp_hi);       // step 6
    if (layer.output_type == arch::ValueType::int1) return out >= 0 ? 1 : -1;   // no zero: the sign
    return out;
}

QTensor conv(const MacLayer& layer, const QTensor& input) {
    std::vector<std::int64_t> acc;
    conv_accumulators(layer, input, acc);
    return finish_all(layer, output_shape(layer, input.shape), acc);
}

QTensor gemm(const MacLayer& layer, const QTensor& input) {
    std::vector<std::int64_t> acc;
    gemm_accumulators(layer, input, acc);
    return finish_all(layer, output_shape(layer, input.shape), acc);
}

QTensor mac(const MacLayer& layer, const QTensor& input) {
    return layer.kind == MacKind::conv ? conv(layer, input) : gemm(layer, input);
}

}  // namespace bitnpu::sim::reference
