// A MAC layer of the quantized graph cut into the output-stationary tiles of
// npu_tile: ROWS output pixels (Conv: batch x OH x OW; Gemm: input rows) x
// the full K x COLS output channels of one group. Depthwise and grouped
// convolutions tile the channels of one group at a time (a depthwise tile
// uses one column). Plain C++: no verilated code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bitnpu/sim/functional/mac_layer.hpp"
#include "tile_vector.hpp"

namespace bitnpu::rtl {

struct LayerTiling {
    std::int64_t groups = 1;
    std::int64_t pixels = 0;              // M: output rows of the GEMM per group
    std::int64_t channels_per_group = 0;  // Ng = C_out / groups
    std::int64_t k = 0;                   // reduction length
    std::int64_t row_blocks = 0, col_blocks = 0;
    std::uint64_t count() const { return std::uint64_t(groups * row_blocks * col_blocks); }
};

// y: the layer's output tensor (its shape gives OH, OW or the Gemm rows).
LayerTiling tiling_for(const sim::MacLayer& layer, const sim::QTensor& y, int rows, int cols);

// Why the RTL cannot run this layer as it is ("" = it can): weight
// zero-points, int1 outputs, a post-stage bias outside the accumulator.
std::string rtl_limitation(const sim::MacLayer& layer, const TileConfig& config);

struct LayerTile {
    TileVector vector;                    // what npu_tile is driven with
    std::vector<std::int64_t> expected;   // rows x cols: the functional model's output tensor elements
    std::vector<char> valid;              // rows x cols: 1 where (pixel, channel) exists
    std::string where;                    // "group g, pixels [m0, m1), channels [c0, c1)"
};

// Tile `index` in (group, row block, column block) order, column blocks fastest.
// Rows past the last pixel read z_x and columns past the last channel have zero
// weights; their outputs are not compared.
LayerTile cut_tile(const TileConfig& config, const sim::MacLayer& layer, const sim::QTensor& x,
                   const sim::QTensor& y, const LayerTiling& tiling, std::uint64_t index);

}  // namespace bitnpu::rtl
