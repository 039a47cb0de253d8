// AdaRound (bitnpu/quant/adaround.hpp): on a small layer the objective falls
// below nearest rounding's and the relaxed loss falls over the run; every
// integer is floor or ceil of w / s inside the grid; the result does not
// depend on threads. The CTable's weight.rounding round-trips in YAML and
// JSON, and a calibrated table's rounding is what the program executes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>

#include "bitnpu/arch/load.hpp"
#include "bitnpu/calibrator/calibrator.hpp"
#include "bitnpu/compile/program.hpp"
#include "bitnpu/ctable/ctable.hpp"
#include "bitnpu/errors.hpp"
#include "bitnpu/frontend/passes.hpp"
#include "bitnpu/graph/onnx_import.hpp"
#include "bitnpu/quant/adaround.hpp"
#include "onnx_model_builder.hpp"

namespace {

using namespace bitnpu;
using namespace bitnpu::calib;
using Catch::Matchers::Contains;

// A layer of `rows` x `k` weights whose inputs are correlated (x = A z) and
// whose quantized input is x plus uniform noise of about one int8 LSB: the
// setting where the nearest rounding of each weight is not the best set.
struct SmallLayer {
    std::int64_t rows = 8, k = 16;
    std::vector<float> w;
    std::vector<double> h_qq, h_fq;
    AdaRoundProblem problem;

    explicit SmallLayer(unsigned seed) {
        std::mt19937 rng(seed);
        std::normal_distribution<double> n(0.0, 1.0);
        std::uniform_real_distribution<double> noise(-0.02, 0.02);
        w.resize(static_cast<std::size_t>(rows * k));
        for (float& v : w) v = static_cast<float>(0.3 * n(rng));
        std::vector<double> a(static_cast<std::size_t>(k * k));
        for (double& v : a) v = n(rng) / std::sqrt(double(k));
        h_qq.assign(static_cast<std::size_t>(k * k), 0.0);
        h_fq = h_qq;
        const int samples = 2000;
        std::vector<double> z(static_cast<std::size_t>(k)), x(z.size()), xq(z.size());
        for (int s = 0; s < samples; ++s) {
            for (double& v : z) v = n(rng);
            for (std::int64_t i = 0; i < k; ++i) {
                x[i] = 0.0;
                for (std::int64_t j = 0; j < k; ++j) x[i] += a[i * k + j] * z[j];
                xq[i] = x[i] + noise(rng);
            }
            for (std::int64_t i = 0; i < k; ++i)
                for (std::int64_t j = 0; j < k; ++j) {
                    h_qq[i * k + j] += xq[i] * xq[j] / samples;
                    h_fq[i * k + j] += x[i] * xq[j] / samples;
                }
        }
        problem.weight = w.data();
        problem.rows = rows;
        problem.k = k;
        for (std::int64_t r = 0; r < rows; ++r) {
            const float* row = w.data() + r * k;
            double hi = 0.0;
            for (std::int64_t i = 0; i < k; ++i) hi = std::max(hi, std::abs(double(row[i])));
            // A shrunk range (as the weight clipping picks), so some weights clip.
            problem.quant.push_back(derive_quant({-0.8 * hi, 0.8 * hi}, arch::ValueType::int4, false, {}));
        }
        problem.h_qq = h_qq.data();
        problem.h_fq = h_fq.data();
    }
};

}  // namespace

TEST_CASE("adaround: the objective falls below nearest rounding's and the relaxed loss falls", "[quant][adaround]") {
    for (unsigned seed : {1u, 2u, 3u}) {
        const SmallLayer layer(seed);
        const AdaRoundResult r = adaround(layer.problem);
        CHECK(r.objective <= r.objective_nearest);
        CHECK(r.objective < r.objective_nearest - 1e-3 * std::abs(r.objective_nearest));   // it finds something
        CHECK(r.objective == Approx(adaround_objective(layer.problem, r.integers)));
        REQUIRE(r.trajectory.size() >= 10);
        CHECK(r.trajectory.back() < r.trajectory.front());
        // Overall decrease: the last quarter sits below the first quarter.
        const std::size_t q = r.trajectory.size() / 4;
        CHECK(*std::max_element(r.trajectory.end() - q, r.trajectory.end()) <
              *std::min_element(r.trajectory.begin(), r.trajectory.begin() + q));
    }
}

TEST_CASE("adaround: every integer is floor or ceil of w / s inside the grid", "[quant][adaround]") {
    const SmallLayer layer(4);
    const AdaRoundResult r = adaround(layer.problem);
    std::int64_t changed = 0;
    for (std::int64_t row = 0; row < layer.rows; ++row) {
        const AffineQuant& q = layer.problem.quant[static_cast<std::size_t>(row)];
        for (std::int64_t i = 0; i < layer.k; ++i) {
            const std::size_t at = static_cast<std::size_t>(row * layer.k + i);
            const std::int64_t v = r.integers[at];
            CHECK(v >= q.grid.qmin);
            CHECK(v <= q.grid.qmax);
            const double ratio = double(layer.w[at] / q.scale);
            const bool inside = ratio > double(q.grid.qmin) && ratio < double(q.grid.qmax);
            if (inside) CHECK((v == std::floor(ratio) || v == std::ceil(ratio)));
            else CHECK(v == quantize_value(layer.w[at], q));   // clipped weights stay clipped
            CHECK((v == quantize_value(layer.w[at], q) || v == other_rounding(layer.w[at], q)));
            changed += v != quantize_value(layer.w[at], q);
        }
    }
    CHECK(changed > 0);
}

TEST_CASE("adaround: the result does not depend on threads", "[quant][adaround]") {
    SmallLayer layer(5);
    // More rows than one block, so the blocks run on several workers.
    std::vector<float> w;
    std::vector<AffineQuant> quant;
    for (int copy = 0; copy < 5; ++copy) {
        w.insert(w.end(), layer.w.begin(), layer.w.end());
        quant.insert(quant.end(), layer.problem.quant.begin(), layer.problem.quant.end());
    }
    AdaRoundProblem p = layer.problem;
    p.weight = w.data();
    p.rows = layer.rows * 5;
    p.quant = quant;
    const AdaRoundResult one = adaround(p, {}, 1), two = adaround(p, {}, 2);
    CHECK(one.integers == two.integers);
    CHECK(one.trajectory == two.trajectory);
}

TEST_CASE("adaround: other_rounding is the other neighbour, or nearest where there is none", "[quant][adaround]") {
    const AffineQuant q = derive_quant({-7.0, 7.0}, arch::ValueType::int4, false, {});   // s = 1, [-8, 7]
    CHECK(other_rounding(2.3, q) == 3);
    CHECK(other_rounding(2.7, q) == 2);
    CHECK(other_rounding(-2.3, q) == -3);
    CHECK(other_rounding(2.0, q) == 2);     // an integer: no choice
    CHECK(other_rounding(6.8, q) == 6);
    CHECK(other_rounding(7.3, q) == 7);     // 8 is outside the grid
    CHECK(other_rounding(30.0, q) == 7);    // clipped
}

TEST_CASE("ctable: weight.rounding round-trips in YAML and JSON and is checked", "[ctable][adaround]") {
    CTable t;
    CTableLayer l;
    l.node = "conv";
    l.op = "Conv";
    l.weight_granularity = "per_channel";
    l.weight_scale = {0.5f, 0.25f};
    for (int i = 0; i < 21; ++i) l.weight_rounding.push_back(i % 3 == 1 || i == 20);
    t.layers.push_back(l);
    const std::string y = to_yaml(t);
    CHECK_THAT(y, Contains("rounding: {weights: 21, flipped: 8, mask: "));
    CHECK(parse_ctable(y, "mem.yaml").layers.at(0).weight_rounding == l.weight_rounding);
    const std::string j = to_json(t);
    CHECK(parse_ctable(j, "mem.json").layers.at(0).weight_rounding == l.weight_rounding);
    CHECK(to_yaml(parse_ctable(j, "mem.json")) == y);

    auto with = [&](const std::string& from, const std::string& to) {
        std::string bad = y;
        bad.replace(bad.find(from), from.size(), to);
        return bad;
    };
    CHECK_THROWS_WITH(parse_ctable(with("weights: 21", "weights: 40"), "t.yaml"),
                      Contains("layers[0].weight.rounding.mask") && Contains("40 weights"));
    CHECK_THROWS_WITH(parse_ctable(with("flipped: 8", "flipped: 9"), "t.yaml"), Contains("the mask flips 8"));
    CHECK_THROWS_WITH(parse_ctable(with("mask: ", "mask: $"), "t.yaml"), Contains("base64"));
    // An unused bit of the last byte set: 21 weights, bit 23 of the mask.
    CTable padded = t;
    padded.layers[0].weight_rounding.resize(24, false);
    padded.layers[0].weight_rounding[23] = true;
    const std::string p = to_yaml(padded);
    const std::string mask = p.substr(p.find("mask: ") + 6, 4);
    CHECK_THROWS_AS(parse_ctable(with("mask: " + y.substr(y.find("mask: ") + 6, 4), "mask: " + mask), "t.yaml"),
                    UserError);
}

namespace {

using bitnpu::test::ModelBuilder;
using bitnpu::test::TempFile;

constexpr std::int64_t kN = 32, kC = 8, kH = 8, kW = 8, kM = 8;

// x [N, 8, 8, 8] -> Conv 3x3 pad 1 (8 -> 8) -> Relu -> "y"
std::string build_model(const TempFile& file) {
    std::mt19937 rng(11);
    std::normal_distribution<float> n(0.0f, 0.2f);
    std::vector<float> w(kM * kC * 9), b(kM);
    for (float& v : w) v = n(rng);
    for (float& v : b) v = 0.5f * n(rng);
    ModelBuilder m;
    m.input("x", {-1, kC, kH, kW});
    m.init_f32("w", {kM, kC, 3, 3}, w);
    m.init_f32("b", {kM}, b);
    auto& conv = m.node("Conv", {"x", "w", "b"}, {"conv"}, "conv");
    ModelBuilder::attr_ints(conv, "kernel_shape", {3, 3});
    ModelBuilder::attr_ints(conv, "pads", {1, 1, 1, 1});
    m.node("Relu", {"conv"}, {"y"}, "relu");
    m.output("y");
    m.save(file);
    return file.path();
}

}  // namespace

TEST_CASE("adaround: the written CTable's rounding is what the program executes", "[calibrator][adaround]") {
    TempFile model_file{".onnx"}, table_file{".ctable.json"};
    const arch::ArchSpec arch = arch::load_arch(std::string(BITNPU_SOURCE_DIR) + "/configs/w4a8.yaml");
    std::mt19937 rng(9);
    std::normal_distribution<float> n(0.0f, 1.0f);
    std::vector<float> xs(kN * kC * kH * kW);
    // Correlated channels (x_c = z + 0.5 e_c), where learned rounding pays.
    for (std::int64_t i = 0; i < kN * kH * kW; ++i) {
        const float z = n(rng);
        const std::int64_t img = i / (kH * kW), pos = i % (kH * kW);
        for (std::int64_t c = 0; c < kC; ++c) xs[(img * kC + c) * kH * kW + pos] = z + 0.5f * n(rng);
    }
    const Tensor x = Tensor::from_vector<float>({kN, kC, kH, kW}, xs);
    Graph graph = load_onnx(build_model(model_file));
    run_standard_passes(graph);
    CalibOptions options;
    options.samples = kN;
    options.threads = 1;
    options.adaround = true;
    const auto source = make_array_source({{"x", x}});
    Graph g = graph;
    const CalibResult result = calibrate(g, arch, *source, options);
    write_ctable(result.table, table_file.path());
    const CTable written = read_ctable(table_file.path());
    const CTableLayer* conv = written.find_layer("conv");
    REQUIRE(conv);
    REQUIRE(std::count(conv->weight_rounding.begin(), conv->weight_rounding.end(), true) > 0);
    CHECK(conv->weight_rounding == result.table.find_layer("conv")->weight_rounding);

    // The program's integers: nearest rounding of w / s, or the other
    // neighbour where the table flags it, with no mismatch.
    Graph pg = graph;
    const Program program = build_program(pg, arch, written, x.shape());
    const sim::MacLayer* mac = nullptr;
    for (const sim::QuantNode& node : program.qgraph.nodes)
        if (const auto* m = std::get_if<sim::MacLayer>(&node.params)) mac = m;
    REQUIRE(mac);
    const std::vector<float> w = graph.initializer("w")->to_floats();
    const std::int64_t per_row = kC * 9;
    std::int64_t mismatches = 0;
    for (std::size_t i = 0; i < w.size(); ++i) {
        const AffineQuant q =
            derive_quant({-7.0 * conv->weight_scale.at(i / per_row), 7.0 * conv->weight_scale.at(i / per_row)},
                         arch::ValueType::int4, false, {});
        REQUIRE(q.scale == conv->weight_scale.at(i / per_row));
        const std::int64_t expected = conv->weight_rounding[i] ? other_rounding(w[i], q) : quantize_value(w[i], q);
        mismatches += mac->weights[i] != expected;
        if (conv->weight_rounding[i]) CHECK(mac->weights[i] != quantize_value(w[i], q));
    }
    CHECK(mismatches == 0);

    // A rounding of the wrong length is a UserError naming the layer.
    CTable bad = written;
    for (CTableLayer& l : bad.layers)
        if (l.node == "conv") l.weight_rounding.resize(l.weight_rounding.size() - 1);
    Graph bg = graph;
    CHECK_THROWS_WITH(build_program(bg, arch, bad, x.shape()),
                      Contains("'conv'") && Contains("weight.rounding covers 575 weights; the layer has 576"));
}
