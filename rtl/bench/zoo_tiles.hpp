// Whole tiles of real layers through the RTL: a zoo model calibrated for an
// arch is run on the functional model (sim::GraphRunner), every MAC layer's
// integer input and output are kept, and the layer is cut into the
// output-stationary tiles the array computes (ROWS output pixels x K x COLS
// output channels of one group, with the layer's bias, zero-points,
// per-channel requant registers and clamp bounds). Each tile runs through the
// verilated npu_tile whose parameters are the layer's engine and precision,
// and every output is compared with the functional model's output tensor
// element (not with the bench's golden_outputs).
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "tile_sim.hpp"

namespace bitnpu::rtl {

struct ZooOptions {
    std::string model_path;       // ONNX model (models/*.onnx)
    std::string arch_path;        // the arch the CTable was calibrated for
    std::string ctable_path;
    std::string images_path;      // .npy of float inputs, batch first (data/test_100_x.npy)
    int images = 1;               // the first N images of images_path
    // 0: every tile of every layer; else at most this many per layer, spread
    // evenly over the layer's tiles (first and last included).
    std::uint64_t tiles_per_layer = 0;
    int max_reported = 5;         // mismatches printed in full
    // Builds the simulator for a variant (default: the verilated model);
    // tests substitute a broken one to show mismatches are caught.
    std::function<std::unique_ptr<TileSim>(const TileVariant&, const TileConfig&)> make_sim;
};

struct ZooLayerReport {
    std::string node, op, engine, variant;
    std::string skipped;          // why the layer was not run ("" = it ran)
    std::int64_t k = 0, groups = 1, pixels = 0, channels = 0;
    std::uint64_t tiles_total = 0, tiles_run = 0, outputs = 0, mismatches = 0, latency_errors = 0;
    std::uint64_t rtl_cycles = 0;
};

struct ZooReport {
    std::vector<ZooLayerReport> layers;   // MAC layers in graph order
    std::uint64_t tiles = 0, outputs = 0, mismatches = 0, latency_errors = 0, skipped_layers = 0;
    std::uint64_t rtl_cycles = 0;
};

// Throws UserError for bad input (files, a CTable for another model/arch).
ZooReport run_zoo(const ZooOptions& options, std::ostream& out);
void print_zoo_report(const ZooReport& report, std::ostream& out);

}  // namespace bitnpu::rtl
