// Resize in linear (bilinear) mode on a vector engine (numerics.md "Resize").
// The output keeps the input's quantization: a bilinear value is a convex
// combination of four input codes, so it lies on the input's grid range and
// needs no requantization. Each output element is
//   y = round_shift(sum of w_ab * x_ab, 2 * kResizeFractionBits, rounding)
// over the four neighbours, with weights w = (2^F - f) or f per axis from the
// fixed-point source coordinate (resize_source).
#pragma once

#include <cstdint>

#include "bitnpu/arch/types.hpp"
#include "bitnpu/sim/functional/qtensor.hpp"

namespace bitnpu::sim {

// Fraction bits of the source coordinate (TFLite's integer bilinear resize
// uses the same 10).
inline constexpr int kResizeFractionBits = 10;

// ONNX coordinate_transformation_mode (the ones real exporters write).
enum class ResizeCoordinates { half_pixel, pytorch_half_pixel, align_corners, asymmetric };

struct ResizeLayer {
    ResizeCoordinates coordinates = ResizeCoordinates::half_pixel;
    std::int64_t out_h = 0, out_w = 0;
    double scale_h = 1.0, scale_w = 1.0;      // ONNX scales (output / input size) of H and W
    arch::RoundingMode rounding = arch::RoundingMode::half_up;   // the engine's
    // An fp32 vector unit (requant kind float32): source coordinates in fp32
    // and truncated to F fraction bits (resize_source_fp32), rounding trunc,
    // as ONNX Runtime's integer bilinear kernel computes (numerics.md "fp32
    // vector units").
    bool fp32_coordinates = false;
};

// One output coordinate along an axis: input indices lo <= hi and the weight
// of hi in units of 2^-kResizeFractionBits (the weight of lo is 2^F - frac).
struct ResizeTap {
    std::int64_t lo = 0, hi = 0;
    std::int64_t frac = 0;
};
// The source coordinate of output index `out` (ONNX's formula for the mode,
// in double), clamped to [0, in_size - 1], rounded half up to F fraction bits.
ResizeTap resize_source(ResizeCoordinates mode, std::int64_t out, std::int64_t in_size, std::int64_t out_size,
                        double scale);
// The same on an fp32 unit: the coordinate c in fp32 with fp32(scale) (a
// scale of exactly 1 gives c = out), clamped to [0, in_size - 1] in fp32,
// lo = trunc(c), frac = trunc(c * 2^F) - lo * 2^F (ONNX Runtime's
// NhwcUpsampleBilinearInteger).
ResizeTap resize_source_fp32(ResizeCoordinates mode, std::int64_t out, std::int64_t in_size, std::int64_t out_size,
                             float scale);

// [N, C, out_h, out_w] for an [N, C, H, W] input.
Shape resize_output_shape(const ResizeLayer& layer, const Shape& input_shape);

// Output element e (flat index in the output) from the input tensor.
std::int64_t resize_output_element(const ResizeLayer& layer, const QTensor& x, std::int64_t e);

QTensor run_resize_layer(const ResizeLayer& layer, const QTensor& x);

}  // namespace bitnpu::sim
