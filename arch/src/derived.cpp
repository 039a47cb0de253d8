// Derived facts (derived.hpp). All arithmetic is done in 128 bits so that
// 64-bit accumulators and their extreme products cannot overflow here.
#include "bitnpu/arch/derived.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace bitnpu::arch {

namespace {

using int128 = __int128;
constexpr std::int64_t kUnbounded = std::numeric_limits<std::int64_t>::max();

bool is_vector(const EngineSpec& e) { return e.kind == EngineKind::vector; }

std::int64_t clamp_to_int64(int128 v) {
    if (v > kUnbounded) return kUnbounded;
    if (v < std::numeric_limits<std::int64_t>::min()) return std::numeric_limits<std::int64_t>::min();
    return static_cast<std::int64_t>(v);
}

// floor(numerator / denominator) for denominator > 0.
int128 floor_div(int128 numerator, int128 denominator) {
    int128 q = numerator / denominator;
    if ((numerator % denominator != 0) && (numerator < 0)) --q;
    return q;
}

std::int64_t safe_k(ValueRange product, ValueRange bias, ValueRange acc) {
    int128 k = kUnbounded;
    if (product.max > 0) k = std::min(k, floor_div(int128{acc.max} - bias.max, product.max));
    if (product.min < 0) k = std::min(k, floor_div(int128{bias.min} - acc.min, -int128{product.min}));
    return clamp_to_int64(std::max<int128>(k, 0));
}

}  // namespace

ValueRange signed_range(int bits) {
    if (bits >= 64) return {std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()};
    const std::int64_t half = std::int64_t{1} << (bits - 1);
    return {-half, half - 1};
}

int signed_bits_for(ValueRange r) {
    for (int bits = 1; bits < 64; ++bits) {
        const ValueRange s = signed_range(bits);
        if (s.min <= r.min && r.max <= s.max) return bits;
    }
    return 64;
}

ValueRange operand_range(ValueType t, bool restricted, bool has_zero_point) {
    const ValueRange stored = value_range(t, restricted);
    if (!has_zero_point) return stored;
    // z is itself a code of the type, so x - z spans [min - max, max - min].
    return {stored.min - stored.max, stored.max - stored.min};
}

ValueRange product_of(ValueRange x, ValueRange y) {
    const std::int64_t corners[] = {x.min * y.min, x.min * y.max, x.max * y.min, x.max * y.max};
    return {*std::min_element(std::begin(corners), std::end(corners)),
            *std::max_element(std::begin(corners), std::end(corners))};
}

ValueRange activation_range(const EngineSpec& e, const Precision& p) {
    return value_range(p.activation, e.restricted_range);
}

ValueRange weight_range(const EngineSpec& e, const Precision& p) {
    if (!p.weight) return {1, 1};
    return value_range(*p.weight, e.restricted_range);
}

ValueRange activation_operand_range(const EngineSpec& e, const Precision& p) {
    return operand_range(p.activation, e.restricted_range, e.zero_point.activation);
}

ValueRange weight_operand_range(const EngineSpec& e, const Precision& p) {
    if (!p.weight) return {1, 1};
    return operand_range(*p.weight, e.restricted_range, e.zero_point.weight);
}

ValueRange product_range(const EngineSpec& e, const Precision& p) {
    return product_of(weight_operand_range(e, p), activation_operand_range(e, p));
}

int product_bits(const EngineSpec& e, const Precision& p) { return signed_bits_for(product_range(e, p)); }

ValueRange accumulator_range(const EngineSpec& e) { return signed_range(e.accumulator.bits); }

ValueRange bias_range(const EngineSpec& e) {
    if (is_vector(e)) return {0, 0};
    return signed_range(e.bias.bits);
}

std::int64_t max_safe_k(const EngineSpec& e, const Precision& p) {
    return safe_k(product_range(e, p), bias_range(e), accumulator_range(e));
}

std::int64_t max_safe_k_without_bias(const EngineSpec& e, const Precision& p) {
    return safe_k(product_range(e, p), ValueRange{0, 0}, accumulator_range(e));
}

RequantLimits requant_limits(const RequantSpec& r) {
    RequantLimits limits;
    const int max_right_shift = (1 << r.shift_bits) - 1;
    switch (r.kind) {
        case RequantKind::shifter:
            limits.multiplier_min = limits.multiplier_max = 1;
            limits.shift_min = r.allow_left_shift ? -max_right_shift : 0;
            limits.shift_max = max_right_shift;
            limits.realized_min = std::ldexp(1.0, -limits.shift_max);
            limits.realized_max = std::ldexp(1.0, -limits.shift_min);
            break;
        case RequantKind::multiplier: {
            const std::int64_t m_max = (std::int64_t{1} << r.multiplier_bits) - 1;
            limits.multiplier_max = m_max;
            limits.shift_max = max_right_shift;
            limits.realized_min = std::ldexp(1.0, -limits.shift_max);   // M = 1
            limits.realized_max = static_cast<double>(m_max);          // shift = 0
            break;
        }
        case RequantKind::gemmlowp: {
            const std::int64_t m_max = (std::int64_t{1} << 31) - 1;
            limits.multiplier_max = m_max;
            limits.shift_min = -31;
            limits.shift_max = 30;
            limits.shift_is_exponent = true;
            limits.realized_min = realized_multiplier(r, 1, limits.shift_min);
            limits.realized_max = realized_multiplier(r, m_max, limits.shift_max);
            break;
        }
        case RequantKind::float32:
            limits.has_registers = false;
            limits.realized_min = std::numeric_limits<float>::denorm_min();
            limits.realized_max = std::numeric_limits<float>::max();
            break;
    }
    return limits;
}

double realized_multiplier(const RequantSpec& r, std::int64_t multiplier, int shift) {
    switch (r.kind) {
        case RequantKind::shifter: return std::ldexp(1.0, -shift);
        case RequantKind::multiplier: return std::ldexp(static_cast<double>(multiplier), -shift);
        case RequantKind::gemmlowp: return std::ldexp(static_cast<double>(multiplier), shift - 31);
        case RequantKind::float32: return static_cast<double>(multiplier);
    }
    return 0.0;
}

PrecisionFacts derive_precision_facts(const EngineSpec& e, const Precision& p) {
    PrecisionFacts f;
    f.precision = p;
    f.activation = activation_range(e, p);
    f.weight = weight_range(e, p);
    f.activation_operand = activation_operand_range(e, p);
    f.weight_operand = weight_operand_range(e, p);
    f.product = product_range(e, p);
    f.product_bits = product_bits(e, p);
    f.max_safe_k = max_safe_k(e, p);
    f.max_safe_k_without_bias = max_safe_k_without_bias(e, p);
    return f;
}

EngineFacts derive_engine_facts(const EngineSpec& e) {
    EngineFacts f;
    f.name = e.name;
    f.accumulator = accumulator_range(e);
    f.bias = bias_range(e);
    f.requant = requant_limits(e.requant);
    for (const Precision& p : e.precisions) f.precisions.push_back(derive_precision_facts(e, p));
    return f;
}

}  // namespace bitnpu::arch
