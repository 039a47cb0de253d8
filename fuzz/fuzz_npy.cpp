// Fuzz target: the .npy reader.
#include <cstddef>
#include <cstdint>
#include <string>

#include "bitnpu/frontend/tensor_io.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    return bitnpu::fuzz::expect_user_error_only([&] { bitnpu::calib::parse_npy(bytes, "fuzz.npy"); });
}
