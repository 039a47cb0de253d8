// Reference pooling (sim/reference/pool.hpp), from numerics.md "MaxPool" and
// numerics.md "AveragePool and GlobalAveragePool".
#include "bitnpu/sim/reference/pool.hpp"

#include <algorithm>
#include <string>

#include "bitnpu/sim/datapath/accumulate.hpp"
#include "bitnpu/sim/datapath/requant.hpp"
#include "check.hpp"

namespace bitnpu::sim::reference {

namespace {

// The flat index of element [i0, i1, i2, i3] of a row-major 4-D tensor of
// shape `dims` (TFLite's Offset).
std::size_t offset(const Shape& dims, std::int64_t i0, std::int64_t i1, std::int64_t i2, std::int64_t i3) {
    return static_cast<std::size_t>(((i0 * dims[1] + i1) * dims[2] + i2) * dims[3] + i3);
}

// The window of a layer on one input shape, every attribute resolved
// (GlobalPool: the whole plane, stride 1, no padding).
struct Window {
    std::int64_t kernel_height, kernel_width;
    int stride_height, stride_width, dilation_height, dilation_width;
    int pad_top, pad_left, pad_bottom, pad_right;
};

Window window_of(const PoolGeometry& g, const Shape& input_shape) {
    if (g.global) return {input_shape[2], input_shape[3], 1, 1, 1, 1, 0, 0, 0, 0};
    return {g.kernel_h, g.kernel_w, g.stride_h, g.stride_w, g.dilation_h, g.dilation_w,
            g.pad_top, g.pad_left, g.pad_bottom, g.pad_right};
}

// ONNX's output size of one dimension. With ceil_mode the last window must
// still start inside the input or its leading padding.
std::int64_t pool_output_size(std::int64_t input, std::int64_t kernel, int stride, int pad_begin, int pad_end,
                              int dilation, bool ceil_mode) {
    const std::int64_t dilated_kernel = static_cast<std::int64_t>(dilation) * (kernel - 1) + 1;
    const std::int64_t room = input + pad_begin + pad_end - dilated_kernel;
    if (room < 0) return 0;
    std::int64_t size = (ceil_mode ? (room + stride - 1) / stride : room / stride) + 1;
    if (ceil_mode && (size - 1) * stride >= input + pad_begin) size -= 1;
    return size;
}

}  // namespace

Shape output_shape(const PoolGeometry& geometry, const Shape& input_shape) {
    check(input_shape.size() == 4, "pooling needs an [N, C, H, W] input");
    if (geometry.global) return {input_shape[0], input_shape[1], 1, 1};
    check(geometry.kernel_h >= 1 && geometry.kernel_w >= 1 && geometry.stride_h >= 1 && geometry.stride_w >= 1 &&
              geometry.dilation_h >= 1 && geometry.dilation_w >= 1,
          "pooling kernel, strides and dilations must be >= 1");
    const Window w = window_of(geometry, input_shape);
    return {input_shape[0], input_shape[1],
            pool_output_size(input_shape[2], w.kernel_height, w.stride_height, w.pad_top, w.pad_bottom,
                             w.dilation_height, geometry.ceil_mode),
            pool_output_size(input_shape[3], w.kernel_width, w.stride_width, w.pad_left, w.pad_right,
                             w.dilation_width, geometry.ceil_mode)};
}

QTensor max_pool(const MaxPoolLayer& layer, const QTensor& input) {
    // Shapes.
    const Shape shape = output_shape(layer.geometry, input.shape);
    check(element_count(input.shape) == input.size(), "MaxPool input values do not match its shape");
    const Window w = window_of(layer.geometry, input.shape);
    const std::int64_t batches = input.shape[0], depth = input.shape[1];
    const std::int64_t input_height = input.shape[2], input_width = input.shape[3];
    const std::int64_t output_height = shape[2], output_width = shape[3];
    QTensor output(shape, input.quant);   // exact on codes: the input's quantization

    for (std::int64_t batch = 0; batch < batches; ++batch)
        for (std::int64_t channel = 0; channel < depth; ++channel)
            for (std::int64_t out_y = 0; out_y < output_height; ++out_y)
                for (std::int64_t out_x = 0; out_x < output_width; ++out_x) {
                    bool any = false;
                    std::int64_t largest = 0;
                    for (std::int64_t filter_y = 0; filter_y < w.kernel_height; ++filter_y) {
                        const std::int64_t in_y = out_y * w.stride_height - w.pad_top + filter_y * w.dilation_height;
                        for (std::int64_t filter_x = 0; filter_x < w.kernel_width; ++filter_x) {
                            const std::int64_t in_x = out_x * w.stride_width - w.pad_left + filter_x * w.dilation_width;
                            // Padding never wins: only positions inside the input compete.
                            if (in_y < 0 || in_y >= input_height || in_x < 0 || in_x >= input_width) continue;
                            const std::int64_t value = input.values[offset(input.shape, batch, channel, in_y, in_x)];
                            largest = any ? std::max(largest, value) : value;
                            any = true;
                        }
                    }
                    check(any, "a MaxPool window lies entirely in the padding");
                    output.values[offset(shape, batch, channel, out_y, out_x)] = static_cast<std::int32_t>(largest);
                }
    return output;
}

QTensor average_pool(const AvgPoolLayer& layer, const QTensor& input) {
    // Parameters.
    const std::int64_t input_zero_point = layer.input_zero_point;
    const AccumulatorRule& accumulator = layer.accumulator;
    const std::int64_t output_zero_point = layer.output_zero_point;
    const std::int64_t clamp_lo = layer.clamp_lo, clamp_hi = layer.clamp_hi;
    const bool count_include_pad = layer.count_include_pad;

    // Shapes.
    const Shape shape = output_shape(layer.geometry, input.shape);
    check(element_count(input.shape) == input.size(), "AveragePool input values do not match its shape");
    const Window w = window_of(layer.geometry, input.shape);
    const std::int64_t batches = input.shape[0], depth = input.shape[1];
    const std::int64_t input_height = input.shape[2], input_width = input.shape[3];
    const std::int64_t output_height = shape[2], output_width = shape[3];
    QTensor output(shape, per_tensor(layer.output_type, 1.0f, output_zero_point));

    for (std::int64_t batch = 0; batch < batches; ++batch)
        for (std::int64_t channel = 0; channel < depth; ++channel)
            for (std::int64_t out_y = 0; out_y < output_height; ++out_y)
                for (std::int64_t out_x = 0; out_x < output_width; ++out_x) {
                    std::int64_t acc = 0, inside = 0, inside_padded = 0;
                    for (std::int64_t filter_y = 0; filter_y < w.kernel_height; ++filter_y) {
                        const std::int64_t in_y = out_y * w.stride_height - w.pad_top + filter_y * w.dilation_height;
                        for (std::int64_t filter_x = 0; filter_x < w.kernel_width; ++filter_x) {
                            const std::int64_t in_x = out_x * w.stride_width - w.pad_left + filter_x * w.dilation_width;
                            if (in_y >= -w.pad_top && in_y < input_height + w.pad_bottom && in_x >= -w.pad_left &&
                                in_x < input_width + w.pad_right)
                                ++inside_padded;
                            // A padded position reads z_x: it adds 0.
                            if (in_y < 0 || in_y >= input_height || in_x < 0 || in_x >= input_width) continue;
                            const std::int64_t value = input.values[offset(input.shape, batch, channel, in_y, in_x)];
                            acc = accumulate(acc, value - input_zero_point, accumulator);
                            ++inside;
                        }
                    }
                    // N, the number of elements averaged: its own register set (m = s_x / (s_y N)).
                    const std::int64_t count = count_include_pad ? inside_padded : inside;
                    const auto registers = layer.registers_by_count.find(count);
                    check(registers != layer.registers_by_count.end(),
                          "AveragePool has no requant registers for a window of " + std::to_string(count) + " elements");
                    const std::int64_t y = sim::requantize(acc, registers->second);
                    output.values[offset(shape, batch, channel, out_y, out_x)] =
                        static_cast<std::int32_t>(add_zero_point_and_clamp(y, output_zero_point, clamp_lo, clamp_hi));
                }
    return output;
}

}  // namespace bitnpu::sim::reference
