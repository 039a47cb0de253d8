// Concat on a vector engine: each input is requantized to the output scale,
// or copied when the calibrator tied its scale and zero-point to the output's.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "bitnpu/arch/types.hpp"
#include "bitnpu/sim/datapath/requant.hpp"
#include "bitnpu/sim/functional/qtensor.hpp"

namespace bitnpu::sim {

// The scales of an fp32 vector unit's rescale (fp32_vector::rescale).
struct Fp32Rescale {
    float input_scale = 1.0f;
    float output_scale = 1.0f;
};

struct ConcatInput {
    std::int64_t zero_point = 0;
    std::optional<RequantRegisters> requant;  // nullopt: plain copy (tied scales)
    // An fp32 vector unit (requant kind float32): the input is rescaled as
    // fp32_vector::rescale with these scales, clamped to [clamp_lo, clamp_hi];
    // `requant` is then informational.
    std::optional<Fp32Rescale> fp32;
};

struct ConcatLayer {
    int axis = 1;                             // negative counts from the end
    std::vector<ConcatInput> inputs;
    arch::ValueType output_type = arch::ValueType::int8;
    std::int64_t output_zero_point = 0;
    std::int64_t clamp_lo = -128;
    std::int64_t clamp_hi = 127;
};

// One output element from input i's code: copy, or
// clamp(requantize(x - z_i) + z_y, lo, hi).
std::int64_t concat_output_element(const ConcatLayer& layer, std::size_t input, std::int64_t x);

// The checked geometry of a Concat (shared with the cycle model): the axis
// resolved, the output shape, and the products of the dimensions before
// (outer) and after (inner) the axis. UserError when the inputs do not fit.
struct ConcatGeometry {
    int axis = 0;
    Shape out_shape;
    std::int64_t outer = 1, inner = 1;
};
ConcatGeometry concat_geometry(const ConcatLayer& layer, const std::vector<const QTensor*>& inputs);

QTensor run_concat_layer(const ConcatLayer& layer, const std::vector<const QTensor*>& inputs);

}  // namespace bitnpu::sim
