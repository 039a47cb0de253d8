// npuexport as a user runs it: both forms on the bundled CNN, the program in
// the file's metadata, the model's input/output names kept, and bad input
// (an arch ONNX Runtime does not implement in QOperator form, an output that
// names an input, a CTable of another model) exiting 2 without output.
#include <catch2/catch.hpp>

#include <onnx/onnx_pb.h>

#include <fstream>
#include <string>

#include "bitnpu/ctable/ctable.hpp"
#include "bitnpu/export/export.hpp"
#include "cli_runner.hpp"

using namespace bitnpu::testing;
namespace fs = std::filesystem;

namespace {

const std::string kSource = BITNPU_SOURCE_DIR;
const std::string kExport = BITNPU_NPUEXPORT_EXE;
const std::string kModel = kSource + "/models/cnn.onnx";

std::string calibrate(const fs::path& dir, const std::string& arch, const std::string& model = kModel) {
    const std::string ctable = (dir / (fs::path(arch).stem().string() + ".ctable.yaml")).string();
    const auto r = run_cli(std::string(BITNPU_CALIB_EXE) + " --arch " + kSource + "/configs/" + arch + " " + model +
                           " --data " + kSource + "/data/calib_500.npy --samples 64 --policy max -q -o " + ctable);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    return ctable;
}

onnx::ModelProto read_model(const fs::path& p) {
    onnx::ModelProto m;
    std::ifstream in(p, std::ios::binary);
    REQUIRE(m.ParseFromIstream(&in));
    return m;
}

std::string metadata(const onnx::ModelProto& m, const std::string& key) {
    for (const auto& p : m.metadata_props())
        if (p.key() == key) return p.value();
    return "";
}

}  // namespace

TEST_CASE("npuexport: QOperator and QDQ forms of the CNN carry the program and keep the I/O", "[cli][npuexport]") {
    const fs::path dir = temp_dir("npuexport");
    const std::string ctable = calibrate(dir, "ort_cpu.yaml");
    for (const std::string format : {"qoperator", "qdq"}) {
        const fs::path out = dir / (format + ".onnx");
        const auto r = run_cli(kExport + " --arch " + kSource + "/configs/ort_cpu.yaml --ctable " + ctable + " " +
                               kModel + " -o " + out.string() + " --format " + format + " --report " +
                               (dir / (format + ".json")).string());
        INFO(r.output);
        REQUIRE(r.exit_code == 0);
        const onnx::ModelProto m = read_model(out);
        REQUIRE(m.graph().input_size() == 1);
        CHECK(m.graph().input(0).name() == "input");
        REQUIRE(m.graph().output_size() == 1);
        CHECK(m.graph().output(0).name() == "logits");
        CHECK(m.graph().output(0).type().tensor_type().elem_type() == onnx::TensorProto::FLOAT);
        CHECK(metadata(m, bitnpu::calib::kMetaFormat) == format);
        // The metadata holds the CTable that was exported, every register included.
        const bitnpu::calib::CTable embedded = bitnpu::calib::parse_ctable(metadata(m, bitnpu::calib::kMetaCTable), "metadata");
        CHECK(bitnpu::calib::to_yaml(embedded) == bitnpu::calib::to_yaml(bitnpu::calib::read_ctable(ctable)));
        std::size_t quantized_ops = 0;
        for (const auto& n : m.graph().node())
            quantized_ops += n.op_type() == (format == "qoperator" ? "QLinearConv" : "DequantizeLinear") ? 1 : 0;
        CHECK(quantized_ops >= 2);
        CHECK(fs::exists(dir / (format + ".json")));
    }
}

TEST_CASE("npuexport: bad input exits 2 and writes nothing", "[cli][npuexport][errors]") {
    const fs::path dir = temp_dir("npuexport-bad");
    const std::string int8 = calibrate(dir, "int8_npu.yaml");
    const fs::path out = dir / "out.onnx";
    auto expect_refused = [&](const std::string& args, const std::string& says) {
        const auto r = run_cli(kExport + " " + args);
        INFO(args);
        INFO(r.output);
        CHECK(r.exit_code == 2);
        CHECK(r.output.find(says) != std::string::npos);
        CHECK(!fs::exists(out));
    };
    // int8_npu's requant is a 16-bit multiplier: not what ONNX Runtime's kernels compute.
    expect_refused("--arch " + kSource + "/configs/int8_npu.yaml --ctable " + int8 + " " + kModel + " -o " +
                       out.string() + " --format qoperator",
                   "cannot be exported in QOperator form");
    expect_refused("--arch " + kSource + "/configs/int8_npu.yaml --ctable " + int8 + " " + kModel + " -o " + kModel,
                   "error:");
    expect_refused("--arch " + kSource + "/configs/ort_cpu.yaml --ctable " + int8 + " " + kModel + " -o " +
                       out.string(),
                   "not for");
    expect_refused("--arch " + kSource + "/configs/int8_npu.yaml --ctable " + int8 + " " + kSource +
                       "/models/resnet.onnx -o " + out.string(),
                   "error:");
    // QDQ form of a register-only arch: allowed, and the registers ride in the metadata.
    const auto r = run_cli(kExport + " --arch " + kSource + "/configs/int8_npu.yaml --ctable " + int8 + " " + kModel +
                           " -o " + out.string() + " --format qdq");
    INFO(r.output);
    CHECK(r.exit_code == 0);
}

TEST_CASE("npuexport: a QDQ export runs back in npusim from its embedded CTable, bit for bit", "[cli][npuexport]") {
    const fs::path dir = temp_dir("npuexport-roundtrip");
    for (const std::string arch : {"shift_only.yaml", "nvdla_like.yaml"}) {
        const std::string ctable = calibrate(dir, arch);
        const std::string arch_path = kSource + "/configs/" + arch;
        const fs::path qdq = dir / (arch + ".qdq.onnx");
        const std::string input = " --input " + kSource + "/data/test_100_x.npy --raw --output-dir ";
        auto run = [](const std::string& cmd) {
            const auto r = run_cli(cmd);
            INFO(cmd << "\n" << r.output);
            REQUIRE(r.exit_code == 0);
        };
        run(kExport + " --arch " + arch_path + " --ctable " + ctable + " " + kModel + " -o " + qdq.string() +
            " --format qdq");
        run(std::string(BITNPU_NPUSIM_EXE) + " run --arch " + arch_path + " --ctable " + ctable + " " + kModel + input +
            (dir / (arch + ".a")).string());
        run(std::string(BITNPU_NPUSIM_EXE) + " run --arch " + arch_path + " " + qdq.string() + input +
            (dir / (arch + ".b")).string());
        CHECK(read_file(dir / (arch + ".a") / "logits.raw.npy") == read_file(dir / (arch + ".b") / "logits.raw.npy"));
        // The model itself carries no CTable: npusim says to give one.
        const auto r = run_cli(std::string(BITNPU_NPUSIM_EXE) + " run --arch " + arch_path + " " + kModel + input +
                               (dir / "c").string());
        CHECK(r.exit_code == 2);
        CHECK(r.output.find("give --ctable") != std::string::npos);
    }
}
