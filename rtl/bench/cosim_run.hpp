// The co-simulation loop: directed and constrained-random tiles through a
// verilated variant, every output compared with the golden model.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "tile_sim.hpp"

namespace bitnpu::rtl {

struct CosimOptions {
    std::string arch_path;
    std::string engine;            // "ENGINE[,activation=T][,array=RxC]" ("" = the first mac_array engine)
    std::uint64_t vectors = 1000;  // random tiles (directed ones come on top)
    std::uint64_t seed = 1;
    bool directed = true;
    std::string trace_path;        // FST waveform ("" = none)
    std::string coverage_path;     // coverage variants only
    int max_reported = 5;          // mismatches printed in full
};

struct CosimReport {
    std::string variant;
    std::uint64_t vectors = 0;     // tiles checked
    std::uint64_t outputs = 0;     // output elements compared
    std::uint64_t mismatches = 0;
    std::uint64_t rtl_cycles = 0;
    double rtl_seconds = 0.0;      // wall time inside the verilated model
    std::uint64_t latency_errors = 0;  // tiles whose cycle count broke tile_latency()
};

// Cycles npu_tile needs for one tile (rtl/README.md, "Latency"):
// max(K, 1) + ROWS + COLS + 1 from the start beat to the last output row.
std::uint64_t tile_latency(const TileParams& p, int k);

// Checks tiles from `first` on; prints mismatches (up to max_reported) to out.
class Cosim {
public:
    Cosim(const TileConfig& config, TileSim& sim, std::ostream& out, int max_reported);
    void check(const TileVector& v);
    const CosimReport& report() const { return report_; }

private:
    TileConfig c_;
    TileSim& sim_;
    std::ostream& out_;
    int max_reported_;
    CosimReport report_;
};

// Loads the YAML, picks the variant, runs everything; throws UserError for bad input.
CosimReport run_cosim(const CosimOptions& options, std::ostream& out);
void print_report(const CosimReport& r, std::ostream& out);

}  // namespace bitnpu::rtl
