// calib: calibrates an ONNX model for an accelerator described in YAML and
// writes the CTable the compiler consumes. The model file is never changed.
//   calib --arch configs/npu.yaml model.onnx --data calib.npy [-o model.ctable.yaml]
//         [--policy auto|max|percentile|kld|l1|l2|mse] [--samples N]
//         [--accumulator-aware auto|bound|off]
//         [--ctable existing.yaml] [--format yaml|json] [--report report.json]
//         [--eval-data x.npy --eval-labels y.npy]
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <iostream>

#include "bitnpu/arch/load.hpp"
#include "bitnpu/calibrator/calibrator.hpp"
#include "bitnpu/calibrator/evaluate.hpp"
#include "bitnpu/graph/onnx_import.hpp"
#include "bitnpu/frontend/passes.hpp"
#include "bitnpu/calibrator/report.hpp"
#include "bitnpu/frontend/tensor_io.hpp"
#include "bitnpu/importer/qdq.hpp"
#include "bitnpu/errors.hpp"
#include "cli_checks.hpp"
#include "cli_main.hpp"
#include "output_files.hpp"

namespace {

using namespace bitnpu;
using namespace bitnpu::calib;

struct Options {
    std::string arch, model, data, images, preprocess, output, format, ctable_in, report, eval_data, eval_labels;
    std::string policy = "auto";
    std::string accumulator_aware = "auto";
    double percentile = 99.99;
    std::int64_t samples = 500;
    std::int64_t batch = 64;
    std::int64_t search_samples = 16;
    int threads = 0;
    std::int64_t memory_mb = 0;
    bool quiet = false;
    bool no_bias_correction = false;
    bool mixed_precision = false;
    std::string budget;
    bool adaround = false;
    bool samples_explicit = false;  // --samples given: fewer available samples is an error
};

// A one-line progress bar on stderr, only when stderr is a terminal.
std::function<void(const std::string&, std::int64_t, std::int64_t)> progress_bar(bool quiet) {
    if (quiet || !isatty(STDERR_FILENO)) return {};
    return [](const std::string& stage, std::int64_t done, std::int64_t total) {
        const int width = 30;
        const int filled = total > 0 ? static_cast<int>(width * done / total) : width;
        std::cerr << fmt::format("\r{:<10} [{:<{}}] {}/{}", stage, std::string(filled, '#'), width, done, total)
                  << (done >= total ? "\n" : "") << std::flush;
    };
}

std::unique_ptr<SampleSource> open_samples(const Options& opt, const std::string& data, const Graph& graph) {
    if (!opt.images.empty() && &data == &opt.data) {
        const PreprocessSpec spec = opt.preprocess.empty() ? PreprocessSpec{} : load_preprocess_spec(opt.preprocess);
        return make_image_source(opt.images, spec, graph);
    }
    std::vector<std::string> notes;
    auto source = load_sample_file(data, graph, &notes);
    for (const std::string& note : notes) std::cerr << "note: " << note << "\n";
    return source;
}

std::string default_output(const Options& opt) {
    const std::string ext = opt.format == "json" ? ".ctable.json" : ".ctable.yaml";
    return std::filesystem::path(opt.model).stem().string() + ext;
}

// Evaluation labels are class indices: a float file may hold only whole,
// finite values (NaN or 2.5 used to be cast and scored).
Tensor load_labels(const std::string& path) {
    const Tensor labels = load_tensor_file(path);
    if (labels.dtype() != DType::f32 && labels.dtype() != DType::f64) return labels;
    const Tensor values = labels.cast(DType::f64);
    const double* v = values.data<double>();
    for (std::int64_t i = 0; i < values.numel(); ++i)
        if (!std::isfinite(v[i]) || v[i] != std::floor(v[i]))
            throw UserError(fmt::format("--eval-labels {}: label {} is {}; labels must be whole class indices", path, i,
                                        v[i]));
    return labels;
}

// The files this run writes, checked against everything it reads before any
// work starts (tools/support/output_files.hpp); ctable/report: where to
// write them until commit.
struct Outputs {
    cli::OutputFiles files;
    std::string ctable, report;
};

void plan_outputs(const Options& opt, const std::string& output, Outputs& out) {
    const std::pair<const std::string*, const char*> inputs[] = {
        {&opt.model, "model"},          {&opt.arch, "--arch"},           {&opt.data, "--data"},
        {&opt.preprocess, "--preprocess"}, {&opt.ctable_in, "--ctable"}, {&opt.eval_data, "--eval-data"},
        {&opt.eval_labels, "--eval-labels"}};
    for (const auto& [path, what] : inputs) out.files.input(*path, what);
    out.ctable = out.files.output(output, "-o");
    if (!opt.report.empty()) out.report = out.files.output(opt.report, "--report");
}

int run(const Options& opt) {
    const std::string output = opt.output.empty() ? default_output(opt) : opt.output;
    Outputs outputs;
    plan_outputs(opt, output, outputs);
    // Checked before the (long) calibration, not after it.
    const std::optional<Tensor> labels =
        opt.eval_labels.empty() ? std::nullopt : std::optional<Tensor>(load_labels(opt.eval_labels));
    const arch::ArchSpec arch = arch::load_arch(opt.arch);
    Graph graph = load_onnx(opt.model);
    // A QDQ model (QAT, another tool's PTQ, npuexport --format qdq): the
    // float graph under its Q/DQ pairs, refined from their quantization.
    std::optional<QdqImport> imported;
    if (has_qdq(graph)) {
        imported = strip_qdq(graph);
        if (!opt.quiet)
            std::cout << fmt::format("{}: a QDQ model: {} quantized tensors and {} quantized constants imported, "
                                     "refined for {}\n",
                                     opt.model, imported->activation_pairs, imported->constants, opt.arch);
        for (const std::string& note : imported->notes)
            if (!opt.quiet) std::cerr << "note: " << note << "\n";
    }
    run_standard_passes(graph);
    if (opt.data.empty() && opt.images.empty())
        throw UserError("no calibration data: give --data FILE.npy|.npz or --images DIR");
    const auto samples = open_samples(opt, opt.data, graph);

    std::optional<CTable> start;
    CalibOptions options;
    if (!opt.ctable_in.empty()) {
        start = read_ctable(opt.ctable_in);
        check_made_for_model(*start, opt.ctable_in, opt.model, graph.content_hash);
        options.start_from = &*start;
    } else if (imported) {
        start = imported->table;
        options.start_from = &*start;
    }
    options.policy = parse_calib_policy(opt.policy);
    options.policy_options.percentile = opt.percentile;
    options.samples = opt.samples;
    options.samples_required = opt.samples_explicit;
    options.batch = opt.batch;
    options.search_samples = opt.search_samples;
    options.bias_correction = !opt.no_bias_correction;
    options.adaround = opt.adaround;
    options.accumulator_aware = parse_accumulator_aware(opt.accumulator_aware);
    options.threads = opt.threads;
    options.memory_mb = opt.memory_mb;
    options.progress = progress_bar(opt.quiet);
    if (opt.mixed_precision) options.mixed_precision = parse_budget(opt.budget);

    CalibResult result = calibrate(graph, arch, *samples, options);
    result.warnings.insert(result.warnings.begin(), graph.import_warnings.begin(), graph.import_warnings.end());
    if (!opt.quiet)
        for (const std::string& w : result.warnings) std::cerr << "warning: " << w << "\n";

    std::optional<Top1> top1;
    if (!opt.eval_data.empty()) {
        const auto eval = open_samples(opt, opt.eval_data, graph);
        const Program program = build_program(graph, arch, result.table, eval->batch(0, 1).begin()->second.shape());
        auto bar = progress_bar(opt.quiet);
        top1 = evaluate_top1(graph, program.qgraph, *eval, *labels, opt.threads, 256,
                             bar ? [&](std::int64_t d, std::int64_t t) { bar("evaluate", d, t); }
                                 : std::function<void(std::int64_t, std::int64_t)>{});
    }

    const auto format = opt.format.empty() ? format_for_path(output)
                                           : (opt.format == "json" ? CTableFormat::json : CTableFormat::yaml);
    // All or none: both written aside, then renamed together.
    write_ctable(result.table, outputs.ctable, format);
    if (!opt.report.empty()) write_file_atomically(outputs.report, report_json(result, top1));
    outputs.files.commit();

    if (!opt.quiet) {
        std::cout << fmt::format("calibrated {} for {} on {} samples ({} layers) in {:.2f} s "
                                 "(statistics {:.2f} s, search {:.2f} s)\n\n",
                                 opt.model, arch.name, result.samples_used, result.layers.size(), result.seconds_total,
                                 result.seconds_statistics, result.seconds_search);
        if (result.mixed_precision) std::cout << format_mixed_precision(*result.mixed_precision) << "\n";
        std::cout << format_layer_table(result) << "\n";
        std::cout << format_mac_fractions(result);
        if (top1) std::cout << format_top1(*top1);
        std::cout << "CTable written to " << output << "\n";
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"calib: calibrate an ONNX model for a bitnpu accelerator and write its CTable"};
    Options opt;
    app.add_option("--arch", opt.arch, "Architecture YAML")->required()->check(CLI::ExistingFile);
    app.add_option("model", opt.model, "ONNX model (never modified)")->required()->check(CLI::ExistingFile);
    app.add_option("--data", opt.data, "Calibration samples: .npy (single-input models) or .npz (by input name)");
    app.add_option("--images", opt.images, "Calibrate from a folder of images instead of --data");
    app.add_option("--preprocess", opt.preprocess, "YAML preprocessing spec for --images");
    app.add_option("--samples", opt.samples, "Number of calibration samples (default 500)")
        ->check(bitnpu::cli::positive_int64());
    app.add_option("--policy", opt.policy, "auto (per-layer search), max, percentile, kld, l1, l2 or mse");
    app.add_option("--percentile", opt.percentile, "Percentile for the percentile policy (default 99.99)");
    app.add_option("-o,--output", opt.output, "CTable to write (default: <model>.ctable.yaml)");
    app.add_option("--format", opt.format, "yaml (default) or json")->check(CLI::IsMember({"yaml", "json"}));
    app.add_option("--ctable", opt.ctable_in, "Existing CTable to refine for this arch");
    app.add_option("--report", opt.report, "Write a JSON report (timing, per-layer figures, accuracy)");
    app.add_option("--eval-data", opt.eval_data, "Evaluation samples (.npy/.npz)");
    app.add_option("--eval-labels", opt.eval_labels, "Evaluation labels (.npy, integer classes)");
    app.add_option("--batch", opt.batch, "Batch size for statistics (default 64)")
        ->check(bitnpu::cli::positive_int64());
    app.add_option("--search-samples", opt.search_samples, "Samples the per-layer search judges on (default 16)")
        ->check(bitnpu::cli::positive_int64());
    app.add_option("--threads", opt.threads, "Worker threads (default: all cores)")
        ->check(bitnpu::cli::non_negative_int());
    app.add_option("--memory-mb", opt.memory_mb,
                   "Memory budget (MB) for the activations the statistics batch and the search slice hold; they "
                   "shrink to fit (default: two thirds of the physical memory, at most 16384)")
        ->check(bitnpu::cli::positive_int64());
    app.add_flag("--no-bias-correction", opt.no_bias_correction,
                 "Do not correct MAC layer biases for the mean shift quantization causes");
    app.add_flag("--mixed-precision", opt.mixed_precision,
                 "Choose each MAC layer's engine and precision under --budget (docs/calibrator.md)");
    app.add_option("--budget", opt.budget,
                   "With --mixed-precision: cycles=F or energy=F (at most F of the widest assignment's), "
                   "lowbit-macs=F (at least F of the MACs below 8 bits)");
    app.add_flag("--adaround", opt.adaround,
                 "Learn each MAC layer's weight rounding (AdaRound), kept where it raises the layer's output SQNR");
    app.add_option("--accumulator-aware", opt.accumulator_aware,
                   "MAC layers some input can overflow: auto (keep the bounded or the normal weights, whichever "
                   "the simulator judges better; default), bound (weight scales no input can overflow), off")
        ->check(CLI::IsMember({"auto", "bound", "off"}));
    app.add_flag("-q,--quiet", opt.quiet, "Print nothing but errors");
    return bitnpu::cli::run_cli(app, argc, argv, [&] {
        if (opt.mixed_precision && opt.budget.empty())
            throw CLI::ValidationError("--mixed-precision needs --budget cycles=F, energy=F or lowbit-macs=F");
        if (!opt.mixed_precision && !opt.budget.empty())
            throw CLI::ValidationError("--budget applies to --mixed-precision only");
        if (opt.eval_data.empty() != opt.eval_labels.empty())
            throw CLI::ValidationError("--eval-data and --eval-labels go together");
        opt.samples_explicit = app.count("--samples") > 0;
        return run(opt);
    });
}
