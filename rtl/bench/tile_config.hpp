// What one verilated npu_tile variant computes: the engine's numerics (from
// the arch YAML, the single source) and the Verilog parameters they map to.
// The same mapping runs at CMake configure time (rtl/gen/variant_params.cpp,
// to pass -G parameters to Verilator) and inside cosim (to check that the
// YAML still describes the verilated variant).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bitnpu/arch/arch_spec.hpp"

namespace bitnpu::rtl {

// Verilog parameters of rtl/npu_tile.sv.
struct TileParams {
    int rows = 4;
    int cols = 4;
    int bnn = 0;           // 1: int1 x int1 XNOR/popcount array
    int a_bits = 8;
    int a_signed = 1;
    int w_bits = 8;
    int w_signed = 1;
    int chunk = 32;        // bnn: bits of k per beat
    int acc_bits = 24;
    int saturate = 1;
    int bias_post = 0;     // bias.stage post: added (acc rule) after the last product
    // RQ_KIND and ROUNDING carry the codes of arch::RequantKind and
    // arch::RoundingMode: the localparams REQUANT_* / ROUND_* of
    // rtl/bitnpu_rtl_pkg.sv, generated from the same table (types.hpp).
    int rq_kind = static_cast<int>(arch::RequantKind::multiplier);   // shifter or multiplier
    int mult_bits = 16;
    int shift_bits = 5;
    int allow_left = 0;
    int rounding = static_cast<int>(arch::RoundingMode::half_up);
    int y_bits = 16;       // signed output container

    bool operator==(const TileParams& o) const;
    bool operator!=(const TileParams& o) const { return !(*this == o); }
};

// Everything a bench needs about the engine a variant implements.
struct TileConfig {
    std::string engine;
    arch::ValueType activation = arch::ValueType::int8;
    arch::ValueType weight = arch::ValueType::int8;
    bool restricted_range = false;
    bool activation_zero_point = false;
    bool per_channel = false;       // requant registers per output channel (else one set)
    int bias_bits = 32;
    arch::AccumulatorSpec accumulator;
    arch::RequantSpec requant;
    TileParams params;
};

// How one verilated variant deviates from its engine's defaults. Written
// after the engine name, comma separated: "mac,activation=uint8,array=4x4".
//   activation=T  the engine's precision with activation type T (default: its
//                 first precision); an engine like int8_npu's `mac` lists
//                 int8 and uint8 activations and needs one variant for each.
//   array=RxC     a smaller (or larger) array with the same per-PE datapath,
//                 e.g. to keep a coverage build small.
struct VariantOptions {
    std::optional<arch::ValueType> activation;
    int rows = 0, cols = 0;            // 0: the engine's array shape
};
struct EngineSelector {
    std::string engine;                // "" = the first mac_array engine
    VariantOptions options;
};
// Parses "ENGINE[,key=value...]"; UserError for unknown keys or bad values.
EngineSelector parse_engine_selector(const std::string& text);

// The engine's default precision mapped onto npu_tile. Throws UserError for
// what the RTL does not implement (vector engines, requant gemmlowp/float32,
// int2/uint1/int16 operands, mixed int1). The dataflow field only changes
// timing, not numerics: npu_tile is output-stationary for every engine.
TileConfig tile_config_for(const arch::EngineSpec& engine, const VariantOptions& options = {});
// The engine with one of its precisions (a MAC layer's weight and input
// types); UserError if the engine does not list that precision.
TileConfig tile_config_for(const arch::EngineSpec& engine, const arch::Precision& precision);
// The engine named `engine_name`, or the only/first mac_array engine if empty.
const arch::EngineSpec& select_engine(const arch::ArchSpec& arch, const std::string& engine_name);

// "-GROWS=16" ... for verilate(VERILATOR_ARGS).
std::vector<std::string> verilator_parameters(const TileParams& p);
// One line, human readable ("ROWS=16 COLS=16 ...").
std::string describe(const TileParams& p);

}  // namespace bitnpu::rtl
