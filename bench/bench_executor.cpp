// FP32 executor speed: Conv kernels on realistic shapes (GMAC/s) and, when
// the model zoo is present (models/*.onnx), whole models at batch 1 and 64
// with 1 and 2 threads (images/s).
//
//   cd <repo> && bench_executor [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <random>

#include "bitnpu/fp32/executor.hpp"
#include "bitnpu/graph/onnx_import.hpp"

using namespace bitnpu::calib;

namespace {

Tensor random_tensor(Shape shape, unsigned seed) {
    Tensor t(DType::f32, std::move(shape));
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(rng);
    return t;
}

struct ConvShape {
    const char* name;
    std::int64_t n, c, h, w, m, k, stride, group;
};

// A one-node graph so the run goes through Executor (and its threads option).
Graph conv_graph(const ConvShape& s) {
    Graph g;
    g.opset = 13;
    g.inputs.push_back(ValueInfo{"x", DType::f32, {Dim{-1, "N"}, Dim{s.c, ""}, Dim{s.h, ""}, Dim{s.w, ""}}, true});
    g.outputs.push_back(ValueInfo{"y", DType::f32, {}, false});
    g.initializers["w"] = random_tensor({s.m, s.c / s.group, s.k, s.k}, 1);
    g.initializers["b"] = random_tensor({s.m}, 2);
    Node conv;
    conv.name = "conv";
    conv.op_type = "Conv";
    conv.inputs = {"x", "w", "b"};
    conv.outputs = {"y"};
    const std::int64_t pad = s.k / 2;
    conv.attributes["strides"] = std::vector<std::int64_t>{s.stride, s.stride};
    conv.attributes["pads"] = std::vector<std::int64_t>{pad, pad, pad, pad};
    conv.attributes["group"] = s.group;
    g.nodes.push_back(conv);
    return g;
}

void bench_conv(benchmark::State& state, ConvShape s, int threads) {
    const Graph g = conv_graph(s);
    const Executor exec(g, ExecutorOptions{threads});
    const std::map<std::string, Tensor> inputs{{"x", random_tensor({s.n, s.c, s.h, s.w}, 3)}};
    const std::int64_t oh = (s.h + 2 * (s.k / 2) - s.k) / s.stride + 1, ow = (s.w + 2 * (s.k / 2) - s.k) / s.stride + 1;
    const double macs = static_cast<double>(s.n * s.m * oh * ow * (s.c / s.group) * s.k * s.k);
    for (auto _ : state) benchmark::DoNotOptimize(exec.run(inputs));
    state.counters["GMAC/s"] = benchmark::Counter(macs * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

const ConvShape kConvShapes[] = {
    {"resnet_3x3_64ch_56px", 1, 64, 56, 56, 64, 3, 1, 1},
    {"resnet_3x3_64ch_56px_batch8", 8, 64, 56, 56, 64, 3, 1, 1},
    {"resnet_1x1_256to64_56px", 1, 256, 56, 56, 64, 1, 1, 1},
    {"stem_7x7s2_3to64_224px", 1, 3, 224, 224, 64, 7, 2, 1},
    {"mobilenet_dw3x3_32ch_112px", 1, 32, 112, 112, 32, 3, 1, 32},
    {"resnet_3x3s2_128to256_28px", 1, 128, 28, 28, 256, 3, 2, 1},
};

// Feeds random data of the model's input shape, symbolic dims set to `batch`.
std::map<std::string, Tensor> model_inputs(const Graph& g, std::int64_t batch, bool& fixed_batch) {
    std::map<std::string, Tensor> inputs;
    fixed_batch = false;
    for (const ValueInfo& in : g.inputs) {
        Shape shape;
        for (std::size_t d = 0; d < in.shape.size(); ++d) {
            if (in.shape[d].known()) {
                shape.push_back(in.shape[d].value);
                if (d == 0 && in.shape[d].value != batch) fixed_batch = true;
            } else {
                shape.push_back(batch);
            }
        }
        inputs.emplace(in.name, random_tensor(shape, 4).cast(in.dtype));
    }
    return inputs;
}

void bench_model(benchmark::State& state, std::shared_ptr<Graph> g, std::int64_t batch, int threads) {
    bool fixed = false;
    const auto inputs = model_inputs(*g, batch, fixed);
    if (fixed) {
        state.SkipWithError("model has a fixed batch dimension");
        return;
    }
    const Executor exec(*g, ExecutorOptions{threads});
    for (auto _ : state) benchmark::DoNotOptimize(exec.run(inputs));
    state.counters["images/s"] = benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
}

void register_benchmarks() {
    for (const ConvShape& s : kConvShapes)
        for (int threads : {1, 2})
            benchmark::RegisterBenchmark((std::string("Conv/") + s.name + "/threads:" + std::to_string(threads)).c_str(),
                                         bench_conv, s, threads)
                ->Unit(benchmark::kMillisecond)
                ->UseRealTime();
    // Run from the repository root, or point BITNPU_MODELS_DIR at the zoo.
    const char* env = std::getenv("BITNPU_MODELS_DIR");
    const std::filesystem::path zoo = env ? env : "models";
    if (!std::filesystem::is_directory(zoo)) return;
    for (const auto& entry : std::filesystem::directory_iterator(zoo)) {
        if (entry.path().extension() != ".onnx") continue;
        std::shared_ptr<Graph> g;
        try {
            g = std::make_shared<Graph>(load_onnx(entry.path().string()));
        } catch (const std::exception&) {
            continue;  // not a model this executor runs
        }
        for (std::int64_t batch : {1, 64})
            for (int threads : {1, 2})
                benchmark::RegisterBenchmark(("Model/" + entry.path().stem().string() + "/batch:" + std::to_string(batch) +
                                              "/threads:" + std::to_string(threads)).c_str(),
                                             bench_model, g, batch, threads)
                    ->Unit(benchmark::kMillisecond)
                    ->UseRealTime();
    }
}

}  // namespace

int main(int argc, char** argv) {
    register_benchmarks();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
