// Data-movement ops (Slice, Pad with 0, Gather, Split, ...) run as layout
// nodes: their outputs keep their input's quantization and the bit-accurate
// model only moves the integers. Checked end to end through calibrate() and
// the simulator against the same selection done by hand on the raw output
// of the producing convolution.
#include <catch2/catch.hpp>

#include <random>

#include "bitnpu/arch/load.hpp"
#include "bitnpu/fp32/batching.hpp"
#include "bitnpu/fp32/executor.hpp"
#include "bitnpu/calibrator/calibrator.hpp"
#include "bitnpu/graph/onnx_import.hpp"
#include "bitnpu/frontend/passes.hpp"
#include "bitnpu/sim/functional/graph.hpp"
#include "onnx_model_builder.hpp"

namespace {

using namespace bitnpu;
using bitnpu::test::ModelBuilder;
using bitnpu::test::TempFile;

constexpr std::int64_t kN = 4, kC = 4, kH = 5, kW = 5, kOut = 6;

// x -> Conv 1x1 (4 -> 6 channels) -> y; with_moves adds
// y -> Slice channels [1, 5) -> Pad 1 pixel of 0 -> Gather channels {3, 0} -> z.
std::string build_model(const TempFile& file, bool with_moves) {
    ModelBuilder b;
    b.input("x", {-1, kC, kH, kW});
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> w(kOut * kC), bias(kOut);
    for (float& v : w) v = u(rng);
    for (float& v : bias) v = 0.1f * u(rng);
    b.init_f32("w", {kOut, kC, 1, 1}, w);
    b.init_f32("b", {kOut}, bias);
    b.node("Conv", {"x", "w", "b"}, {"y"}, "conv");
    std::string out = "y";
    if (with_moves) {
        b.init_i64("starts", {1}, {1});
        b.init_i64("ends", {1}, {5});
        b.init_i64("axes", {1}, {1});
        b.node("Slice", {"y", "starts", "ends", "axes"}, {"s"}, "slice");
        b.init_i64("pads", {8}, {0, 0, 1, 1, 0, 0, 1, 1});
        b.node("Pad", {"s", "pads"}, {"p"}, "pad");
        b.init_i64("idx", {2}, {3, 0});
        auto& g = b.node("Gather", {"p", "idx"}, {"z"}, "gather");
        ModelBuilder::attr_int(g, "axis", 1);
        out = "z";
    }
    b.output(out);
    b.save(file);
    return file.path();
}

struct Run {
    calib::CalibResult calib;
    sim::QTensor raw;
};

Run calibrate_and_run(const std::string& path, const calib::Tensor& x) {
    const arch::ArchSpec arch = arch::load_arch(std::string(BITNPU_SOURCE_DIR) + "/configs/int8_npu.yaml");
    calib::Graph graph = calib::load_onnx(path);
    calib::run_standard_passes(graph);
    calib::CalibOptions options;
    options.policy = calib::PolicyKind::max;
    options.samples = kN;
    options.threads = 1;
    const auto source = calib::make_array_source({{"x", x}});
    Run r{calib::calibrate(graph, arch, *source, options), {}};
    const calib::Program p = calib::build_program(graph, arch, r.calib.table, x.shape());
    const sim::FloatTensor fx{x.shape(), x.to_floats()};
    const sim::QTensor qx = sim::quantize_tensor(fx, p.qgraph.tensors.at(static_cast<std::size_t>(p.qgraph.inputs[0])).quant);
    r.raw = sim::run_quantized(p.qgraph, {qx}).raw_outputs.at(0);
    return r;
}

}  // namespace

TEST_CASE("calibrator: Slice, Pad(0) and Gather run as layout nodes that only move integers", "[calibrator]") {
    std::mt19937 rng(9);
    std::normal_distribution<float> n(0.0f, 1.0f);
    std::vector<float> xs(kN * kC * kH * kW);
    for (float& v : xs) v = n(rng);
    const calib::Tensor x = calib::Tensor::from_vector<float>({kN, kC, kH, kW}, xs);

    TempFile conv_file(".onnx"), moves_file(".onnx");
    const Run conv = calibrate_and_run(build_model(conv_file, false), x);
    const Run moves = calibrate_and_run(build_model(moves_file, true), x);

    for (const calib::CTableLayer& l : moves.calib.table.layers)
        if (l.op == "Slice" || l.op == "Pad" || l.op == "Gather") CHECK(l.engine == "layout");
    // Same data and policy: the conv output has the same quantization in both.
    const auto& yq = conv.raw.quant;
    REQUIRE(moves.raw.quant.scales == yq.scales);
    REQUIRE(moves.raw.quant.zero_points == yq.zero_points);

    const std::int64_t z = yq.zero_points.at(0), channels[2] = {3, 0};
    REQUIRE(moves.raw.shape == sim::Shape{kN, 2, kH + 2, kW + 2});
    for (std::int64_t b = 0; b < kN; ++b)
        for (std::int64_t c = 0; c < 2; ++c)
            for (std::int64_t i = 0; i < kH + 2; ++i)
                for (std::int64_t j = 0; j < kW + 2; ++j) {
                    const bool pad = i == 0 || j == 0 || i == kH + 1 || j == kW + 1;
                    const std::int64_t src_c = 1 + channels[c];   // Gather index into the Slice [1, 5)
                    const std::int64_t expected =
                        pad ? z : conv.raw.values[static_cast<std::size_t>(((b * kOut + src_c) * kH + i - 1) * kW + j - 1)];
                    CHECK(moves.raw.values[static_cast<std::size_t>(((b * 2 + c) * (kH + 2) + i) * (kW + 2) + j)] ==
                          expected);
                }
}

TEST_CASE("calibrator: a model exported with a fixed batch of 1 calibrates and simulates in chunks", "[calibrator]") {
    // Reshape to the constant [1, -1] would break on any batch but 1: every
    // run must feed the model one sample at a time.
    ModelBuilder b;
    b.input("x", {1, 2, 3, 3});
    b.init_f32("w", {3, 2, 1, 1}, {0.5f, -0.25f, 1.0f, 0.75f, -0.5f, 0.25f});
    b.node("Conv", {"x", "w"}, {"y"}, "conv");
    b.init_i64("shape", {2}, {1, -1});
    b.node("Reshape", {"y", "shape"}, {"r"}, "flatten");
    std::vector<float> fc(4 * 27);
    for (std::size_t i = 0; i < fc.size(); ++i) fc[i] = 0.01f * static_cast<float>(static_cast<int>(i % 11) - 5);
    b.init_f32("fc", {27, 4}, fc);
    b.node("MatMul", {"r", "fc"}, {"z"}, "fc");
    b.output("z");
    TempFile file(".onnx");
    b.save(file);

    std::mt19937 rng(3);
    std::normal_distribution<float> n(0.0f, 1.0f);
    std::vector<float> xs(6 * 2 * 3 * 3);
    for (float& v : xs) v = n(rng);
    const calib::Tensor x = calib::Tensor::from_vector<float>({6, 2, 3, 3}, xs);

    const arch::ArchSpec arch = arch::load_arch(std::string(BITNPU_SOURCE_DIR) + "/configs/int8_npu.yaml");
    calib::Graph graph = calib::load_onnx(file.path());
    calib::run_standard_passes(graph);
    REQUIRE(calib::fixed_batch(graph) == 1);
    calib::CalibOptions options;
    options.samples = 6;
    options.search_samples = 4;
    options.threads = 1;
    const auto source = calib::make_array_source({{"x", x}});
    const calib::CalibResult result = calib::calibrate(graph, arch, *source, options);
    CHECK(result.samples_used == 6);

    const calib::Program p = calib::build_program(graph, arch, result.table, {1, 2, 3, 3});
    const auto& in_quant = p.qgraph.tensors.at(static_cast<std::size_t>(p.qgraph.inputs[0])).quant;
    const sim::QTensor qx = sim::quantize_tensor({x.shape(), x.to_floats()}, in_quant);
    const sim::GraphResult all = calib::run_quantized_batched(p.qgraph, {qx}, 1);
    REQUIRE(all.raw_outputs.at(0).shape == sim::Shape{6, 4});
    for (std::int64_t s = 0; s < 6; ++s) {
        sim::QTensor one = qx;
        one.shape[0] = 1;
        one.values.assign(qx.values.begin() + s * 18, qx.values.begin() + (s + 1) * 18);
        const sim::QTensor y = sim::run_quantized(p.qgraph, {one}).raw_outputs.at(0);
        for (std::int64_t j = 0; j < 4; ++j) CHECK(all.raw_outputs[0].values[s * 4 + j] == y.values[j]);
    }
    // npusim builds the program from the data's shape (6 rows): the shapes
    // are still inferred for the model's batch of 1, so the program is the same.
    const calib::Program from_data = calib::build_program(graph, arch, result.table, x.shape());
    CHECK(calib::run_quantized_batched(from_data.qgraph, {qx}, 1).raw_outputs.at(0).values == all.raw_outputs.at(0).values);
}

TEST_CASE("calibrator: a bias too large for the bias register widens its channel's weight scale", "[calibrator]") {
    // Channel 0: b / (s_w s_x) would be far beyond the 20-bit bias register at
    // the weight's own scale (1e-3 / 127); its weight range is widened until
    // the bias fits (lower_mac.cpp widen_for_bias), instead of the bias
    // saturating and the multiplier rounding to 0.
    ModelBuilder b;
    b.input("x", {-1, 1, 2, 2});
    b.init_f32("w", {2, 1, 1, 1}, {1e-3f, 1.0f});
    b.init_f32("b", {2}, {1e4f, 0.5f});
    b.node("Conv", {"x", "w", "b"}, {"y"}, "conv");
    b.output("y");
    TempFile file(".onnx");
    b.save(file);
    std::vector<float> xs(8 * 4);
    for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<float>(i % 7) - 3.0f;
    const arch::ArchSpec arch = arch::load_arch(std::string(BITNPU_SOURCE_DIR) + "/configs/int8_npu.yaml");
    calib::Graph graph = calib::load_onnx(file.path());
    calib::run_standard_passes(graph);
    calib::CalibOptions options;
    options.policy = calib::PolicyKind::max;
    options.samples = 8;
    const auto source = calib::make_array_source({{"x", calib::Tensor::from_vector<float>({8, 1, 2, 2}, xs)}});
    const calib::CalibResult result = calib::calibrate(graph, arch, *source, options);
    for (const auto& w : result.warnings) CHECK_THAT(w, !Catch::Contains("biases saturate"));
    const calib::CTableLayer* conv = nullptr;
    for (const calib::CTableLayer& l : result.table.layers)
        if (l.node == "conv") conv = &l;
    REQUIRE(conv != nullptr);
    REQUIRE(conv->bias.size() == 2);
    const double s_x = calib::quant_params(*result.table.find_tensor("x")).scales.at(0);
    const double held = double(conv->bias[0]) * conv->weight_scale.at(0) * s_x;
    CHECK(std::abs(conv->bias[0]) < (std::int64_t{1} << 19));
    CHECK(held == Approx(1e4).epsilon(1e-4));
    CHECK(conv->weight_scale.at(1) == Approx(1.0 / 127).epsilon(1e-6));   // the other channel is untouched
}

TEST_CASE("calibrator: a pool whose 1/N a shifter cannot realize is reported", "[calibrator]") {
    // GlobalAveragePool over 7 x 7: the ideal multiplier carries 1/49, which a
    // barrel shifter realizes only as a power of two (up to ~30 % off).
    ModelBuilder b;
    b.input("x", {-1, 2, 7, 7});
    b.node("Relu", {"x"}, {"r"}, "relu");
    b.node("GlobalAveragePool", {"r"}, {"y"}, "gap");
    b.output("y");
    TempFile file(".onnx");
    b.save(file);
    std::vector<float> xs(8 * 2 * 49);
    for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<float>(i % 11) - 5.0f;
    calib::CalibOptions options;
    options.policy = calib::PolicyKind::max;
    options.samples = 8;
    const auto source = calib::make_array_source({{"x", calib::Tensor::from_vector<float>({8, 2, 7, 7}, xs)}});
    auto warnings_for = [&](const char* config) {
        const arch::ArchSpec arch = arch::load_arch(std::string(BITNPU_SOURCE_DIR) + "/configs/" + config);
        calib::Graph graph = calib::load_onnx(file.path());
        calib::run_standard_passes(graph);
        return calib::calibrate(graph, arch, *source, options).warnings;
    };
    const std::vector<std::string> shifter = warnings_for("shift_only.yaml");
    REQUIRE(shifter.size() == 1);
    CHECK_THAT(shifter[0], Catch::Contains("'gap'") && Catch::Contains("GlobalAveragePool") &&
                               Catch::Contains("realizes the multiplier only to within"));
    CHECK(warnings_for("int8_npu.yaml").empty());   // a 16-bit multiplier comes within 1e-4
}

TEST_CASE("calibrator: Resize nearest runs as a layout node that repeats integers", "[calibrator]") {
    // x -> Conv 1x1 -> Resize nearest x2 (scales as a constant, asymmetric
    // coordinates) -> z: every output pixel is a copy of the conv output at
    // (i / 2, j / 2), with the same quantization.
    ModelBuilder b;
    b.input("x", {-1, kC, kH, kW});
    std::vector<float> w(kOut * kC);
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = 0.1f * static_cast<float>(static_cast<int>(i % 9) - 4);
    b.init_f32("w", {kOut, kC, 1, 1}, w);
    b.node("Conv", {"x", "w"}, {"y"}, "conv");
    b.init_f32("scales", {4}, {1.0f, 1.0f, 2.0f, 2.0f});
    auto& r = b.node("Resize", {"y", "", "scales"}, {"z"}, "upsample");
    ModelBuilder::attr_string(r, "mode", "nearest");
    ModelBuilder::attr_string(r, "coordinate_transformation_mode", "asymmetric");
    ModelBuilder::attr_string(r, "nearest_mode", "floor");
    b.output("z");
    TempFile file(".onnx");
    b.save(file);

    std::mt19937 rng(4);
    std::normal_distribution<float> n(0.0f, 1.0f);
    std::vector<float> xs(kN * kC * kH * kW);
    for (float& v : xs) v = n(rng);
    const calib::Tensor x = calib::Tensor::from_vector<float>({kN, kC, kH, kW}, xs);
    // No host fallback: the Resize must place as layout (int8_npu's host lists Resize).
    arch::ArchSpec arch = arch::load_arch(std::string(BITNPU_SOURCE_DIR) + "/configs/int8_npu.yaml");
    arch.host.enabled = false;
    calib::Graph graph = calib::load_onnx(file.path());
    calib::run_standard_passes(graph);
    calib::CalibOptions options;
    options.policy = calib::PolicyKind::max;
    options.samples = kN;
    options.threads = 1;
    const auto source = calib::make_array_source({{"x", x}});
    const calib::CalibResult result = calib::calibrate(graph, arch, *source, options);
    for (const calib::CTableLayer& l : result.table.layers)
        if (l.op == "Resize") CHECK(l.engine == "layout");
    const calib::Program p = calib::build_program(graph, arch, result.table, x.shape());
    const sim::FloatTensor fx{x.shape(), x.to_floats()};
    const auto& in_quant = p.qgraph.tensors.at(static_cast<std::size_t>(p.qgraph.inputs[0])).quant;
    sim::QTensor y;   // the conv output, as the program computed it
    const sim::TensorObserver keep_y = [&](const sim::QuantNode*, int id, const sim::QTensor& v) {
        if (p.qgraph.tensors.at(static_cast<std::size_t>(id)).name == "y") y = v;
    };
    const sim::QTensor up =
        sim::run_quantized(p.qgraph, {sim::quantize_tensor(fx, in_quant)}, {}, keep_y).raw_outputs.at(0);
    // The Resize output is tied to the conv output: same quantization, copied integers.
    REQUIRE(up.shape == sim::Shape{kN, kOut, 2 * kH, 2 * kW});
    REQUIRE(y.shape == sim::Shape{kN, kOut, kH, kW});
    REQUIRE(up.quant.scales == y.quant.scales);
    for (std::int64_t i = 0; i < up.size(); ++i) {
        const std::int64_t j = i % (2 * kW), rest = i / (2 * kW), h = rest % (2 * kH), nc = rest / (2 * kH);
        REQUIRE(up.values[static_cast<std::size_t>(i)] ==
                y.values[static_cast<std::size_t>((nc * kH + h / 2) * kW + j / 2)]);
    }
}

TEST_CASE("calibrator: Resize linear runs on the vector engine on its input's grid", "[calibrator]") {
    // x -> Conv 1x1 -> Resize linear x2 (half_pixel) -> z: placed on int8_npu's
    // vector unit with the host off; its output shares the conv output's
    // quantization and equals sim::run_resize_layer of the conv output.
    ModelBuilder b;
    b.input("x", {-1, kC, kH, kW});
    std::vector<float> w(kOut * kC);
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = 0.1f * static_cast<float>(static_cast<int>(i % 9) - 4);
    b.init_f32("w", {kOut, kC, 1, 1}, w);
    b.node("Conv", {"x", "w"}, {"y"}, "conv");
    b.init_f32("scales", {4}, {1.0f, 1.0f, 2.0f, 2.0f});
    auto& r = b.node("Resize", {"y", "", "scales"}, {"z"}, "upsample");
    ModelBuilder::attr_string(r, "mode", "linear");
    b.output("z");
    TempFile file(".onnx");
    b.save(file);

    std::mt19937 rng(6);
    std::normal_distribution<float> n(0.0f, 1.0f);
    std::vector<float> xs(kN * kC * kH * kW);
    for (float& v : xs) v = n(rng);
    const calib::Tensor x = calib::Tensor::from_vector<float>({kN, kC, kH, kW}, xs);
    arch::ArchSpec arch = arch::load_arch(std::string(BITNPU_SOURCE_DIR) + "/configs/int8_npu.yaml");
    arch.host.enabled = false;
    calib::Graph graph = calib::load_onnx(file.path());
    calib::run_standard_passes(graph);
    const calib::Graph fp32 = graph;
    calib::CalibOptions options;
    options.samples = kN;
    options.threads = 1;
    const auto source = calib::make_array_source({{"x", x}});
    const calib::CalibResult result = calib::calibrate(graph, arch, *source, options);
    for (const calib::CTableLayer& l : result.table.layers)
        if (l.op == "Resize") CHECK(l.engine == "vec");
    const calib::Program p = calib::build_program(graph, arch, result.table, x.shape());
    const sim::FloatTensor fx{x.shape(), x.to_floats()};
    const auto& in_quant = p.qgraph.tensors.at(static_cast<std::size_t>(p.qgraph.inputs[0])).quant;
    sim::QTensor y;
    const sim::TensorObserver keep_y = [&](const sim::QuantNode*, int id, const sim::QTensor& v) {
        if (p.qgraph.tensors.at(static_cast<std::size_t>(id)).name == "y") y = v;
    };
    const sim::QTensor up =
        sim::run_quantized(p.qgraph, {sim::quantize_tensor(fx, in_quant)}, {}, keep_y).raw_outputs.at(0);
    REQUIRE(up.quant.scales == y.quant.scales);
    sim::ResizeLayer layer;
    layer.out_h = 2 * kH;
    layer.out_w = 2 * kW;
    layer.scale_h = layer.scale_w = 2.0;
    layer.rounding = arch.find_engine("vec")->requant.rounding;
    CHECK(up.values == sim::run_resize_layer(layer, y).values);
    // And it tracks FP32.
    const calib::Tensor ref = calib::Executor(fp32).run({{"x", x}}).at("z");
    const sim::GraphResult out = sim::run(p.qgraph, {fx});
    CHECK(sim::sqnr_db(ref.data<float>(), out.outputs.at(0).data.data(), out.outputs.at(0).data.size()) > 30.0);
}

TEST_CASE("calibrator: ConvTranspose runs on the MAC array and equals a brute-force transposed convolution",
          "[calibrator]") {
    // x [N, 4, 5, 5] -> ConvTranspose (k 4, stride 2, pads 1, bias) -> y [N, 3, 10, 10].
    constexpr std::int64_t kIn = 4, kOutC = 3, kK = 4, kS = 2, kP = 1, kHW = 5, kOutHW = 10;
    ModelBuilder b;
    b.input("x", {-1, kIn, kHW, kHW});
    std::mt19937 rng(8);
    std::uniform_real_distribution<float> u(-0.3f, 0.3f);
    std::vector<float> w(kIn * kOutC * kK * kK), bias(kOutC);
    for (float& v : w) v = u(rng);
    for (float& v : bias) v = u(rng);
    b.init_f32("w", {kIn, kOutC, kK, kK}, w);
    b.init_f32("b", {kOutC}, bias);
    auto& ct = b.node("ConvTranspose", {"x", "w", "b"}, {"y"}, "deconv");
    ModelBuilder::attr_ints(ct, "strides", {kS, kS});
    ModelBuilder::attr_ints(ct, "pads", {kP, kP, kP, kP});
    b.output("y");
    TempFile file(".onnx");
    b.save(file);
    std::normal_distribution<float> n(0.0f, 1.0f);
    std::vector<float> xs(kN * kIn * kHW * kHW);
    for (float& v : xs) v = n(rng);
    const calib::Tensor x = calib::Tensor::from_vector<float>({kN, kIn, kHW, kHW}, xs);
    arch::ArchSpec arch = arch::load_arch(std::string(BITNPU_SOURCE_DIR) + "/configs/int8_npu.yaml");
    arch.host.enabled = false;
    calib::Graph graph = calib::load_onnx(file.path());
    calib::run_standard_passes(graph);
    const calib::Graph fp32 = graph;
    calib::CalibOptions options;
    options.samples = kN;
    options.threads = 1;
    const auto source = calib::make_array_source({{"x", x}});
    const calib::CalibResult result = calib::calibrate(graph, arch, *source, options);
    int on_mac = 0;
    for (const calib::CTableLayer& l : result.table.layers) on_mac += l.engine == "mac";
    CHECK(on_mac == 1);
    // The MAC layer reads the graph input: alone or with its upstream
    // quantized, its inputs are the same, so both SQNRs agree exactly.
    for (const calib::LayerSummary& l : result.layers)
        if (l.engine == "mac") {
            REQUIRE(l.sqnr_db);
            REQUIRE(l.isolated_sqnr_db);
            CHECK(*l.sqnr_db == *l.isolated_sqnr_db);
        }

    const calib::Program p = calib::build_program(graph, arch, result.table, x.shape());
    const sim::FloatTensor fx{x.shape(), x.to_floats()};
    const auto& in_quant = p.qgraph.tensors.at(static_cast<std::size_t>(p.qgraph.inputs[0])).quant;
    const sim::QTensor xq = sim::quantize_tensor(fx, in_quant);
    const sim::QTensor y = sim::run_quantized(p.qgraph, {xq}).raw_outputs.at(0);
    REQUIRE(y.shape == sim::Shape{kN, kOutC, kOutHW, kOutHW});
    const sim::MacLayer* mac = nullptr;
    for (const sim::QuantNode& node : p.qgraph.nodes)
        if (const auto* l = std::get_if<sim::MacLayer>(&node.params)) mac = l;
    REQUIRE(mac != nullptr);
    // ONNX ConvTranspose on the integers: input (iy, ix) scatters into output
    // (iy s - p + ky, ix s - p + kx) with W[c, o, ky, kx] = W'[o, c, k-1-ky, k-1-kx].
    std::int64_t mismatches = 0;
    for (std::int64_t s = 0; s < kN; ++s)
        for (std::int64_t o = 0; o < kOutC; ++o)
            for (std::int64_t oy = 0; oy < kOutHW; ++oy)
                for (std::int64_t ox = 0; ox < kOutHW; ++ox) {
                    std::int64_t acc = mac->bias.empty() ? 0 : mac->bias[static_cast<std::size_t>(o)];
                    for (std::int64_t c = 0; c < kIn; ++c)
                        for (std::int64_t ky = 0; ky < kK; ++ky)
                            for (std::int64_t kx = 0; kx < kK; ++kx) {
                                const std::int64_t ty = oy + kP - ky, tx = ox + kP - kx;
                                if (ty % kS || tx % kS || ty < 0 || tx < 0 || ty / kS >= kHW || tx / kS >= kHW) continue;
                                const std::int64_t xv =
                                    xq.values[static_cast<std::size_t>(((s * kIn + c) * kHW + ty / kS) * kHW + tx / kS)];
                                const std::int64_t wv = mac->weights[static_cast<std::size_t>(
                                    ((o * kIn + c) * kK + (kK - 1 - ky)) * kK + (kK - 1 - kx))];
                                acc += (xv - mac->input_zero_point) * wv;
                            }
                    const std::int64_t expect = sim::mac_finish(*mac, o, acc);
                    mismatches += y.values[static_cast<std::size_t>(((s * kOutC + o) * kOutHW + oy) * kOutHW + ox)] != expect;
                }
    CHECK(mismatches == 0);
    const calib::Tensor ref = calib::Executor(fp32).run({{"x", x}}).at("y");
    const sim::GraphResult out = sim::run(p.qgraph, {fx});
    CHECK(sim::sqnr_db(ref.data<float>(), out.outputs.at(0).data.data(), out.outputs.at(0).data.size()) > 30.0);
}

TEST_CASE("calibrator: Max and Min against a scalar constant run as lookup tables", "[calibrator]") {
    // x -> Conv 1x1 -> LeakyRelu -> Max(., -0.4) -> Min(., 2.5) -> y (the
    // floor of openWakeWord's embedding model): both are functions of one
    // input, so the vector engine's table holds them. Max of two activations
    // still needs the host.
    ModelBuilder b;
    b.input("x", {-1, kC, kH, kW});
    std::vector<float> w(kOut * kC);
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = 0.2f * static_cast<float>(static_cast<int>(i % 9) - 4);
    b.init_f32("w", {kOut, kC, 1, 1}, w);
    b.node("Conv", {"x", "w"}, {"c"}, "conv");
    auto& lr = b.node("LeakyRelu", {"c"}, {"l"}, "leaky");
    ModelBuilder::attr_float(lr, "alpha", 0.2f);
    b.init_f32("floor", {1}, {-0.4f});
    b.init_f32("ceil", {}, {2.5f});
    b.node("Max", {"l", "floor"}, {"m"}, "max");
    b.node("Min", {"m", "ceil"}, {"y"}, "min");
    b.output("y");
    TempFile file(".onnx");
    b.save(file);
    std::mt19937 rng(12);
    std::normal_distribution<float> n(0.0f, 1.5f);
    std::vector<float> xs(kN * kC * kH * kW);
    for (float& v : xs) v = n(rng);
    const calib::Tensor x = calib::Tensor::from_vector<float>({kN, kC, kH, kW}, xs);
    arch::ArchSpec arch = arch::load_arch(std::string(BITNPU_SOURCE_DIR) + "/configs/int8_npu.yaml");
    arch.host.enabled = false;
    calib::Graph graph = calib::load_onnx(file.path());
    calib::run_standard_passes(graph);
    const calib::Graph fp32 = graph;
    calib::CalibOptions options;
    options.samples = kN;
    options.threads = 1;
    const auto source = calib::make_array_source({{"x", x}});
    const calib::CalibResult result = calib::calibrate(graph, arch, *source, options);
    for (const calib::CTableLayer& l : result.table.layers)
        if (l.op == "Max" || l.op == "Min") CHECK(l.engine == "vec");
    const calib::Program p = calib::build_program(graph, arch, result.table, x.shape());
    const calib::Tensor ref = calib::Executor(fp32).run({{"x", x}}).at("y");
    const sim::GraphResult out = sim::run(p.qgraph, {sim::FloatTensor{x.shape(), x.to_floats()}});
    CHECK(sim::sqnr_db(ref.data<float>(), out.outputs.at(0).data.data(), out.outputs.at(0).data.size()) > 30.0);
}

TEST_CASE("calibrator: a Linear on NHWC values of a fixed-batch model (ConvNeXt pattern) calibrates",
          "[calibrator]") {
    // x [1, C, H, W] (batch fixed at 1) -> Conv 1x1 -> Transpose to NHWC ->
    // MatMul [C, 6] + bias: fuse_matmul_bias rows it as Reshape [-1, C] ->
    // Gemm -> Reshape [-1, H, W, 6], whose first dimension is H W rows, not
    // the batch. The search runs such reshapes on the whole slice (it used to
    // cut them in chunks of the model's batch and fail).
    ModelBuilder b;
    b.input("x", {1, kC, kH, kW});
    std::vector<float> w(kC * kC), lin(kC * 6), bias(6);
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = 0.1f * static_cast<float>(static_cast<int>(i % 7) - 3);
    for (std::size_t i = 0; i < lin.size(); ++i) lin[i] = 0.05f * static_cast<float>(static_cast<int>(i % 11) - 5);
    for (std::size_t i = 0; i < bias.size(); ++i) bias[i] = 0.1f * static_cast<float>(i);
    b.init_f32("w", {kC, kC, 1, 1}, w);
    b.node("Conv", {"x", "w"}, {"c"}, "conv");
    auto& t = b.node("Transpose", {"c"}, {"nhwc"}, "to_nhwc");
    ModelBuilder::attr_ints(t, "perm", {0, 2, 3, 1});
    b.init_f32("lin", {kC, 6}, lin);
    b.init_f32("lin_b", {6}, bias);
    b.node("MatMul", {"nhwc", "lin"}, {"m"}, "linear");
    b.node("Add", {"m", "lin_b"}, {"y"}, "linear_bias");
    b.output("y");
    TempFile file(".onnx");
    b.save(file);
    std::mt19937 rng(13);
    std::normal_distribution<float> n(0.0f, 1.0f);
    std::vector<float> xs(8 * kC * kH * kW);
    for (float& v : xs) v = n(rng);
    const calib::Tensor x = calib::Tensor::from_vector<float>({8, kC, kH, kW}, xs);
    const arch::ArchSpec arch = arch::load_arch(std::string(BITNPU_SOURCE_DIR) + "/configs/int8_npu.yaml");
    calib::Graph graph = calib::load_onnx(file.path());
    calib::run_standard_passes(graph);
    calib::CalibOptions options;
    options.samples = 8;
    options.threads = 1;
    const auto source = calib::make_array_source({{"x", x}});
    const calib::CalibResult result = calib::calibrate(graph, arch, *source, options);
    int gemms = 0;
    for (const calib::CTableLayer& l : result.table.layers) gemms += l.op == "Gemm" && l.engine == "mac";
    CHECK(gemms == 1);
}

TEST_CASE("calibrator: bias correction never lowers a layer's output SQNR on the slice", "[calibrator]") {
    // With one policy there is one candidate, and the first Conv reads the
    // graph input, so with and without bias correction it sees the same
    // values: the kept correction (search.cpp correct_bias_if_better) can
    // only raise its SQNR, or be dropped.
    ModelBuilder b;
    b.input("x", {-1, kC, kH, kW});
    std::mt19937 rng(21);
    std::normal_distribution<float> n(0.0f, 0.3f);
    std::vector<float> w(kOut * kC * 9), bias(kOut);
    for (float& v : w) v = n(rng);
    for (float& v : bias) v = n(rng);
    b.init_f32("w", {kOut, kC, 3, 3}, w);
    b.init_f32("b", {kOut}, bias);
    auto& conv = b.node("Conv", {"x", "w", "b"}, {"y"}, "conv");
    ModelBuilder::attr_ints(conv, "pads", {1, 1, 1, 1});
    b.output("y");
    TempFile file(".onnx");
    b.save(file);
    std::vector<float> xs(kN * kC * kH * kW);
    for (float& v : xs) v = 1.0f + n(rng);   // a mean the quantization shifts
    const calib::Tensor x = calib::Tensor::from_vector<float>({kN, kC, kH, kW}, xs);
    const arch::ArchSpec arch = arch::load_arch(std::string(BITNPU_SOURCE_DIR) + "/configs/w4a8.yaml");
    auto sqnr = [&](bool correct) {
        calib::Graph graph = calib::load_onnx(file.path());
        calib::run_standard_passes(graph);
        calib::CalibOptions options;
        options.policy = calib::PolicyKind::max;
        options.bias_correction = correct;
        options.samples = kN;
        options.threads = 1;
        const auto source = calib::make_array_source({{"x", x}});
        const calib::CalibResult result = calib::calibrate(graph, arch, *source, options);
        for (const calib::LayerSummary& l : result.layers)
            if (l.node == "conv") return l.sqnr_db.value_or(-1e9);
        return -1e9;
    };
    CHECK(sqnr(true) >= sqnr(false));
}

TEST_CASE("calibrator: the in-isolation SQNR is the layer's over the slice's first quarter of rows", "[calibrator]") {
    // x [16, 4, 5, 5] -> Conv 3x3 -> y: one MAC layer reading the graph
    // input, so alone and accumulated differ only in the rows they cover.
    constexpr std::int64_t kRows = 16, kIn = 4, kHW = 5, kOutC = 6;
    ModelBuilder b;
    b.input("x", {-1, kIn, kHW, kHW});
    std::mt19937 rng(21);
    std::uniform_real_distribution<float> u(-0.4f, 0.4f);
    std::vector<float> w(kOutC * kIn * 9);
    for (float& v : w) v = u(rng);
    b.init_f32("w", {kOutC, kIn, 3, 3}, w);
    b.node("Conv", {"x", "w"}, {"y"}, "conv");
    b.output("y");
    TempFile file(".onnx");
    b.save(file);
    std::normal_distribution<float> n(0.0f, 1.0f);
    std::vector<float> xs(kRows * kIn * kHW * kHW);
    for (float& v : xs) v = n(rng);
    const calib::Tensor x = calib::Tensor::from_vector<float>({kRows, kIn, kHW, kHW}, xs);
    arch::ArchSpec arch = arch::load_arch(std::string(BITNPU_SOURCE_DIR) + "/configs/int8_npu.yaml");
    calib::Graph graph = calib::load_onnx(file.path());
    calib::run_standard_passes(graph);
    calib::CalibOptions options;
    options.samples = kRows;
    options.search_samples = kRows;
    options.threads = 1;
    const calib::CalibResult result = calib::calibrate(graph, arch, *calib::make_array_source({{"x", x}}), options);

    const calib::Tensor first = calib::slice_batch(x, 0, kRows / 4);
    const calib::Program p = calib::build_program(graph, arch, result.table, first.shape());
    const sim::GraphResult out = sim::run(p.qgraph, {sim::FloatTensor{first.shape(), first.to_floats()}});
    const calib::Tensor ref = calib::Executor(graph).run({{"x", first}}).at("y");
    const double want = sim::sqnr_db(ref.data<float>(), out.outputs.at(0).data.data(), out.outputs.at(0).data.size());
    bool seen = false;
    for (const calib::LayerSummary& l : result.layers)
        if (l.engine == "mac") {
            REQUIRE(l.isolated_sqnr_db);
            CHECK(*l.isolated_sqnr_db == Approx(want).epsilon(1e-12));   // same integers; sums in another order
            seen = true;
        }
    CHECK(seen);
}
