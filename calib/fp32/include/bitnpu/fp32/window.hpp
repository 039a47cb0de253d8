// Sliding-window geometry shared by Conv, ConvTranspose and the pools:
// kernel, strides, dilations, pads (explicit or auto_pad) and output size.
#pragma once

#include <cstdint>
#include <vector>

#include "bitnpu/fp32/kernel.hpp"

namespace bitnpu::calib::ops {

struct WindowGeometry {
    std::vector<std::int64_t> input;       // spatial input extent
    std::vector<std::int64_t> kernel;
    std::vector<std::int64_t> stride;
    std::vector<std::int64_t> dilation;
    std::vector<std::int64_t> pad_begin;
    std::vector<std::int64_t> pad_end;
    std::vector<std::int64_t> output;      // spatial output extent
    std::size_t rank() const { return input.size(); }
};

// Reads strides/dilations/pads/auto_pad from the node for a window of the
// given kernel extent over `input_spatial`. ceil_mode: pooling's rounding of
// the output size up (the last window must still start inside the input or
// its begin padding).
WindowGeometry window_geometry(const KernelContext& ctx, const std::vector<std::int64_t>& input_spatial,
                               const std::vector<std::int64_t>& kernel, bool ceil_mode = false);

// Row-major strides of a shape.
std::vector<std::int64_t> row_major_strides(const Shape& shape);

}  // namespace bitnpu::calib::ops
