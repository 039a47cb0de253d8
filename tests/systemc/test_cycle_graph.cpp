// A whole small CNN on the cycle model against sim::run_quantized, and the
// report's bookkeeping (per-layer sums, zero-cost layout nodes, VCD).
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <unistd.h>
#include <set>
#include <fstream>
#include <sstream>

#include "bitnpu/arch/load.hpp"
#include "bitnpu/sim/systemc/cycle_model.hpp"
#include "cnn_graph.hpp"
#include "cycle_test_util.hpp"

using namespace bitnpu;
using namespace bitnpu::sim;
using namespace bitnpu::sim::cycletest;

TEST_CASE("cycle model: a small CNN is bit-identical to run_quantized on both dataflows", "[systemc][graph]") {
    for (int seed = 1; seed <= 4; ++seed) {
        const QuantGraph graph = cnntest::make_cnn(static_cast<unsigned>(seed), 16, 4);
        std::mt19937 rng(static_cast<unsigned>(seed));
        const QTensor x = random_tensor(rng, {1, 3, 16, 16}, arch::ValueType::int8, 0);
        const GraphResult expected = run_quantized(graph, {x});
        const auto dataflow = seed % 2 ? arch::Dataflow::weight_stationary : arch::Dataflow::output_stationary;
        const auto result = systemc::run_cycle_model(graph, make_arch(dataflow, 8, 8, 8), {x});
        REQUIRE(result.raw_outputs.size() == 1);
        CHECK(mismatches(result.raw_outputs[0], expected.raw_outputs[0]) == 0);
        // The outputs are not degenerate (the registers keep values in range).
        std::set<std::int32_t> distinct(expected.raw_outputs[0].values.begin(), expected.raw_outputs[0].values.end());
        CHECK(distinct.size() > 3);

        const systemc::CycleReport& r = result.report;
        REQUIRE(r.layers.size() == graph.nodes.size());
        std::int64_t cycles = 0, macs = 0;
        for (const auto& l : r.layers) {
            cycles += l.cycles;
            macs += l.macs;
            CHECK(l.cycles == l.compute_cycles + l.stall_cycles);
            if (l.engine == "layout") CHECK(l.cycles == 0);
            else CHECK(l.cycles > 0);
            if (l.macs > 0) CHECK(l.pe_active_cycles == l.macs);
            // The array steps in compute cycles only; the requant drain adds at least its depth.
            CHECK(l.fill_cycles + l.steady_cycles + l.drain_cycles <= l.compute_cycles);
            if (l.macs > 0) CHECK(l.fill_cycles + l.steady_cycles + l.drain_cycles + 3 <= l.compute_cycles);
        }
        CHECK(r.cycles == cycles);
        CHECK(r.macs == macs);
        // conv1 3->4 on 16x16, conv2 4->8 on 8x8, conv3 8->16 and depthwise 16 on 4x4, fc 16->10.
        CHECK(macs == 16 * 16 * 4 * 27 + 8 * 8 * 8 * 36 + 4 * 4 * 16 * 72 + 4 * 4 * 16 * 9 + 16 * 10);
        CHECK(r.latency_us == Approx(static_cast<double>(r.cycles) / 500.0));
        CHECK(r.mac_utilization > 0.0);
        CHECK(r.mac_utilization <= 1.0);
    }
}

TEST_CASE("cycle model: the VCD file traces engine busy, DMA and tile index", "[systemc][graph]") {
    const QuantGraph graph = cnntest::make_cnn(9, 8, 2);
    std::mt19937 rng(9);
    const QTensor x = random_tensor(rng, {1, 3, 8, 8}, arch::ValueType::int8, 0);
    const std::string path =
        (std::filesystem::temp_directory_path() / ("bitnpu_cycle_" + std::to_string(::getpid()) + ".vcd")).string();
    systemc::CycleOptions options;
    options.vcd_path = path;
    const auto result = systemc::run_cycle_model(graph, make_arch(arch::Dataflow::output_stationary, 4, 4), {x}, options);
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    const std::string vcd = text.str();
    std::remove(path.c_str());
    CHECK(vcd.find("$enddefinitions") != std::string::npos);
    CHECK(vcd.find("mac_busy") != std::string::npos);
    CHECK(vcd.find("dma_active") != std::string::npos);
    CHECK(vcd.find("mac_pipeline_rows") != std::string::npos);
    // The last timestamp is the total cycle count (the last store ends it).
    const auto last = vcd.rfind("\n#");
    REQUIRE(last != std::string::npos);
    CHECK(std::stoll(vcd.substr(last + 2)) == result.report.cycles);
    CHECK_FALSE(systemc::format_report(result.report).empty());
}

TEST_CASE("cycle model: unknown engines and wrong input counts are user errors", "[systemc][graph]") {
    QuantGraph graph = cnntest::make_cnn(2, 8, 2);
    std::mt19937 rng(2);
    const QTensor x = random_tensor(rng, {1, 3, 8, 8}, arch::ValueType::int8, 0);
    const arch::ArchSpec a = make_arch(arch::Dataflow::output_stationary, 4, 4);
    CHECK_THROWS_AS(systemc::run_cycle_model(graph, a, {}), UserError);
    graph.nodes[1].engine = "gpu";
    CHECK_THROWS_AS(systemc::run_cycle_model(graph, a, {x}), UserError);
}

TEST_CASE("cycle model: configs/npu.yaml runs the CNN through its op mapping", "[systemc][graph]") {
    // Engines resolved from the YAML (Conv/Gemm -> mac8, the rest -> vec).
    const arch::ArchSpec a = arch::load_arch(std::string(BITNPU_SOURCE_DIR) + "/configs/npu.yaml");
    QuantGraph graph = cnntest::make_cnn(5, 16, 4);
    for (QuantNode& node : graph.nodes)
        if (node.engine != "layout") node.engine.clear();
    std::mt19937 rng(5);
    const QTensor x = random_tensor(rng, {1, 3, 16, 16}, arch::ValueType::int8, 0);
    const auto result = systemc::run_cycle_model(graph, a, {x});
    CHECK(mismatches(result.raw_outputs.at(0), run_quantized(graph, {x}).raw_outputs.at(0)) == 0);
    CHECK(result.report.layers.at(0).engine == "mac8");
    CHECK(result.report.layers.at(1).engine == "vec");
    CHECK(result.report.latency_us == Approx(result.report.cycles / 800.0));
    // Two runs in one process (one elaboration) give the same cycles.
    CHECK(systemc::run_cycle_model(graph, a, {x}).report.cycles == result.report.cycles);
}

TEST_CASE("cycle model: a vector layer reading a constant tensor is bit-identical and loads it",
          "[systemc][graph][constants]") {
    std::mt19937 rng(31);
    const QTensor x = random_tensor(rng, {1, 8, 6, 6}, arch::ValueType::int8, 1);
    QTensor c = random_tensor(rng, {1, 8, 1, 1}, arch::ValueType::uint8, 90);
    MulLayer mul;
    mul.a_zero_point = 1;
    mul.b_zero_point = 90;
    mul.accumulator = {32, arch::Overflow::saturate};
    mul.requant = random_registers(rng, 32);
    mul.output_zero_point = 0;
    QuantGraph graph = one_node_graph(mul, {x, c}, "vec", "Mul");
    graph.tensors[1].constant = c.values;              // the second operand is held, not fed
    graph.inputs = {0};
    const GraphResult expected = run_quantized(graph, {x});
    const auto result = systemc::run_cycle_model(graph, make_arch(arch::Dataflow::output_stationary, 8, 8, 8), {x});
    REQUIRE(result.raw_outputs.size() == 1);
    CHECK(mismatches(result.raw_outputs[0], expected.raw_outputs[0]) == 0);
    // Both operands are loaded: the activation's 288 bytes and the constant's 8.
    CHECK(result.report.dram_bytes_in >= 288 + 8);
}
