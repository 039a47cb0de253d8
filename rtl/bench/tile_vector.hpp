// One co-simulation vector: a full tile of operands and registers, and its
// expected outputs computed with sim/datapath (the golden model).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bitnpu/sim/datapath/requant.hpp"
#include "tile_config.hpp"

namespace bitnpu::rtl {

struct TileVector {
    int k = 0;                                 // reduction length
    std::vector<std::int64_t> a;               // activations, rows x k: a[i * k + kk] (int1: -1/+1)
    std::vector<std::int64_t> w;               // weights, k x cols: w[kk * cols + j]
    std::vector<std::int64_t> bias;            // per column (output channel), in the accumulator range
    std::int64_t zx = 0;                       // activation zero-point
    std::vector<sim::RequantRegisters> requant;  // per column
    std::int64_t zy = 0, lo = 0, hi = 0;       // output zero-point and clamp bounds
    std::string label;                         // directed vectors: what corner it covers
};

// The output type the requant unit clamps to: the engine's activation type
// (int8 for the int1 engine, whose outputs feed a sign/requant stage).
arch::ValueRange output_range(const TileConfig& c);

// Golden accumulator of output (i, j): bias, then sim::accumulate_all over the
// products p_k = w[k][j] * (a[i][k] - zx) in k order (int1: one term,
// sim::xnor_popcount_dot over the packed bits).
std::int64_t golden_accumulator(const TileConfig& c, const TileVector& v, int i, int j);
// All rows x cols outputs: requantize + add_zero_point_and_clamp of the above.
std::vector<std::int64_t> golden_outputs(const TileConfig& c, const TileVector& v);

// Human-readable dump of the inputs that produce output (i, j).
std::string describe_output(const TileConfig& c, const TileVector& v, int i, int j);

}  // namespace bitnpu::rtl
