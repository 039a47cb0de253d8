// The SystemC side of the cycle model: a DMA unit, one engine unit per
// engine of the ArchSpec, and a controller that runs one layer plan at a
// time on them. SystemC allows one elaboration per process, so NpuTop is
// elaborated once (NpuTop::instance()) with kMaxEngines engine slots that
// every run configures from its ArchSpec; each layer advances the same
// simulation with sc_start() until it goes idle.
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include <systemc>

#include "bitnpu/sim/systemc/tile_plan.hpp"

namespace bitnpu::sim::systemc {

inline constexpr int kMaxEngines = 16;

// A value change for the VCD file: cycle, signal id, new value.
struct TraceChange {
    std::int64_t cycle;
    int signal;
    std::int64_t value;
};

// The state DMA and engine share while one layer runs (a double buffer of
// `buffers` tile slots in SRAM: a slot is taken by a load and freed by the
// tile's store).
struct LayerRun {
    const LayerPlan* plan = nullptr;
    int engine = 0;
    std::size_t buffers = 1;
    double bytes_per_cycle = 1.0;
    std::size_t loaded = 0, computed = 0, stored = 0;
    std::int64_t compute_cycles = 0, dma_cycles = 0;
    bool dma_done = false, engine_done = false;
    std::exception_ptr error;
    sc_core::sc_event load_done, compute_done, unit_done;
};

class NpuTop;

SC_MODULE(DmaUnit) {
    NpuTop* top = nullptr;
    sc_core::sc_event start;
    SC_CTOR(DmaUnit) { SC_THREAD(main); }
    void main();
};

SC_MODULE(EngineUnit) {
    NpuTop* top = nullptr;
    int index = 0;
    sc_core::sc_event start;
    SC_CTOR(EngineUnit) { SC_THREAD(main); }
    void main();
};

// Cycles one layer took on the model.
struct LayerTiming {
    std::int64_t cycles = 0;           // first load to last store
    std::int64_t compute_cycles = 0;   // engine busy
    std::int64_t dma_cycles = 0;       // DMA busy
};

SC_MODULE(NpuTop) {
    DmaUnit dma;
    std::vector<std::unique_ptr<EngineUnit>> engines;
    LayerRun* run = nullptr;
    std::vector<TraceChange>* trace = nullptr;   // null: no tracing
    std::int64_t trace_origin = 0;               // cycle the traced run started

    static NpuTop& instance();
    // Runs one plan on engine slot `engine` and returns its timing; rethrows
    // what a tile's compute threw.
    LayerTiming run_layer(const LayerPlan& plan, int engine, double dram_bytes_per_cycle);
    std::int64_t now_cycles() const;
    void record(int signal, std::int64_t value);
    sc_core::sc_time cycle() const { return sc_core::sc_time(1, sc_core::SC_NS); }

    sc_core::sc_event job_posted;
    SC_CTOR(NpuTop);
    void controller();
};

// Signal ids in TraceChange: 0 = DMA active, 1 = tile index, 2 + e = engine e busy.
inline constexpr int kTraceDma = 0;
inline constexpr int kTraceTile = 1;
inline constexpr int kTraceEngineBase = 2;

}  // namespace bitnpu::sim::systemc
