// RTL simulation speed of the verilated 16x16 int8 tile (int8_npu variant):
// simulated clock cycles per second and MACs per second (ROWS*COLS per beat).
#include <benchmark/benchmark.h>

#include "bitnpu/arch/load.hpp"
#include "tile_sim.hpp"
#include "vector_gen.hpp"

namespace {

using namespace bitnpu::rtl;

void BM_Int8Tile16x16(benchmark::State& state) {
    const auto arch = bitnpu::arch::load_arch(BITNPU_SOURCE_DIR "/configs/int8_npu.yaml");
    const TileConfig config = tile_config_for(select_engine(arch, "mac"));
    auto sim = find_variant(config).make(config);
    VectorGenerator gen(config, 7);
    TileVector v = gen.next();
    while (v.k < 16) v = gen.next();
    v.k = int(state.range(0));
    v.a.assign(std::size_t(config.params.rows) * v.k, 3);
    v.w.assign(std::size_t(v.k) * config.params.cols, -5);
    std::uint64_t cycles = 0, macs = 0;
    for (auto _ : state) {
        const TileResult r = sim->run(v);
        cycles += r.cycles;
        macs += std::uint64_t(v.k) * config.params.rows * config.params.cols;
        benchmark::DoNotOptimize(r.y.data());
    }
    state.counters["cycles/s"] = benchmark::Counter(double(cycles), benchmark::Counter::kIsRate);
    state.counters["MAC/s"] = benchmark::Counter(double(macs), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Int8Tile16x16)->Arg(16)->Arg(256)->Arg(4096)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
