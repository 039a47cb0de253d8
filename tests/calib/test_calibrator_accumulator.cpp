// Accumulator-aware calibration end to end (docs/calibrator.md
// "Accumulator-aware calibration"): the zoo CNN on configs/acc16.yaml (a
// 16-bit accumulator) overflows on the search slice with
// --accumulator-aware off and never with bound; the bound's weight scales
// are in the CTable, so the program npusim builds from the written table
// holds them (no layer any input can overflow) and computes what calib's own
// evaluation computes; on int8_npu (24 bits) the zoo CNN needs no bound.
#include <catch2/catch.hpp>

#include <algorithm>

#include "bitnpu/arch/load.hpp"
#include "bitnpu/calibrator/calibrator.hpp"
#include "bitnpu/compile/program.hpp"
#include "bitnpu/errors.hpp"
#include "bitnpu/frontend/passes.hpp"
#include "bitnpu/graph/onnx_import.hpp"
#include "bitnpu/quant/accumulator_bound.hpp"
#include "bitnpu/sim/functional/graph.hpp"
#include "onnx_model_builder.hpp"

namespace {

using namespace bitnpu;

const std::string kSource = BITNPU_SOURCE_DIR;

struct Run {
    calib::Graph graph;
    calib::CalibResult result;
};

Run calibrate_cnn(const std::string& config, calib::AccumulatorAware mode) {
    Run r;
    r.graph = calib::load_onnx(kSource + "/models/cnn.onnx");
    calib::run_standard_passes(r.graph);
    const auto samples = calib::load_sample_file(kSource + "/data/calib_500.npy", r.graph);
    calib::CalibOptions options;
    options.samples = 64;
    options.search_samples = 8;
    options.threads = 2;
    options.accumulator_aware = mode;
    const arch::ArchSpec arch = arch::load_arch(kSource + "/configs/" + config);
    r.result = calib::calibrate(r.graph, arch, *samples, options);
    return r;
}

std::int64_t overflowed(const calib::CalibResult& r) {
    std::int64_t n = 0;
    for (const calib::LayerSummary& l : r.layers) n += l.overflowed_accumulations.value_or(0);
    return n;
}

std::int64_t bounded_layers(const calib::CalibResult& r) {
    return std::count_if(r.layers.begin(), r.layers.end(), [](const calib::LayerSummary& l) { return l.accumulator_bound > 0.0; });
}

bool any_overflowable(const calib::Program& p) {
    for (const sim::QuantNode& n : p.qgraph.nodes)
        if (const auto* mac = std::get_if<sim::MacLayer>(&n.params)) {
            const std::vector<bool> c = calib::overflowable_channels(*mac);
            if (std::find(c.begin(), c.end(), true) != c.end()) return true;
        }
    return false;
}

}  // namespace

TEST_CASE("accumulator-aware calibration: off overflows a 16-bit accumulator, bound never does, and the CTable "
          "reproduces the bound",
          "[calibrator][accumulator]") {
    const Run off = calibrate_cnn("acc16.yaml", calib::AccumulatorAware::off);
    CHECK(overflowed(off.result) > 0);
    CHECK(bounded_layers(off.result) == 0);
    CHECK(std::any_of(off.result.warnings.begin(), off.result.warnings.end(),
                      [](const std::string& w) { return w.find("wrapped or saturated") != std::string::npos; }));

    Run bound = calibrate_cnn("acc16.yaml", calib::AccumulatorAware::bound);
    CHECK(overflowed(bound.result) == 0);
    CHECK(bounded_layers(bound.result) > 0);
    for (const calib::LayerSummary& l : bound.result.layers)
        if (l.accumulations) CHECK(*l.accumulations > 0);

    // The written table is the program: its weight scales and biases are the
    // bounded ones, so no input can overflow any of its layers, and it
    // computes what the in-memory table (calib's own evaluation) computes.
    const arch::ArchSpec arch = arch::load_arch(kSource + "/configs/acc16.yaml");
    bitnpu::test::TempFile file(".ctable.yaml");
    calib::write_ctable(bound.result.table, file.path());
    const calib::CTable read = calib::read_ctable(file.path());
    const auto samples = calib::load_sample_file(kSource + "/data/calib_500.npy", bound.graph);
    const calib::Feed feed = samples->batch(0, 16);
    const calib::Tensor& x = feed.begin()->second;
    calib::Graph g1 = bound.graph, g2 = bound.graph;
    const calib::Program from_file = calib::build_program(g1, arch, read, x.shape());
    const calib::Program in_memory = calib::build_program(g2, arch, bound.result.table, x.shape());
    CHECK_FALSE(any_overflowable(from_file));
    const sim::FloatTensor input{x.shape(), x.to_floats()};
    const sim::GraphResult a = sim::run(from_file.qgraph, {input});
    const sim::GraphResult b = sim::run(in_memory.qgraph, {input});
    REQUIRE(a.raw_outputs.size() == b.raw_outputs.size());
    for (std::size_t k = 0; k < a.raw_outputs.size(); ++k) CHECK(a.raw_outputs[k].values == b.raw_outputs[k].values);

    // The off table's program can overflow (the bound is what made the difference).
    calib::Graph g3 = off.graph;
    CHECK(any_overflowable(calib::build_program(g3, arch, off.result.table, x.shape())));
}

TEST_CASE("accumulator-aware calibration: a mode name other than auto, bound or off is a UserError",
          "[calibrator][accumulator]") {
    CHECK(calib::parse_accumulator_aware("auto") == calib::AccumulatorAware::automatic);
    CHECK(calib::parse_accumulator_aware("bound") == calib::AccumulatorAware::bound);
    CHECK(calib::parse_accumulator_aware("off") == calib::AccumulatorAware::off);
    CHECK_THROWS_AS(calib::parse_accumulator_aware("on"), UserError);
    CHECK(calib::accumulator_aware_name(calib::AccumulatorAware::automatic) == "auto");
}
