// MaxPool, AveragePool and their Global forms on a vector engine.
// MaxPool is exact on integers. AveragePool sums (x - z_x) over the window in
// the accumulator, then requantizes with m = s_x / (s_y * N). N, the number
// of elements averaged, differs at the borders when count_include_pad = 0, so
// the layer holds one register set per distinct N (window_counts() lists them).
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "bitnpu/arch/types.hpp"
#include "bitnpu/sim/datapath/accumulate.hpp"
#include "bitnpu/sim/datapath/requant.hpp"
#include "bitnpu/sim/functional/qtensor.hpp"

namespace bitnpu::sim {

// ONNX pooling attributes. global = true: the window is the whole plane.
struct PoolGeometry {
    bool global = false;
    int kernel_h = 1, kernel_w = 1;
    int stride_h = 1, stride_w = 1;
    int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
    int dilation_h = 1, dilation_w = 1;
    bool ceil_mode = false;
};

struct MaxPoolLayer {
    PoolGeometry geometry;
};

struct AvgPoolLayer {
    PoolGeometry geometry;
    bool count_include_pad = false;       // N counts padded positions (they read z_x)
    std::int64_t input_zero_point = 0;
    AccumulatorRule accumulator;
    std::map<std::int64_t, RequantRegisters> registers_by_count;  // N -> registers for s_x / (s_y N)
    arch::ValueType output_type = arch::ValueType::int8;
    std::int64_t output_zero_point = 0;
    std::int64_t clamp_lo = -128;
    std::int64_t clamp_hi = 127;
};

// [N, C, OH, OW] for an [N, C, H, W] input.
Shape pool_output_shape(const PoolGeometry& g, const Shape& input_shape);

// One output window: the input positions it reads (inside the input) and the
// number of window positions inside the padded input.
struct PoolWindow {
    std::vector<std::int64_t> offsets;    // y * W + x within one plane, in window order
    std::int64_t padded_count = 0;
};
PoolWindow pool_window(const PoolGeometry& g, const Shape& input_shape, std::int64_t out_y, std::int64_t out_x);

// The distinct window counts N an AvgPoolLayer meets on this input shape: the
// calibrator programs registers_by_count for each.
std::vector<std::int64_t> window_counts(const AvgPoolLayer& layer, const Shape& input_shape);

// One output element from the window's input values (raw x_q, window order).
std::int64_t avg_pool_output_element(const AvgPoolLayer& layer, const std::int32_t* values, std::int64_t valid,
                                     std::int64_t count);

QTensor run_max_pool_layer(const MaxPoolLayer& layer, const QTensor& x);
QTensor run_avg_pool_layer(const AvgPoolLayer& layer, const QTensor& x);

}  // namespace bitnpu::sim
