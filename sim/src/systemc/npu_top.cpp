// DMA, engine and controller processes of the cycle model (docs/timing.md
// "Structure"). The DMA moves whole transfers (bandwidth-bound waits); each
// engine's array process and output pipeline process advance one clock
// cycle per wait (1 cycle = 1 ns of simulated time; the report converts
// with clock_mhz).
#include "bitnpu/sim/systemc/npu_top.hpp"

#include <algorithm>

namespace bitnpu::sim::systemc {

using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;

NpuTop::NpuTop(sc_core::sc_module_name name) : sc_module(name), dma("dma") {
    dma.top = this;
    for (int e = 0; e < kMaxEngines; ++e) {
        engines.push_back(std::make_unique<EngineUnit>(("engine" + std::to_string(e)).c_str()));
        engines.back()->top = this;
        engines.back()->index = e;
    }
    SC_THREAD(controller);
}

NpuTop& NpuTop::instance() {
    static NpuTop* top = new NpuTop("npu");   // never destroyed: SystemC owns the hierarchy
    return *top;
}

std::int64_t NpuTop::now_cycles() const {
    return static_cast<std::int64_t>(sc_core::sc_time_stamp().value() / cycle().value());
}

void NpuTop::record(int signal, std::int64_t value) {
    if (trace) trace->push_back({now_cycles() - trace_origin, signal, value});
}

// Waits for a posted layer, starts the DMA and its engine, waits for both.
void NpuTop::controller() {
    for (;;) {
        while (run == nullptr || run->dma_done) wait(job_posted);
        LayerRun& r = *run;
        dma.start.notify(SC_ZERO_TIME);
        engines[static_cast<std::size_t>(r.engine)]->start.notify(SC_ZERO_TIME);
        while (!(r.dma_done && r.engine_done)) wait(r.unit_done);
    }
}

// Loads tiles in order while a buffer slot is free; stores each computed
// tile's outputs first (stores free the slots).
void DmaUnit::main() {
    for (;;) {
        wait(start);
        LayerRun& r = *top->run;
        const auto& tiles = r.plan->tiles;
        const std::size_t n = tiles.size();
        std::size_t next_load = 0;
        auto transfer = [&](std::int64_t bytes) {
            const std::int64_t c = dma_cycles(bytes, r.bytes_per_cycle);
            if (c == 0) return;
            top->record(kTraceDma, 1);
            wait(top->cycle() * static_cast<double>(c));
            top->record(kTraceDma, 0);
            r.dma_cycles += c;
        };
        while (r.stored < n) {
            if (r.stored < r.computed) {
                transfer(tiles[r.stored].store_bytes);
                ++r.stored;
            } else if (next_load < n && next_load - r.stored < r.buffers) {
                transfer(tiles[next_load].load_bytes);
                ++next_load;
                r.loaded = next_load;
                r.load_done.notify(SC_ZERO_TIME);
            } else {
                wait(r.compute_done);
            }
        }
        r.dma_done = true;
        r.unit_done.notify(SC_ZERO_TIME);
    }
}

LayerRun::LayerRun(const LayerPlan& p)
    : plan(&p), rows_handed(p.tiles.size(), 0), rows_out(p.tiles.size(), 0), array_done(p.tiles.size(), 0),
      finished(p.tiles.size(), 0) {}

void LayerRun::mark_busy(std::int64_t cycle) {
    // Both engine processes mark the current cycle only, and time never goes
    // back, so counting distinct cycles needs just the last one marked.
    if (cycle > last_busy_cycle) {
        ++busy_cycles;
        last_busy_cycle = cycle;
    }
}

void LayerRun::try_finish(std::size_t tile) {
    if (!array_done[tile] || rows_out[tile] != rows_handed[tile]) return;
    finished[tile] = 1;
    const std::size_t before = computed;
    while (computed < finished.size() && finished[computed]) ++computed;
    if (computed != before) compute_done.notify(SC_ZERO_TIME);
}

// Steps one loaded tile through the array a cycle at a time, handing each
// finished output row to the pipeline in the cycle it finishes.
void EngineUnit::step_tile(LayerRun& r, std::size_t i) {
    const Tile& tile = r.plan->tiles[i];
    const std::unique_ptr<TileStepper> stepper = make_stepper(tile.work);
    while (!stepper->done()) {
        const std::int64_t now = top->now_cycles();
        const CycleActivity a = stepper->step();
        r.mark_busy(now);
        r.pe_active_cycles += a.active_pes;
        (a.phase == ArrayPhase::fill ? r.fill_cycles : a.phase == ArrayPhase::steady ? r.steady_cycles : r.drain_cycles) += 1;
        if (a.outputs_ready > 0) {
            for (std::int64_t k = 0; k < a.outputs_ready; ++k) handed.push_back({now, i});
            r.rows_handed[i] += a.outputs_ready;
            row_handed.notify(top->cycle());
        }
        wait(top->cycle());
    }
    r.array_done[i] = 1;
    r.try_finish(i);
}

// The array (lane) process: computes tile i's outputs once it is loaded
// (functional helpers), then steps it; waits for the pipeline to drain the
// layer's last rows.
void EngineUnit::array_process() {
    for (;;) {
        wait(start);
        LayerRun& r = *top->run;
        const auto& tiles = r.plan->tiles;
        const auto depth = static_cast<std::size_t>(std::max<std::int64_t>(r.plan->pipeline_depth, 0));
        handed.clear();
        stages.assign(depth, OutputRow{});
        full.assign(depth, 0);
        occupied = 0;
        for (std::size_t i = 0; i < tiles.size(); ++i) {
            while (r.loaded <= i) wait(r.load_done);
            if (tiles[i].compute && !r.error) {
                try {
                    tiles[i].compute();
                } catch (...) {
                    r.error = std::current_exception();
                }
            }
            top->record(kTraceTile, static_cast<std::int64_t>(i));
            top->record(kTraceEngineBase + index, 1);
            step_tile(r, i);
            top->record(kTraceEngineBase + index, 0);
        }
        while (r.computed < tiles.size()) wait(r.compute_done);
        r.engine_done = true;
        r.unit_done.notify(SC_ZERO_TIME);
    }
}

// The output pipeline (accumulator/requant unit, or a vector engine's
// write-back): `depth` stages, one row a stage a cycle. A row handed in
// cycle t enters stage 0 in cycle t + 1 and leaves after the last stage,
// at the start of cycle t + 1 + depth: its outputs are then in SRAM.
void EngineUnit::pipeline_process() {
    for (;;) {
        if (occupied == 0 && handed.empty()) {
            wait(row_handed);
            continue;
        }
        LayerRun& r = *top->run;
        const std::int64_t now = top->now_cycles();
        const std::size_t depth = stages.size();
        if (depth == 0) {   // no pipeline: rows are written as they are handed
            while (!handed.empty()) {
                const std::size_t t = handed.front().tile;
                handed.pop_front();
                ++r.rows_out[t];
                r.try_finish(t);
            }
            continue;
        }
        if (full[depth - 1]) {   // the oldest row leaves the last stage
            const std::size_t t = stages[depth - 1].tile;
            full[depth - 1] = 0;
            --occupied;
            ++r.rows_out[t];
            r.try_finish(t);
        }
        for (std::size_t s = depth - 1; s > 0; --s) {
            stages[s] = stages[s - 1];
            full[s] = full[s - 1];
        }
        full[0] = 0;
        if (!handed.empty() && handed.front().handed_cycle < now) {
            stages[0] = handed.front();
            full[0] = 1;
            handed.pop_front();
            ++occupied;
        }
        if (occupied > 0) r.mark_busy(now);
        if (occupied != traced_occupancy) top->record(kTracePipelineBase + index, traced_occupancy = occupied);
        // Empty: sleep until the next hand-off rather than tick on (an idle
        // tick would also push simulated time past the layer's end).
        if (occupied > 0 || !handed.empty()) wait(top->cycle());
    }
}

LayerTiming NpuTop::run_layer(const LayerPlan& plan, int engine, double dram_bytes_per_cycle) {
    LayerTiming timing;
    if (plan.tiles.empty()) return timing;
    LayerRun r(plan);
    r.engine = engine;
    r.buffers = plan.double_buffered ? 2 : 1;
    r.bytes_per_cycle = dram_bytes_per_cycle;
    run = &r;
    const std::int64_t start = now_cycles();
    job_posted.notify(SC_ZERO_TIME);
    sc_core::sc_start();   // runs until every process waits: the layer is done
    run = nullptr;
    if (!(r.dma_done && r.engine_done)) throw std::logic_error("cycle model: layer did not finish (deadlock)");
    if (r.error) std::rethrow_exception(r.error);
    timing.cycles = now_cycles() - start;
    timing.compute_cycles = r.busy_cycles;
    timing.dma_cycles = r.dma_cycles;
    timing.fill_cycles = r.fill_cycles;
    timing.steady_cycles = r.steady_cycles;
    timing.drain_cycles = r.drain_cycles;
    timing.pe_active_cycles = r.pe_active_cycles;
    return timing;
}

}  // namespace bitnpu::sim::systemc
