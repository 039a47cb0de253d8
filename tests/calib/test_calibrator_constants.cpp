// Constant operands on the vector engine (numerics.md "Constant operands"):
// Add/Sub/Mul with a constant (per channel or scalar) place on int8_npu's
// vector unit, the constant gets its own quantization in the CTable, the
// program round-trips through the CTable, and an engine with
// `constant_operands: false` refuses them with a clear message.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <random>

#include "bitnpu/arch/load.hpp"
#include "bitnpu/calibrator/calibrator.hpp"
#include "bitnpu/errors.hpp"
#include "bitnpu/fp32/executor.hpp"
#include "bitnpu/frontend/passes.hpp"
#include "bitnpu/graph/onnx_import.hpp"
#include "bitnpu/sim/datapath/quantize.hpp"
#include "bitnpu/sim/functional/graph.hpp"
#include "onnx_model_builder.hpp"

namespace {

using namespace bitnpu;
using bitnpu::test::ModelBuilder;
using bitnpu::test::TempFile;
using Catch::Matchers::Contains;

constexpr std::int64_t kN = 32, kC = 4, kH = 8, kM = 6, kOut = 3;

std::vector<float> uniform(std::mt19937& rng, std::size_t n, float lo, float hi) {
    std::uniform_real_distribution<float> u(lo, hi);
    std::vector<float> v(n);
    for (float& x : v) x = u(rng);
    return v;
}

// x -> Conv -> Relu -> Add(per-channel constant) -> Mul(scalar 0.75)
//   -> Sub(scalar 0.25) -> GlobalAveragePool -> Flatten -> Gemm -> y.
// The Relu keeps the Add from folding into the Conv's bias.
std::string build_model(const TempFile& file) {
    std::mt19937 rng(5);
    ModelBuilder b;
    b.input("x", {-1, kC, kH, kH});
    b.init_f32("w", {kM, kC, 3, 3}, uniform(rng, kM * kC * 9, -0.4f, 0.4f));
    b.init_f32("wb", {kM}, uniform(rng, kM, -0.1f, 0.1f));
    auto& conv = b.node("Conv", {"x", "w", "wb"}, {"c"}, "conv");
    ModelBuilder::attr_ints(conv, "pads", {1, 1, 1, 1});
    b.node("Relu", {"c"}, {"r"}, "relu");
    b.init_f32("shift", {1, kM, 1, 1}, {0.5f, -0.25f, 1.0f, 0.0f, -1.5f, 2.0f});
    b.node("Add", {"r", "shift"}, {"a"}, "add_const");
    b.init_f32("gain", {}, {0.75f});
    b.node("Mul", {"a", "gain"}, {"m"}, "mul_const");
    b.init_f32("offset", {}, {0.25f});
    b.node("Sub", {"m", "offset"}, {"s"}, "sub_const");
    b.node("GlobalAveragePool", {"s"}, {"p"}, "gap");
    b.node("Flatten", {"p"}, {"f"}, "flatten");
    b.init_f32("g", {kOut, kM}, uniform(rng, kOut * kM, -0.5f, 0.5f));
    b.init_f32("gb", {kOut}, uniform(rng, kOut, -0.1f, 0.1f));
    auto& gemm = b.node("Gemm", {"f", "g", "gb"}, {"y"}, "fc");
    ModelBuilder::attr_int(gemm, "transB", 1);
    b.output("y");
    b.save(file);
    return file.path();
}

calib::Tensor inputs() {
    std::mt19937 rng(9);
    std::normal_distribution<float> n(0.0f, 1.0f);
    std::vector<float> xs(kN * kC * kH * kH);
    for (float& v : xs) v = n(rng);
    return calib::Tensor::from_vector<float>({kN, kC, kH, kH}, xs);
}

arch::ArchSpec int8_npu() { return arch::load_arch(std::string(BITNPU_SOURCE_DIR) + "/configs/int8_npu.yaml"); }

}  // namespace

TEST_CASE("calibrator: Add/Sub/Mul with constant operands run on the vector engine", "[calibrator][constants]") {
    const calib::Tensor x = inputs();
    TempFile file(".onnx");
    calib::Graph graph = calib::load_onnx(build_model(file));
    calib::run_standard_passes(graph);
    const calib::Graph fp32 = graph;
    const arch::ArchSpec arch = int8_npu();
    calib::CalibOptions options;
    options.samples = kN;
    options.threads = 1;
    const auto source = calib::make_array_source({{"x", x}});
    const calib::CalibResult result = calib::calibrate(graph, arch, *source, options);

    int on_vec = 0;
    for (const calib::CTableLayer& l : result.table.layers) {
        INFO(l.node << " " << l.op << " on " << l.engine);
        CHECK(l.engine != "host");
        if (l.op == "Add" || l.op == "Sub" || l.op == "Mul") {
            CHECK(l.engine == "vec");
            ++on_vec;
        }
    }
    CHECK(on_vec == 3);
    REQUIRE(result.plan.constants.size() == 3);
    for (const std::string& c : result.plan.constants) {
        INFO(c);
        const calib::CTableTensor* t = result.table.find_tensor(c);
        REQUIRE(t != nullptr);
        CHECK(t->policy == "constant");
        CHECK(t->scale.size() == 1);
    }
    // A scalar constant is held exactly: its grid includes 0 and the value.
    const calib::QuantParams gain = calib::quant_params(*result.table.find_tensor("gain"));
    const arch::ValueRange r = gain.range();
    const std::int64_t q = sim::quantize(0.75f, gain.scales[0], gain.zero_points[0], r.min, r.max);
    CHECK(sim::dequantize(q, gain.scales[0], gain.zero_points[0]) == 0.75f);

    // The CTable alone rebuilds the program, constants included, and it tracks FP32.
    const calib::Program p = calib::build_program(graph, arch, result.table, x.shape());
    int constants = 0;
    for (const sim::QuantTensorInfo& t : p.qgraph.tensors) constants += t.constant.has_value();
    CHECK(constants == 3);
    const sim::FloatTensor fx{x.shape(), x.to_floats()};
    const sim::GraphResult out = sim::run(p.qgraph, {fx});
    const calib::Executor exec(fp32);
    const calib::Tensor ref = exec.run({{"x", x}}).at("y");
    REQUIRE(out.outputs.at(0).data.size() == static_cast<std::size_t>(ref.numel()));
    CHECK(sim::sqnr_db(ref.data<float>(), out.outputs.at(0).data.data(), out.outputs.at(0).data.size()) > 25.0);
}

TEST_CASE("placement: an engine without constant_operands refuses them, naming the node", "[placement][constants]") {
    TempFile file(".onnx");
    calib::Graph graph = calib::load_onnx(build_model(file));
    calib::run_standard_passes(graph);
    arch::ArchSpec arch = int8_npu();
    for (arch::EngineSpec& e : arch.engines) e.constant_operands = false;
    arch.host.enabled = false;
    CHECK_THROWS_WITH(calib::plan_quantization(graph, arch),
                      Contains("node 'add_const' (op Add)") && Contains("constant operand") &&
                          Contains("constant_operands"));
}

TEST_CASE("placement: a lookup-table op's constant inputs are table parameters, not operands",
          "[placement][constants]") {
    ModelBuilder b;
    b.input("x", {-1, 4});
    b.init_f32("lo", {}, {-1.0f});
    b.init_f32("hi", {}, {2.0f});
    b.node("Clip", {"x", "lo", "hi"}, {"y"}, "clip");
    b.output("y");
    TempFile file(".onnx");
    b.save(file);
    calib::Graph graph = calib::load_onnx(file.path());
    arch::ArchSpec arch = int8_npu();
    arch.host.enabled = false;
    const calib::QuantizationPlan plan = calib::plan_quantization(graph, arch);
    REQUIRE(plan.placement.size() == 1);
    CHECK(plan.placement[0].engine_name() == "vec");
    CHECK(plan.constants.empty());
}
