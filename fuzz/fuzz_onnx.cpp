// Fuzz target: an ONNX file through the importer, shape inference and the
// standard passes (what calib and npusim do before anything else).
#include <cstddef>
#include <cstdint>

#include "bitnpu/frontend/passes.hpp"
#include "bitnpu/graph/onnx_import.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static bitnpu::fuzz::InputFile file("model.onnx");
    const std::string& path = file.write(data, size);
    return bitnpu::fuzz::expect_user_error_only([&] {
        bitnpu::calib::Graph graph = bitnpu::calib::load_onnx(path);
        bitnpu::calib::run_standard_passes(graph);
    });
}
