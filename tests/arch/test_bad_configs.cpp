// The bad-architecture corpus (tests/arch/bad/): each file must be rejected
// with a UserError whose message names the file, line:column, field path and
// the problem, as bad/expected.txt states.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "bitnpu/arch/load.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path kBad = fs::path(BITNPU_SOURCE_DIR) / "tests" / "arch" / "bad";

std::vector<std::string> split(const std::string& line, char sep) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (std::size_t cut; (cut = line.find(sep, start)) != std::string::npos; start = cut + 1) {
        parts.push_back(line.substr(start, cut - start));
    }
    parts.push_back(line.substr(start));
    return parts;
}

// file -> substrings its message must contain
std::map<std::string, std::vector<std::string>> expectations() {
    std::ifstream in(kBad / "expected.txt");
    std::map<std::string, std::vector<std::string>> out;
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        std::vector<std::string> parts = split(line, '|');
        REQUIRE(parts.size() >= 2);
        const std::string file = parts[0];
        parts.erase(parts.begin());
        parts[0] = file + ":" + parts[0];   // "file.yaml:LINE:COL: path: ..."
        out[file] = parts;
    }
    return out;
}

}  // namespace

TEST_CASE("every bad file has an expectation and vice versa", "[arch][bad]") {
    const auto expected = expectations();
    std::set<std::string> files;
    for (const auto& entry : fs::directory_iterator(kBad)) {
        if (entry.path().extension() == ".yaml") files.insert(entry.path().filename().string());
    }
    CHECK(files.size() >= 24);
    for (const std::string& f : files) {
        INFO(f);
        CHECK(expected.count(f) == 1);
    }
    for (const auto& [f, parts] : expected) {
        INFO(f);
        CHECK(files.count(f) == 1);
    }
}

TEST_CASE("bad files are rejected with FILE:LINE:COLUMN: field.path: what", "[arch][bad]") {
    for (const auto& [file, substrings] : expectations()) {
        const std::string path = (kBad / file).string();
        INFO(path);
        std::string message;
        try {
            bitnpu::arch::load_arch(path);
            FAIL("accepted a bad file");
        } catch (const bitnpu::UserError& e) {
            message = e.what();
        }
        // The message starts with the path as given, then the location.
        CHECK(message.rfind(path + ":", 0) == 0);
        for (const std::string& s : substrings) CHECK_THAT(message, Catch::Contains(s));
    }
}
