#include "vector_gen.hpp"

#include <algorithm>

namespace bitnpu::rtl {
namespace {

int bit_length(std::uint64_t v) { return v == 0 ? 0 : 64 - __builtin_clzll(v); }

std::int64_t acc_max(const TileConfig& c) { return (std::int64_t(1) << (c.accumulator.bits - 1)) - 1; }

// Shift that maps magnitudes around 2^magnitude_bits onto the output range.
int target_shift(const TileConfig& c, int magnitude_bits) {
    const sim::ShiftRange r = sim::legal_shift_range(c.requant);
    return std::clamp(magnitude_bits - 7, r.min, r.max);
}

}  // namespace

arch::ValueRange activation_range(const TileConfig& c) { return arch::value_range(c.activation, c.restricted_range); }
arch::ValueRange weight_range(const TileConfig& c) { return arch::value_range(c.weight, c.restricted_range); }
arch::ValueRange bias_range(const TileConfig& c) {
    const int bits = std::min(c.bias_bits, c.accumulator.bits);
    return {-(std::int64_t(1) << (bits - 1)), (std::int64_t(1) << (bits - 1)) - 1};
}

sim::RequantRegisters requant_registers(const TileConfig& c, std::int64_t multiplier, int shift) {
    sim::RequantRegisters r;
    r.kind = c.requant.kind;
    r.rounding = c.requant.rounding;
    r.multiplier = c.requant.kind == arch::RequantKind::multiplier ? multiplier : 1;
    r.shift = shift;
    r.dst_bits = c.accumulator.bits;
    return r;
}

VectorGenerator::VectorGenerator(const TileConfig& config, std::uint64_t seed) : c_(config), rng_(seed) {}

std::int64_t VectorGenerator::uniform(std::int64_t lo, std::int64_t hi) {
    const std::uint64_t span = std::uint64_t(hi - lo) + 1;
    return lo + std::int64_t(span == 0 ? rng_() : rng_() % span);
}

int VectorGenerator::pick_k() {
    if (c_.params.bnn) return chance(5) ? 0 : chance(10) ? int(uniform(1, 20 * c_.params.chunk)) : int(uniform(1, 3 * c_.params.chunk));
    if (chance(3)) return 0;
    if (chance(8)) return int(uniform(64, 700));  // long: reaches saturation with extreme operands
    return int(uniform(1, 24));
}

// Operand styles: uniform, extremes only, near zero, and "drift" (products of
// one sign for the first part of k, then the other: crosses a bound and back).
void VectorGenerator::fill_operands(TileVector& v) {
    const arch::ValueRange ar = activation_range(c_), wr = weight_range(c_);
    const int rows = c_.params.rows, cols = c_.params.cols;
    v.a.resize(std::size_t(rows) * v.k);
    v.w.resize(std::size_t(v.k) * cols);
    const int style = int(uniform(0, 3));
    auto draw = [&](const arch::ValueRange& r) -> std::int64_t {
        if (style == 1) return chance(50) ? r.min : r.max;
        if (style == 2) return std::clamp<std::int64_t>(uniform(-2, 2), r.min, r.max);
        return uniform(r.min, r.max);
    };
    auto legal = [&](std::int64_t x, const arch::ValueRange& r, arch::ValueType t) {
        if (t == arch::ValueType::int1) return x >= 0 ? std::int64_t(1) : std::int64_t(-1);
        return std::clamp(x, r.min, r.max);
    };
    for (auto& x : v.a) x = legal(draw(ar), ar, c_.activation);
    for (auto& x : v.w) x = legal(draw(wr), wr, c_.weight);
    if (style == 3 && v.k > 1) {  // drift: a at one extreme, w's sign flips at a random k
        const int flip = int(uniform(1, v.k - 1));
        for (auto& x : v.a) x = legal(chance(90) ? ar.max : ar.min, ar, c_.activation);
        for (int kk = 0; kk < v.k; ++kk)
            for (int j = 0; j < cols; ++j) v.w[kk * cols + j] = legal(kk < flip ? wr.max : wr.min, wr, c_.weight);
    }
}

std::int64_t VectorGenerator::pick_bias() {
    const arch::ValueRange br = bias_range(c_);
    const int style = int(uniform(0, 3));
    if (style == 0) return uniform(br.min, br.max);
    if (style == 1) return chance(50) ? br.max - uniform(0, 300) : br.min + uniform(0, 300);
    if (style == 2) return 0;
    return std::clamp<std::int64_t>(uniform(-1000, 1000), br.min, br.max);
}

sim::RequantRegisters VectorGenerator::pick_requant(const TileVector& v) {
    const sim::ShiftRange r = sim::legal_shift_range(c_.requant);
    std::int64_t m = 1;
    if (c_.requant.kind == arch::RequantKind::multiplier) {
        const std::int64_t mmax = (std::int64_t(1) << c_.requant.multiplier_bits) - 1;
        m = chance(10) ? mmax : chance(10) ? 1 : uniform(0, mmax);
    }
    if (chance(25)) return requant_registers(c_, m, int(uniform(r.min, r.max)));
    // Aim the shift at this tile's accumulator magnitude, give or take.
    std::int64_t magnitude = 0;
    for (std::int64_t b : v.bias) magnitude = std::max(magnitude, b < 0 ? -b : b);
    const int k_bits = bit_length(std::uint64_t(std::max(v.k, 1)));
    const int product_bits = c_.params.bnn ? 1 : c_.params.a_bits + c_.params.w_bits;
    const int bits = std::max(bit_length(std::uint64_t(magnitude)), product_bits + k_bits) + bit_length(std::uint64_t(m));
    const int sh = std::clamp(target_shift(c_, bits) + int(uniform(-3, 3)), r.min, r.max);
    return requant_registers(c_, m, sh);
}

void VectorGenerator::pick_output(TileVector& v) {
    const arch::ValueRange out = output_range(c_);
    v.zy = c_.activation_zero_point ? (chance(20) ? (chance(50) ? out.min : out.max) : uniform(out.min, out.max)) : 0;
    const int style = int(uniform(0, 4));
    v.lo = out.min;
    v.hi = out.max;
    if (style == 1) v.lo = std::clamp(v.zy, out.min, out.max);  // fused ReLU
    if (style == 2) {                                           // a random Clip
        v.lo = uniform(out.min, out.max);
        v.hi = uniform(v.lo, out.max);
    }
}

TileVector VectorGenerator::next() {
    TileVector v;
    v.k = pick_k();
    fill_operands(v);
    if (c_.activation_zero_point && !c_.params.bnn) {
        const arch::ValueRange ar = activation_range(c_);
        v.zx = chance(20) ? (chance(50) ? ar.min : ar.max) : uniform(ar.min, ar.max);
    }
    v.bias.resize(c_.params.cols);
    for (auto& b : v.bias) b = pick_bias();
    for (int j = 0; j < c_.params.cols; ++j)  // per-tensor units: one register set for all
        v.requant.push_back(c_.per_channel || j == 0 ? pick_requant(v) : v.requant.front());
    pick_output(v);
    return v;
}

}  // namespace bitnpu::rtl
