// Rescale a tensor to new quantization parameters (scale changes between
// engines, before a Concat whose scales are not tied, ...):
// y = clamp(requantize(x - z_x, registers[c]) + z_y, lo, hi).
#pragma once

#include <cstdint>
#include <vector>

#include "bitnpu/arch/types.hpp"
#include "bitnpu/sim/datapath/requant.hpp"
#include "bitnpu/sim/functional/qtensor.hpp"

namespace bitnpu::sim {

struct RequantizeLayer {
    std::int64_t input_zero_point = 0;
    std::vector<RequantRegisters> requant;  // one, or one per index along axis
    int axis = 1;
    arch::ValueType output_type = arch::ValueType::int8;
    std::int64_t output_zero_point = 0;
    std::int64_t clamp_lo = -128;
    std::int64_t clamp_hi = 127;
};

std::int64_t requantize_output_element(const RequantizeLayer& layer, std::int64_t channel, std::int64_t x);
// Checks the registers fit an input of this shape (UserError otherwise);
// true when they are per channel along layer.axis. Shared with the cycle model.
bool check_requantize_layer(const RequantizeLayer& layer, const Shape& input_shape);
QTensor run_requantize_layer(const RequantizeLayer& layer, const QTensor& x);

}  // namespace bitnpu::sim
