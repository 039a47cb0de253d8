// The fp32 vector unit: a vector engine whose requant kind is float32 (an
// fp32 scaler, configs/ort_cpu.yaml) computes its elementwise ops in IEEE
// binary32, every step rounded to nearest even, in the order ONNX Runtime's
// x86-64 CPU kernels use (numerics.md "fp32 vector units"), so a model
// calibrated for such an engine runs bit for bit in ONNX Runtime's
// QLinearAdd, QLinearMul and QLinearGlobalAveragePool (docs/export.md).
// Each rule is one named function with its exact definition; fp32(e) below
// means e rounded to binary32, fma(a, b, c) one rounding of a * b + c.
//
// The build sets -ffp-contract=off, so no product below is fused with a
// following add unless the rule says fma (std::fma, one rounding, the same
// result with or without FMA hardware).
#pragma once

#include <cmath>
#include <cstdint>

#include "bitnpu/sim/datapath/quantize.hpp"

namespace bitnpu::sim::fp32_vector {

// ---- Add -------------------------------------------------------------------
// The unit's constants for y = a' + b' (a' = s_a (a - z_a), ...):
//   ratio_a = fp32(s_a / s_y), ratio_b = fp32(s_b / s_y)
//   offset  = fp32(z_y - fma(ratio_a, z_a, fp32(ratio_b * z_b)))
// (ONNX Runtime's MlasQLinearAddKernelAvx2Helper: the zero points folded into
// one fp32 offset, computed once per layer.)
struct AddUnit {
    float ratio_a = 1.0f;
    float ratio_b = 1.0f;
    float offset = 0.0f;
};

// The unit for given ratios (a CTable's float_scale registers).
inline AddUnit add_unit_from_ratios(float ratio_a, std::int64_t z_a, float ratio_b, std::int64_t z_b,
                                    std::int64_t z_y) {
    AddUnit u;
    u.ratio_a = ratio_a;
    u.ratio_b = ratio_b;
    const float zb_term = ratio_b * static_cast<float>(z_b);
    u.offset = static_cast<float>(z_y) - std::fma(ratio_a, static_cast<float>(z_a), zb_term);
    return u;
}

inline AddUnit add_unit(float s_a, std::int64_t z_a, float s_b, std::int64_t z_b, float s_y, std::int64_t z_y) {
    return add_unit_from_ratios(s_a / s_y, z_a, s_b / s_y, z_b, z_y);
}

// y = round_half_even(fma(a, ratio_a, fma(b, ratio_b, offset))), the output
// zero point included (the caller clamps to the output type).
// Example: s_a = s_b = 0.1, s_y = 0.2, all z = 0: ratio = 0.5, a = 3, b = 2
// gives fma(3, 0.5, fma(2, 0.5, 0)) = 2.5 -> 2 (ties to even).
inline std::int64_t add(std::int64_t a, std::int64_t b, const AddUnit& u) {
    const float inner = std::fma(static_cast<float>(b), u.ratio_b, u.offset);
    return round_half_even(static_cast<double>(std::fma(static_cast<float>(a), u.ratio_a, inner)));
}

// ---- Mul -------------------------------------------------------------------
// ratio = fp32(fp32(s_a * s_b) / s_y) (ONNX Runtime's MlasQLinearMul).
inline float mul_ratio(float s_a, float s_b, float s_y) {
    const float product = s_a * s_b;
    return product / s_y;
}

// y = round_half_even(fp32(fp32(p * ratio) + z_y)) with the exact integer
// product p = (a - z_a)(b - z_b): the zero point is added in fp32 before the
// rounding. Example: p = 5, ratio = 0.5, z_y = 0: fp32(2.5) -> 2.
inline std::int64_t mul(std::int64_t product, float ratio, std::int64_t z_y) {
    const float scaled = static_cast<float>(product) * ratio;
    const float shifted = scaled + static_cast<float>(z_y);
    return round_half_even(static_cast<double>(shifted));
}

// ---- Global average ------------------------------------------------------------
// The float32 requant scale of an average over n values:
// fp32(s_x / fp32(s_y * n)) (ONNX Runtime's MlasQLinearGlobalAveragePool;
// the accumulator sum(x - z_x) is then requantized as a MAC's is).
inline float average_scale(float s_x, float s_y, std::int64_t n) {
    const float denominator = s_y * static_cast<float>(n);
    return s_x / denominator;
}

// ---- Rescale (a Concat input quantized differently from the output) -------------
// out = quantize(dequantize(q, s_x, z_x), s_y, z_y, qmin, qmax): the real
// value fp32((q - z_x) * s_x), divided by s_y in fp32, rounded half to even,
// plus z_y, clamped (ONNX Runtime's QLinearConcat builds its table so).
// Example: q = 3, s_x = 0.5, s_y = 1.0, zero-points 0: 1.5 -> 2.
inline std::int64_t rescale(std::int64_t q, float s_x, std::int64_t z_x, float s_y, std::int64_t z_y,
                            std::int64_t qmin, std::int64_t qmax) {
    return quantize(dequantize(q, s_x, z_x), s_y, z_y, qmin, qmax);
}

}  // namespace bitnpu::sim::fp32_vector
