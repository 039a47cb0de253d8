// Fuzz target: the .npz reader (zip container, stored or deflated entries,
// each a .npy).
#include <cstddef>
#include <cstdint>

#include "bitnpu/frontend/tensor_io.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static bitnpu::fuzz::InputFile file("input.npz");
    const std::string& path = file.write(data, size);
    return bitnpu::fuzz::expect_user_error_only([&] { bitnpu::calib::load_npz(path); });
}
