// types.hpp against the table of numerics.md "Value types", written out here
// independently of arch/src/types.cpp.
#include <catch2/catch.hpp>

#include "bitnpu/arch/types.hpp"

using namespace bitnpu::arch;

namespace {

struct TypeRow {
    const char* name;
    ValueType type;
    int bits;
    bool is_signed;
    std::int64_t min, max;              // full range
    std::int64_t restricted_min;        // min with restricted = true
};

// numerics.md "Value types": int8 [-128,127], uint8 [0,255], int4 [-8,7], uint4 [0,15],
// int2 ternary {-1,0,1}, int1 binary {-1,+1}, uint1 {0,1}, int16 two's complement.
const TypeRow kTable[] = {
    {"int1", ValueType::int1, 1, true, -1, 1, -1},
    {"uint1", ValueType::uint1, 1, false, 0, 1, 0},
    {"int2", ValueType::int2, 2, true, -1, 1, -1},
    {"int4", ValueType::int4, 4, true, -8, 7, -7},
    {"uint4", ValueType::uint4, 4, false, 0, 15, 0},
    {"int8", ValueType::int8, 8, true, -128, 127, -127},
    {"uint8", ValueType::uint8, 8, false, 0, 255, 0},
    {"int16", ValueType::int16, 16, true, -32768, 32767, -32767},
};

}  // namespace

TEST_CASE("value types: width, sign, range and restricted range", "[arch][types]") {
    for (const TypeRow& row : kTable) {
        INFO(row.name);
        CHECK(bit_width(row.type) == row.bits);
        CHECK(is_signed(row.type) == row.is_signed);
        CHECK(value_range(row.type).min == row.min);
        CHECK(value_range(row.type).max == row.max);
        CHECK(value_range(row.type, true).min == row.restricted_min);
        CHECK(value_range(row.type, true).max == row.max);
        CHECK(to_string(row.type) == row.name);
        CHECK(parse_value_type(row.name) == row.type);
    }
    CHECK(value_type_names().size() == std::size(kTable));
}

TEST_CASE("enum spellings round-trip and reject near misses", "[arch][types]") {
    CHECK(parse_rounding_mode("half_even") == RoundingMode::half_even);
    CHECK(parse_rounding_mode("half_away") == RoundingMode::half_away);
    CHECK(parse_rounding_mode("floor") == RoundingMode::floor);
    CHECK(parse_rounding_mode("trunc") == RoundingMode::trunc);
    CHECK(parse_rounding_mode("half_up") == RoundingMode::half_up);
    CHECK_FALSE(parse_rounding_mode("halfup"));
    CHECK_FALSE(parse_rounding_mode("HALF_UP"));
    CHECK(parse_overflow("wrap") == Overflow::wrap);
    CHECK(parse_overflow("saturate") == Overflow::saturate);
    CHECK_FALSE(parse_overflow("clamp"));
    CHECK(parse_bias_stage("post") == BiasStage::post);
    CHECK(parse_requant_kind("gemmlowp") == RequantKind::gemmlowp);
    CHECK(parse_requant_kind("float32") == RequantKind::float32);
    CHECK_FALSE(parse_requant_kind("float"));
    CHECK(parse_engine_kind("vector") == EngineKind::vector);
    CHECK(parse_dataflow("weight_stationary") == Dataflow::weight_stationary);
    CHECK_FALSE(parse_value_type("int3"));
    CHECK_FALSE(parse_value_type(""));

    for (const std::string& n : rounding_mode_names()) CHECK(to_string(*parse_rounding_mode(n)) == n);
    for (const std::string& n : overflow_names()) CHECK(to_string(*parse_overflow(n)) == n);
    for (const std::string& n : bias_stage_names()) CHECK(to_string(*parse_bias_stage(n)) == n);
    for (const std::string& n : requant_kind_names()) CHECK(to_string(*parse_requant_kind(n)) == n);
    for (const std::string& n : engine_kind_names()) CHECK(to_string(*parse_engine_kind(n)) == n);
    for (const std::string& n : dataflow_names()) CHECK(to_string(*parse_dataflow(n)) == n);
    CHECK(rounding_mode_names().size() == 5);
    CHECK(requant_kind_names().size() == 4);
}
