#include "bitnpu/sim/datapath/requant.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "bitnpu/arch/derived.hpp"

namespace bitnpu::sim {
namespace {

[[noreturn]] void fail(const std::string& what) { throw std::domain_error("derive_requant: " + what); }

std::string show(double m) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", m);
    return buf;
}

void check_multiplier_value(double m) {
    if (std::isnan(m)) fail("multiplier is NaN (a scale is NaN or 0/0)");
    if (std::isinf(m)) fail("multiplier is infinite (an output scale is 0?)");
    if (m <= 0.0) fail("multiplier " + show(m) + " is not positive (scales must be > 0)");
}

// Exponent k of the power of two nearest to m in the log domain. With
// m = f * 2^e, f in [0.5, 1): m lies between 2^(e-1) and 2^e and the log-domain
// midpoint is f = 1/sqrt(2). kSqrtHalf is the double nearest to 1/sqrt(2),
// which is slightly above it (0.70710678118654757 > 0.70710678118654752...),
// and no double equals 1/sqrt(2), so f >= kSqrtHalf decides exactly.
int nearest_power_of_two_exponent(double m) {
    constexpr double kSqrtHalf = 0.70710678118654757;
    int e = 0;
    const double f = std::frexp(m, &e);
    return f >= kSqrtHalf ? e : e - 1;
}

DerivedRequant derive_shifter(double m, const arch::RequantSpec& spec, RequantRegisters regs) {
    const arch::RequantLimits limits = arch::requant_limits(spec);
    const int k = nearest_power_of_two_exponent(m);
    int sh = -k;
    if (sh < limits.shift_min) {
        fail("multiplier " + show(m) + " needs a shift of " + std::to_string(sh) + ", outside the shifter's " +
             std::to_string(limits.shift_min) + ".." + std::to_string(limits.shift_max) +
             (spec.allow_left_shift ? "" : " (left shifts are not allowed)"));
    }
    sh = std::min(sh, limits.shift_max);  // too small: the smallest realizable 2^-max
    regs.multiplier = 1;
    regs.shift = sh;
    return {regs, arch::realized_multiplier(spec, 1, sh)};
}

std::int64_t rounded_scaled(double m, int sh) { return round_half_even(std::ldexp(m, sh)); }

DerivedRequant derive_multiplier(double m, const arch::RequantSpec& spec, RequantRegisters regs) {
    if (spec.multiplier_bits < 1 || spec.multiplier_bits > 32) {
        fail("multiplier_bits " + std::to_string(spec.multiplier_bits) + " is outside 1..32");
    }
    const arch::RequantLimits limits = arch::requant_limits(spec);
    const std::int64_t limit = limits.multiplier_max + 1;  // 2^multiplier_bits
    const ShiftRange range = legal_shift_range(spec);
    int e = 0;
    std::frexp(m, &e);  // m in [2^(e-1), 2^e): m * 2^(bits-e) < 2^bits, one more shift doubles it
    int sh = std::min(range.max, spec.multiplier_bits - e);
    if (sh >= range.min) {
        while (sh > range.min && rounded_scaled(m, sh) >= limit) --sh;  // rounding may carry to 2^bits
    }
    if (sh < range.min || rounded_scaled(m, sh) >= limit) {
        fail("multiplier " + show(m) + " is too large for a " + std::to_string(spec.multiplier_bits) +
             "-bit multiplier with shifts " + std::to_string(range.min) + ".." + std::to_string(range.max));
    }
    regs.multiplier = rounded_scaled(m, sh);
    regs.shift = sh;
    return {regs, arch::realized_multiplier(spec, regs.multiplier, sh)};
}

DerivedRequant derive_gemmlowp(double m, const arch::RequantSpec& spec, RequantRegisters regs) {
    std::int32_t q = 0;
    int shift = 0;
    gemmlowp::QuantizeMultiplier(m, &q, &shift);
    const int max_shift = arch::requant_limits(spec).shift_max;
    if (shift > max_shift) {
        fail("multiplier " + show(m) + " is too large for gemmlowp (needs TFLite shift " + std::to_string(shift) +
             " > " + std::to_string(max_shift) + ")");
    }
    regs.multiplier = q;
    regs.shift = shift;
    return {regs, arch::realized_multiplier(spec, q, shift)};
}

DerivedRequant derive_float32(double m, RequantRegisters regs) {
    const float scale = static_cast<float>(m);
    if (std::isinf(scale)) fail("multiplier " + show(m) + " overflows fp32");
    regs.float_scale = scale;
    return {regs, double(scale)};
}

}  // namespace

ShiftRange legal_shift_range(const arch::RequantSpec& spec) {
    const arch::RequantLimits limits = arch::requant_limits(spec);
    return {limits.shift_min, limits.shift_max};
}

void requantize_n(const std::int64_t* acc, std::size_t n, const RequantRegisters& r, std::int64_t* out) {
    for (std::size_t i = 0; i < n; ++i) out[i] = requantize(acc[i], r);
}

DerivedRequant derive_requant(double m, const arch::RequantSpec& spec, int accumulator_bits) {
    check_multiplier_value(m);
    if (accumulator_bits < 2 || accumulator_bits > 64) {
        fail("accumulator bits " + std::to_string(accumulator_bits) + " is outside 2..64");
    }
    RequantRegisters regs;
    regs.kind = spec.kind;
    regs.rounding = spec.rounding;
    regs.dst_bits = accumulator_bits;
    switch (spec.kind) {
        case arch::RequantKind::shifter: return derive_shifter(m, spec, regs);
        case arch::RequantKind::multiplier: return derive_multiplier(m, spec, regs);
        case arch::RequantKind::gemmlowp: return derive_gemmlowp(m, spec, regs);
        case arch::RequantKind::float32: return derive_float32(m, regs);
    }
    fail("unknown requant kind");
}

std::string requant_register_problem(const RequantRegisters& r, const arch::RequantSpec& spec, int accumulator_bits) {
    if (r.kind != spec.kind)
        return fmt::format("kind {} is not the unit's ({})", arch::to_string(r.kind), arch::to_string(spec.kind));
    const bool rounds = spec.kind == arch::RequantKind::shifter || spec.kind == arch::RequantKind::multiplier;
    if (rounds && r.rounding != spec.rounding)
        return fmt::format("rounding {} is not the unit's ({})", arch::to_string(r.rounding), arch::to_string(spec.rounding));
    if (r.dst_bits != accumulator_bits)
        return fmt::format("dst_bits {} is not the accumulator width ({})", r.dst_bits, accumulator_bits);
    if (spec.kind == arch::RequantKind::float32) {
        if (!std::isfinite(r.float_scale) || r.float_scale < 0.0f)
            return fmt::format("float_scale {} is not a finite value >= 0", r.float_scale);
        return "";
    }
    const arch::RequantLimits limits = arch::requant_limits(spec);
    if (r.multiplier < limits.multiplier_min || r.multiplier > limits.multiplier_max)
        return fmt::format("multiplier {} is outside the register's range [{}, {}]", r.multiplier,
                           limits.multiplier_min, limits.multiplier_max);
    if (r.shift < limits.shift_min || r.shift > limits.shift_max)
        return fmt::format("shift {} is outside the register's range [{}, {}]", r.shift, limits.shift_min,
                           limits.shift_max);
    return "";
}

}  // namespace bitnpu::sim
