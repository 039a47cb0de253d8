// The RTL names of the rounding-mode and requant-kind codes agree with the
// C++ enums. They agree by construction: rtl/gen/rtl_codes.cpp writes
// bitnpu_codes.svh (the localparams of bitnpu_rtl_pkg) and rtl_codes.cmake
// (the -G values of CMake) from the enumerators' values, and CMake re-runs it
// whenever arch/include/bitnpu/arch/types.hpp changes. This test guards that
// chain (a stale or hand-edited build tree, a broken configure-time cache):
// it reads both generated files and compares them with the enums this
// binary was compiled against, through the name tables of arch/src/types.cpp.
#include <catch2/catch.hpp>

#include <cctype>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <string>

#include "bitnpu/arch/types.hpp"

namespace {

using namespace bitnpu::arch;

std::string upper(std::string s) {
    for (char& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

// NAME -> value for every line of `file` matching `pattern` (groups: name, value).
std::map<std::string, int> read_codes(const std::string& file, const std::regex& pattern) {
    std::ifstream in(file);
    INFO(file);
    REQUIRE(in);
    std::map<std::string, int> codes;
    std::string line;
    while (std::getline(in, line)) {
        std::smatch m;
        if (std::regex_search(line, m, pattern)) {
            CHECK(codes.count(m[1]) == 0);
            codes[m[1]] = std::stoi(m[2]);
        }
    }
    return codes;
}

// What the C++ side says: ROUND_<NAME> / REQUANT_<NAME> -> enumerator value.
std::map<std::string, int> expected_codes() {
    std::map<std::string, int> codes;
    for (const std::string& n : rounding_mode_names()) codes["ROUND_" + upper(n)] = int(*parse_rounding_mode(n));
    for (const std::string& n : requant_kind_names()) codes["REQUANT_" + upper(n)] = int(*parse_requant_kind(n));
    return codes;
}

// got == want, entry by entry (so a failure names the localparam).
void check_same(const std::map<std::string, int>& got, const std::map<std::string, int>& want) {
    for (const auto& [name, value] : want) {
        INFO(name << " should be " << value);
        REQUIRE(got.count(name) == 1);
        CHECK(got.at(name) == value);
    }
    for (const auto& [name, value] : got) {
        INFO(name << " = " << value << " is no code of the C++ enums");
        CHECK(want.count(name) == 1);
    }
}

}  // namespace

TEST_CASE("package codes (bitnpu_codes.svh) equal arch::RoundingMode and arch::RequantKind") {
    const auto want = expected_codes();
    CHECK(want.size() == rounding_mode_names().size() + requant_kind_names().size());
    CHECK(want.at("ROUND_HALF_UP") == int(RoundingMode::half_up));
    CHECK(want.at("REQUANT_MULTIPLIER") == int(RequantKind::multiplier));
    const auto svh = read_codes(BITNPU_RTL_CODES_SVH,
                                std::regex(R"(^\s*localparam\s+int\s+([A-Z0-9_]+)\s*=\s*(-?[0-9]+)\s*;)"));
    check_same(svh, want);
}

TEST_CASE("package codes: the CMake variables for -G flags (rtl_codes.cmake) equal the enums") {
    const auto cmake = read_codes(BITNPU_RTL_CODES_CMAKE,
                                  std::regex(R"(^set\(BITNPU_RTL_((?:ROUND|REQUANT)_[A-Z0-9_]+) (-?[0-9]+)\))"));
    check_same(cmake, expected_codes());
    // And each code's enumerator, which rtl/CMakeLists.txt writes into the
    // variant registry (p.rounding = static_cast<int>(arch::RoundingMode::half_up)).
    std::ifstream in(BITNPU_RTL_CODES_CMAKE);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const std::string& n : rounding_mode_names())
        CHECK(text.find("set(BITNPU_RTL_ROUNDING_ENUMERATOR_" + std::to_string(int(*parse_rounding_mode(n))) + " " +
                        n + ")") != std::string::npos);
    for (const std::string& n : requant_kind_names())
        CHECK(text.find("set(BITNPU_RTL_REQUANT_ENUMERATOR_" + std::to_string(int(*parse_requant_kind(n))) + " " +
                        n + ")") != std::string::npos);
}
