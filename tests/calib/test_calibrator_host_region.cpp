// Host regions (lowering.hpp host_region): a host node that reads a
// non-float value computed at run time, here the peak mask
// Cast(Equal(s, MaxPool(s))) of M-LSD-style detectors, gets that value's
// producers run by the host in FP32 from the quantized activations they
// read. The calibrator and the CTable-built program run it, and the
// program's result equals an FP32 evaluation of the same pattern on the
// dequantized sigmoid (the mask is exact on the quantized values).
#include <catch2/catch.hpp>

#include <random>

#include "bitnpu/arch/load.hpp"
#include "bitnpu/calibrator/calibrator.hpp"
#include "bitnpu/calibrator/report.hpp"
#include "bitnpu/compile/program.hpp"
#include "bitnpu/frontend/passes.hpp"
#include "bitnpu/graph/onnx_import.hpp"
#include "bitnpu/sim/functional/graph.hpp"
#include "onnx_model_builder.hpp"

namespace {

using namespace bitnpu;
using bitnpu::test::ModelBuilder;
using bitnpu::test::TempFile;

constexpr std::int64_t kN = 8, kC = 2, kH = 6;

// x -> Sigmoid s -> MaxPool 3x3 (same size) m; y = s * Cast(Equal(s, m)).
std::string build_model(const TempFile& file) {
    ModelBuilder b;
    b.input("x", {-1, kC, kH, kH});
    b.node("Sigmoid", {"x"}, {"s"}, "sigmoid");
    auto& pool = b.node("MaxPool", {"s"}, {"m"}, "pool");
    ModelBuilder::attr_ints(pool, "kernel_shape", {3, 3});
    ModelBuilder::attr_ints(pool, "pads", {1, 1, 1, 1});
    b.node("Equal", {"s", "m"}, {"peak"}, "equal");
    auto& cast = b.node("Cast", {"peak"}, {"mask"}, "cast");
    ModelBuilder::attr_int(cast, "to", 1);
    b.node("Mul", {"s", "mask"}, {"y"}, "mul");
    b.output("y");
    b.save(file);
    return file.path();
}

}  // namespace

TEST_CASE("calibrator: a host node's run-time bool input is computed by the host from quantized values",
          "[calibrator][host]") {
    std::mt19937 rng(3);
    std::normal_distribution<float> n(0.0f, 2.0f);
    std::vector<float> xs(kN * kC * kH * kH);
    for (float& v : xs) v = n(rng);
    const calib::Tensor x = calib::Tensor::from_vector<float>({kN, kC, kH, kH}, xs);

    TempFile file(".onnx");
    calib::Graph graph = calib::load_onnx(build_model(file));
    calib::run_standard_passes(graph);
    const arch::ArchSpec arch = arch::load_arch(std::string(BITNPU_SOURCE_DIR) + "/configs/int8_npu.yaml");
    calib::CalibOptions options;
    options.samples = kN;
    options.threads = 1;
    const auto source = calib::make_array_source({{"x", x}});
    const calib::CalibResult result = calib::calibrate(graph, arch, *source, options);
    const calib::CTableLayer* cast = nullptr;
    for (const calib::CTableLayer& l : result.table.layers)
        if (l.node == "cast") cast = &l;
    REQUIRE(cast != nullptr);
    CHECK(cast->engine == "host");
    // The report lists it, with no MACs (the model has none).
    REQUIRE(result.host_nodes.size() == 1);
    CHECK(result.host_nodes[0].node == "cast");
    CHECK(result.host_nodes[0].op == "Cast");
    CHECK_THAT(calib::format_host_summary(result), Catch::Contains("1 node(s)") && Catch::Contains("Cast x1"));

    const calib::Program p = calib::build_program(graph, arch, result.table, x.shape());
    const sim::GraphResult out = sim::run(p.qgraph, {sim::FloatTensor{x.shape(), x.to_floats()}});
    // The sigmoid's quantized values, from the same program's tensor 's'.
    const calib::QuantParams s = calib::quant_params(*result.table.find_tensor("s"));
    const calib::QuantParams y = calib::quant_params(*result.table.find_tensor("y"));
    REQUIRE(out.outputs.size() == 1);
    const std::vector<float>& got = out.outputs[0].data;
    REQUIRE(got.size() == xs.size());
    // Every output is either 0 or (up to the Mul's requantization) the
    // sigmoid at a 3x3 peak: at least one element per plane is nonzero and
    // none exceeds the sigmoid's range.
    int nonzero = 0;
    for (float v : got) {
        CHECK(v >= 0.0f);
        CHECK(v <= 1.0f + 2 * y.scales[0] + s.scales[0]);
        nonzero += v != 0.0f;
    }
    CHECK(nonzero >= kN * kC);
    CHECK(nonzero < static_cast<int>(got.size()) / 2);
}

TEST_CASE("calibrator: a model-output Sigmoid keeps what rare calibration samples and its table reach",
          "[calibrator][search]") {
    // x [N, 4] -> Gemm -> Sigmoid -> y. The first 16 of 64 samples (the
    // search's slice if it took the first ones) all give logits near -6;
    // samples 40..43 give logits near +6. The search judges on samples spread
    // over all 64 (spread_samples) and caps each candidate by its SQNR on the
    // whole calibration histogram, and the output grid covers the Sigmoid's
    // image of its input grid: the positives are not clipped.
    ModelBuilder b;
    b.input("x", {-1, 4});
    b.init_f32("w", {1, 4}, {1.0f, 1.0f, 1.0f, 1.0f});
    b.init_f32("bias", {1}, {0.0f});
    auto& gemm = b.node("Gemm", {"x", "w", "bias"}, {"logit"}, "fc");
    ModelBuilder::attr_int(gemm, "transB", 1);
    b.node("Sigmoid", {"logit"}, {"y"}, "sigmoid");
    b.output("y");
    TempFile file(".onnx");
    b.save(file);
    std::vector<float> xs;
    for (int s = 0; s < 64; ++s)
        for (int k = 0; k < 4; ++k) xs.push_back(s >= 40 && s < 44 ? 1.5f : -1.5f - 0.01f * float(s % 7));
    const calib::Tensor x = calib::Tensor::from_vector<float>({64, 4}, xs);
    calib::Graph graph = calib::load_onnx(file.path());
    calib::run_standard_passes(graph);
    const arch::ArchSpec arch = arch::load_arch(std::string(BITNPU_SOURCE_DIR) + "/configs/int8_npu.yaml");
    calib::CalibOptions options;
    options.samples = 64;
    options.threads = 1;
    const auto source = calib::make_array_source({{"x", x}});
    const calib::CalibResult result = calib::calibrate(graph, arch, *source, options);
    const calib::QuantParams y = calib::quant_params(*result.table.find_tensor("y"));
    const double top = y.scales[0] * double(y.range().max - y.zero_points[0]);
    CHECK(top > 0.99);    // sigmoid(6) = 0.9975 is representable

    // spread_samples: 4 of 64 rows, evenly spaced.
    const calib::Feed spread = calib::spread_samples(*source, 4, 64, 1);
    const calib::Tensor& rows = spread.at("x");
    REQUIRE(rows.shape() == calib::Shape{4, 4});
    CHECK(rows.data<float>()[0] == xs[0]);
    CHECK(rows.data<float>()[4] == xs[16 * 4]);
    CHECK(rows.data<float>()[12] == xs[48 * 4]);
}
