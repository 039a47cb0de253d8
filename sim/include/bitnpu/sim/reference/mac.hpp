// The reference MAC layer: Conv (dense, grouped, depthwise; strides, pads,
// dilations), Gemm and MatMul, binary (int1) layers included, written from
// numerics.md "The MAC datapath" in the style of TFLite's reference kernels:
// the parameters unpacked into named locals, the shapes checked, then nested
// loops over the ONNX index space in which every step is one call into
// sim/datapath (product, accumulate, the bias at its stage, requantize, zero-
// point and clamp). It shares no code with the fast kernel (mac_fast.hpp),
// which is tested against it, and is as slow as it looks.
#pragma once

#include <cstdint>
#include <vector>

#include "bitnpu/sim/functional/mac_layer.hpp"
#include "bitnpu/sim/functional/qtensor.hpp"

namespace bitnpu::sim::reference {

// The output shape for an input shape (UserError when they do not fit):
// conv [N, C_out, OH, OW] with OH = floor((H + pads - dilation (kH - 1) - 1)
// / stride) + 1 (0 when the padded input is shorter than the kernel); gemm the
// input shape with its last dimension K replaced by N_out.
Shape output_shape(const MacLayer& layer, const Shape& input_shape);

// Steps 1-4 of every output element (the accumulator: the products in the
// canonical k order, the bias at its stage, the overflow rule after every
// addition), in the output's layout. Any accumulator width (int64 values).
std::vector<std::int64_t> accumulators(const MacLayer& layer, const QTensor& input);

// What the accumulator did on one input (overflow statistics, archsweep):
// the steps whose sum left the accumulator's range (and so wrapped or
// saturated), and the largest |partial sum| of the exact, unbounded running
// sums in the canonical order, against the accumulator's range.
struct AccumulatorStats {
    std::int64_t outputs = 0;              // output elements accumulated
    std::int64_t steps = 0;                // accumulation steps (products and the bias)
    std::int64_t overflowed_steps = 0;     // steps whose result left [acc_min, acc_max]
    std::int64_t overflowed_outputs = 0;   // outputs with at least one such step
    std::int64_t max_abs_partial = 0;      // largest |exact running sum| (saturates at int64)
    std::int64_t accumulator_max = 0;      // 2^(bits - 1) - 1
};
AccumulatorStats accumulator_stats(const MacLayer& layer, const QTensor& input);

// Steps 5-6 of one element of output channel oc: requantize by the channel's
// registers, add z_y, clamp; an int1 output is the sign (sign(0) = +1).
std::int64_t finish(const MacLayer& layer, std::int64_t oc, std::int64_t acc);

// The layer's output, all six steps; the tensor carries
// per_tensor(output_type, 1, z_y), as run_mac_layer's does.
QTensor conv(const MacLayer& layer, const QTensor& input);   // layer.kind == MacKind::conv
QTensor gemm(const MacLayer& layer, const QTensor& input);   // layer.kind == MacKind::gemm
QTensor mac(const MacLayer& layer, const QTensor& input);    // either, by layer.kind

}  // namespace bitnpu::sim::reference
