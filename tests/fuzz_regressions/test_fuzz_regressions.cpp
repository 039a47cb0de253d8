// Regression tests for what the fuzz harnesses found (issue #15): every file
// in inputs/<target>/ once crashed fuzz_<target> (an exception other than
// UserError or a sanitizer report); now each must be accepted or rejected
// with a UserError. The specific cases below also check the message.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "bitnpu/fp32/executor.hpp"
#include "bitnpu/fp32/shape_inference.hpp"
#include "targets.hpp"

using bitnpu::UserError;
using bitnpu::calib::DType;
using bitnpu::calib::Node;
using bitnpu::calib::run_node;
using bitnpu::calib::Tensor;
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

// Found by reading the .npy reader while fuzzing it (longer than libFuzzer's
// default input size): a 200 kB header overflowed the stack in std::regex.
TEST_CASE(
    "fuzz regressions: a .npy header longer than numpy's 10000 bytes is "
    "a UserError",
    "[fuzz][npy]") {
    const std::string dict = "{'descr': '" + std::string(200000, 'a') + "', 'fortran_order': False, 'shape': (1,), }";
    std::string bytes = std::string("\x93NUMPY\x02\x00", 8);
    for (int i = 0; i < 4; ++i) bytes += static_cast<char>((dict.size() >> (8 * i)) & 0xff);
    bytes += dict;
    CHECK_THROWS_WITH(bitnpu::calib::parse_npy(bytes, "x.npy"),
                      Contains("x.npy: .npy header of 200054 bytes") && Contains("numpy's limit"));
    CHECK(bitnpu::fuzz::run_input("npy", bytes) == "");
}

// inputs/npz/zip64_size_wraps.npz: a local header whose name length points
// past the end and a zip64 compressed size that wraps the bounds check around
// (std::out_of_range from substr).
TEST_CASE("fuzz regressions: a zip64 entry size that wraps around is a UserError", "[fuzz][npz]") {
    const bitnpu::fuzz::InputFile file("wrap.npz");
    std::ifstream in(fs::path(BITNPU_SOURCE_DIR) / "tests/fuzz_regressions/inputs/npz/zip64_size_wraps.npz",
                     std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK_THROWS_WITH(bitnpu::calib::load_npz(file.write(bytes)), Contains("entry 'a.npy': truncated data"));
}

namespace {

// The UserError message of an ONNX input through the fuzz_onnx target.
std::string onnx_error(const std::string& input_name) {
    try {
        bitnpu::fuzz::onnx(read_bytes(fs::path(BITNPU_SOURCE_DIR) / "tests/fuzz_regressions/inputs/onnx" / input_name));
    } catch (const UserError& e) {
        return e.what();
    }
    return "(accepted)";
}

}  // namespace

// inputs/onnx/reshape_shape_overflow.onnx: signed overflow (UBSan) multiplying
// a Reshape target's dimensions while the passes probe shapes (which then
// ignore the failed node; the model imports).
TEST_CASE("fuzz regressions: a Reshape target whose size overflows is a UserError", "[fuzz][onnx]") {
    CHECK(onnx_error("reshape_shape_overflow.onnx") == "(accepted)");
    const Tensor x(DType::f32, {2, 3});
    Tensor shape(DType::i64, {3});
    shape.data<std::int64_t>()[0] = std::int64_t{1} << 40;
    shape.data<std::int64_t>()[1] = std::int64_t{1} << 40;
    shape.data<std::int64_t>()[2] = -1;
    Node node;
    node.name = "r";
    node.op_type = "Reshape";
    node.inputs = {"x", "shape"};
    node.outputs = {"y"};
    CHECK_THROWS_WITH(run_node(node, {&x, &shape}, 13), Contains("more elements than fit in 64 bits"));
}

// inputs/onnx/conv_transpose_rank1_weight.onnx: a ConvTranspose whose weight
// initializer has rank 1 (declared [3, 4, 3, 3] as an input); ONNX's own shape
// inference read past its dims (SIGSEGV in libonnx). The fuzzer's file also
// misspells two attribute names, which ONNX's node checker now rejects at
// import; the _named copy (the names fixed by hand) reaches the rank check.
TEST_CASE("fuzz regressions: a Conv/ConvTranspose weight of the wrong rank is a UserError", "[fuzz][onnx]") {
    CHECK_THAT(onnx_error("conv_transpose_rank1_weight.onnx"),
               Contains("malformed ConvTranspose node: Unrecognized attribute: {ernel_shape"));
    CHECK_THAT(onnx_error("conv_transpose_rank1_weight_named.onnx"),
               Contains("(ConvTranspose): weight '1' has rank 1 (at least 3 needed)"));
}

// inputs/npy/scalar_truncated.npy: shape () with 1 byte of float32 data; the
// size check covered every dimension but not the scalar's one element
// (heap-buffer-overflow read).
TEST_CASE("fuzz regressions: a scalar .npy without its data is a UserError", "[fuzz][npy]") {
    const std::string bytes =
        read_bytes(fs::path(BITNPU_SOURCE_DIR) / "tests/fuzz_regressions/inputs/npy/scalar_truncated.npy");
    CHECK_THROWS_WITH(bitnpu::calib::parse_npy(bytes, "s.npy"),
                      Contains("s.npy: truncated .npy data (1 bytes; shape []"));
    CHECK_THROWS_WITH(bitnpu::calib::parse_npy(bytes.substr(0, bytes.size() - 1), "s.npy"), Contains("truncated"));
}

// inputs/onnx/shape_without_input.onnx: a Shape node with no input; shape
// inference's shortcut for Shape read inputs.at(0) (std::out_of_range). The
// importer now checks every required input against ONNX's schema.
TEST_CASE("fuzz regressions: a Shape node without its input is a UserError", "[fuzz][onnx]") {
    CHECK_THAT(onnx_error("shape_without_input.onnx"), Contains("(Shape): required input 0 ('data') is missing"));
}

// inputs/onnx/range_huge_count.onnx: a constant Range of about 2.7e36
// elements; the float-to-int64 conversion of its count was undefined (UBSan).
TEST_CASE("fuzz regressions: a Range with more than 2^31 elements is a UserError", "[fuzz][onnx]") {
    CHECK(bitnpu::fuzz::run_input("onnx", read_bytes(fs::path(BITNPU_SOURCE_DIR) /
                                                     "tests/fuzz_regressions/inputs/onnx/range_huge_count.onnx")) ==
          "");
    const Tensor start = Tensor::from_vector<float>({}, {0.0f});
    const Tensor limit = Tensor::from_vector<float>({}, {1e30f});
    const Tensor delta = Tensor::from_vector<float>({}, {1.0f});
    Node node;
    node.name = "range";
    node.op_type = "Range";
    node.inputs = {"s", "l", "d"};
    node.outputs = {"y"};
    CHECK_THROWS_WITH(run_node(node, {&start, &limit, &delta}, 13), Contains("more than 2^31"));
}

// inputs/onnx/layer_norm_axis_out_of_range.onnx: LayerNormalization with axis
// -32769 on a rank-4 input; ONNX's own shape inference indexed the dims with
// it (SIGSEGV inside libonnx). The passes probe shapes and drop what fails, so
// the model itself imports.
TEST_CASE("fuzz regressions: a LayerNormalization axis out of range is a UserError", "[fuzz][onnx]") {
    const std::string path =
        (fs::path(BITNPU_SOURCE_DIR) / "tests/fuzz_regressions/inputs/onnx/layer_norm_axis_out_of_range.onnx").string();
    CHECK(bitnpu::fuzz::run_input("onnx", read_bytes(path)) == "");
    bitnpu::calib::Graph graph = bitnpu::calib::load_onnx(path);
    CHECK_THROWS_WITH(bitnpu::calib::infer_shapes(graph, {{"X", {2, 3, 4, 5}}}),
                      Contains("(LayerNormalization): axis -32769 is out of range for input 'X' of rank 4"));
}

TEST_CASE("fuzz regressions: a sweep spec with more points than archsweep runs is refused at load", "[fuzz][sweep]") {
    for (const char* name : {"huge_grid.yaml", "huge_random.yaml"}) {
        INFO(name);
        const std::string bytes = read_bytes(fs::path(BITNPU_SOURCE_DIR) / "tests/fuzz_regressions/inputs/sweep" / name);
        try {
            bitnpu::fuzz::sweep_spec(bytes);
            FAIL("accepted");
        } catch (const bitnpu::UserError& e) {
            CHECK_THAT(e.what(), Catch::Matchers::Contains("at most 100000 are allowed"));
        }
    }
}
