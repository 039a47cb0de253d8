// The energy and area cost model (docs/energy.md): the cycle model's action
// counts (MACs by precision, accumulator updates, requant operations, vector
// elements, lookups, SRAM and DRAM bytes) times per-action energies that
// scale with bit width (arch::EnergySpec: 45 nm defaults, overridable in the
// arch YAML's `energy:` section). An estimate, like Accelergy's: it ranks
// datapath variants, it does not sign off silicon.
#pragma once

#include <cstdint>

#include "bitnpu/arch/arch_spec.hpp"
#include "bitnpu/sim/functional/graph.hpp"
#include "bitnpu/sim/systemc/cycle_model.hpp"

namespace bitnpu::sim::systemc {

// Energy of one action, in pJ (before EnergySpec::scale).
double multiply_pj(const arch::EnergySpec& e, int weight_bits, int activation_bits);   // mult_8b * w a / 64
double add_pj(const arch::EnergySpec& e, int bits);                                   // add_32b * bits / 32
// One requantization by an engine's unit: a multiplier kind multiplies the
// accumulator by its M (multiply_pj(acc bits, M bits)) and shifts (an add);
// a shifter only shifts; gemmlowp is a 32 x 32 multiply; float32 an fp32
// multiply.
double requant_pj(const arch::EnergySpec& e, const arch::EngineSpec& engine);
// One SRAM byte (read or write) for an SRAM of `kib`: sram_pj_per_byte *
// sqrt(kib / sram_reference_kib).
double sram_byte_pj(const arch::EnergySpec& e, std::int64_t kib);

struct EnergyReport {
    // For what the report covers (the samples the cycle model ran; one
    // sample: per inference), in pJ, by unit.
    double multiply_pj = 0.0, accumulate_pj = 0.0, requant_pj = 0.0, vector_pj = 0.0, lut_pj = 0.0;
    double sram_pj = 0.0, dram_pj = 0.0, total_pj = 0.0;
    double pj_per_mac = 0.0;       // total / MACs
    double tops_per_watt = 0.0;    // 2 MACs per operation: 2 MACs / total energy
    // Area of the engines, um^2 (MAC arrays: rows * cols PEs of a multiplier,
    // an accumulator adder and register; vector units: lanes of an adder and
    // a requant multiplier).
    double mac_area_um2 = 0.0, vector_area_um2 = 0.0, total_area_mm2 = 0.0;
};

// graph: the program the cycle model ran; report: its cycle report (one
// sample). SRAM bytes are estimated as every DMA byte written once into and
// read once out of SRAM.
EnergyReport estimate_energy(const QuantGraph& graph, const CycleReport& report, const arch::ArchSpec& arch);

}  // namespace bitnpu::sim::systemc
