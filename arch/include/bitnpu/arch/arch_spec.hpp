// ArchSpec: the validated, in-memory form of an accelerator YAML file.
// docs/arch.md is the reference for every field (type, default, meaning).
// Every struct here is plain data; load_arch() (load.hpp) builds and validates it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bitnpu/arch/types.hpp"

namespace bitnpu::arch {

// One (weight, activation) type pair an engine can multiply. Vector engines
// declare only an activation type (weight is empty).
struct Precision {
    std::optional<ValueType> weight;
    ValueType activation = ValueType::int8;
    bool operator==(const Precision& o) const {
        return weight == o.weight && activation == o.activation;
    }
};

struct AccumulatorSpec {
    int bits = 32;                       // 2..64
    Overflow overflow = Overflow::saturate;
};

struct BiasSpec {
    int bits = 32;                       // 2..64
    BiasStage stage = BiasStage::preload;
};

struct RequantSpec {
    RequantKind kind = RequantKind::multiplier;
    int multiplier_bits = 16;            // multiplier: 1..32; gemmlowp: always 32 (Q31); others: unused
    int shift_bits = 5;                  // shift register width: shifts 0 .. 2^shift_bits - 1
    bool allow_left_shift = false;       // shifter only: negative shifts (left shifts) allowed
    RoundingMode rounding = RoundingMode::half_up;
    bool per_channel = false;            // one register set per output channel
};

struct ZeroPointSpec {
    bool activation = false;             // asymmetric activations (z_x, z_y != 0)
    bool weight = false;                 // asymmetric weights
};

struct LutSpec {
    int entries = 256;                   // 2^in_bits; 0 means no LUT unit
};

struct ArrayShape {
    int rows = 0;
    int cols = 0;
};

struct EngineSpec {
    std::string name;
    EngineKind kind = EngineKind::mac_array;
    ArrayShape array;                    // mac_array only
    int lanes = 0;                       // vector only
    Dataflow dataflow = Dataflow::output_stationary;  // mac_array only
    std::vector<std::string> ops;        // ONNX op types this engine executes
    std::vector<Precision> precisions;   // first entry is the default precision
    AccumulatorSpec accumulator;
    BiasSpec bias;
    RequantSpec requant;
    ZeroPointSpec zero_point;
    bool restricted_range = false;       // signed ranges symmetric, e.g. int8 in [-127,127]
    std::optional<LutSpec> lut;          // vector only
    // vector only: the engine holds constant operands (a bias vector, the 3
    // of x + 3, zero channel padding) in its SRAM, quantized like weights
    // (numerics.md "Constant operands"); false: such nodes need the host.
    bool constant_operands = true;

    bool supports_op(const std::string& op) const;
    bool supports_precision(const Precision& p) const;
};

struct MemorySpec {
    int64_t sram_kib = 512;
    double dram_bytes_per_cycle = 16.0;
};

// The cost model's per-action energies (pJ) and areas (um^2): docs/energy.md.
// Defaults are 45 nm figures (Horowitz, "Computing's energy problem",
// ISSCC 2014); `scale` / `area_scale` move them to another node or voltage.
// The arch YAML's optional `energy:` section overrides any field.
struct EnergySpec {
    double scale = 1.0;                   // factor on every energy (technology node, voltage)
    double area_scale = 1.0;              // factor on every area
    double mult_8b_pj = 0.2;              // an 8 x 8-bit integer multiply; w x a bits: * (w a / 64)
    double add_32b_pj = 0.1;              // a 32-bit integer add; b bits: * (b / 32)
    double fp32_mult_pj = 3.7;            // an fp32 multiply (a float32 requant unit)
    double lut_pj = 0.3;                  // one lookup-table read (a small register file)
    double sram_pj_per_byte = 1.25;       // 8 KiB SRAM, 64-bit access 10 pJ
    double sram_reference_kib = 8.0;      // SRAM energy grows with sqrt(size / this)
    double dram_pj_per_byte = 160.0;      // DRAM, 1.3 nJ per 64-bit access
    double mult_8b_um2 = 282.0;           // 8 x 8-bit multiplier area
    double add_32b_um2 = 137.0;           // 32-bit adder area
    double register_bit_um2 = 4.0;        // one flip-flop (accumulator register bit)
};

// Ops no engine runs may fall back to FP32 on the host when enabled.
struct HostSpec {
    bool enabled = false;
    std::vector<std::string> ops;        // empty with enabled=true: any op

    // True when the host may run an op of this type (enabled, and listed or no list).
    bool runs(const std::string& op) const;
};

struct ArchSpec {
    std::string name;
    std::string description;             // optional free text (what hardware it models)
    double clock_mhz = 1000.0;
    MemorySpec memory;
    EnergySpec energy;
    std::vector<EngineSpec> engines;
    std::map<std::string, std::string> op_mapping;    // ONNX op type -> engine name
    std::map<std::string, std::string> node_mapping;  // ONNX node name -> engine name (overrides)
    HostSpec host;
    std::string source_path;             // file it was loaded from ("" if built in code)
    std::string content_hash;            // hex SHA-256 or FNV of the file bytes (identity in CTables)

    const EngineSpec* find_engine(const std::string& name) const;
    // The engine that runs a node: node override, then op mapping, then the
    // first engine listing the op; nullptr if none (host fallback decides).
    const EngineSpec* engine_for(const std::string& node_name, const std::string& op_type) const;
};

}  // namespace bitnpu::arch
