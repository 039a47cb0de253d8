// Stimulus for the co-simulation: constrained-random tiles (operands drawn
// from several distributions that reach the corners: extremes, saturation
// crossings, small values for rounding ties) and a fixed list of directed
// corner tiles. Deterministic for a given seed.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "tile_vector.hpp"

namespace bitnpu::rtl {

class VectorGenerator {
public:
    VectorGenerator(const TileConfig& config, std::uint64_t seed);
    TileVector next();

private:
    std::int64_t uniform(std::int64_t lo, std::int64_t hi);  // inclusive
    bool chance(int percent) { return uniform(0, 99) < percent; }
    int pick_k();
    void fill_operands(TileVector& v);
    std::int64_t pick_bias();
    sim::RequantRegisters pick_requant(const TileVector& v);
    void pick_output(TileVector& v);

    TileConfig c_;
    std::mt19937_64 rng_;
};

// Directed corners: most negative x most negative, accumulators crossing the
// saturation bounds in both directions, every rounding tie at small shifts,
// zero-point and clamp extremes, left-shift saturation, K = 0.
std::vector<TileVector> directed_vectors(const TileConfig& config);

// Register set for column j of a tile: kind/rounding/dst_bits from the config.
sim::RequantRegisters requant_registers(const TileConfig& c, std::int64_t multiplier, int shift);
// Legal operand values of the config's activation / weight types.
arch::ValueRange activation_range(const TileConfig& c);
arch::ValueRange weight_range(const TileConfig& c);
arch::ValueRange bias_range(const TileConfig& c);

}  // namespace bitnpu::rtl
