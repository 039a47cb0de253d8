// Hostile inputs (issue #15): malformed models, options and files must end
// with exit code 2 and a message naming what is wrong, never a signal, a
// hang or an "internal error", and must leave no output file behind.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "../calib/onnx_model_builder.hpp"
#include "bitnpu/frontend/tensor_io.hpp"
#include "cli_runner.hpp"

using namespace bitnpu::testing;
namespace fs = std::filesystem;

namespace {

const std::string kSource = BITNPU_SOURCE_DIR;
const std::string kCalib = BITNPU_CALIB_EXE;
const std::string kNpusim = BITNPU_NPUSIM_EXE;
const std::string kArchinfo = BITNPU_ARCHINFO_EXE;
const std::string kArch = kSource + "/configs/int8_npu.yaml";

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// x [1, 1, 8, 8] -> one windowed node `op` named "win" -> y. Conv gets a
// 1x1x3x3 weight; pools a 2x2 kernel unless attrs set one.
void save_window_model(const fs::path& path, const std::string& op,
                       const std::vector<std::pair<std::string, std::vector<std::int64_t>>>& attrs) {
    bitnpu::test::ModelBuilder b;
    b.input("x", {1, 1, 8, 8});
    std::vector<std::string> inputs{"x"};
    if (op == "Conv" || op == "ConvTranspose") {
        b.init_f32("w", {1, 1, 3, 3}, std::vector<float>(9, 0.1f));
        inputs.push_back("w");
    }
    auto& n = b.node(op, inputs, {"y"}, "win");
    bool has_kernel = false;
    for (const auto& [key, values] : attrs) {
        b.attr_ints(n, key, values);
        has_kernel = has_kernel || key == "kernel_shape";
    }
    if (!has_kernel && op != "Conv" && op != "ConvTranspose") b.attr_ints(n, "kernel_shape", {2, 2});
    b.output("y");
    std::ofstream(path, std::ios::binary) << b.bytes();
}

// A [n, 1, 8, 8] float input file.
std::string save_input(const fs::path& dir, std::int64_t n = 4) {
    const std::string path = (dir / "x.npy").string();
    bitnpu::calib::Tensor t(bitnpu::calib::DType::f32, {n, 1, 8, 8});
    bitnpu::calib::save_npy(path, t);
    return path;
}

// Runs command, requires exit 2 and every word of `expect` in the output.
std::string require_rejected(const std::string& command, const std::vector<std::string>& expect) {
    const auto r = run_cli(command);
    INFO(command);
    INFO(r.output);
    REQUIRE(r.exit_code == 2);
    CHECK_FALSE(contains(r.output, "internal error"));
    for (const auto& e : expect) CHECK(contains(r.output, e));
    return r.output;
}

}  // namespace

TEST_CASE("hostile: zero strides are rejected, not a SIGFPE", "[cli][hostile]") {
    const fs::path dir = temp_dir("hostile-strides");
    const std::string x = save_input(dir);
    for (const std::string op : {"Conv", "MaxPool", "AveragePool", "ConvTranspose"}) {
        for (const std::vector<std::int64_t> strides : {std::vector<std::int64_t>{0, 0}, {-1, 1}}) {
            const fs::path model = dir / (op + ".onnx");
            save_window_model(model, op, {{"strides", strides}});
            const std::string before = read_file(model);
            const fs::path out = dir / "out.ctable.yaml";
            require_rejected(kCalib + " --arch " + kArch + " " + model.string() + " --data " + x + " -q -o " +
                                 out.string(),
                             {"win", op, "strides"});
            CHECK_FALSE(fs::exists(out));
            require_rejected(kNpusim + " fp32 " + model.string() + " --input " + x + " --output-dir " +
                                 (dir / "fp32").string(),
                             {"win", "strides"});
            CHECK_FALSE(fs::exists(dir / "fp32" / "logits.npy"));
            CHECK(read_file(model) == before);
        }
    }
}

TEST_CASE("hostile: pads and sizes are checked before any work", "[cli][hostile]") {
    const fs::path dir = temp_dir("hostile-pads");
    const std::string x = save_input(dir);
    const fs::path pool = dir / "pool.onnx";
    save_window_model(pool, "MaxPool", {{"pads", {1000, 1000, 1000, 1000}}});
    require_rejected(kCalib + " --arch " + kArch + " " + pool.string() + " --data " + x + " -q -o " +
                         (dir / "o.yaml").string(),
                     {"win", "pad 1000"});
    const fs::path conv = dir / "conv.onnx";
    save_window_model(conv, "Conv", {{"pads", {1048576, 1048576, 1048576, 1048576}}});
    require_rejected(kNpusim + " fp32 " + conv.string() + " --input " + x + " --output-dir " + (dir / "o").string(),
                     {"win"});
    CHECK_FALSE(fs::exists(dir / "o.yaml"));
}

TEST_CASE("hostile: numeric options are validated with plain messages", "[cli][hostile]") {
    const fs::path dir = temp_dir("hostile-options");
    const std::string calib = kCalib + " --arch " + kArch + " " + kSource + "/models/cnn.onnx --data " + kSource +
                              "/data/calib_500.npy -q -o " + (dir / "o.yaml").string();
    require_rejected(calib + " --threads -1", {"error:", "--threads", "at least 0"});
    require_rejected(calib + " --batch 0", {"error:", "--batch", "at least 1"});
    require_rejected(calib + " --batch -1", {"error:", "--batch"});
    require_rejected(calib + " --search-samples 0", {"error:", "--search-samples"});
    const std::string big = require_rejected(calib + " --samples 99999999999999999999", {"error:", "too large"});
    CHECK_FALSE(contains(big, "9223372036854775807"));
    CHECK_FALSE(fs::exists(dir / "o.yaml"));
    const std::string abc = require_rejected(kNpusim + " fp32 " + kSource + "/models/cnn.onnx --input " + kSource +
                                                 "/data/test_100_x.npy --threads abc",
                                             {"error:", "whole number", "abc"});
    CHECK(abc.size() < 300);
#ifdef BITNPU_COSIM_EXE
    require_rejected(std::string(BITNPU_COSIM_EXE) + " --arch " + kArch + " --vectors -1", {"error:", "--vectors"});
#endif
}
