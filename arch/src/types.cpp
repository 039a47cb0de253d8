// Names and ranges of the shared vocabulary (types.hpp). The ranges are
// the table of numerics.md "Value types".
#include "bitnpu/arch/types.hpp"

#include <array>
#include <cassert>
#include <utility>

namespace bitnpu::arch {

namespace {

// One table per enum: the enumerator and its YAML spelling, in declaration order.
template <typename E, std::size_t N>
using NameTable = std::array<std::pair<E, std::string_view>, N>;

constexpr NameTable<ValueType, 8> kValueTypes{{
    {ValueType::int1, "int1"}, {ValueType::uint1, "uint1"}, {ValueType::int2, "int2"},
    {ValueType::int4, "int4"}, {ValueType::uint4, "uint4"}, {ValueType::int8, "int8"},
    {ValueType::uint8, "uint8"}, {ValueType::int16, "int16"},
}};
// RoundingMode and RequantKind: from their X-macro lists in types.hpp (the
// one table of their codes, shared with the RTL); the spelling is the
// enumerator.
#define BITNPU_COUNT_(name, code) +1
#define BITNPU_ROUNDING_ROW_(name, code) {RoundingMode::name, #name},
#define BITNPU_REQUANT_ROW_(name, code) {RequantKind::name, #name},
constexpr NameTable<RoundingMode, 0 BITNPU_ROUNDING_MODES(BITNPU_COUNT_)> kRoundingModes{{
    BITNPU_ROUNDING_MODES(BITNPU_ROUNDING_ROW_)
}};
constexpr NameTable<Overflow, 2> kOverflows{{{Overflow::saturate, "saturate"}, {Overflow::wrap, "wrap"}}};
constexpr NameTable<BiasStage, 2> kBiasStages{{{BiasStage::preload, "preload"}, {BiasStage::post, "post"}}};
constexpr NameTable<RequantKind, 0 BITNPU_REQUANT_KINDS(BITNPU_COUNT_)> kRequantKinds{{
    BITNPU_REQUANT_KINDS(BITNPU_REQUANT_ROW_)
}};
#undef BITNPU_COUNT_
#undef BITNPU_ROUNDING_ROW_
#undef BITNPU_REQUANT_ROW_
constexpr NameTable<EngineKind, 3> kEngineKinds{{
    {EngineKind::mac_array, "mac_array"}, {EngineKind::vector, "vector"}, {EngineKind::host, "host"},
}};
constexpr NameTable<Dataflow, 2> kDataflows{{
    {Dataflow::output_stationary, "output_stationary"}, {Dataflow::weight_stationary, "weight_stationary"},
}};

template <typename E, std::size_t N>
std::string_view name_of(const NameTable<E, N>& table, E value) {
    for (const auto& [e, name] : table) {
        if (e == value) return name;
    }
    assert(false && "enumerator missing from its name table");
    return "?";
}

template <typename E, std::size_t N>
std::optional<E> parse_name(const NameTable<E, N>& table, std::string_view s) {
    for (const auto& [e, name] : table) {
        if (name == s) return e;
    }
    return std::nullopt;
}

template <typename E, std::size_t N>
std::vector<std::string> names_of(const NameTable<E, N>& table) {
    std::vector<std::string> out;
    for (const auto& entry : table) out.emplace_back(entry.second);
    return out;
}

}  // namespace

int bit_width(ValueType t) {
    switch (t) {
        case ValueType::int1:
        case ValueType::uint1: return 1;
        case ValueType::int2: return 2;
        case ValueType::int4:
        case ValueType::uint4: return 4;
        case ValueType::int8:
        case ValueType::uint8: return 8;
        case ValueType::int16: return 16;
    }
    return 0;
}

bool is_signed(ValueType t) {
    return t != ValueType::uint1 && t != ValueType::uint4 && t != ValueType::uint8;
}

ValueRange value_range(ValueType t, bool restricted) {
    switch (t) {
        case ValueType::int1:   // binary {-1, +1}: the range's ends are its only values
        case ValueType::int2:   // ternary {-1, 0, +1}
            return {-1, 1};
        case ValueType::uint1: return {0, 1};
        case ValueType::uint4: return {0, 15};
        case ValueType::uint8: return {0, 255};
        case ValueType::int4:
        case ValueType::int8:
        case ValueType::int16: {
            const std::int64_t half = std::int64_t{1} << (bit_width(t) - 1);
            // Restricted ranges drop the most negative code so that -x is representable.
            return {restricted ? -(half - 1) : -half, half - 1};
        }
    }
    return {0, 0};
}

std::string_view to_string(ValueType t) { return name_of(kValueTypes, t); }
std::optional<ValueType> parse_value_type(std::string_view s) { return parse_name(kValueTypes, s); }
std::string_view to_string(RoundingMode m) { return name_of(kRoundingModes, m); }
std::optional<RoundingMode> parse_rounding_mode(std::string_view s) { return parse_name(kRoundingModes, s); }
std::string_view to_string(Overflow o) { return name_of(kOverflows, o); }
std::optional<Overflow> parse_overflow(std::string_view s) { return parse_name(kOverflows, s); }
std::string_view to_string(BiasStage s) { return name_of(kBiasStages, s); }
std::optional<BiasStage> parse_bias_stage(std::string_view s) { return parse_name(kBiasStages, s); }
std::string_view to_string(RequantKind k) { return name_of(kRequantKinds, k); }
std::optional<RequantKind> parse_requant_kind(std::string_view s) { return parse_name(kRequantKinds, s); }
std::string_view to_string(EngineKind k) { return name_of(kEngineKinds, k); }
std::optional<EngineKind> parse_engine_kind(std::string_view s) { return parse_name(kEngineKinds, s); }
std::string_view to_string(Dataflow d) { return name_of(kDataflows, d); }
std::optional<Dataflow> parse_dataflow(std::string_view s) { return parse_name(kDataflows, s); }

std::vector<std::string> value_type_names() { return names_of(kValueTypes); }
std::vector<std::string> rounding_mode_names() { return names_of(kRoundingModes); }
std::vector<std::string> overflow_names() { return names_of(kOverflows); }
std::vector<std::string> bias_stage_names() { return names_of(kBiasStages); }
std::vector<std::string> requant_kind_names() { return names_of(kRequantKinds); }
std::vector<std::string> engine_kind_names() { return names_of(kEngineKinds); }
std::vector<std::string> dataflow_names() { return names_of(kDataflows); }

}  // namespace bitnpu::arch
