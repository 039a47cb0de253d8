// im2col: lays the receptive fields of a range of output positions out as
// columns, so a convolution becomes one GEMM (weights [M, K] x columns [K, P]).
#pragma once

#include <cstdint>

#include "bitnpu/fp32/window.hpp"

namespace bitnpu::calib::ops {

// x: `channels` input channels of one image (each channel contiguous, extent
// g.input). Fills col, row-major [channels * prod(g.kernel)] x [p1 - p0],
// for output positions p0 <= p < p1 (row-major over g.output). Rows enumerate
// (channel, kernel position) with the last kernel axis fastest, matching
// ONNX's weight layout [M, C/group, k...] flattened.
void im2col(const float* x, std::int64_t channels, const WindowGeometry& g, std::int64_t p0, std::int64_t p1,
            float* col);

// The inverse scatter-add (col2im) used by ConvTranspose: adds every column
// entry into the image position it was read from; out-of-image entries drop.
void col2im_add(const float* col, std::int64_t channels, const WindowGeometry& g, float* x);

}  // namespace bitnpu::calib::ops
