// Random MAC layers on the cycle model against the functional model
// (sim::run_mac_layer, itself tested against a reference written from
// numerics.md "The MAC datapath"):
// zero mismatches over ~1000 layers, both dataflows, many array shapes.
#include <catch2/catch.hpp>

#include "bitnpu/sim/systemc/cycle_model.hpp"
#include "cycle_test_util.hpp"

using namespace bitnpu;
using namespace bitnpu::sim;
using namespace bitnpu::sim::cycletest;

namespace {

// Multiply-accumulates of a layer from its shapes: outputs x reduction length.
std::int64_t layer_macs(const MacLayer& layer, const QTensor& x) {
    const Shape y = mac_output_shape(layer, x.shape);
    std::int64_t outputs = 1;
    for (std::int64_t d : y) outputs *= d;
    return outputs * reduction_length(layer);
}

// Runs `count` random layers of one kind on random R x C arrays of both
// dataflows; returns the number of mismatching output elements.
std::int64_t random_layers(MacKind kind, int count, unsigned seed, std::int64_t& saturated_layers) {
    std::mt19937 rng(seed);
    std::int64_t bad = 0;
    for (int i = 0; i < count; ++i) {
        auto [layer, x] = random_mac_layer(rng, kind);
        const QTensor expected = run_mac_layer(layer, x);
        const auto dataflow = i % 2 ? arch::Dataflow::weight_stationary : arch::Dataflow::output_stationary;
        const arch::ArchSpec a = make_arch(dataflow, static_cast<int>(uniform(rng, 1, 8)),
                                           static_cast<int>(uniform(rng, 1, 8)), 4, uniform(rng, 0, 1) ? 512 : 1,
                                           uniform(rng, 0, 1) ? 16.0 : 0.5);
        const auto result = systemc::run_cycle_model(one_node_graph(layer, {x}, "mac", "Conv"), a, {x});
        const std::int64_t m = mismatches(result.raw_outputs.at(0), expected);
        if (m) FAIL_CHECK("layer " << i << " (seed " << seed << "): " << m << " mismatches");
        bad += m;
        const auto acc_max = (std::int64_t{1} << (layer.accumulator.bits - 1)) - 1;
        saturated_layers += layer.accumulator.bits <= 16 && acc_max < 1 << 14;
        const auto& report = result.report.layers.at(0);
        CHECK(report.cycles > 0);
        // The array process counts one useful PE-cycle per MAC (grouped, strided, partial tiles).
        CHECK(report.pe_active_cycles == report.macs);
        CHECK(report.macs == layer_macs(layer, x));
    }
    return bad;
}

}  // namespace

TEST_CASE("cycle model: 500 random convolutions are bit-identical to run_mac_layer", "[systemc][mac]") {
    std::int64_t narrow = 0;
    CHECK(random_layers(MacKind::conv, 500, 1234, narrow) == 0);
    CHECK(narrow > 50);
}

TEST_CASE("cycle model: 500 random GEMMs are bit-identical to run_mac_layer", "[systemc][mac]") {
    std::int64_t narrow = 0;
    CHECK(random_layers(MacKind::gemm, 500, 99, narrow) == 0);
    CHECK(narrow > 50);
}

TEST_CASE("cycle model: narrow accumulators really overflow in the random layers", "[systemc][mac]") {
    // Guard against a generator that never exercises saturation/wrap: some
    // layers must differ from the same layer with a 64-bit accumulator.
    std::mt19937 rng(7);
    int differ = 0;
    for (int i = 0; i < 200; ++i) {
        auto [layer, x] = random_mac_layer(rng, i % 2 ? MacKind::gemm : MacKind::conv);
        if (layer.accumulator.bits > 14) continue;
        MacLayer wide = layer;
        wide.accumulator.bits = 64;
        for (auto& r : wide.requant) r.dst_bits = 64;
        differ += mismatches(run_mac_layer(layer, x), run_mac_layer(wide, x)) > 0;
    }
    CHECK(differ > 5);
}

TEST_CASE("cycle model: a MAC layer on a vector engine is a user error", "[systemc][mac]") {
    std::mt19937 rng(3);
    auto [layer, x] = random_mac_layer(rng, MacKind::gemm);
    const arch::ArchSpec a = make_arch(arch::Dataflow::output_stationary, 4, 4);
    CHECK_THROWS_AS(systemc::run_cycle_model(one_node_graph(layer, {x}, "vec", "Gemm"), a, {x}), UserError);
    CHECK_THROWS_AS(systemc::run_cycle_model(one_node_graph(layer, {x}, "nope", "Gemm"), a, {x}), UserError);
}
