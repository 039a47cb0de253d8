// What each fuzz target does with one input, shared by the libFuzzer
// harnesses (fuzz_<target>.cpp) and the regression tests that replay the
// inputs they found (tests/fuzz_regressions/, no fuzzer needed). Bad input
// must end in bitnpu::UserError; run_input() treats any other exception as a
// finding.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>

#include "bitnpu/arch/load.hpp"
#include "bitnpu/ctable/ctable.hpp"
#include "bitnpu/errors.hpp"
#include "bitnpu/frontend/passes.hpp"
#include "bitnpu/frontend/preprocess.hpp"
#include "bitnpu/frontend/tensor_io.hpp"
#include "bitnpu/graph/onnx_import.hpp"
#include "bitnpu/compile/program.hpp"
#include "bitnpu/importer/qdq.hpp"
#include "bitnpu/sweep/spec.hpp"

namespace bitnpu::fuzz {

// Loaders that only take a path read the input from a file in a directory
// private to this process (removed with this object).
class InputFile {
public:
    explicit InputFile(const std::string& name) {
        dir_ = std::filesystem::temp_directory_path() / ("bitnpu_fuzz_" + std::to_string(::getpid()) + "_" + name);
        std::filesystem::create_directories(dir_);
        path_ = (dir_ / name).string();
    }
    ~InputFile() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    InputFile(const InputFile&) = delete;
    InputFile& operator=(const InputFile&) = delete;
    const std::string& write(const std::string& bytes) const {
        std::ofstream out(path_, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        return path_;
    }

private:
    std::filesystem::path dir_;
    std::string path_;
};

// The architecture YAML loader (parse + validate, docs/arch.md).
inline void arch(const std::string& bytes) { arch::parse_arch(bytes, "fuzz.yaml"); }

// An ONNX file through the importer, shape inference and the standard
// passes (what calib and npusim do first).
inline void onnx(const std::string& bytes) {
    static const InputFile file("model.onnx");
    calib::Graph graph = calib::load_onnx(file.write(bytes));
    calib::run_standard_passes(graph);
}

inline void npy(const std::string& bytes) { calib::parse_npy(bytes, "fuzz.npy"); }

// The .npz reader (zip, stored or deflated entries, zip64), each entry a .npy.
inline void npz(const std::string& bytes) {
    static const InputFile file("input.npz");
    calib::load_npz(file.write(bytes));
}

// The CTable reader (YAML and JSON). A table it accepts must also write
// (to_yaml/to_json check the same consistency rules) and read back.
inline void ctable(const std::string& bytes) {
    const calib::CTable table = calib::parse_ctable(bytes, "fuzz.ctable");
    calib::parse_ctable(calib::to_yaml(table), "fuzz.ctable (written as YAML)");
    calib::parse_ctable(calib::to_json(table), "fuzz.ctable (written as JSON)");
}

// The image preprocessing spec; a spec it accepts also runs on a small
// image when its sizes are small.
inline void preprocess(const std::string& bytes) {
    const calib::PreprocessSpec spec = calib::parse_preprocess_spec(bytes, "fuzz.yaml");
    const int limit = 64;
    if (spec.resize_height > limit || spec.resize_width > limit || spec.resize_short > limit ||
        spec.crop_height > limit || spec.crop_width > limit)
        return;
    calib::Image image;
    image.height = 7;
    image.width = 5;
    image.channels = spec.channel_count();
    image.pixels.resize(static_cast<std::size_t>(image.height * image.width * image.channels));
    for (std::size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = static_cast<std::uint8_t>(i * 37);
    calib::preprocess_image(image, spec);
}

// A QDQ model through the importer (calib/importer: Q/DQ pairs stripped into
// a float graph and a CTable), then the standard passes.
inline void qdq(const std::string& bytes) {
    static const InputFile file("model.qdq.onnx");
    calib::Graph graph = calib::load_onnx(file.write(bytes));
    if (calib::has_qdq(graph)) calib::strip_qdq(graph);
    calib::run_standard_passes(graph);
}

// A CTable executed as the program of the bundled CNN on int8_npu.yaml
// (docs/ctable.md "What npusim executes"): every register checked against
// the arch before the program is built.
inline void program(const std::string& bytes) {
    static const arch::ArchSpec arch = arch::load_arch(std::string(BITNPU_SOURCE_DIR) + "/configs/int8_npu.yaml");
    static const calib::Graph model = [] {
        calib::Graph g = calib::load_onnx(std::string(BITNPU_SOURCE_DIR) + "/models/cnn.onnx");
        calib::run_standard_passes(g);
        return g;
    }();
    calib::CTable table = calib::parse_ctable(bytes, "fuzz.ctable");
    table.model.hash.clear();
    table.arch.hash.clear();
    calib::Graph graph = model;
    calib::build_program(graph, arch, table, {1, 1, 28, 28});
}

// An archsweep spec (docs/sweeps.md): loaded, planned, and the arch of each
// of the first 16 points built and validated (an invalid point is a normal
// outcome: archsweep records it). Relative paths resolve against the
// input's private folder, so the seeds name the bundled files through
// ${BITNPU_SOURCE_DIR}, which this sets.
inline void sweep_spec(const std::string& bytes) {
    static const InputFile file("spec.yaml");
    ::setenv("BITNPU_SOURCE_DIR", BITNPU_SOURCE_DIR, 1);
    const sweep::SweepSpec spec = sweep::load_sweep_spec(file.write(bytes));
    const std::vector<sweep::Point> points = sweep::plan_points(spec);
    for (std::size_t p = 0; p < points.size() && p < 16; ++p) {
        try {
            arch::parse_arch(sweep::arch_for_point(spec, points[p]), points[p].id);
        } catch (const UserError&) {
        }
    }
}

inline const std::map<std::string, std::function<void(const std::string&)>>& targets() {
    static const std::map<std::string, std::function<void(const std::string&)>> all = {
        {"arch", arch},     {"onnx", onnx},     {"npy", npy},   {"npz", npz},
        {"ctable", ctable}, {"preprocess", preprocess}, {"qdq", qdq}, {"program", program},
        {"sweep", sweep_spec}};
    return all;
}

// Runs one input: "" when it was accepted or rejected with a UserError,
// otherwise what escaped (a finding).
inline std::string run_input(const std::string& target, const std::string& bytes) {
    try {
        targets().at(target)(bytes);
    } catch (const UserError&) {
        // bad input, reported as such
    } catch (const std::exception& e) {
        return std::string("not a UserError: ") + e.what();
    } catch (...) {
        return "unknown exception";
    }
    return "";
}

}  // namespace bitnpu::fuzz
