// Sequence layers end to end: a 1-D Conv (strided, padded, grouped, with a
// fused Relu) and BatchNorm1d on 3-D and 2-D values calibrate for
// int8_npu.yaml with every layer on the MAC array, vector unit or as a
// layout move (int8_npu.yaml's host fallback lists neither op), and the
// bit-accurate program tracks the FP32 model.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "bitnpu/arch/load.hpp"
#include "bitnpu/calibrator/calibrator.hpp"
#include "bitnpu/fp32/executor.hpp"
#include "bitnpu/graph/onnx_import.hpp"
#include "bitnpu/frontend/passes.hpp"
#include "bitnpu/sim/functional/graph.hpp"
#include "onnx_model_builder.hpp"

namespace {

using namespace bitnpu;
using bitnpu::test::ModelBuilder;
using bitnpu::test::TempFile;

constexpr std::int64_t kN = 64, kC = 4, kL = 16, kM = 6, kOut = 5;

std::vector<float> uniform(std::mt19937& rng, std::size_t n, float lo, float hi) {
    std::uniform_real_distribution<float> u(lo, hi);
    std::vector<float> v(n);
    for (float& x : v) x = u(rng);
    return v;
}

void batch_norm(ModelBuilder& b, std::mt19937& rng, const std::string& name, const std::string& in,
                const std::string& out, std::int64_t channels) {
    b.init_f32(name + ".gamma", {channels}, uniform(rng, static_cast<std::size_t>(channels), 0.5f, 1.5f));
    b.init_f32(name + ".beta", {channels}, uniform(rng, static_cast<std::size_t>(channels), -0.5f, 0.5f));
    b.init_f32(name + ".mean", {channels}, uniform(rng, static_cast<std::size_t>(channels), -0.5f, 0.5f));
    b.init_f32(name + ".var", {channels}, uniform(rng, static_cast<std::size_t>(channels), 0.5f, 2.0f));
    b.node("BatchNormalization", {in, name + ".gamma", name + ".beta", name + ".mean", name + ".var"}, {out}, name);
}

// x [N, 4, 16] -> Conv1d (4 -> 6, k 3, stride 2, pad 1, group 2) -> Relu
// -> BN1d -> Flatten -> Gemm (48 -> 5) -> Relu -> BN1d -> y.
std::string build_model(const TempFile& file) {
    std::mt19937 rng(17);
    ModelBuilder b;
    b.input("x", {-1, kC, kL});
    b.init_f32("w", {kM, kC / 2, 3}, uniform(rng, kM * kC / 2 * 3, -0.6f, 0.6f));
    b.init_f32("wb", {kM}, uniform(rng, kM, -0.1f, 0.1f));
    auto& conv = b.node("Conv", {"x", "w", "wb"}, {"c"}, "conv1d");
    ModelBuilder::attr_ints(conv, "kernel_shape", {3});
    ModelBuilder::attr_ints(conv, "strides", {2});
    ModelBuilder::attr_ints(conv, "pads", {1, 1});
    ModelBuilder::attr_int(conv, "group", 2);
    b.node("Relu", {"c"}, {"r"}, "relu");
    batch_norm(b, rng, "bn3d", "r", "n", kM);
    b.node("Flatten", {"n"}, {"f"}, "flatten");
    b.init_f32("g", {kOut, kM * kL / 2}, uniform(rng, kOut * kM * kL / 2, -0.3f, 0.3f));
    b.init_f32("gb", {kOut}, uniform(rng, kOut, -0.1f, 0.1f));
    auto& gemm = b.node("Gemm", {"f", "g", "gb"}, {"h"}, "fc");
    ModelBuilder::attr_int(gemm, "transB", 1);
    b.node("Relu", {"h"}, {"hr"}, "relu2");   // keeps the BN from folding into the Gemm
    batch_norm(b, rng, "bn2d", "hr", "y", kOut);
    b.output("y");
    b.save(file);
    return file.path();
}

}  // namespace

TEST_CASE("calibrator: Conv1d and BatchNorm1d run on the MAC array and track FP32", "[calibrator]") {
    std::mt19937 rng(3);
    std::normal_distribution<float> n(0.0f, 1.0f);
    std::vector<float> xs(kN * kC * kL);
    for (float& v : xs) v = n(rng);
    const calib::Tensor x = calib::Tensor::from_vector<float>({kN, kC, kL}, xs);

    TempFile file(".onnx");
    calib::Graph graph = calib::load_onnx(build_model(file));
    calib::run_standard_passes(graph);
    const calib::Graph fp32 = graph;
    const arch::ArchSpec arch = arch::load_arch(std::string(BITNPU_SOURCE_DIR) + "/configs/int8_npu.yaml");
    calib::CalibOptions options;
    options.samples = kN;
    options.threads = 1;
    const auto source = calib::make_array_source({{"x", x}});
    const calib::CalibResult result = calib::calibrate(graph, arch, *source, options);

    int convs = 0;
    for (const calib::CTableLayer& l : result.table.layers) {
        INFO(l.node << " " << l.op << " on " << l.engine);
        CHECK(l.engine != "host");
        if (l.op == "Conv") {
            ++convs;
            CHECK(l.engine == "mac");
        }
    }
    CHECK(convs == 3);   // the Conv1d and the two BatchNorm1d

    const calib::Program p = calib::build_program(graph, arch, result.table, x.shape());
    const sim::FloatTensor fx{x.shape(), x.to_floats()};
    const sim::GraphResult q = sim::run(p.qgraph, {fx});
    const calib::Executor exec(fp32);
    const calib::Tensor ref = exec.run({{"x", x}}).at("y");
    REQUIRE(q.outputs.at(0).data.size() == static_cast<std::size_t>(ref.numel()));
    const double sqnr = sim::sqnr_db(ref.data<float>(), q.outputs.at(0).data.data(), q.outputs.at(0).data.size());
    CHECK(sqnr > 30.0);
}
