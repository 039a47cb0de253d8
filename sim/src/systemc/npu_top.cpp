// DMA, engine and controller processes of the cycle model (docs/timing.md
// "Double buffering"). One SC_THREAD per unit; time advances a tile at a
// time by the tile's closed-form cycle count (1 cycle = 1 ns of simulated
// time; the report converts with clock_mhz).
#include "bitnpu/sim/systemc/npu_top.hpp"

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

// Computes tile i once it is loaded: the tile's outputs (functional
// helpers), then the tile's cycles of array time.
void EngineUnit::main() {
    for (;;) {
        wait(start);
        LayerRun& r = *top->run;
        const auto& tiles = r.plan->tiles;
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
            wait(top->cycle() * static_cast<double>(tiles[i].compute_cycles));
            top->record(kTraceEngineBase + index, 0);
            r.compute_cycles += tiles[i].compute_cycles;
            r.computed = i + 1;
            r.compute_done.notify(SC_ZERO_TIME);
        }
        r.engine_done = true;
        r.unit_done.notify(SC_ZERO_TIME);
    }
}

LayerTiming NpuTop::run_layer(const LayerPlan& plan, int engine, double dram_bytes_per_cycle) {
    LayerTiming timing;
    if (plan.tiles.empty()) return timing;
    LayerRun r;
    r.plan = &plan;
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
    timing.compute_cycles = r.compute_cycles;
    timing.dma_cycles = r.dma_cycles;
    return timing;
}

}  // namespace bitnpu::sim::systemc
