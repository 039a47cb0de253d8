// The CTable is the program (docs/ctable.md "What npusim executes"): a
// written table's register values are executed as written. Editing one
// register changes exactly the outputs it programs, to the values a
// reference computed with the edited register gives; an illegal register is
// a UserError naming the layer and the entry.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "bitnpu/arch/load.hpp"
#include "bitnpu/calibrator/calibrator.hpp"
#include "bitnpu/compile/program.hpp"
#include "bitnpu/errors.hpp"
#include "bitnpu/frontend/passes.hpp"
#include "bitnpu/graph/onnx_import.hpp"
#include "bitnpu/sim/datapath/quantize.hpp"
#include "bitnpu/sim/functional/graph.hpp"
#include "bitnpu/sim/reference/mac.hpp"
#include "onnx_model_builder.hpp"

namespace {

using namespace bitnpu;
using bitnpu::test::ModelBuilder;
using bitnpu::test::TempFile;

constexpr std::int64_t kN = 32, kC = 3, kH = 8, kW = 8, kM = 4;

// x [N, 3, 8, 8] -> Conv 3x3 pad 1 (3 -> 4) -> Relu -> "c" (output)
//                                              -> Sigmoid -> "s" (output)
std::string build_model(const TempFile& file) {
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> u(-0.5f, 0.5f);
    std::vector<float> w(kM * kC * 9), b(kM);
    for (float& v : w) v = u(rng);
    for (float& v : b) v = 0.2f * u(rng);
    ModelBuilder m;
    m.input("x", {-1, kC, kH, kW});
    m.init_f32("w", {kM, kC, 3, 3}, w);
    m.init_f32("b", {kM}, b);
    auto& conv = m.node("Conv", {"x", "w", "b"}, {"conv"}, "conv");
    ModelBuilder::attr_ints(conv, "kernel_shape", {3, 3});
    ModelBuilder::attr_ints(conv, "pads", {1, 1, 1, 1});
    m.node("Relu", {"conv"}, {"c"}, "relu");
    m.node("Sigmoid", {"c"}, {"s"}, "sigmoid");
    m.output("c");
    m.output("s");
    m.save(file);
    return file.path();
}

struct Fixture {
    TempFile model_file{".onnx"};
    TempFile table_file{".ctable.yaml"};
    calib::Graph graph;
    arch::ArchSpec arch = arch::load_arch(std::string(BITNPU_SOURCE_DIR) + "/configs/int8_npu.yaml");
    calib::Tensor x;
    calib::CTable written;   // the calibrator's table, written and read back

    Fixture() {
        std::mt19937 rng(9);
        std::normal_distribution<float> n(0.0f, 1.0f);
        std::vector<float> xs(kN * kC * kH * kW);
        for (float& v : xs) v = n(rng);
        x = calib::Tensor::from_vector<float>({kN, kC, kH, kW}, xs);
        graph = calib::load_onnx(build_model(model_file));
        calib::run_standard_passes(graph);
        calib::CalibOptions options;
        options.samples = kN;
        options.threads = 1;
        const auto source = calib::make_array_source({{"x", x}});
        calib::Graph g = graph;
        calib::write_ctable(calib::calibrate(g, arch, *source, options).table, table_file.path());
        written = calib::read_ctable(table_file.path());
    }

    calib::Program program(const calib::CTable& table) {
        calib::Graph g = graph;
        return calib::build_program(g, arch, table, x.shape());
    }
    sim::GraphResult run(const calib::Program& p) const { return sim::run(p.qgraph, {{x.shape(), x.to_floats()}}); }
};

calib::CTableLayer& layer_of(calib::CTable& t, const std::string& op) {
    for (calib::CTableLayer& l : t.layers)
        if (l.op == op) return l;
    FAIL("no " << op << " layer in the CTable");
    throw std::logic_error("unreachable");
}

const sim::MacLayer& mac_of(const calib::Program& p) {
    for (const sim::QuantNode& n : p.qgraph.nodes)
        if (const auto* mac = std::get_if<sim::MacLayer>(&n.params)) return *mac;
    throw std::logic_error("no MAC layer in the program");
}

// Channel of element i of an NCHW tensor.
std::int64_t channel(std::size_t i) { return static_cast<std::int64_t>(i) / (kH * kW) % kM; }

}  // namespace

TEST_CASE("ctable program: one multiplier changed by one LSB changes exactly its channel, as the reference says",
          "[ctable][program]") {
    Fixture f;
    const calib::Program before = f.program(f.written);
    const sim::GraphResult r0 = f.run(before);

    // The channel with the largest outputs: one LSB of a ~15-bit multiplier
    // moves an output across a rounding boundary with probability ~|y| / M.
    std::vector<std::int64_t> sums(kM, 0);
    for (std::size_t i = 0; i < r0.raw_outputs.at(0).values.size(); ++i)
        sums[static_cast<std::size_t>(channel(i))] += r0.raw_outputs.at(0).values[i];
    const std::size_t kEdited = static_cast<std::size_t>(std::max_element(sums.begin(), sums.end()) - sums.begin());
    calib::CTable edited = f.written;
    calib::CTableLayer& conv = layer_of(edited, "Conv");
    REQUIRE(conv.requant.size() == static_cast<std::size_t>(kM));
    REQUIRE(conv.requant[kEdited].kind == arch::RequantKind::multiplier);
    const std::int64_t lsb = conv.requant[kEdited].multiplier < 65535 ? 1 : -1;   // stay inside 16 bits
    conv.requant[kEdited].multiplier += lsb;
    TempFile edited_file(".ctable.yaml");
    calib::write_ctable(edited, edited_file.path());
    const calib::Program after = f.program(calib::read_ctable(edited_file.path()));
    const sim::GraphResult r1 = f.run(after);

    // The brute-force reference, with the edited register and nothing else changed.
    sim::MacLayer reference_layer = mac_of(before);
    reference_layer.requant[kEdited].multiplier += lsb;
    const sim::QTensor qx = sim::quantize_tensor({f.x.shape(), f.x.to_floats()},
                                                 before.qgraph.tensors.at(before.qgraph.inputs.at(0)).quant);
    const sim::QTensor expected = sim::reference::conv(reference_layer, qx);

    const auto& c0 = r0.raw_outputs.at(0).values;
    const auto& c1 = r1.raw_outputs.at(0).values;
    REQUIRE(c1.size() == expected.values.size());
    std::size_t changed = 0, mismatches = 0, changed_elsewhere = 0;
    for (std::size_t i = 0; i < c1.size(); ++i) {
        if (c1[i] != expected.values[i]) ++mismatches;
        if (c1[i] != c0[i]) {
            ++changed;
            if (channel(i) != static_cast<std::int64_t>(kEdited)) ++changed_elsewhere;
        }
    }
    CHECK(mismatches == 0);
    CHECK(changed_elsewhere == 0);
    CHECK(changed > 0);   // else the test shows nothing: the edit must be visible on this input
}

TEST_CASE("ctable program: an edited shift, clamp and lookup table are executed as written", "[ctable][program]") {
    Fixture f;
    const sim::GraphResult r0 = f.run(f.program(f.written));

    SECTION("a shift one larger halves the channel's outputs (before zero-point and clamp)") {
        calib::CTable edited = f.written;
        calib::CTableLayer& conv = layer_of(edited, "Conv");
        conv.requant[0].shift += 1;
        const calib::Program p = f.program(edited);
        const sim::GraphResult r1 = f.run(p);
        sim::MacLayer reference_layer = mac_of(f.program(f.written));
        reference_layer.requant[0].shift += 1;
        const calib::Program base = f.program(f.written);
        const sim::QTensor qx = sim::quantize_tensor({f.x.shape(), f.x.to_floats()},
                                                     base.qgraph.tensors.at(base.qgraph.inputs.at(0)).quant);
        CHECK(r1.raw_outputs.at(0).values == sim::reference::conv(reference_layer, qx).values);
        CHECK(r1.raw_outputs.at(0).values != r0.raw_outputs.at(0).values);
    }
    SECTION("a narrower clamp bounds the outputs") {
        calib::CTable edited = f.written;
        calib::CTableLayer& conv = layer_of(edited, "Conv");
        REQUIRE(conv.clamp_hi.has_value());
        conv.clamp_hi = *conv.clamp_lo + 5;
        const sim::GraphResult r1 = f.run(f.program(edited));
        for (std::size_t i = 0; i < r1.raw_outputs.at(0).values.size(); ++i)
            CHECK(r1.raw_outputs.at(0).values[i] == std::min<std::int64_t>(r0.raw_outputs.at(0).values[i], *conv.clamp_hi));
    }
    SECTION("an edited lookup-table entry is what the Sigmoid outputs for that code") {
        calib::CTable edited = f.written;
        calib::CTableLayer& sigmoid = layer_of(edited, "Sigmoid");
        REQUIRE(sigmoid.lut.size() == 256);
        const std::int64_t code = r0.raw_outputs.at(0).values.at(10);   // an input code the Sigmoid sees
        const calib::Program base = f.program(f.written);
        const arch::ValueType c_type = base.qgraph.tensors.at(base.qgraph.outputs.at(0)).quant.type;
        const std::size_t entry = static_cast<std::size_t>(code - arch::value_range(c_type).min);
        sigmoid.lut[entry] = sigmoid.lut[entry] == 0 ? 1 : 0;
        const sim::GraphResult r1 = f.run(f.program(edited));
        const auto& c = r0.raw_outputs.at(0).values;
        const auto& s0 = r0.raw_outputs.at(1).values;
        const auto& s1 = r1.raw_outputs.at(1).values;
        for (std::size_t i = 0; i < s1.size(); ++i)
            CHECK(s1[i] == (c[i] == code ? sigmoid.lut[entry] : s0[i]));
    }
}

TEST_CASE("ctable program: registers the arch cannot hold are refused with their location", "[ctable][program]") {
    Fixture f;
    auto refused = [&](const calib::CTable& t, const std::string& what) {
        try {
            f.program(t);
            FAIL("accepted: " << what);
        } catch (const UserError& e) {
            const std::string message = e.what();
            INFO(message);
            CHECK(message.find("'conv'") != std::string::npos);
            CHECK(message.find(what) != std::string::npos);
        }
    };
    calib::CTable t = f.written;
    layer_of(t, "Conv").requant[1].multiplier = 1 << 16;   // int8_npu: a 16-bit multiplier
    refused(t, "requant.channels[1]: multiplier 65536 is outside");
    t = f.written;
    layer_of(t, "Conv").requant[3].shift = 32;   // 5-bit shift
    refused(t, "requant.channels[3]: shift 32 is outside");
    t = f.written;
    layer_of(t, "Conv").requant[0].rounding = arch::RoundingMode::floor;
    refused(t, "rounding floor is not the unit's");
    t = f.written;
    layer_of(t, "Conv").requant.pop_back();
    refused(t, "requant.channels has 3 entries");
    t = f.written;
    layer_of(t, "Conv").clamp_hi = 300;
    refused(t, "clamp");
    t = f.written;
    layer_of(t, "Conv").output_zero_point = *layer_of(t, "Conv").output_zero_point + 1;
    refused(t, "output_zero_point");
}

TEST_CASE("ctable program: the calibrator's table round-trips through the program unchanged", "[ctable][program]") {
    Fixture f;
    // Executing the table as written gives what deriving from its scales
    // gives: a table without registers (scales, weights and biases only) runs
    // to the same integers.
    calib::CTable scales_only = f.written;
    for (calib::CTableLayer& l : scales_only.layers) {
        l.requant.clear();
        l.lut.clear();
    }
    const sim::GraphResult a = f.run(f.program(f.written));
    const sim::GraphResult b = f.run(f.program(scales_only));
    CHECK(a.raw_outputs.at(0).values == b.raw_outputs.at(0).values);
    CHECK(a.raw_outputs.at(1).values == b.raw_outputs.at(1).values);
}
