// The vocabulary every layer of bitnpu shares: value types, rounding modes,
// overflow behaviour and requantization unit kinds. docs/numerics.md defines what
// each of these means; this header only names them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bitnpu::arch {

// Integer value types a datapath can carry (numerics.md "Value types").
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

// ---- The codes of RoundingMode and RequantKind: one table for C++ and RTL ----
//
// X(enumerator, code) lists, the one definition of these two enums. The code
// is the enumerator's value, and also the value of the RTL parameters that
// select a mode or kind (round_shift / requant / npu_tile `ROUNDING`,
// requant `KIND`, npu_tile `RQ_KIND`). From these lists
//   - the enums below are declared,
//   - arch/src/types.cpp builds the name tables: the enumerator is the YAML
//     spelling (to_string / parse_*),
//   - rtl/gen/rtl_codes.cpp writes, at CMake configure time, the package
//     localparams the RTL uses (bitnpu_codes.svh, `include`d by
//     rtl/bitnpu_rtl_pkg.sv): ROUND_<ENUMERATOR> and REQUANT_<ENUMERATOR>
//     upper-cased, e.g. half_up -> ROUND_HALF_UP = 2,
//     multiplier -> REQUANT_MULTIPLIER = 1.
// CMake re-runs that generator whenever this file changes, so the RTL names
// cannot go stale (ctest "rtl: package codes ..." checks it anyway).
#define BITNPU_ROUNDING_MODES(X) \
    X(floor, 0)                  \
    X(trunc, 1)                  \
    X(half_up, 2)                \
    X(half_away, 3)              \
    X(half_even, 4)

#define BITNPU_REQUANT_KINDS(X) \
    X(shifter, 0)               \
    X(multiplier, 1)            \
    X(gemmlowp, 2)              \
    X(float32, 3)

#define BITNPU_ENUMERATOR_(name, code) name = code,

// round_shift modes (numerics.md "Rounding modes").
enum class RoundingMode : std::uint8_t { BITNPU_ROUNDING_MODES(BITNPU_ENUMERATOR_) };
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
enum class RequantKind : std::uint8_t { BITNPU_REQUANT_KINDS(BITNPU_ENUMERATOR_) };
#undef BITNPU_ENUMERATOR_
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
