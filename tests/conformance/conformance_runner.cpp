// Runs the ONNX backend node tests (model.onnx + test_data_set_*/input_N.pb,
// output_N.pb) through bitnpu's FP32 executor and compares with the reference
// outputs at the ONNX backend-test tolerances (rtol 1e-3, atol 1e-7).
//
//   conformance_runner [DIR] [--filter TEXT] [--markdown FILE] [--verbose]
//
// A test is skipped, with its reason, when its model does not load into the
// IR (unsupported element type, sequences, ...), uses an op the executor does
// not support, or is in the documented list of known skips below. Exit code:
// 0 when nothing failed, 1 otherwise, 2 on bad usage.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bitnpu/fp32/executor.hpp"
#include "bitnpu/graph/onnx_import.hpp"

namespace fs = std::filesystem;
using namespace bitnpu::calib;

namespace {

constexpr double kRtol = 1e-3;
constexpr double kAtol = 1e-7;

// Tests that use only supported ops but exercise a feature outside the
// executor's scope. Each reason is written to docs/conformance.md.
const char* const kBfloat16Data =
    "bfloat16 test tensors load as int32 bit patterns (load_tensor_proto) while the model input is widened to "
    "float32";

const std::map<std::string, std::string>& known_skips() {
    static const std::map<std::string, std::string> kSkips = {
        {"test_batchnorm_epsilon_training_mode", "BatchNormalization training_mode=1 (inference-only executor)"},
        {"test_batchnorm_example_training_mode", "BatchNormalization training_mode=1 (inference-only executor)"},
        {"test_cast_BFLOAT16_to_FLOAT", kBfloat16Data},
        {"test_castlike_BFLOAT16_to_FLOAT", kBfloat16Data},
        {"test_castlike_BFLOAT16_to_FLOAT_expanded", kBfloat16Data},
        {"test_cast_FLOAT_to_BFLOAT16", kBfloat16Data},
        {"test_castlike_FLOAT_to_BFLOAT16", kBfloat16Data},
        {"test_castlike_FLOAT_to_BFLOAT16_expanded", kBfloat16Data},
        {"test_training_dropout", "Dropout training_mode=true draws random masks (inference-only executor)"},
        {"test_training_dropout_default", "Dropout training_mode=true draws random masks (inference-only executor)"},
        {"test_training_dropout_default_mask", "Dropout training_mode=true draws random masks (inference-only executor)"},
        {"test_training_dropout_mask", "Dropout training_mode=true draws random masks (inference-only executor)"},
        {"test_training_dropout_zero_ratio", "Dropout training_mode=true (inference-only executor)"},
        {"test_training_dropout_zero_ratio_mask", "Dropout training_mode=true (inference-only executor)"},
    };
    return kSkips;
}

enum class Outcome { pass, fail, skip };

struct Result {
    std::string name;
    Outcome outcome;
    std::string detail;
};

std::string compare(const Tensor& got, const Tensor& want) {
    if (got.shape() != want.shape())
        return "shape " + shape_to_string(got.shape()) + ", expected " + shape_to_string(want.shape());
    if (got.dtype() != want.dtype())
        return "type " + std::string(to_string(got.dtype())) + ", expected " + std::string(to_string(want.dtype()));
    const bool is_float = got.dtype() == DType::f32 || got.dtype() == DType::f64;
    const Tensor g = got.cast(DType::f64), w = want.cast(DType::f64);
    std::int64_t bad = 0, first = -1;
    double worst = 0.0;
    for (std::int64_t i = 0; i < g.numel(); ++i) {
        const double a = g.data<double>()[i], b = w.data<double>()[i];
        bool ok;
        if (!is_float) ok = a == b;
        else if (std::isnan(b)) ok = std::isnan(a);
        else if (std::isinf(b)) ok = a == b;
        else ok = std::abs(a - b) <= kAtol + kRtol * std::abs(b);
        if (!ok) {
            if (first < 0) first = i;
            ++bad;
            if (std::isfinite(a - b)) worst = std::max(worst, std::abs(a - b));
        }
    }
    if (bad == 0) return "";
    std::ostringstream os;
    os << bad << " of " << g.numel() << " elements differ (first at " << first << ": got " << g.data<double>()[first]
       << ", expected " << w.data<double>()[first] << "; max abs diff " << worst << ")";
    return os.str();
}

// load_onnx rejects unsupported ops itself; its message ends in the full list
// of supported ops, which the report does not need once per test.
std::string load_failure_reason(const std::string& message) {
    const std::string op_marker = "): op '";
    const auto op_at = message.find(op_marker);
    if (op_at != std::string::npos && message.find("is not supported") != std::string::npos) {
        const auto begin = op_at + op_marker.size();
        return "unsupported op: " + message.substr(begin, message.find('\'', begin) - begin);
    }
    return "model not loadable into the IR: " + message.substr(0, message.find(". Supported ops:"));
}

std::vector<fs::path> numbered_files(const fs::path& dir, const std::string& prefix) {
    std::vector<fs::path> files;
    for (int i = 0;; ++i) {
        fs::path p = dir / (prefix + std::to_string(i) + ".pb");
        if (!fs::exists(p)) break;
        files.push_back(p);
    }
    return files;
}

Result run_test(const fs::path& dir) {
    const std::string name = dir.filename().string();
    Graph graph;
    try {
        graph = load_onnx((dir / "model.onnx").string());
    } catch (const std::exception& e) {
        return {name, Outcome::skip, load_failure_reason(e.what())};
    }
    std::set<std::string> unsupported;
    for (const Node& node : graph.nodes)
        if (!is_supported_op(node.op_type, node.domain))
            unsupported.insert(node.domain.empty() ? node.op_type : node.domain + "." + node.op_type);
    if (!unsupported.empty()) {
        std::string list;
        for (const auto& op : unsupported) list += (list.empty() ? "" : ", ") + op;
        return {name, Outcome::skip, "unsupported op: " + list};
    }
    if (auto it = known_skips().find(name); it != known_skips().end()) return {name, Outcome::skip, it->second};

    std::vector<fs::path> sets;
    for (const auto& entry : fs::directory_iterator(dir))
        if (entry.is_directory() && entry.path().filename().string().rfind("test_data_set_", 0) == 0)
            sets.push_back(entry.path());
    std::sort(sets.begin(), sets.end());
    if (sets.empty()) return {name, Outcome::skip, "no test_data_set_* directory"};

    for (const fs::path& set : sets) {
        std::map<std::string, Tensor> inputs;
        std::vector<Tensor> expected;
        try {
            const auto in_files = numbered_files(set, "input_");
            if (in_files.size() != graph.inputs.size())
                return {name, Outcome::skip,
                        "test data has " + std::to_string(in_files.size()) + " inputs, the model " +
                            std::to_string(graph.inputs.size()) + " (optional inputs)"};
            for (std::size_t i = 0; i < in_files.size(); ++i)
                inputs.emplace(graph.inputs[i].name, load_tensor_proto(in_files[i].string()));
            for (const auto& f : numbered_files(set, "output_")) expected.push_back(load_tensor_proto(f.string()));
        } catch (const std::exception& e) {
            return {name, Outcome::skip, std::string("test data not loadable: ") + e.what()};
        }
        std::map<std::string, Tensor> outputs;
        try {
            Executor executor(graph, ExecutorOptions{1});
            outputs = executor.run(inputs);
        } catch (const std::exception& e) {
            return {name, Outcome::fail, std::string("error: ") + e.what()};
        }
        if (expected.size() != graph.outputs.size())
            return {name, Outcome::fail, "model has " + std::to_string(graph.outputs.size()) + " outputs, test data " +
                                             std::to_string(expected.size())};
        for (std::size_t i = 0; i < expected.size(); ++i) {
            const std::string diff = compare(outputs.at(graph.outputs[i].name), expected[i]);
            if (!diff.empty())
                return {name, Outcome::fail,
                        set.filename().string() + " output '" + graph.outputs[i].name + "': " + diff};
        }
    }
    return {name, Outcome::pass, ""};
}

void write_markdown(const std::string& path, const std::vector<Result>& results, std::size_t passed,
                    std::size_t failed, std::size_t skipped) {
    std::ofstream md(path);
    md << "# ONNX conformance of the FP32 executor\n\n"
       << "Generated by `conformance_runner /usr/share/libonnx-testdata/data/node --markdown docs/conformance.md`\n"
       << "(Debian's `libonnx-testdata`, the ONNX 1.12 backend node tests). Every test whose ops are all in\n"
       << "`bitnpu::calib::supported_ops()` runs through `Executor` on one thread and is compared with the\n"
       << "reference outputs at the ONNX backend-test tolerances, rtol 1e-3 and atol 1e-7, for every test;\n"
       << "integer and bool outputs must match exactly. The ctest `conformance: onnx node tests` runs it.\n\n"
       << "No test needs a looser tolerance. Behaviours worth knowing when reading the results:\n\n"
       << "- float16 tensors are widened to float32 by the importer, so fp16 tests run in float32; `Cast` to\n"
       << "  FLOAT16/BFLOAT16 rounds to that precision (round to nearest even) and keeps a float32 tensor.\n"
       << "- `ConvTranspose` with an `output_shape` larger than the natural output extends with zeros at the end,\n"
       << "  as the ONNX reference does.\n"
       << "- `Resize` maps coordinates with the unrounded output length `input * scale` (ONNX reference), which\n"
       << "  matters for `align_corners`/`pytorch_half_pixel` when `input * scale` is not an integer.\n\n"
       << "Regenerate with `build/tests/conformance/conformance_runner --markdown docs/conformance.md`.\n\n"
       << "**" << passed << " passed, " << failed << " failed, " << skipped << " skipped** (of " << results.size()
       << " tests).\n\n";
    if (failed) {
        md << "## Failed\n\n| test | detail |\n|---|---|\n";
        for (const auto& r : results)
            if (r.outcome == Outcome::fail) md << "| " << r.name << " | " << r.detail << " |\n";
        md << "\n";
    }
    md << "## Passed\n\n";
    for (const auto& r : results)
        if (r.outcome == Outcome::pass) md << "`" << r.name << "` ";
    md << "\n\n## Skipped\n\nA test is skipped when its model uses an op the executor does not implement, an\n"
       << "element type or value kind the IR cannot hold (string, uint32/uint64, sequences, optionals), or is one\n"
       << "of the runner's documented known skips (training-mode behaviour).\n\n| test | reason |\n|---|---|\n";
    for (const auto& r : results) {
        if (r.outcome != Outcome::skip) continue;
        std::string reason = r.detail;
        std::replace(reason.begin(), reason.end(), '|', '/');
        std::replace(reason.begin(), reason.end(), '\n', ' ');
        md << "| " << r.name << " | " << reason << " |\n";
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir = "/usr/share/libonnx-testdata/data/node", filter, markdown;
    bool verbose = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--filter" && i + 1 < argc) filter = argv[++i];
        else if (arg == "--markdown" && i + 1 < argc) markdown = argv[++i];
        else if (arg == "--verbose") verbose = true;
        else if (!arg.empty() && arg[0] != '-') dir = arg;
        else {
            std::cerr << "usage: conformance_runner [DIR] [--filter TEXT] [--markdown FILE] [--verbose]\n";
            return 2;
        }
    }
    if (!fs::is_directory(dir)) {
        std::cerr << "error: " << dir << " is not a directory (install Debian's libonnx-testdata)\n";
        return 2;
    }
    std::vector<fs::path> tests;
    for (const auto& entry : fs::directory_iterator(dir))
        if (entry.is_directory() && entry.path().filename().string().find(filter) != std::string::npos)
            tests.push_back(entry.path());
    std::sort(tests.begin(), tests.end());

    std::vector<Result> results;
    std::size_t passed = 0, failed = 0, skipped = 0;
    for (const auto& t : tests) {
        Result r = run_test(t);
        if (r.outcome == Outcome::pass) ++passed;
        if (r.outcome == Outcome::fail) ++failed;
        if (r.outcome == Outcome::skip) ++skipped;
        if (r.outcome == Outcome::fail) std::cout << "FAIL " << r.name << ": " << r.detail << "\n";
        else if (verbose) std::cout << (r.outcome == Outcome::pass ? "pass " : "skip ") << r.name
                                    << (r.detail.empty() ? "" : ": " + r.detail) << "\n";
        results.push_back(std::move(r));
    }
    std::cout << passed << " passed, " << failed << " failed, " << skipped << " skipped\n";
    if (!markdown.empty()) write_markdown(markdown, results, passed, failed, skipped);
    return failed == 0 ? 0 : 1;
}
