// The SystemC side of the cycle model: a DMA unit, one engine unit per
// engine of the ArchSpec, and a controller that runs one layer plan at a
// time on them. Each engine unit has two clocked processes: the array (or
// lane) process steps the engine's tile one cycle per wait (array_stepper.hpp)
// and hands every finished output row to the output pipeline process (the
// accumulator/requant unit of a MAC array, the write-back stages of a vector
// engine), which moves rows one stage a cycle; a tile's outputs may be
// stored once its last row has left the pipeline. SystemC allows one
// elaboration per process, so NpuTop is elaborated once (NpuTop::instance())
// with kMaxEngines engine slots that every run configures from its
// ArchSpec; each layer advances the same simulation with sc_start() until it
// goes idle.
#pragma once

#include <cstdint>
#include <deque>
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
    std::size_t loaded = 0, computed = 0, stored = 0;   // tiles, in order
    std::int64_t dma_cycles = 0;
    // Engine activity: cycles in which the array (lanes) or the output pipeline worked.
    std::int64_t busy_cycles = 0, last_busy_cycle = -1;
    std::int64_t fill_cycles = 0, steady_cycles = 0, drain_cycles = 0, pe_active_cycles = 0;
    // Per tile: rows handed to the output pipeline, rows that left it, array done.
    std::vector<std::int64_t> rows_handed, rows_out;
    std::vector<char> array_done, finished;
    bool dma_done = false, engine_done = false;
    std::exception_ptr error;
    sc_core::sc_event load_done, compute_done, unit_done;

    explicit LayerRun(const LayerPlan& p);
    void mark_busy(std::int64_t cycle);          // the engine worked in `cycle` (both processes call it)
    // A tile is finished (its outputs are in SRAM) once the array is done with
    // it and all its rows have left the pipeline; tiles finish in order.
    void try_finish(std::size_t tile);
};

class NpuTop;

SC_MODULE(DmaUnit) {
    NpuTop* top = nullptr;
    sc_core::sc_event start;
    SC_CTOR(DmaUnit) { SC_THREAD(main); }
    void main();
};

// A finished output row (OS: a PE row's accumulators; WS: one input row's
// sums; vector: one beat of `lanes` outputs) on its way through the pipeline.
struct OutputRow {
    std::int64_t handed_cycle = 0;   // the cycle the array finished it
    std::size_t tile = 0;
};

SC_MODULE(EngineUnit) {
    NpuTop* top = nullptr;
    int index = 0;
    sc_core::sc_event start;
    sc_core::sc_event row_handed;       // notified one cycle after a hand-off
    std::deque<OutputRow> handed;       // rows waiting to enter the first stage (one per cycle)
    std::vector<OutputRow> stages;      // stage s holds stages[s] when full[s]
    std::vector<char> full;
    std::int64_t occupied = 0;
    std::int64_t traced_occupancy = 0;   // last value written to the trace

    SC_CTOR(EngineUnit) {
        SC_THREAD(array_process);
        SC_THREAD(pipeline_process);
    }
    void array_process();
    void pipeline_process();

private:
    void step_tile(LayerRun& r, std::size_t tile);
};

// Cycles one layer took on the model.
struct LayerTiming {
    std::int64_t cycles = 0;           // first load to last store
    std::int64_t compute_cycles = 0;   // engine busy: the array (lanes) or its output pipeline worked
    std::int64_t dma_cycles = 0;       // DMA busy
    std::int64_t fill_cycles = 0, steady_cycles = 0, drain_cycles = 0;   // array cycles by phase
    std::int64_t pe_active_cycles = 0; // PE-cycles (lane-cycles) of useful work
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
    const sc_core::sc_time& cycle() const { return cycle_; }

    sc_core::sc_event job_posted;
    SC_CTOR(NpuTop);
    void controller();

private:
    sc_core::sc_time cycle_{1, sc_core::SC_NS};   // 1 cycle = 1 ns of simulated time
};

// Signal ids in TraceChange: 0 = DMA active, 1 = tile index, 2 + e = engine
// e's array busy, kTracePipelineBase + e = rows in engine e's output pipeline.
inline constexpr int kTraceDma = 0;
inline constexpr int kTraceTile = 1;
inline constexpr int kTraceEngineBase = 2;
inline constexpr int kTracePipelineBase = kTraceEngineBase + kMaxEngines;

}  // namespace bitnpu::sim::systemc
