// The vocabulary every layer of bitnpu shares: value types, rounding modes,
// overflow behaviour and requantization unit kinds. NUMERICS.md defines what
// each of these means; this header only names them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bitnpu::arch {

// Integer value types a datapath can carry (NUMERICS.md "Value types").
// int1 is binary {-1,+1} (stored bit b means 2b-1); int2 is ternary {-1,0,+1}.
enum class ValueType : std::uint8_t {
    int1,
    uint1,
    int2,
    int4,
    uint4,
    int8,
    uint8,
    int16,
};

struct ValueRange {
    std::int64_t min;
    std::int64_t max;
};

// Bits a value of this type occupies in storage (int2 ternary uses a 2-bit code).
int bit_width(ValueType t);
bool is_signed(ValueType t);
// The representable values. For int8 with restricted=true the range is
// [-127, 127] (symmetric); restricted has no effect on unsigned, int1 or int2.
ValueRange value_range(ValueType t, bool restricted = false);
std::string_view to_string(ValueType t);
std::optional<ValueType> parse_value_type(std::string_view s);

// round_shift modes (NUMERICS.md "Rounding modes").
enum class RoundingMode : std::uint8_t { floor, trunc, half_up, half_away, half_even };
std::string_view to_string(RoundingMode m);
std::optional<RoundingMode> parse_rounding_mode(std::string_view s);

// What the accumulator does when a sum leaves its range.
enum class Overflow : std::uint8_t { saturate, wrap };
std::string_view to_string(Overflow o);
std::optional<Overflow> parse_overflow(std::string_view s);

// Where the bias enters the accumulator.
enum class BiasStage : std::uint8_t { preload, post };
std::string_view to_string(BiasStage s);
std::optional<BiasStage> parse_bias_stage(std::string_view s);

// The requantization unit between the accumulator and the output type.
enum class RequantKind : std::uint8_t { shifter, multiplier, gemmlowp, float32 };
std::string_view to_string(RequantKind k);
std::optional<RequantKind> parse_requant_kind(std::string_view s);

enum class EngineKind : std::uint8_t { mac_array, vector, host };
std::string_view to_string(EngineKind k);
std::optional<EngineKind> parse_engine_kind(std::string_view s);

enum class Dataflow : std::uint8_t { output_stationary, weight_stationary };
std::string_view to_string(Dataflow d);
std::optional<Dataflow> parse_dataflow(std::string_view s);

// Every spelling the parse_* function of an enum accepts, in declaration
// order (for error messages and --help texts).
std::vector<std::string> value_type_names();
std::vector<std::string> rounding_mode_names();
std::vector<std::string> overflow_names();
std::vector<std::string> bias_stage_names();
std::vector<std::string> requant_kind_names();
std::vector<std::string> engine_kind_names();
std::vector<std::string> dataflow_names();

}  // namespace bitnpu::arch
