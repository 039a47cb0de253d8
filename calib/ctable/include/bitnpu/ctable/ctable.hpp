// The CTable: the calibration table the calibrator writes and compilers (and
// bitnpu itself) read. docs/ctable.md is the schema reference.
//
// Deterministic: the same CTable value always serializes to the same bytes
// (tensors ordered by name, layers in the order given, numbers printed in
// their shortest round-trip form). Writing is atomic (temporary file in the
// same directory, then rename). Reading accepts YAML or JSON and partial
// tables (tensors only, e.g. converted from QAT): only `bitnpu_ctable` and
// `tensors` are required.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bitnpu/arch/arch_spec.hpp"
#include "bitnpu/arch/types.hpp"
#include "bitnpu/quant/scale.hpp"
#include "bitnpu/sim/datapath/requant.hpp"

namespace bitnpu::calib {

inline constexpr int kCTableVersion = 1;

struct CTableModel {
    std::string name;
    std::string path;
    std::string hash;  // Graph::content_hash
};

struct CTableArch {
    std::string name;
    std::string hash;  // ArchSpec::content_hash
};

struct CTableSettings {
    std::string policy;                        // default policy (tensors record the one that won)
    std::int64_t samples = 0;
    std::uint64_t seed = 0;
    std::map<std::string, std::string> flags;  // any other option, by name, as text
};

// Quantization parameters of one tensor (activation, weight or bias).
struct CTableTensor {
    arch::ValueType type = arch::ValueType::int8;
    bool restricted = false;                 // signed range symmetric, e.g. int8 [-127, 127]
    std::vector<float> scale;                // one entry, or one per channel along axis
    std::vector<std::int64_t> zero_point;    // same length as scale
    std::optional<int> axis;                 // present iff per channel
    std::vector<int> exponent;               // power-of-two scales: scale = 2^-exponent; else empty
    std::string policy;                      // the policy that chose it ("" if unknown)
    std::optional<double> sqnr_db;           // SQNR of this tensor vs FP32
};

// One requant unit's registers (sim::RequantRegisters) plus the ideal and
// realized multipliers.
struct CTableRequant {
    arch::RequantKind kind = arch::RequantKind::multiplier;
    arch::RoundingMode rounding = arch::RoundingMode::half_up;
    std::int64_t multiplier = 1;             // unsigned M (multiplier), Q31 M (gemmlowp)
    int shift = 0;                           // right shift (gemmlowp: TFLite's, positive = left)
    float float_scale = 1.0f;                // float32 kind only
    int dst_bits = 32;                       // saturation width of left shifts
    double ideal = 0.0;                      // m = s_w s_x / s_y
    double realized = 0.0;                   // m' the unit realizes
};

struct CTablePrecision {
    std::optional<arch::ValueType> weight;   // absent for vector-engine layers
    arch::ValueType activation = arch::ValueType::int8;
};

struct CTableLayer {
    std::string node;                        // ONNX node name
    std::string op;                          // ONNX op type
    std::string engine;                      // engine name, or "host"
    CTablePrecision precision;
    std::vector<std::string> inputs;         // tensor names, as in the graph ("" = omitted)
    std::vector<std::string> outputs;
    // Weights (MAC layers): "per_tensor" or "per_channel", with the scales.
    std::string weight_granularity;          // "" when the layer has no weight
    std::vector<float> weight_scale;
    // Learned rounding (AdaRound): one flag per weight in the MAC layout
    // ([out channels, K]), set where the integer weight is the other
    // neighbour of w / s than round-to-nearest gives; empty when every weight
    // is rounded to nearest. Serialized as weight.rounding (docs/ctable.md).
    std::vector<bool> weight_rounding;
    std::optional<int> bias_bits;
    // b_q per output channel, the bias registers the compiler programs (bias
    // correction included); empty when the layer has no bias.
    std::vector<std::int64_t> bias;
    std::vector<CTableRequant> requant;      // one per output channel when per channel, else one
    std::optional<std::int64_t> clamp_lo;    // output clamp, fused activation included
    std::optional<std::int64_t> clamp_hi;
    std::optional<std::int64_t> output_zero_point;
    // Lookup-table layers: the table's contents, T[q] for every input code q
    // from the input type's smallest (what the vector unit's LUT holds).
    std::vector<std::int64_t> lut;
    std::optional<double> sqnr_db;           // layer output SQNR vs FP32 (simulated)
};

struct CTable {
    int version = kCTableVersion;
    CTableModel model;
    CTableArch arch;
    CTableSettings settings;
    std::map<std::string, CTableTensor> tensors;  // by tensor name
    std::vector<CTableLayer> layers;              // graph (topological) order

    const CTableTensor* find_tensor(const std::string& name) const;
    const CTableLayer* find_layer(const std::string& node) const;
};

enum class CTableFormat : std::uint8_t { yaml, json };
// .json -> json, anything else -> yaml.
CTableFormat format_for_path(const std::string& path);

std::string to_yaml(const CTable& table);
std::string to_json(const CTable& table);
// Writes atomically; format from the extension unless given. Throws UserError
// when the file cannot be written, std::invalid_argument for an inconsistent
// table (see ctable_problem); to_yaml/to_json throw the same.
void write_ctable(const CTable& table, const std::string& path, std::optional<CTableFormat> format = std::nullopt);

// Parses YAML or JSON text (JSON is read as YAML 1.2 flow syntax, so errors
// carry line numbers either way). origin names the text in messages. Throws
// UserError "origin:line:column: field.path: problem" for malformed tables,
// unknown schema versions and missing required fields.
CTable parse_ctable(const std::string& text, const std::string& origin);
CTable read_ctable(const std::string& path);

// Conversions between the CTable's records and the calibrator's / the
// simulator's types, so neither side re-spells a field.
CTableTensor ctable_tensor(const QuantParams& params, const std::string& policy = "",
                           std::optional<double> sqnr_db = std::nullopt);
QuantParams quant_params(const CTableTensor& tensor);
CTableRequant ctable_requant(const ChannelRequant& requant);
sim::RequantRegisters requant_registers(const CTableRequant& requant);

// Consistency checks every table passes when written or read: schema version,
// scales positive and finite, zero_point/exponent lengths match scale, axis
// present when there are several scales, zero-points inside the type's range,
// one requant kind/rounding/dst_bits per layer, clamp_lo <= clamp_hi and both
// or neither given. Returns the first problem ("" when fine).
std::string ctable_problem(const CTable& table);

// The CTable records the hashes of the model and arch it was made for.
// UserError when a recorded hash differs from the given one (an empty
// recorded hash matches anything); `origin`, when not empty, prefixes the
// message (the CTable's path).
void check_made_for_model(const CTable& table, const std::string& origin, const std::string& model_path,
                          const std::string& model_hash);
void check_made_for_arch(const CTable& table, const arch::ArchSpec& arch);

}  // namespace bitnpu::calib
