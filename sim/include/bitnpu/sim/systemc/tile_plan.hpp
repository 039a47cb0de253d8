// How one layer runs on one engine: the sequence of tiles the controller
// streams through the DMA and the engine, each with its DRAM traffic, the
// work the engine steps through cycle by cycle (array_stepper.hpp: array
// geometry and operand streams, never a cycle count) and the function that
// computes the output elements the tile finishes. Plain C++: no SystemC here.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "bitnpu/arch/arch_spec.hpp"
#include "bitnpu/sim/functional/graph.hpp"
#include "bitnpu/sim/systemc/array_stepper.hpp"

namespace bitnpu::sim::systemc {

// Pipeline depths (cycles) of the units behind the arrays (docs/timing.md).
inline constexpr std::int64_t kRequantPipelineDepth = 3;  // bias/accumulator read, multiply, round+clamp
inline constexpr std::int64_t kVectorPipelineDepth = 2;   // operand read, compute+write
// Outputs a vector engine tile holds per lane (tile = lanes * this).
inline constexpr std::int64_t kVectorTileElementsPerLane = 256;

struct Tile {
    std::int64_t load_bytes = 0;       // DRAM -> SRAM before the tile computes
    std::int64_t store_bytes = 0;      // SRAM -> DRAM after it computes
    TileSpec work;                     // what the array (lane) process steps through
    std::function<void()> compute;     // writes the output elements this tile finishes (may be empty)
};

struct LayerPlan {
    std::vector<Tile> tiles;
    std::int64_t macs = 0;             // useful multiply-accumulates (MAC layers)
    std::int64_t pes = 0;              // processing elements of the engine (rows * cols, or lanes)
    std::int64_t tile_footprint_bytes = 0;  // largest load + store of one tile
    bool double_buffered = false;      // two tile footprints fit in SRAM: loads overlap compute
    std::int64_t pipeline_depth = 0;   // stages behind the array/lanes (requant or vector write-back)
};

// Bytes of `elements` values of type t packed densely (int4: two a byte).
std::int64_t packed_bytes(std::int64_t elements, arch::ValueType t);
// DMA cycles for a transfer: ceil(bytes / bytes_per_cycle); 0 for 0 bytes.
std::int64_t dma_cycles(std::int64_t bytes, double bytes_per_cycle);

// A MAC layer on a mac_array engine. Allocates y (the output) and returns
// tiles whose compute functions fill it; x and y must outlive the plan.
LayerPlan plan_mac_layer(const MacLayer& layer, const arch::EngineSpec& engine, const QTensor& x, QTensor& y,
                         std::int64_t sram_bytes);

// A vector-engine layer (Add, Mul, MaxPool, AvgPool, Concat, Lut,
// Requantize). Same contract as plan_mac_layer.
LayerPlan plan_vector_layer(const LayerParams& params, const arch::EngineSpec& engine,
                            const std::vector<const QTensor*>& inputs, QTensor& y, std::int64_t sram_bytes);

}  // namespace bitnpu::sim::systemc
