// A tensor whose only reader is a lookup-table op (calibrator/src/
// table_reader.hpp): finding that reader through the nodes that pass the
// quantization on, and the range where the op's function is not flat.
#include <catch2/catch.hpp>

#include <cmath>
#include <optional>
#include <random>

#include "bitnpu/arch/load.hpp"
#include "bitnpu/calibrator/calibrator.hpp"
#include "bitnpu/fp32/executor.hpp"
#include "bitnpu/sim/functional/graph.hpp"
#include "bitnpu/compile/placement.hpp"
#include "bitnpu/frontend/passes.hpp"
#include "bitnpu/graph/onnx_import.hpp"
#include "calibrator/src/table_reader.hpp"
#include "onnx_model_builder.hpp"

using namespace bitnpu;
using bitnpu::test::ModelBuilder;
using bitnpu::test::TempFile;

namespace {

calib::Node unary(const std::string& op) { return calib::Node{"f", op, "", {"x"}, {"y"}, {}}; }

// x [N, 1, 4, 4] -> Conv -> c -> Resize x2 -> r -> Sigmoid -> y; with
// `second_reader`, c also feeds an Add (c + c) -> z, another output.
calib::Graph conv_resize_sigmoid(TempFile& file, bool second_reader, bool conv_is_output) {
    ModelBuilder b;
    b.input("x", {-1, 1, 4, 4});
    b.init_f32("w", {2, 1, 1, 1}, {0.5f, -0.25f});
    b.init_f32("scales", {4}, {1.0f, 1.0f, 2.0f, 2.0f});
    b.node("Conv", {"x", "w"}, {"c"}, "conv");
    ModelBuilder::attr_string(b.node("Resize", {"c", "", "scales"}, {"r"}, "resize"), "mode", "nearest");
    b.node("Sigmoid", {"r"}, {"y"}, "sigmoid");
    b.output("y");
    if (second_reader) {
        b.node("Add", {"c", "c"}, {"z"}, "add");
        b.output("z");
    }
    if (conv_is_output) b.output("c");
    b.save(file);
    calib::Graph graph = calib::load_onnx(file.path());
    calib::run_standard_passes(graph);
    return graph;
}

std::optional<calib::TableRead> reader_of_conv(const calib::Graph& graph) {
    const arch::ArchSpec arch = arch::load_arch(std::string(BITNPU_SOURCE_DIR) + "/configs/int8_npu.yaml");
    const calib::QuantizationPlan plan = calib::plan_quantization(graph, arch);
    return calib::lone_table_reader(graph, plan, plan.root("c"));
}

}  // namespace

TEST_CASE("lone_table_reader: the lookup-table op behind the nodes that pass the quantization on",
          "[calibrator][table]") {
    TempFile file(".onnx");
    const calib::Graph graph = conv_resize_sigmoid(file, false, false);
    const std::optional<calib::TableRead> read = reader_of_conv(graph);
    REQUIRE(read);
    CHECK(graph.nodes.at(read->reader).op_type == "Sigmoid");
    REQUIRE(read->chain.size() == 1);
    CHECK(graph.nodes.at(read->chain[0]).op_type == "Resize");
}

TEST_CASE("lone_table_reader: none with a second reader or when the tensor is a model output",
          "[calibrator][table]") {
    TempFile a(".onnx"), b(".onnx");
    CHECK_FALSE(reader_of_conv(conv_resize_sigmoid(a, true, false)));
    CHECK_FALSE(reader_of_conv(conv_resize_sigmoid(b, false, true)));
}

TEST_CASE("table_domain: a Sigmoid is flat beyond about +-6 at half an 8-bit step of [0, 1]", "[calibrator][table]") {
    const calib::Graph graph;
    const calib::Node node = unary("Sigmoid");
    const calib::ValueMap f = calib::table_function(graph, node);
    const double tol = 0.5 / 255.0;
    const std::optional<calib::ClipRange> r = calib::table_domain(f, -700.0, 9.0, tol);
    REQUIRE(r);
    // sigmoid(a) = tol and sigmoid(9) - sigmoid(b) = tol, to the refined grid.
    CHECK(r->lo == Approx(std::log(tol / (1.0 - tol))).margin(1e-3));
    const double s9 = 1.0 / (1.0 + std::exp(-9.0));
    CHECK(r->hi == Approx(std::log((s9 - tol) / (1.0 - (s9 - tol)))).margin(1e-3));
    // Flat (within tol of its end values) everywhere: nothing to clip to.
    CHECK_FALSE(calib::table_domain(f, -700.0, -100.0, tol));
    CHECK_FALSE(calib::table_domain(f, 1.0, 1.0, tol));
}

TEST_CASE("table_domain: a Relu is flat below 0 (the range keeps 0); NaN gives none", "[calibrator][table]") {
    const calib::Graph graph;
    const calib::Node relu = unary("Relu");
    const std::optional<calib::ClipRange> r = calib::table_domain(calib::table_function(graph, relu), -5.0, 5.0, 0.01);
    REQUIRE(r);
    CHECK(r->lo == 0.0);
    CHECK(r->hi == Approx(4.99).margin(1e-3));
    const calib::Node sqrt = unary("Sqrt");
    CHECK_FALSE(calib::table_domain(calib::table_function(graph, sqrt), -1.0, 4.0, 0.01));
}

TEST_CASE("table_tolerance: half a step of the output's range on its type's codes", "[calibrator][table]") {
    calib::StatsOptions options;
    options.histograms = false;
    calib::TensorStats st(options);
    const std::vector<float> v{0.0f, 0.25f, 1.0f};
    st.observe(v.data(), v.size());
    CHECK(calib::table_tolerance(st, arch::ValueType::uint8) == Approx(0.5 / 255.0));
}

namespace {

// x [N, 2, 4, 4] -> logits [N, 2, 4, 4] -> Sigmoid -> y, the logits from a
// Conv 1x1 (MAC engine, w = diag(1, -40)) or x + [0, -40] (vector engine, a
// constant operand). Channel 0 of x is uniform in [-2, 2]; channel 1 is 0
// but for one value in every fourth sample, where it is 1: the Conv's
// logits lie in [-2, 2] but for rare values at -40, the Add's channel 1 at
// -40 or -39.
struct SigmoidRun {
    std::string policy;   // of the logits
    double sqnr = 0.0;    // of y, bit-accurate against FP32, on held-out rows
};

SigmoidRun calibrate_sigmoid(std::optional<calib::PolicyKind> policy, bool mac) {
    ModelBuilder b;
    b.input("x", {-1, 2, 4, 4});
    if (mac) {
        b.init_f32("w", {2, 2, 1, 1}, {1.0f, 0.0f, 0.0f, -40.0f});
        b.node("Conv", {"x", "w"}, {"logits"}, "conv");
    } else {
        b.init_f32("offset", {1, 2, 1, 1}, {0.0f, -40.0f});
        b.node("Add", {"x", "offset"}, {"logits"}, "add");
    }
    b.node("Sigmoid", {"logits"}, {"y"}, "sigmoid");
    b.output("y");
    TempFile file(".onnx");
    b.save(file);
    calib::Graph graph = calib::load_onnx(file.path());
    calib::run_standard_passes(graph);
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> u(-2.0f, 2.0f);
    auto rows = [&](std::int64_t n) {
        std::vector<float> v(static_cast<std::size_t>(n * 32), 0.0f);
        for (std::int64_t r = 0; r < n; ++r) {
            for (std::int64_t e = 0; e < 16; ++e) v[static_cast<std::size_t>(r * 32 + e)] = u(rng);
            if (r % 4 == 0) v[static_cast<std::size_t>(r * 32 + 16 + 3)] = 1.0f;
        }
        return calib::Tensor::from_vector<float>({n, 2, 4, 4}, v);
    };
    const calib::Tensor calib_x = rows(64), eval_x = rows(32);
    const arch::ArchSpec arch = arch::load_arch(std::string(BITNPU_SOURCE_DIR) + "/configs/int8_npu.yaml");
    calib::CalibOptions options;
    options.policy = policy;
    options.threads = 1;
    const calib::CalibResult result = calib::calibrate(graph, arch, *calib::make_array_source({{"x", calib_x}}), options);
    const calib::Program p = calib::build_program(graph, arch, result.table, eval_x.shape());
    const sim::GraphResult out = sim::run(p.qgraph, {sim::FloatTensor{eval_x.shape(), eval_x.to_floats()}});
    const calib::Tensor ref = calib::Executor(graph).run({{"x", eval_x}}).at("y");
    SigmoidRun run;
    run.policy = result.table.find_tensor("logits")->policy;
    run.sqnr = sim::sqnr_db(ref.data<float>(), out.outputs.at(0).data.data(), out.outputs.at(0).data.size());
    return run;
}

}  // namespace

TEST_CASE("calibrator: a Sigmoid's input is clipped where the Sigmoid is flat and judged after it",
          "[calibrator][table]") {
    // max spreads 256 codes over [-40, 2] (a step of 0.16 in the logits);
    // table_domain over about [-6.2, 2], a fifth of that (or a policy's
    // range cut to it).
    for (bool mac : {true, false}) {
        INFO((mac ? "Conv (MAC engine)" : "Add (vector engine)"));
        const SigmoidRun max = calibrate_sigmoid(calib::PolicyKind::max, mac);
        const SigmoidRun automatic = calibrate_sigmoid(std::nullopt, mac);
        CHECK(max.policy == "max");
        CHECK_THAT(automatic.policy, Catch::Matchers::EndsWith("table_domain"));   // alone or cut from a policy's range
        CHECK(automatic.sqnr > max.sqnr + 6.0);
    }
}
