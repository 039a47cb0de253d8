// Speed of the SystemC cycle model on the zoo models (models/*.onnx), one
// batch-1 inference per iteration: wall time, simulated cycles and
// simulated cycles per second (the goal: a whole inference in under 1 s).
// Each model is calibrated once, in setup and untimed, with the calib
// library (policy max on 64 samples of data/calib_500.npy), then lowered
// for one image of data/test_100_x.npy.
//
//   bench_cycle_model [--benchmark_filter=resnet] [--benchmark_min_time=2]
//
// Links bitnpu::systemc (tests/systemc/CMakeLists.txt adds it; libsystemc
// owns main(), so Google Benchmark runs from sc_main).
#include <benchmark/benchmark.h>
#include <systemc>  // declares sc_main extern "C"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "bitnpu/arch/load.hpp"
#include "bitnpu/calibrator/calibrator.hpp"
#include "bitnpu/graph/onnx_import.hpp"
#include "bitnpu/frontend/passes.hpp"
#include "bitnpu/calibrator/samples.hpp"
#include "bitnpu/sim/systemc/cycle_model.hpp"

using namespace bitnpu;

namespace {

#ifndef BITNPU_SOURCE_DIR
#define BITNPU_SOURCE_DIR "."
#endif

std::string source_dir() {
    const char* env = std::getenv("BITNPU_SOURCE_DIR");
    return env ? env : BITNPU_SOURCE_DIR;
}

// A zoo model lowered for one arch, with one quantized input image.
struct Workload {
    arch::ArchSpec arch;
    sim::QuantGraph graph;
    std::vector<sim::QTensor> inputs;
};

Workload make_workload(const std::string& model, const std::string& config) {
    const std::string dir = source_dir();
    Workload w;
    w.arch = arch::load_arch(dir + "/configs/" + config + ".yaml");
    calib::Graph graph = calib::load_onnx(dir + "/models/" + model + ".onnx");
    calib::run_standard_passes(graph);
    const auto calib_data = calib::load_sample_file(dir + "/data/calib_500.npy", graph);
    calib::CalibOptions options;
    options.policy = calib::PolicyKind::max;
    options.samples = 64;
    options.search_samples = 16;
    options.threads = 1;
    const calib::CalibResult calibrated = calib::calibrate(graph, w.arch, *calib_data, options);
    const calib::Feed image = calib::load_sample_file(dir + "/data/test_100_x.npy", graph)->batch(0, 1);
    calib::Program program = calib::build_program(graph, w.arch, calibrated.table, image.begin()->second.shape());
    w.graph = std::move(program.qgraph);
    for (int id : w.graph.inputs) {
        const sim::QuantTensorInfo& info = w.graph.tensors.at(static_cast<std::size_t>(id));
        const calib::Tensor t = image.at(info.name).cast(calib::DType::f32);
        const sim::FloatTensor f{t.shape(), std::vector<float>(t.data<float>(), t.data<float>() + t.numel())};
        w.inputs.push_back(sim::quantize_tensor(f, info.quant));
    }
    return w;
}

const Workload& workload(const std::string& model, const std::string& config) {
    static std::map<std::string, std::unique_ptr<Workload>> cache;
    auto& slot = cache[model + "@" + config];
    if (!slot) slot = std::make_unique<Workload>(make_workload(model, config));
    return *slot;
}

struct SummaryRow {
    std::int64_t cycles = 0;
    double wall_s = 0;
};

// The last measurement of each benchmark, printed as a table at the end.
std::map<std::string, SummaryRow>& summary() {
    static std::map<std::string, SummaryRow> rows;
    return rows;
}

void BM_CycleModelZoo(benchmark::State& state, const std::string& model, const std::string& config) {
    const Workload& w = workload(model, config);
    std::int64_t cycles = 0;
    double wall = 0;
    for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        const auto result = sim::systemc::run_cycle_model(w.graph, w.arch, w.inputs);
        wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        cycles = result.report.cycles;
        benchmark::DoNotOptimize(result.raw_outputs.data());
    }
    const double per_run = wall / static_cast<double>(state.iterations());
    state.counters["sim_cycles"] = static_cast<double>(cycles);
    state.counters["wall_s"] = per_run;
    state.counters["sim_cycles/s"] = static_cast<double>(cycles) / per_run;
    summary()[model + " on " + config] = {cycles, per_run};
}

void print_summary() {
    std::printf("\n%-26s %12s %10s %12s\n", "batch-1 inference", "sim cycles", "wall s", "cycles/s");
    for (const auto& [name, row] : summary())
        std::printf("%-26s %12lld %10.4f %12.3g\n", name.c_str(), static_cast<long long>(row.cycles), row.wall_s,
                    static_cast<double>(row.cycles) / row.wall_s);
}

// The bit-accurate functional model on the same program: what the timing costs.
void BM_FunctionalZoo(benchmark::State& state, const std::string& model, const std::string& config) {
    const Workload& w = workload(model, config);
    for (auto _ : state) benchmark::DoNotOptimize(sim::run_quantized(w.graph, w.inputs).raw_outputs.data());
}

void register_benchmarks() {
    for (const char* config : {"int8_npu", "shift_only", "nvdla_like"})
        for (const char* model : {"cnn", "resnet", "mobilenet"}) {
            const std::string suffix = std::string("/") + model + "/" + config;
            benchmark::RegisterBenchmark(("BM_CycleModelZoo" + suffix).c_str(), BM_CycleModelZoo, std::string(model),
                                         std::string(config))
                ->Unit(benchmark::kMillisecond);
            if (std::string(config) == "int8_npu")
                benchmark::RegisterBenchmark(("BM_FunctionalZoo" + suffix).c_str(), BM_FunctionalZoo,
                                             std::string(model), std::string(config))
                    ->Unit(benchmark::kMillisecond);
        }
}

}  // namespace

int sc_main(int argc, char** argv) {
    setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
    register_benchmarks();
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    print_summary();
    return 0;
}
