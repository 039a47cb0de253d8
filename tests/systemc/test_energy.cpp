// The energy and area cost model (sim/systemc/energy.hpp, docs/energy.md)
// against totals computed by hand on one small layer, the arch YAML's
// `energy:` overrides, and its validation.
#include <catch2/catch.hpp>

#include <cmath>

#include "bitnpu/arch/load.hpp"
#include "bitnpu/errors.hpp"
#include "bitnpu/sim/systemc/energy.hpp"

using namespace bitnpu;
using namespace bitnpu::sim;

namespace {

const std::string kSource = BITNPU_SOURCE_DIR;

// One Gemm, K = 4 -> N = 3, int8 x int8 on int8_npu's MAC engine "mac"
// (24-bit accumulator, 16-bit multiplier requant), as the cycle model would
// report it: 12 MACs, 16 + 3 + 12 DRAM bytes (input, output, weights).
struct OneLayer {
    QuantGraph graph;
    systemc::CycleReport report;
    OneLayer() {
        QuantTensorInfo x, y;
        x.name = "x";
        x.shape = {1, 4};
        y.name = "y";
        y.shape = {1, 3};
        graph.tensors = {x, y};
        MacLayer mac;
        mac.kind = MacKind::gemm;
        mac.weight_shape = {3, 4};
        mac.weights.assign(12, 1);
        QuantNode node;
        node.name = "fc";
        node.op_type = "Gemm";
        node.engine = "mac";
        node.params = mac;
        node.inputs = {0};
        node.outputs = {1};
        graph.nodes = {node};
        graph.inputs = {0};
        graph.outputs = {1};
        systemc::LayerReport layer;
        layer.name = "fc";
        layer.engine = "mac";
        layer.macs = 12;
        report.layers = {layer};
        report.macs = 12;
        report.dram_bytes_in = 4 + 12;
        report.dram_bytes_out = 3;
    }
};

}  // namespace

TEST_CASE("energy: one layer against the hand-computed total", "[energy]") {
    const arch::ArchSpec arch = arch::load_arch(kSource + "/configs/int8_npu.yaml");
    REQUIRE(arch.memory.sram_kib == 1024);
    const OneLayer l;
    const systemc::EnergyReport r = systemc::estimate_energy(l.graph, l.report, arch);
    // 12 multiplies at 8 x 8 bits, 0.2 pJ each.
    CHECK(r.multiply_pj == Approx(12 * 0.2));
    // 12 accumulates on a 24-bit adder: 0.1 * 24 / 32 = 0.075 pJ each.
    CHECK(r.accumulate_pj == Approx(12 * 0.075));
    // 3 requantizations: a 24 x 16-bit multiply (0.2 * 384 / 64 = 1.2 pJ) and a 24-bit shift (0.075 pJ).
    CHECK(r.requant_pj == Approx(3 * (1.2 + 0.075)));
    // 19 DMA bytes: DRAM 160 pJ each; SRAM written and read once, 1.25 pJ * sqrt(1024 / 8) each.
    CHECK(r.dram_pj == Approx(19 * 160.0));
    CHECK(r.sram_pj == Approx(2 * 19 * 1.25 * std::sqrt(128.0)));
    const double total = 2.4 + 0.9 + 3.825 + 19 * 160.0 + 2 * 19 * 1.25 * std::sqrt(128.0);
    CHECK(r.total_pj == Approx(total));
    CHECK(r.pj_per_mac == Approx(total / 12));
    CHECK(r.tops_per_watt == Approx(24 / total));
    // Area: 16 x 16 PEs of an 8 x 8 multiplier (282), a 24-bit adder (137 * 24 / 32) and
    // a 24-bit register (4 per bit); 16 vector lanes of a 32-bit adder and a 16 x 16 multiplier.
    CHECK(r.mac_area_um2 == Approx(256 * (282.0 + 137.0 * 0.75 + 96.0)));
    CHECK(r.vector_area_um2 == Approx(16 * (137.0 + 282.0 * 4)));
}

TEST_CASE("energy: the arch YAML overrides per-action energies; bad values are refused", "[energy]") {
    const std::string base = "name: t\nengines:\n  - name: mac\n    kind: mac_array\n    array: {rows: 2, cols: 2}\n"
                             "    precisions: [{weight: int8, activation: int8}]\n"
                             "    accumulator: {bits: 32, overflow: wrap}\n    bias: {bits: 32}\n";
    const arch::ArchSpec a = arch::parse_arch(base + "energy: {scale: 0.5, dram_pj_per_byte: 10}\n", "t.yaml");
    CHECK(a.energy.scale == 0.5);
    CHECK(a.energy.dram_pj_per_byte == 10.0);
    CHECK(a.energy.mult_8b_pj == 0.2);   // the rest keep their defaults
    OneLayer l;
    l.graph.nodes[0].engine = l.report.layers[0].engine = "mac";
    const systemc::EnergyReport r = systemc::estimate_energy(l.graph, l.report, a);
    CHECK(r.dram_pj == Approx(0.5 * 19 * 10.0));
    CHECK(r.multiply_pj == Approx(0.5 * 12 * 0.2));
    CHECK_THROWS_WITH(arch::parse_arch(base + "energy: {dram_pj_per_bite: 10}\n", "t.yaml"),
                      Catch::Contains("dram_pj_per_byte"));
    CHECK_THROWS_WITH(arch::parse_arch(base + "energy: {scale: -1}\n", "t.yaml"), Catch::Contains("energy.scale"));
}
