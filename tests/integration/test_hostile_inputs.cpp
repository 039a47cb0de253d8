// Hostile inputs (issue #15): malformed models, options and files must end
// with exit code 2 and a message naming what is wrong, never a signal, a
// hang or an "internal error", and must leave no output file behind.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <vector>
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
        for (const std::vector<std::int64_t>& strides : {std::vector<std::int64_t>{0, 0}, {-1, 1}}) {
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
    // A kernel_shape of 2^31 then a Flatten with axis 2^20: a range error,
    // not "internal error: num_elements: negative dimension".
    bitnpu::test::ModelBuilder m;
    m.input("x", {1, 1, 8, 8});
    m.init_f32("w", {1, 1, 3, 3}, std::vector<float>(9, 0.1f));
    auto& big_conv = m.node("Conv", {"x", "w"}, {"c"}, "conv");
    m.attr_ints(big_conv, "kernel_shape", {3, std::int64_t(1) << 31});
    auto& flat = m.node("Flatten", {"c"}, {"y"}, "flat");
    m.attr_int(flat, "axis", std::int64_t(1) << 20);
    m.output("y");
    const fs::path big = dir / "big.onnx";
    std::ofstream(big, std::ios::binary) << m.bytes();
    require_rejected(kCalib + " --arch " + kArch + " " + big.string() + " --data " + x + " -q -o " +
                         (dir / "o.yaml").string(),
                     {"conv", "kernel_shape"});
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
    require_rejected(std::string(BITNPU_COSIM_EXE) + " --arch " + kArch + " --vectors 1 --trace " +
                         (dir / "missing" / "t.fst").string(),
                     {"error:", "--trace", "does not exist"});
#endif
}

TEST_CASE("hostile: arch files that are not UTF-8 or not files", "[cli][hostile]") {
    const fs::path dir = temp_dir("hostile-arch");
    std::string yaml = read_file(kArch);
    const auto at = yaml.find("name:");
    REQUIRE(at != std::string::npos);
    const auto value = yaml.find_first_not_of(' ', at + 5);
    yaml.insert(value, "\xff");
    const fs::path bad = dir / "bad.yaml";
    std::ofstream(bad, std::ios::binary) << yaml;
    const std::string line = std::to_string(1 + std::count(yaml.begin(), yaml.begin() + value, '\n'));
    require_rejected(kArchinfo + " --json " + bad.string(), {bad.string() + ":" + line + ":", "UTF-8", "0xFF"});
    require_rejected(kArchinfo + " " + dir.string(), {dir.string(), "is a directory"});
}

namespace {

// A scratch copy of the bundled CNN, arch and calibration data, so that a
// failing refusal could never damage the originals.
struct Scratch {
    fs::path dir;
    std::string model, arch, data;
    explicit Scratch(const std::string& name) : dir(temp_dir(name)) {
        model = (dir / "cnn.onnx").string();
        arch = (dir / "arch.yaml").string();
        data = (dir / "calib.npy").string();
        fs::copy_file(kSource + "/models/cnn.onnx", model);
        fs::copy_file(kArch, arch);
        fs::copy_file(kSource + "/data/calib_500.npy", data);
    }
    std::string calib(const std::string& extra) const {
        return kCalib + " --arch " + arch + " " + model + " --data " + data + " --samples 64 --policy max -q " + extra;
    }
    std::string snapshot() const { return read_file(model) + read_file(arch) + read_file(data); }
};

}  // namespace

TEST_CASE("hostile: calib never writes over its inputs", "[cli][hostile]") {
    const Scratch s("hostile-overwrite");
    const std::string before = s.snapshot();
    const std::string other = (s.dir / "other.yaml").string();
    std::ofstream(other) << "not a ctable\n";
    fs::create_symlink(s.model, s.dir / "link.onnx");
    for (const std::string& target : {s.model, s.arch, s.data, (s.dir / "link.onnx").string()})
        require_rejected(s.calib("-o " + target), {"-o", "same file", "input"});
    require_rejected(s.calib("--ctable " + other + " -o " + other), {"--ctable", "same file"});
    require_rejected(s.calib("--report " + s.model), {"--report", "model"});
    require_rejected(s.calib("--eval-data " + s.data + " --eval-labels " + other + " --report " + other),
                     {"--report", "--eval-labels"});
    require_rejected(s.calib("-o " + (s.dir / "o.yaml").string() + " --report " + (s.dir / "o.yaml").string()),
                     {"--report", "same file"});
    require_rejected(s.calib("-o /dev/full"), {"/dev/full", "not a regular file"});
    CHECK(s.snapshot() == before);
    CHECK(read_file(other) == "not a ctable\n");
    CHECK(fs::is_symlink(s.dir / "link.onnx"));
}

TEST_CASE("hostile: calib writes all outputs or none", "[cli][hostile]") {
    const Scratch s("hostile-all-or-none");
    const fs::path ctable = s.dir / "cnn.ctable.yaml";
    require_rejected(s.calib("-o " + ctable.string() + " --report " + (s.dir / "missing" / "r.json").string()),
                     {"--report", "does not exist"});
    CHECK_FALSE(fs::exists(ctable));
    // A symlink to a regular file is written through: the target replaced,
    // the link kept.
    std::ofstream(s.dir / "real.yaml") << "old\n";
    fs::create_symlink(s.dir / "real.yaml", s.dir / "link.yaml");
    const auto r = run_cli(s.calib("-o " + (s.dir / "link.yaml").string() + " --report " +
                                   (s.dir / "r.json").string()));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(fs::is_symlink(s.dir / "link.yaml"));
    CHECK(contains(read_file(s.dir / "real.yaml"), "layers"));
    CHECK(fs::exists(s.dir / "r.json"));
    for (const auto& entry : fs::directory_iterator(s.dir)) CHECK_FALSE(contains(entry.path().string(), ".tmp."));
}

TEST_CASE("hostile: evaluation labels and inputs must be valid numbers", "[cli][hostile]") {
    const Scratch s("hostile-numbers");
    const std::string labels = (s.dir / "labels.npy").string();
    for (const float bad : {2.5f, std::numeric_limits<float>::quiet_NaN()}) {
        std::vector<float> values(100, 1.0f);
        values[7] = bad;
        bitnpu::calib::save_npy(labels, bitnpu::calib::Tensor::from_vector<float>({100}, values));
        require_rejected(s.calib("--eval-data " + kSource + "/data/test_100_x.npy --eval-labels " + labels + " -o " +
                                 (s.dir / "o.yaml").string()),
                         {"--eval-labels", labels, "label 7"});
        CHECK_FALSE(fs::exists(s.dir / "o.yaml"));
    }
    // Non-finite inputs: npusim names the input, the file and the element.
    bitnpu::calib::Tensor x = bitnpu::calib::load_tensor_file(kSource + "/data/test_100_x.npy");
    x.data<float>()[5] = std::numeric_limits<float>::infinity();
    const std::string xpath = (s.dir / "x_inf.npy").string();
    bitnpu::calib::save_npy(xpath, x);
    require_rejected(kNpusim + " fp32 " + s.model + " --input " + xpath + " --output-dir " + (s.dir / "o").string(),
                     {xpath, "element 5", "Inf"});
    CHECK_FALSE(fs::exists(s.dir / "o"));
}

TEST_CASE("hostile: npusim outputs are checked before the run", "[cli][hostile]") {
    const Scratch s("hostile-npusim-out");
    const std::string ctable = (s.dir / "cnn.ctable.yaml").string();
    REQUIRE(run_cli(s.calib("-o " + ctable)).exit_code == 0);
    const std::string before = s.snapshot() + read_file(ctable);
    const std::string bit =
        " --arch " + s.arch + " --ctable " + ctable + " " + s.model + " --input " + kSource + "/data/test_100_x.npy";
    require_rejected(kNpusim + " cycle" + bit + " --report " + s.model, {"--report", "same file"});
    require_rejected(kNpusim + " cycle" + bit + " --vcd " + ctable, {"--vcd", "same file"});
    // --raw: logits.raw.npy cannot be written (a directory is in the way),
    // so logits.npy must not appear either.
    const fs::path out = s.dir / "out";
    fs::create_directories(out / "logits.raw.npy");
    require_rejected(kNpusim + " run" + bit + " --raw --output-dir " + out.string(), {"logits.raw.npy"});
    CHECK_FALSE(fs::exists(out / "logits.npy"));
    CHECK(s.snapshot() + read_file(ctable) == before);
}
