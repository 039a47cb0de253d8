// The energy and area cost model (energy.hpp, docs/energy.md).
#include "bitnpu/sim/systemc/energy.hpp"

#include <cmath>
#include <map>
#include <variant>

namespace bitnpu::sim::systemc {

double multiply_pj(const arch::EnergySpec& e, int weight_bits, int activation_bits) {
    return e.mult_8b_pj * double(weight_bits) * double(activation_bits) / 64.0;
}

double add_pj(const arch::EnergySpec& e, int bits) { return e.add_32b_pj * double(bits) / 32.0; }

double requant_pj(const arch::EnergySpec& e, const arch::EngineSpec& engine) {
    const int acc = engine.accumulator.bits;
    switch (engine.requant.kind) {
        case arch::RequantKind::shifter: return add_pj(e, acc);
        case arch::RequantKind::multiplier: return multiply_pj(e, acc, engine.requant.multiplier_bits) + add_pj(e, acc);
        case arch::RequantKind::gemmlowp: return multiply_pj(e, 32, 32) + add_pj(e, 32);
        case arch::RequantKind::float32: return e.fp32_mult_pj;
    }
    return 0.0;
}

double sram_byte_pj(const arch::EnergySpec& e, std::int64_t kib) {
    return e.sram_pj_per_byte * std::sqrt(double(kib) / e.sram_reference_kib);
}

namespace {

std::int64_t elements(const QuantGraph& g, int tensor) {
    std::int64_t n = 1;
    for (std::int64_t d : g.tensors.at(static_cast<std::size_t>(tensor)).shape) n *= d > 0 ? d : 1;   // batch 1
    return n;
}

}  // namespace

EnergyReport estimate_energy(const QuantGraph& graph, const CycleReport& report, const arch::ArchSpec& arch) {
    const arch::EnergySpec& e = arch.energy;
    std::map<std::string, const QuantNode*> nodes;
    for (const QuantNode& n : graph.nodes) nodes[n.name] = &n;
    EnergyReport r;
    for (const LayerReport& layer : report.layers) {
        const arch::EngineSpec* engine = arch.find_engine(layer.engine);
        auto it = nodes.find(layer.name);
        if (!engine || it == nodes.end()) continue;   // host and layout nodes cost nothing (docs/timing.md)
        const QuantNode& node = *it->second;
        const std::int64_t outputs = node.outputs.empty() ? 0 : elements(graph, node.outputs[0]);
        if (const auto* mac = std::get_if<MacLayer>(&node.params)) {
            const int w = arch::bit_width(mac->weight_type), a = arch::bit_width(mac->input_type);
            r.multiply_pj += double(layer.macs) * multiply_pj(e, w, a);
            r.accumulate_pj += double(layer.macs) * add_pj(e, engine->accumulator.bits);
            r.requant_pj += double(outputs) * requant_pj(e, *engine);
        } else if (std::holds_alternative<LutLayer>(node.params)) {
            r.lut_pj += double(outputs) * e.lut_pj;
        } else {
            // A vector element: an accumulate and a requantization (pooling
            // windows and Add's two operands add accumulates; counted as one).
            r.vector_pj += double(outputs) * (add_pj(e, engine->accumulator.bits) + requant_pj(e, *engine));
        }
    }
    const double dma_bytes = double(report.dram_bytes_in + report.dram_bytes_out);
    r.sram_pj = 2.0 * dma_bytes * sram_byte_pj(e, arch.memory.sram_kib);
    r.dram_pj = dma_bytes * e.dram_pj_per_byte;
    for (double* part : {&r.multiply_pj, &r.accumulate_pj, &r.requant_pj, &r.vector_pj, &r.lut_pj, &r.sram_pj, &r.dram_pj})
        *part *= e.scale;
    r.total_pj = r.multiply_pj + r.accumulate_pj + r.requant_pj + r.vector_pj + r.lut_pj + r.sram_pj + r.dram_pj;
    if (report.macs > 0 && r.total_pj > 0) {
        r.pj_per_mac = r.total_pj / double(report.macs);
        r.tops_per_watt = 2.0 * double(report.macs) / r.total_pj;   // (2 MACs ops / (pJ 1e-12 J)) / 1e12
    }
    for (const arch::EngineSpec& engine : arch.engines) {
        const double adder = e.add_32b_um2 * double(engine.accumulator.bits) / 32.0;
        if (engine.kind == arch::EngineKind::mac_array) {
            int w = 0, a = 0;   // the widest precision the array offers
            for (const arch::Precision& p : engine.precisions) {
                w = std::max(w, p.weight ? arch::bit_width(*p.weight) : 8);
                a = std::max(a, arch::bit_width(p.activation));
            }
            const double pe = e.mult_8b_um2 * double(w) * double(a) / 64.0 + adder +
                              e.register_bit_um2 * double(engine.accumulator.bits);
            r.mac_area_um2 += double(engine.array.rows) * double(engine.array.cols) * pe;
        } else {
            r.vector_area_um2 += double(engine.lanes) * (adder + e.mult_8b_um2 * 4.0);   // a 16 x 16-bit multiplier
        }
    }
    r.mac_area_um2 *= e.area_scale;
    r.vector_area_um2 *= e.area_scale;
    r.total_area_mm2 = (r.mac_area_um2 + r.vector_area_um2) * 1e-6;
    return r;
}

}  // namespace bitnpu::sim::systemc
