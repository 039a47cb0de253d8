// Regression tests for what the fuzz harnesses found (issue #15): every file
// in inputs/<target>/ once crashed fuzz_<target> (an exception other than
// UserError or a sanitizer report); now each must be accepted or rejected
// with a UserError. The specific cases below also check the message.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "targets.hpp"

using bitnpu::UserError;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

std::string read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// The inputs of one target, sorted by name.
std::vector<fs::path> inputs(const std::string& target) {
    std::vector<fs::path> files;
    const fs::path dir = fs::path(BITNPU_SOURCE_DIR) / "tests/fuzz_regressions/inputs" / target;
    if (fs::is_directory(dir))
        for (const auto& e : fs::directory_iterator(dir))
            if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace

TEST_CASE("fuzz regressions: every found input is accepted or a UserError", "[fuzz]") {
    int count = 0;
    for (const auto& [target, run] : bitnpu::fuzz::targets()) {
        for (const fs::path& file : inputs(target)) {
            INFO(target << ": " << file.filename().string());
            CHECK(bitnpu::fuzz::run_input(target, read_bytes(file)) == "");
            ++count;
        }
    }
    CHECK(count > 0);
}

TEST_CASE("fuzz regressions: preprocess spec keys must be plain names", "[fuzz][preprocess]") {
    CHECK_THROWS_WITH(bitnpu::calib::parse_preprocess_spec("preprocess:\n  ? [crop]\n  : [5, 4]\n", "p.yaml"),
                      Contains("p.yaml:2:") && Contains("plain names"));
    CHECK_THROWS_AS(bitnpu::calib::parse_preprocess_spec("{? {a: 1} : 2}\n"), UserError);
}

TEST_CASE("fuzz regressions: preprocess numbers must be finite", "[fuzz][preprocess]") {
    CHECK_THROWS_WITH(bitnpu::calib::parse_preprocess_spec("scale: .nan\n", "p.yaml"),
                      Contains("p.yaml:1:") && Contains("'scale' must be a finite number"));
    CHECK_THROWS_WITH(bitnpu::calib::parse_preprocess_spec("std: [1, .inf, 1]\n", "p.yaml"), Contains("finite"));
    CHECK_THROWS_AS(bitnpu::calib::parse_preprocess_spec("mean: -.Inf\n"), UserError);
}
