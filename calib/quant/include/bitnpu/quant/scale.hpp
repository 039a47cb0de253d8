// Scale and zero-point derivation: the one place bitnpu turns a clipping
// range into quantization parameters, and layer scales into requant
// registers. numerics.md "Quantization of real values" and
// numerics.md "Power-of-two and shifter-only hardware" are the contract;
// docs/policies.md explains each rule.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bitnpu/arch/arch_spec.hpp"
#include "bitnpu/arch/types.hpp"
#include "bitnpu/sim/datapath/quantize.hpp"
#include "bitnpu/sim/datapath/requant.hpp"
#include "bitnpu/sim/functional/qtensor.hpp"

namespace bitnpu::calib {

struct ChannelRanges;  // statistics.hpp
struct TensorStats;    // statistics.hpp

// A real-valued clipping range chosen by a policy. Derivation always widens
// it to include 0 (lo <= 0 <= hi) so that 0 is exactly representable.
struct ClipRange {
    double lo = 0.0;
    double hi = 0.0;
};

// The integer grid a tensor is quantized onto.
struct QuantGrid {
    std::int64_t qmin = -128;
    std::int64_t qmax = 127;
    bool binary = false;  // int1: the two levels {-1, +1}; x^ = s * sign(x), no zero level
    bool is_signed() const { return qmin < 0; }
    std::int64_t levels() const { return binary ? 2 : qmax - qmin + 1; }
};

// The grid of a value type (arch::value_range; restricted gives int8 [-127, 127]).
QuantGrid grid_for(arch::ValueType type, bool restricted);

// int8 -> uint8, int4 -> uint4, int1 -> uint1; nullopt when there is none.
std::optional<arch::ValueType> unsigned_counterpart(arch::ValueType type);
// The type an activation is stored in: the unsigned counterpart of `declared`
// when the range is non-negative (after ReLU) and the engine allows it,
// otherwise `declared`.
arch::ValueType activation_type_for(const ClipRange& range, arch::ValueType declared, bool unsigned_allowed);

enum class ScaleMode : std::uint8_t {
    symmetric,   // z = 0, s = max(|lo|, |hi|) / qmax (unsigned grids: s = hi / qmax)
    asymmetric,  // s = (hi - lo) / (qmax - qmin), z = round_half_even(qmin - lo / s)
};

struct ScaleOptions {
    ScaleMode mode = ScaleMode::symmetric;
    bool power_of_two = false;  // s = 2^ceil(log2 s) = 2^-exponent (range still covered)
};

// Scale used when a range carries no information (all zeros, or so small the
// scale would be below FLT_MIN). 1.0 (as ONNX Runtime's quantizer) rather
// than something tiny: it keeps m = s_w s_x / s_y and b / (s_w s_x)
// representable, and any scale represents an all-zero tensor exactly.
inline constexpr float kDegenerateScale = 1.0f;

// One quantizer: scale, zero-point and the grid they map onto.
struct AffineQuant {
    float scale = 1.0f;
    std::int64_t zero_point = 0;
    QuantGrid grid;
    std::optional<int> exponent;  // power-of-two scales: scale == 2^-exponent
    // The real range the grid represents (TFLite's "nudged" range).
    double lo() const;
    double hi() const;
};

// ClipRange + grid + options -> (scale, zero-point). Binary grids are always
// symmetric. Throws std::invalid_argument for NaN bounds.
AffineQuant derive_quant(const ClipRange& range, const QuantGrid& grid, const ScaleOptions& options);
AffineQuant derive_quant(const ClipRange& range, arch::ValueType type, bool restricted, const ScaleOptions& options);

// x -> q with sim::quantize (binary grids: q = x >= 0 ? +1 : -1), and back.
// Inline: the policies' error searches call them per histogram bin and
// candidate range.
inline std::int64_t quantize_value(double x, const AffineQuant& q) {
    if (q.grid.binary) return x >= 0.0 ? 1 : -1;
    return sim::quantize(static_cast<float>(x), q.scale, q.zero_point, q.grid.qmin, q.grid.qmax);
}
inline double fake_quantize(double x, const AffineQuant& q) {
    if (q.grid.binary) return static_cast<double>(sim::dequantize(quantize_value(x, q), q.scale, q.zero_point));
    return static_cast<double>(sim::fake_quantize(static_cast<float>(x), q.scale, static_cast<double>(q.zero_point),
                                                  static_cast<double>(q.grid.qmin), static_cast<double>(q.grid.qmax)));
}

// The integer on the other side of x / s than quantize_value's (the ratio in
// fp32, as sim::quantize divides): the choice learned rounding (AdaRound)
// has. quantize_value's own result when there is none: x / s an integer,
// the other neighbour outside the grid (clipped values), binary grids.
inline std::int64_t other_rounding(double x, const AffineQuant& q) {
    const std::int64_t nearest = quantize_value(x, q);
    if (q.grid.binary) return nearest;
    const double ratio = static_cast<double>(static_cast<float>(x) / q.scale);
    if (!(std::abs(ratio) < 0x1p62)) return nearest;   // NaN, or far outside any grid
    const auto below = static_cast<std::int64_t>(std::floor(ratio)) + q.zero_point;
    if (static_cast<double>(below - q.zero_point) == ratio) return nearest;
    const std::int64_t other = nearest == below ? below + 1 : nearest == below + 1 ? below : nearest;
    return other < q.grid.qmin || other > q.grid.qmax ? nearest : other;
}

// Quantization parameters of one tensor: sim's, the one type (qtensor.hpp).
using sim::QuantParams;

// Channel c's scale, zero-point, exponent and grid (c is ignored for
// per-tensor params).
AffineQuant channel_quant(const QuantParams& params, std::size_t c);

// Activation parameters from one clipping range.
QuantParams activation_params(const ClipRange& range, arch::ValueType type, bool restricted,
                              const ScaleOptions& options);

// Weight parameters from per-channel ranges: one scale per channel when
// per_channel (use it when the engine's requant is per_channel), otherwise
// one scale over all channels. Weights are symmetric (z = 0) unless
// options.mode is asymmetric (engines with weight zero-points).
// The SQNR (dB) the per-tensor grid `params` gives on every value the
// statistics observed (signed histogram, each bin's mass at its center):
// 10 log10(sum n x^2 / sum n (x - Q(x))^2), clipping and rounding together;
// +inf when the grid holds every center exactly. The search uses it to catch
// a candidate that clips values the calibration data holds but its slice
// does not.
double calibration_sqnr_db(const TensorStats& stats, const QuantParams& params);
// A function applied to a tensor's values one by one (a lookup-table op's
// FP32 kernel): values in, the function's values out, same count.
using ValueMap = std::function<std::vector<float>(const std::vector<float>&)>;
// The same SQNR after f: 10 log10(sum n f(x)^2 / sum n (f(x) - f(Q(x)))^2),
// the error the grid causes at the output of the lookup-table op that reads
// the tensor (a Sigmoid's input grid may clip where the Sigmoid is flat).
double calibration_sqnr_db(const TensorStats& stats, const QuantParams& params, const ValueMap& f);
// The mean of x^2 over everything the statistics saw (signed histogram,
// bin centers); 0 when empty.
double calibration_mean_square(const TensorStats& stats);

QuantParams weight_params(const ChannelRanges& ranges, arch::ValueType type, bool restricted, bool per_channel,
                          const ScaleOptions& options);

// Bias scales s_b[c] = s_w[c] * s_x, computed in fp32 (as ONNX Runtime's
// quantizer does). The bias is then b_q = round_half_even(b / s_b) saturated
// to bias.bits (numerics.md "MAC step 3: bias").
std::vector<float> bias_scales(const QuantParams& weight, float input_scale);

// Whether an engine can only realize power-of-two multipliers (shifter
// requant): then activations and weights need power-of-two scales so that
// m = s_w s_x / s_y = 2^(f_y - f_w - f_x) is exact.
bool needs_power_of_two_scales(const arch::EngineSpec& engine);
// f with s == 2^-f exactly, or nothing when s is not a power of two.
std::optional<int> power_of_two_exponent(double s);

// The requant unit of one output channel of a MAC layer.
struct ChannelRequant {
    double ideal = 0.0;            // m = s_w[c] s_x / s_y
    sim::DerivedRequant derived;   // registers and realized m' (sim::derive_requant)
};

// m = s_w s_x / s_y per weight scale -> sim::derive_requant (never re-derived
// here). For requant kind float32, m is computed in fp32 as (s_x * s_w) / s_y,
// the order ONNX Runtime's QLinearConv/QLinearMatMul use, so the fp32
// multiplier matches it bit for bit; other kinds compute m in double.
// Returns one entry per weight scale. Throws UserError (naming `layer`) when
// the weights are per channel but the engine's requant is per tensor, or when
// the unit cannot represent some m.
std::vector<ChannelRequant> derive_layer_requant(const QuantParams& weight, float input_scale, float output_scale,
                                                 const arch::EngineSpec& engine, const std::string& layer = "");

}  // namespace bitnpu::calib
