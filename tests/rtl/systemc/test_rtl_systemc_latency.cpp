// The RTL's tile latency equals the SystemC cycle model's: for several
// (K, ROWS, COLS) of the verilated variants, a one-layer graph whose Gemm
// fits one output-stationary tile runs through sim::systemc::run_cycle_model,
// and its layer's compute_cycles must equal the clock cycles the verilated
// npu_tile takes for the same tile (start beat to last output row,
// rtl/README.md: K + ROWS + COLS + 1). The cycle model's outputs must also
// equal the RTL's, element for element.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <random>
#include <systemc>

#include "bitnpu/arch/load.hpp"
#include "bitnpu/sim/systemc/cycle_model.hpp"
#include "cosim_run.hpp"
#include "layer_tiles.hpp"
#include "vector_gen.hpp"

int sc_main(int argc, char** argv) { return Catch::Session().run(argc, argv); }

namespace {

using namespace bitnpu;

struct Engine {
    const char* config;
    const char* engine;
};

// The arch with the engine made output-stationary (the RTL's dataflow for
// every engine) and mapped for Gemm.
arch::ArchSpec load_output_stationary(const Engine& e) {
    arch::ArchSpec a = arch::load_arch(std::string(BITNPU_SOURCE_DIR) + "/" + e.config);
    bool found = false;
    for (arch::EngineSpec& engine : a.engines)
        if (engine.name == e.engine) {
            engine.dataflow = arch::Dataflow::output_stationary;
            found = true;
        }
    REQUIRE(found);
    return a;
}

// rows x k activations in the engine's range, a Gemm of `cols` channels.
sim::QuantGraph one_gemm(const rtl::TileConfig& c, std::int64_t rows, std::int64_t k, std::int64_t cols,
                         std::mt19937_64& rng) {
    const arch::ValueRange ar = rtl::activation_range(c), wr = rtl::weight_range(c);
    const arch::ValueRange out = rtl::output_range(c);
    auto draw = [&](std::int64_t lo, std::int64_t hi) { return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng); };
    sim::MacLayer layer;
    layer.kind = sim::MacKind::gemm;
    layer.input_type = c.activation;
    layer.weight_type = c.weight;
    layer.output_type = c.activation;
    layer.input_zero_point = c.activation_zero_point ? draw(ar.min, ar.max) : 0;
    layer.weight_shape = {cols, k};
    for (std::int64_t n = 0; n < cols * k; ++n) layer.weights.push_back(std::int32_t(draw(wr.min, wr.max)));
    for (std::int64_t n = 0; n < cols; ++n) layer.bias.push_back(draw(-1000, 1000));
    layer.accumulator = {c.accumulator.bits, c.accumulator.overflow};
    layer.bias_stage = c.params.bias_post ? arch::BiasStage::post : arch::BiasStage::preload;
    const int channels = c.per_channel ? int(cols) : 1;
    for (int n = 0; n < channels; ++n) layer.requant.push_back(rtl::requant_registers(c, draw(1, 300), int(draw(6, 12))));
    layer.output_zero_point = c.activation_zero_point ? draw(out.min, out.max) : 0;
    layer.clamp_lo = out.min;
    layer.clamp_hi = out.max;

    sim::QuantGraph g;
    g.name = "one_tile";
    g.tensors = {{"x", sim::per_tensor(c.activation, 1.0f, layer.input_zero_point), {rows, k}},
                 {"y", sim::per_tensor(c.activation, 1.0f, layer.output_zero_point), {rows, cols}}};
    sim::QuantNode node;
    node.name = "gemm";
    node.op_type = "Gemm";
    node.engine = c.engine;
    node.precision = arch::Precision{c.weight, c.activation};
    node.params = layer;
    node.inputs = {0};
    node.outputs = {1};
    g.nodes.push_back(node);
    g.inputs = {0};
    g.outputs = {1};
    return g;
}

sim::QTensor random_input(const rtl::TileConfig& c, std::int64_t rows, std::int64_t k, std::mt19937_64& rng) {
    const arch::ValueRange ar = rtl::activation_range(c);
    sim::QTensor x({rows, k}, sim::per_tensor(c.activation, 1.0f, 0));
    for (auto& v : x.values) v = std::int32_t(std::uniform_int_distribution<std::int64_t>(ar.min, ar.max)(rng));
    return x;
}

}  // namespace

TEST_CASE("RTL tile cycles equal the SystemC cycle model's compute cycles for a one-tile layer") {
    const Engine engines[] = {{"configs/int8_npu.yaml", "mac"},
                              {"configs/shift_only.yaml", "mac"},
                              {"configs/hetero.yaml", "mac4"}};
    std::mt19937_64 rng(2026);
    for (const Engine& e : engines) {
        const arch::ArchSpec arch = load_output_stationary(e);
        const rtl::TileConfig c = rtl::tile_config_for(*arch.find_engine(e.engine));
        auto tile_sim = rtl::find_variant(c).make(c);
        const int rows = c.params.rows, cols = c.params.cols;
        for (std::int64_t k : {1, 2, 9, 16, 144, 300}) {
            // The full tile, and a layer smaller than the array (one tile still).
            for (const auto& [m, n] : {std::pair<std::int64_t, std::int64_t>{rows, cols}, {rows / 2 + 1, 3}}) {
                sim::QuantGraph g = one_gemm(c, m, k, n, rng);
                sim::QTensor x = random_input(c, m, k, rng);
                x.quant = g.tensors[0].quant;
                const auto model = sim::systemc::run_cycle_model(g, arch, {x});
                REQUIRE(model.report.layers.size() == 1);
                REQUIRE(model.report.layers[0].tiles == 1);

                const auto& layer = std::get<sim::MacLayer>(g.nodes[0].params);
                const sim::QTensor& y = model.raw_outputs.at(0);
                const rtl::LayerTiling tiling = rtl::tiling_for(layer, y, rows, cols);
                REQUIRE(tiling.count() == 1);
                const rtl::LayerTile tile = rtl::cut_tile(c, layer, x, y, tiling, 0);
                const rtl::TileResult rtl_run = tile_sim->run(tile.vector);

                INFO(e.config << " " << e.engine << ": " << rows << "x" << cols << " array, layer " << m << "x" << n
                              << ", K=" << k);
                REQUIRE(rtl_run.complete);
                CHECK(std::int64_t(rtl_run.cycles) == model.report.layers[0].compute_cycles);
                for (std::size_t i = 0; i < tile.expected.size(); ++i)
                    if (tile.valid[i]) REQUIRE(rtl_run.y[i] == tile.expected[i]);
            }
        }
    }
}
