// Fuzz target: the architecture YAML loader (parse + validate, docs/arch.md).
#include <cstddef>
#include <cstdint>
#include <string>

#include "bitnpu/arch/load.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    return bitnpu::fuzz::expect_user_error_only([&] { bitnpu::arch::parse_arch(text, "fuzz.yaml"); });
}
