// Speed of the SystemC cycle model on a small CNN built in code (batch 1):
// wall time per inference and simulated cycles per second.
#include <benchmark/benchmark.h>
#include <systemc>  // declares sc_main extern "C"

#include <cstdio>
#include <random>

#include "bitnpu/sim/systemc/cycle_model.hpp"
#include "cnn_graph.hpp"

using namespace bitnpu;
using namespace bitnpu::sim;

namespace {

arch::ArchSpec bench_arch(arch::Dataflow dataflow) {
    arch::ArchSpec a;
    a.name = "bench";
    a.clock_mhz = 800;
    a.memory = {512, 16.0};
    arch::EngineSpec mac;
    mac.name = "mac";
    mac.kind = arch::EngineKind::mac_array;
    mac.array = {16, 16};
    mac.dataflow = dataflow;
    arch::EngineSpec vec;
    vec.name = "vec";
    vec.kind = arch::EngineKind::vector;
    vec.lanes = 16;
    a.engines = {mac, vec};
    return a;
}

QTensor random_input(std::int64_t size) {
    std::mt19937 rng(5);
    QTensor x({1, 3, size, size}, per_tensor(arch::ValueType::int8, 0.05f, 0));
    std::uniform_int_distribution<int> d(-128, 127);
    for (auto& v : x.values) v = d(rng);
    return x;
}

// Args: image size, base width, dataflow (0 = output-, 1 = weight-stationary).
void BM_CycleModelCnn(benchmark::State& state) {
    const QuantGraph graph = cnntest::make_cnn(1, state.range(0), state.range(1));
    const arch::ArchSpec a = bench_arch(state.range(2) ? arch::Dataflow::weight_stationary : arch::Dataflow::output_stationary);
    const QTensor x = random_input(state.range(0));
    std::int64_t cycles = 0, macs = 0;
    for (auto _ : state) {
        const auto result = sim::systemc::run_cycle_model(graph, a, {x});
        cycles = result.report.cycles;
        macs = result.report.macs;
        benchmark::DoNotOptimize(result.raw_outputs.data());
    }
    state.counters["sim_cycles"] = static_cast<double>(cycles);
    state.counters["MACs"] = static_cast<double>(macs);
    state.counters["sim_cycles/s"] = benchmark::Counter(static_cast<double>(cycles) * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_CycleModelCnn)->Args({32, 16, 0})->Args({32, 16, 1})->Args({64, 32, 0})->Args({64, 32, 1})
    ->Unit(benchmark::kMillisecond);

// The functional model on the same graph, for the cost of timing.
void BM_FunctionalCnn(benchmark::State& state) {
    const QuantGraph graph = cnntest::make_cnn(1, state.range(0), state.range(1));
    const QTensor x = random_input(state.range(0));
    for (auto _ : state) benchmark::DoNotOptimize(run_quantized(graph, {x}).raw_outputs.data());
}
BENCHMARK(BM_FunctionalCnn)->Args({32, 16})->Args({64, 32})->Unit(benchmark::kMillisecond);

}  // namespace

// libsystemc owns main(): Google Benchmark runs from sc_main.
int sc_main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
