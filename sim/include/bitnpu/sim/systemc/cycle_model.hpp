// The SystemC cycle model of an accelerator: runs a quantized graph layer by
// layer on the engines its nodes name, with the ArchSpec's arrays, lanes,
// SRAM and DRAM bandwidth, and returns the same integers as
// sim::run_quantized plus a timing report. docs/timing.md is the reference.
//
// SystemC allows one elaboration per process: the model is elaborated on
// the first call and reused by every later call (any ArchSpec), so a
// process may call run_cycle_model many times. libsystemc owns main() and
// calls sc_main: every program linking this library gets a weak sc_main
// returning 0 (sim/src/sc_main_weak.cpp), so a tool
// keeps its own main(); a program's own sc_main replaces it. Not thread-safe: one simulation
// per process, so call it from one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bitnpu/arch/arch_spec.hpp"
#include "bitnpu/sim/functional/graph.hpp"

namespace bitnpu::sim::systemc {

struct CycleOptions {
    std::string vcd_path;                 // non-empty: write a VCD of engine busy, DMA active, tile index
};

struct LayerReport {
    std::string name, op_type, engine;    // engine "host"/"layout": zero cost (docs/timing.md)
    std::int64_t cycles = 0;              // first DMA load to last store
    std::int64_t compute_cycles = 0;      // engine busy: cycles the array (lanes) or its output pipeline worked
    std::int64_t stall_cycles = 0;        // cycles - compute_cycles: waiting on memory (memory stall)
    std::int64_t dma_cycles = 0;          // DMA busy
    std::int64_t dram_bytes_in = 0;
    std::int64_t dram_bytes_out = 0;
    std::int64_t macs = 0;
    std::int64_t tiles = 0;
    std::int64_t pes = 0;                 // rows * cols (MAC) or lanes (vector)
    bool double_buffered = false;
    double mac_utilization = 0.0;         // macs / (cycles * rows * cols), MAC layers only
    // Array cycles by phase (docs/timing.md): fill (WS weight load, PEs still
    // waiting for their first operand), steady (every PE busy), drain (the
    // operand streams have ended). Their sum is the cycles the array stepped.
    // Vector lanes have no skew: all their cycles are steady.
    std::int64_t fill_cycles = 0, steady_cycles = 0, drain_cycles = 0;
    std::int64_t pe_active_cycles = 0;    // PE-cycles (vector: lane-cycles) on real data; == macs for MAC layers
};

struct CycleReport {
    std::vector<LayerReport> layers;
    std::int64_t cycles = 0, compute_cycles = 0, stall_cycles = 0;
    std::int64_t dram_bytes_in = 0, dram_bytes_out = 0, macs = 0;
    std::int64_t fill_cycles = 0, steady_cycles = 0, drain_cycles = 0, pe_active_cycles = 0;   // sums of the layers'
    double mac_utilization = 0.0;         // sum macs / sum over MAC layers of (cycles * rows * cols)
    double clock_mhz = 0.0;
    double latency_us = 0.0;              // cycles / clock_mhz
};

struct CycleResult {
    std::vector<QTensor> raw_outputs;     // bit-identical to run_quantized(...).raw_outputs
    CycleReport report;
};

// Throws UserError for a graph the arch cannot run (a MAC layer on a vector
// engine, an unknown engine for a MAC layer, ...), like run_quantized does for bad graphs.
CycleResult run_cycle_model(const QuantGraph& graph, const arch::ArchSpec& arch, const std::vector<QTensor>& inputs,
                            const CycleOptions& options = {});

// A human-readable table of the report (one line per layer, then totals).
std::string format_report(const CycleReport& report);

}  // namespace bitnpu::sim::systemc
