// Fuzz target: the CTable reader (YAML and JSON). A table the reader accepts
// must also write (to_yaml/to_json check the same consistency rules) and
// read back.
#include <cstddef>
#include <cstdint>
#include <string>

#include "bitnpu/ctable/ctable.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    return bitnpu::fuzz::expect_user_error_only([&] {
        const bitnpu::calib::CTable table = bitnpu::calib::parse_ctable(text, "fuzz.ctable");
        bitnpu::calib::parse_ctable(bitnpu::calib::to_yaml(table), "fuzz.ctable (written as YAML)");
        bitnpu::calib::parse_ctable(bitnpu::calib::to_json(table), "fuzz.ctable (written as JSON)");
    });
}
