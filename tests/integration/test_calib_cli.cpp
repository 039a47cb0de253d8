// calib on the bundled model and data, as a user runs it.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "bitnpu/ctable/ctable.hpp"
#include "bitnpu/frontend/tensor_io.hpp"
#include "cli_runner.hpp"

using namespace bitnpu::testing;
namespace fs = std::filesystem;

namespace {

const std::string kSource = BITNPU_SOURCE_DIR;
const std::string kCalib = BITNPU_CALIB_EXE;

std::string calib_cmd(const std::string& arch, const std::string& model, const std::string& data,
                      const std::string& extra) {
    return kCalib + " --arch " + kSource + "/configs/" + arch + " " + kSource + "/models/" + model + " --data " +
           data + " " + extra;
}

const std::string kCalibData = kSource + "/data/calib_500.npy";

}  // namespace

TEST_CASE("calib writes a CTable and a report for the bundled CNN", "[cli]") {
    const fs::path dir = temp_dir("basic");
    const auto r = run_cli(calib_cmd("int8_npu.yaml", "cnn.onnx", kCalibData,
                                     "--samples 200 -o " + (dir / "t.yaml").string() + " --report " +
                                         (dir / "r.json").string() + " --eval-data " + kSource +
                                         "/data/test_100_x.npy --eval-labels " + kSource + "/data/test_100_y.npy"));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(r.output.find("SQNR dB") != std::string::npos);
    CHECK(r.output.find("top-1 on 100 samples") != std::string::npos);
    const bitnpu::calib::CTable table = bitnpu::calib::read_ctable((dir / "t.yaml").string());
    CHECK(table.settings.samples == 200);
    CHECK_FALSE(table.layers.empty());
    for (const auto& layer : table.layers)
        if (layer.op == "Conv" || layer.op == "Gemm") {
            REQUIRE_FALSE(layer.requant.empty());
            for (const auto& r : layer.requant) CHECK(std::abs(r.realized - r.ideal) <= 1e-3 * r.ideal);
        }
    CHECK(fs::exists(dir / "r.json"));
}

TEST_CASE("calib output is byte-identical across runs and thread counts", "[cli]") {
    const fs::path dir = temp_dir("determinism");
    const std::string common = "--samples 128 --search-samples 32 --format json";
    REQUIRE(run_cli(calib_cmd("int8_npu.yaml", "resnet.onnx", kCalibData,
                              common + " --threads 1 -o " + (dir / "a.json").string()))
                .exit_code == 0);
    REQUIRE(run_cli(calib_cmd("int8_npu.yaml", "resnet.onnx", kCalibData,
                              common + " --threads 2 -o " + (dir / "b.json").string()))
                .exit_code == 0);
    CHECK(read_file(dir / "a.json") == read_file(dir / "b.json"));
}

TEST_CASE("calib shrinks the statistics batch and the search slice to its memory budget, and says so",
          "[cli][memory]") {
    const fs::path dir = temp_dir("memory");
    // The CNN's activations take about 0.1 MB per sample: a 1 MB budget
    // holds a few samples, not the default batch of 64 or slice of 16.
    const auto small = run_cli(calib_cmd("int8_npu.yaml", "cnn.onnx", kCalibData,
                                         "--samples 64 --memory-mb 1 --format json -o " + (dir / "s.json").string() +
                                             " --report " + (dir / "s_report.json").string()));
    INFO(small.output);
    REQUIRE(small.exit_code == 0);
    CHECK(small.output.find("warning: statistics run in batches of") != std::string::npos);
    CHECK(small.output.find("warning: the search judges on") != std::string::npos);
    CHECK(small.output.find("--memory-mb") != std::string::npos);
    const std::string report = read_file(dir / "s_report.json");
    CHECK(report.find("\"search_samples\": 16") == std::string::npos);
    CHECK(report.find("\"budget_mb\": 1.0") != std::string::npos);
    const bitnpu::calib::CTable table = bitnpu::calib::read_ctable((dir / "s.json").string());
    CHECK_FALSE(table.layers.empty());
    // A budget that holds everything changes nothing: the default slice and batch.
    const auto large = run_cli(calib_cmd("int8_npu.yaml", "cnn.onnx", kCalibData,
                                         "--samples 64 --memory-mb 4096 --format json -o " +
                                             (dir / "l.json").string() + " --report " +
                                             (dir / "l_report.json").string()));
    REQUIRE(large.exit_code == 0);
    CHECK(large.output.find("warning: the search judges on") == std::string::npos);
    const std::string full = read_file(dir / "l_report.json");
    CHECK(full.find("\"search_samples\": 16") != std::string::npos);
    CHECK(full.find("\"statistics_batch\": 64") != std::string::npos);
    // A zero or negative budget is refused.
    const auto bad = run_cli(calib_cmd("int8_npu.yaml", "cnn.onnx", kCalibData, "--memory-mb 0 -o " +
                                                                                    (dir / "b.json").string()));
    CHECK(bad.exit_code == 2);
    CHECK_FALSE(fs::exists(dir / "b.json"));
}

TEST_CASE("calib refuses bad calibration data with exit code 2 and writes nothing", "[cli][errors]") {
    const fs::path dir = temp_dir("baddata");
    using bitnpu::calib::Tensor;
    const fs::path out = dir / "t.yaml";
    auto expect_error = [&](const std::string& data, const std::string& extra, const std::string& message) {
        const auto r = run_cli(calib_cmd("int8_npu.yaml", "cnn.onnx", data, extra + " -o " + out.string()));
        INFO(r.output);
        CHECK(r.exit_code == 2);
        CHECK(r.output.find(message) != std::string::npos);
        CHECK_FALSE(fs::exists(out));
    };

    std::vector<float> values(4 * 28 * 28, 0.5f);
    values[2 * 28 * 28 + 7] = std::nanf("");
    bitnpu::calib::save_npy((dir / "nan.npy").string(), Tensor::from_vector<float>({4, 1, 28, 28}, values));
    expect_error((dir / "nan.npy").string(), "", "NaN");

    bitnpu::calib::save_npy((dir / "empty.npy").string(), Tensor(bitnpu::calib::DType::f32, {0, 1, 28, 28}));
    expect_error((dir / "empty.npy").string(), "", "no samples");

    bitnpu::calib::save_npy((dir / "shape.npy").string(),
                            Tensor::from_vector<float>({2, 1, 20, 20}, std::vector<float>(2 * 400, 0.1f)));
    expect_error((dir / "shape.npy").string(), "", "input");

    expect_error(kCalibData, "--samples 1000", "only 500");
    expect_error(kSource + "/data/missing.npy", "", "missing.npy");
    expect_error(kCalibData, "--policy best", "policy");
}

TEST_CASE("npusim: bit-accurate and SystemC cycle model agree bit for bit on every zoo model", "[cli][cycle]") {
    const std::string npusim = BITNPU_NPUSIM_EXE;
    for (const std::string model : {"cnn", "resnet", "mobilenet"}) {
        const fs::path dir = temp_dir("cycle-" + model);
        const std::string ctable = (dir / "t.yaml").string();
        const std::string inputs = " --input " + kSource + "/data/test_100_x.npy";
        const std::string common = " --arch " + kSource + "/configs/int8_npu.yaml --ctable " + ctable + " " +
                                   kSource + "/models/" + model + ".onnx" + inputs + " --raw";
        REQUIRE(run_cli(calib_cmd("int8_npu.yaml", model + ".onnx", kCalibData,
                                  "--samples 100 --policy max -q -o " + ctable))
                    .exit_code == 0);
        const auto functional = run_cli(npusim + common + " --output-dir " + (dir / "f").string());
        INFO(functional.output);
        REQUIRE(functional.exit_code == 0);
        const auto cycle = run_cli(npusim + " --cycle" + common + " --output-dir " + (dir / "c").string() +
                                   " --report " + (dir / "cycle.json").string());
        INFO(cycle.output);
        REQUIRE(cycle.exit_code == 0);
        CHECK(cycle.output.find("latency") != std::string::npos);
        const std::string a = read_file(dir / "f" / "logits.raw.npy");
        REQUIRE_FALSE(a.empty());
        CHECK(a == read_file(dir / "c" / "logits.raw.npy"));
        CHECK(fs::exists(dir / "cycle.json"));
    }
}

TEST_CASE("npusim refuses a CTable made for another arch", "[cli][errors]") {
    const fs::path dir = temp_dir("mismatch");
    const std::string ctable = (dir / "t.yaml").string();
    REQUIRE(run_cli(calib_cmd("int8_npu.yaml", "cnn.onnx", kCalibData, "--samples 64 --policy max -q -o " + ctable))
                .exit_code == 0);
    const auto r = run_cli(std::string(BITNPU_NPUSIM_EXE) + " --arch " + kSource + "/configs/shift_only.yaml --ctable " +
                           ctable + " " + kSource + "/models/cnn.onnx --input " + kSource +
                           "/data/test_100_x.npy --output-dir " + (dir / "o").string());
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("arch") != std::string::npos);
}

TEST_CASE("npusim reproduces the calibrated program from the CTable alone", "[cli]") {
    // With int4 weights the calibrator's data-aware weight clipping and bias
    // correction matter; both reach npusim only through the CTable's
    // recorded weight scales and biases, so npusim's top-1 on the evaluation
    // data must be the calibrator's bit-accurate top-1 exactly.
    const fs::path dir = temp_dir("reproduce");
    const std::string ctable = (dir / "t.yaml").string();
    const std::string x = kSource + "/data/test_100_x.npy", y = kSource + "/data/test_100_y.npy";
    const auto calib = run_cli(calib_cmd("w4a8.yaml", "mobilenet.onnx", kCalibData,
                                         "--samples 128 -o " + ctable + " --eval-data " + x + " --eval-labels " + y));
    INFO(calib.output);
    REQUIRE(calib.exit_code == 0);
    const auto at = calib.output.find("bit-accurate ");
    REQUIRE(at != std::string::npos);
    const double calib_top1 = std::stod(calib.output.substr(at + 13));

    const bitnpu::calib::CTable table = bitnpu::calib::read_ctable(ctable);
    CHECK(table.settings.flags.at("bias_correction") == "true");
    bool any_bias = false;
    for (const auto& layer : table.layers) any_bias = any_bias || !layer.bias.empty();
    CHECK(any_bias);

    const auto sim = run_cli(std::string(BITNPU_NPUSIM_EXE) + " --arch " + kSource + "/configs/w4a8.yaml --ctable " +
                             ctable + " " + kSource + "/models/mobilenet.onnx --input " + x + " --output-dir " +
                             (dir / "out").string());
    INFO(sim.output);
    REQUIRE(sim.exit_code == 0);
    const auto logits = bitnpu::calib::load_npy((dir / "out" / "logits.npy").string());
    const auto labels = bitnpu::calib::load_npy(y);
    const std::int64_t n = logits.dim(0), classes = logits.dim(1);
    REQUIRE(labels.numel() == n);
    const std::vector<float> l = logits.to_floats(), t = labels.to_floats();
    int correct = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        const float* row = l.data() + i * classes;
        correct += static_cast<int>(std::max_element(row, row + classes) - row) == static_cast<int>(t[i]);
    }
    CHECK(100.0 * correct / static_cast<double>(n) == Approx(calib_top1).margin(1e-9));
}

TEST_CASE("calib --mixed-precision meets a low-bit budget, reports the Pareto list, and npusim runs the CTable",
          "[cli][mixed]") {
    const fs::path dir = temp_dir("mixed");
    const auto r = run_cli(calib_cmd("hetero.yaml", "cnn.onnx", kCalibData,
                                     "--samples 64 --mixed-precision --budget lowbit-macs=0.5 -o " +
                                         (dir / "t.yaml").string() + " --report " + (dir / "r.json").string()));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(r.output.find("mixed precision (lowbit-macs=0.5") != std::string::npos);
    CHECK(r.output.find("MACs by precision:") != std::string::npos);
    const std::string report = read_file(dir / "r.json");
    for (const char* key : {"\"mac_fraction_by_precision\"", "\"budget\"", "\"pareto\"", "\"mixed_precision\""})
        CHECK(report.find(key) != std::string::npos);
    const bitnpu::calib::CTable table = bitnpu::calib::read_ctable((dir / "t.yaml").string());
    CHECK(table.settings.flags.at("mixed_precision") == "lowbit-macs=0.5");
    bool low_bit_layer = false;
    for (const auto& layer : table.layers)
        low_bit_layer = low_bit_layer || (layer.precision.weight && layer.engine != "mac8");
    CHECK(low_bit_layer);
    const auto sim = run_cli(std::string(BITNPU_NPUSIM_EXE) + " run --arch " + kSource + "/configs/hetero.yaml " + kSource +
                             "/models/cnn.onnx --ctable " + (dir / "t.yaml").string() + " --input " + kSource +
                             "/data/test_100_x.npy --output-dir " + (dir / "out").string());
    INFO(sim.output);
    CHECK(sim.exit_code == 0);
}

TEST_CASE("calib --mixed-precision refuses a missing, malformed or unreachable budget with exit code 2",
          "[cli][mixed][errors]") {
    const fs::path dir = temp_dir("mixed_errors");
    const fs::path out = dir / "t.yaml";
    auto expect_error = [&](const std::string& arch, const std::string& extra, const std::string& message) {
        const auto r = run_cli(calib_cmd(arch, "cnn.onnx", kCalibData, "--samples 32 " + extra + " -o " + out.string()));
        INFO(r.output);
        CHECK(r.exit_code == 2);
        CHECK(r.output.find(message) != std::string::npos);
        CHECK_FALSE(fs::exists(out));
    };
    expect_error("hetero.yaml", "--mixed-precision", "needs --budget");
    expect_error("hetero.yaml", "--budget cycles=0.5", "--budget applies to --mixed-precision only");
    expect_error("hetero.yaml", "--mixed-precision --budget speed=2", "unknown budget 'speed'");
    expect_error("hetero.yaml", "--mixed-precision --budget cycles=0.05", "cannot be met");
    expect_error("int8_npu.yaml", "--mixed-precision --budget cycles=0.5", "offers no MAC layer");
}
