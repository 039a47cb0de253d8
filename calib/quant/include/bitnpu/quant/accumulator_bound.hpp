// Accumulator-aware weight scales (A2Q, Colbert et al., ICCV 2023), for MAC
// engines whose accumulator is narrower than a dot product's worst case
// (numerics.md "Accumulator-aware weight bound" is the contract). The rule is
// on the integers the datapath adds: the rounded weights, the operand range
// x_q - z_x of the input type and the quantized bias at its stage, so "fits"
// means no input whatsoever makes a partial or final sum leave the
// accumulator's range (and so wrap or saturate).
#pragma once

#include <cstdint>
#include <vector>

#include "bitnpu/arch/arch_spec.hpp"
#include "bitnpu/graph/tensor.hpp"
#include "bitnpu/quant/scale.hpp"
#include "bitnpu/sim/functional/mac_layer.hpp"

namespace bitnpu::calib {

// x_q - z_x over every value of the input type (numerics.md "MAC step 1:
// operands"): [qmin - z_x, qmax - z_x]. uint8 with z_x = 0 gives [0, 255],
// int8 with z_x = -128 gives [0, 255] too, int8 with z_x = 0 [-128, 127].
struct OperandRange {
    std::int64_t lo = 0;
    std::int64_t hi = 0;
};
OperandRange input_operand_range(arch::ValueType input_type, std::int64_t input_zero_point);

// The smallest and largest exact running sum (bias included at its stage)
// any input can make one output channel's accumulator hold.
struct RunningSumRange {
    std::int64_t lo = 0;
    std::int64_t hi = 0;
};
// w: the channel's K integer weights (before z_w is subtracted), b_q its
// quantized bias. Each product w_k (x_k - z_x) reaches its extremes at an
// end of the operand range, and the input that maximizes one partial sum
// (every x_k at the end whose sign matches w_k - z_w) maximizes every one,
// so the result is exact: some input reaches each bound.
RunningSumRange running_sum_range(const std::int32_t* w, std::int64_t k, std::int64_t weight_zero_point,
                                  OperandRange x, std::int64_t bias, arch::BiasStage stage);
// Whether [lo, hi] lies inside the signed range of `bits` (2..64).
bool fits_accumulator(const RunningSumRange& r, int bits);

// Per output channel of a lowered layer: true where some input can make the
// accumulator wrap or saturate (running_sum_range over the input type's
// whole range, input_operand_range does not fit accumulator.bits).
std::vector<bool> overflowable_channels(const sim::MacLayer& layer);

// What the accumulator-aware scales must respect.
struct AccumulatorBudget {
    OperandRange input;                            // input_operand_range of the layer's input
    double input_scale = 1.0;                      // s_x, for b_q = round(b / (s_w s_x))
    std::vector<double> bias;                      // float bias per output channel; empty: none
    int bias_bits = 32;
    int accumulator_bits = 32;
    arch::BiasStage bias_stage = arch::BiasStage::preload;
};

// Weight scales no coarser than needed and never finer than `clipped` (the
// normal clipping's symmetric weight quantization, per channel or per
// tensor) such that, with the weights rounded on them and the bias quantized
// at s_w s_x, every channel's running_sum_range fits the accumulator. Starts
// from clipped's scale and grows it by the overshoot of the integer extremes
// (doubling it for power-of-two scales) until the integers fit, so rounding
// is accounted for. weight: [C_out, ...], K values per channel, in the
// layout of the MAC layer. Throws UserError for binary or asymmetric
// weights (their scale cannot bound the integers) and for a bias of the
// wrong length.
QuantParams accumulator_bounded_weights(const Tensor& weight, const QuantParams& clipped,
                                        const AccumulatorBudget& budget);

// The scales a fraction t of the way from `clipped` to `bounded` in the log
// domain, s = s_clip (s_bound / s_clip)^t per scale (t = 0: clipped, 1:
// bounded; power-of-two grids: the exponent rounded half up); one t per
// scale, or one for all. Only t = 1 carries the guarantee; the calibrator's
// `auto` mode judges the ones in between by simulation (overflow rare and
// cheap rather than impossible).
QuantParams scales_between(const QuantParams& clipped, const QuantParams& bounded, const std::vector<double>& t);

}  // namespace bitnpu::calib
