// npusim: runs an ONNX model on bitnpu's simulators. One subcommand per mode,
// each accepting only the flags it uses:
//   npusim fp32  MODEL (--input x.npy [--input name=y.npy] | --images DIR [--preprocess spec.yaml])
//                --output-dir out/ [--threads N]
//   npusim run   --arch A.yaml --ctable T.yaml MODEL --input x.npy --output-dir out/ [--raw] [--threads N]
//   npusim cycle --arch A.yaml --ctable T.yaml MODEL --input x.npy [--report r.json] [--vcd w.vcd]
//                [--output-dir out/ [--raw]]
// The old spellings still work, with the same checks: `npusim --fp32 MODEL ...`
// (fp32), `npusim --cycle ...` (cycle), `npusim --arch ... MODEL ...` (run).
// A flag of another mode is an error (exit 2), never silently ignored.
// Writes one .npy per graph output (bit-accurate: the dequantized values;
// --raw adds the integers as NAME.raw.npy). Each mode is its own function.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <vector>
#include <filesystem>
#include <iostream>
#include <thread>

#include <systemc>
#include <nlohmann/json.hpp>

#include "bitnpu/arch/load.hpp"
#include "bitnpu/fp32/batching.hpp"
#include "bitnpu/compile/program.hpp"
#include "bitnpu/ctable/ctable.hpp"
#include "bitnpu/importer/qdq.hpp"
#include "bitnpu/sim/systemc/energy.hpp"
#include "bitnpu/fp32/executor.hpp"
#include "bitnpu/sim/systemc/cycle_model.hpp"
#include "bitnpu/graph/onnx_import.hpp"
#include "bitnpu/frontend/passes.hpp"
#include "bitnpu/frontend/tensor_io.hpp"
#include "bitnpu/errors.hpp"
#include "bitnpu/sim/parallel.hpp"
#include "cli_checks.hpp"
#include "cli_main.hpp"
#include "output_files.hpp"

namespace {

using namespace bitnpu::calib;
using bitnpu::UserError;

enum class Mode { fp32, run, cycle };

struct Options {
    std::string fp32_model;       // old spelling: --fp32 MODEL
    std::string model;
    std::string arch, ctable, report, vcd;
    bool cycle = false;           // old spelling: --cycle
    bool raw = false;
    std::vector<std::string> inputs;  // "path" or "name=path"
    std::string images_dir;
    std::string preprocess_spec;
    std::string output_dir;
    int threads = 0;
};

const ValueInfo* find_input(const Graph& graph, const std::string& name) {
    for (const ValueInfo& in : graph.inputs)
        if (in.name == name) return &in;
    return nullptr;
}

// The first graph input nobody has given a value yet.
const ValueInfo& next_free_input(const Graph& graph, const std::map<std::string, Tensor>& given,
                                 const std::string& what) {
    for (const ValueInfo& in : graph.inputs)
        if (!given.count(in.name)) return in;
    throw UserError(what + ": every model input already has a value (model inputs: " +
                    std::to_string(graph.inputs.size()) + ")");
}

// Without a resize or crop in the spec, images are resized to the model's
// static input size so a folder of mixed sizes still runs.
PreprocessSpec image_spec(const Options& opt, const ValueInfo& input) {
    PreprocessSpec spec = opt.preprocess_spec.empty() ? PreprocessSpec{} : load_preprocess_spec(opt.preprocess_spec);
    const bool sized = spec.resize_short > 0 || spec.resize_height > 0 || spec.crop_height > 0;
    if (sized || !input.has_shape || input.shape.size() != 4) return spec;
    const bool nchw = spec.layout == Layout::NCHW;
    const Dim& h = input.shape[nchw ? 2 : 1];
    const Dim& w = input.shape[nchw ? 3 : 2];
    if (h.known() && w.known()) {
        spec.resize_height = static_cast<int>(h.value);
        spec.resize_width = static_cast<int>(w.value);
    }
    return spec;
}

// Like calib's data: converted to the model input's type by the one rule
// (as_input_dtype, with a note), and finite: NaN/Inf would be quantized to
// arbitrary integers (bit-accurate) or silently propagate (fp32).
Tensor finite_input(Tensor t, const ValueInfo& input, const std::string& file) {
    const std::string& name = input.name;
    std::string note;
    t = as_input_dtype(std::move(t), input.dtype, name, file, note);
    if (!note.empty()) std::cerr << "note: " << note << "\n";
    if (t.dtype() != DType::f32 && t.dtype() != DType::f64) return t;
    const Tensor values = t.cast(DType::f64);
    const double* v = values.data<double>();
    for (std::int64_t i = 0; i < values.numel(); ++i)
        if (!std::isfinite(v[i]))
            throw UserError(fmt::format("input '{}' ({}): element {} is {}; inputs must be finite", name, file, i,
                                        std::isnan(v[i]) ? "NaN" : "Inf"));
    return t;
}

std::map<std::string, Tensor> gather_inputs(const Options& opt, const Graph& graph) {
    std::map<std::string, Tensor> given;
    for (const std::string& arg : opt.inputs) {
        const auto eq = arg.find('=');
        if (eq != std::string::npos && find_input(graph, arg.substr(0, eq))) {
            const std::string name = arg.substr(0, eq), file = arg.substr(eq + 1);
            given[name] = finite_input(load_tensor_file(file), *find_input(graph, name), file);
            continue;
        }
        if (eq != std::string::npos && !std::filesystem::exists(arg)) {
            std::string names;
            for (const ValueInfo& in : graph.inputs) names += (names.empty() ? "" : ", ") + in.name;
            throw UserError("--input " + arg + ": '" + arg.substr(0, eq) + "' is not a model input (inputs: " + names + ")");
        }
        const ValueInfo& in = next_free_input(graph, given, "--input " + arg);
        given[in.name] = finite_input(load_tensor_file(arg), in, arg);
    }
    if (!opt.images_dir.empty()) {
        const ValueInfo& in = next_free_input(graph, given, "--images " + opt.images_dir);
        given[in.name] = load_images(list_image_files(opt.images_dir), image_spec(opt, in));
    }
    return given;
}

std::string file_name_for(const std::string& value) {
    std::string name = value;
    for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') c = '_';
    return name + ".npy";
}

// Every file npusim reads, for OutputFiles to compare outputs against.
void add_inputs(const Options& opt, bitnpu::cli::OutputFiles& files) {
    files.input(opt.model, "model");
    files.input(opt.arch, "--arch");
    files.input(opt.ctable, "--ctable");
    files.input(opt.preprocess_spec, "--preprocess");
    for (const std::string& arg : opt.inputs) {
        const auto eq = arg.find('=');
        files.input(arg, "--input");
        if (eq != std::string::npos) files.input(arg.substr(eq + 1), "--input");
    }
}

// One .npy per output name under --output-dir: declared (and checked)
// before the model runs; returns name -> {path, temporary path}.
using NpyPlan = std::map<std::string, std::pair<std::string, std::string>>;
NpyPlan plan_npy_outputs(const Options& opt, const std::vector<std::string>& names,
                         bitnpu::cli::OutputFiles& files) {
    NpyPlan plan;
    for (const std::string& name : names) {
        const std::string path = (std::filesystem::path(opt.output_dir) / file_name_for(name)).string();
        plan[name] = {path, files.output(path, "--output-dir", /*create_dirs=*/true)};
    }
    return plan;
}

// Writes every output aside, then publishes them (and any other planned
// output already written) together.
void write_outputs(const NpyPlan& plan, const std::map<std::string, Tensor>& outputs, bitnpu::cli::OutputFiles& files) {
    files.create_directories();
    for (const auto& [name, paths] : plan) {
        const Tensor& t = outputs.at(name);
        save_npy(paths.second, t);
        std::cout << "  " << name << ": " << shape_to_string(t.shape()) << " " << to_string(t.dtype()) << " -> "
                  << paths.first << "\n";
    }
    files.commit();
}

// What the importer accepted but the user should know (a newer opset).
void print_import_warnings(const Graph& graph) {
    for (const std::string& w : graph.import_warnings) std::cerr << "warning: " << w << "\n";
}

std::vector<std::string> output_names(const Graph& graph) {
    std::vector<std::string> names;
    for (const ValueInfo& out : graph.outputs) names.push_back(out.name);
    return names;
}

int run_fp32(const Options& opt) {
    Graph graph = load_onnx(opt.model);
    print_import_warnings(graph);
    run_standard_passes(graph);
    const auto inputs = gather_inputs(opt, graph);
    bitnpu::cli::OutputFiles files;
    add_inputs(opt, files);
    const NpyPlan plan = plan_npy_outputs(opt, output_names(graph), files);
    ExecutorOptions exec_options;
    exec_options.threads = opt.threads;
    const Executor exec(graph, exec_options);
    const auto outputs = run_batched(exec, inputs, fixed_batch(graph));
    std::cout << "npusim fp32: " << opt.model << " (" << graph.nodes.size() << " nodes after passes, opset "
              << graph.opset << ")\n";
    for (const auto& [name, t] : inputs) std::cout << "  input " << name << ": " << shape_to_string(t.shape()) << "\n";
    write_outputs(plan, outputs, files);
    return 0;
}

// The graph, arch and CTable of the bit-accurate modes, lowered to the
// integer program the hardware runs.
struct BitAccurate {
    Graph graph;
    bitnpu::arch::ArchSpec arch;
    Program program;
    std::vector<bitnpu::sim::FloatTensor> inputs;  // in QuantGraph input order
};

BitAccurate load_bit_accurate(const Options& opt) {
    BitAccurate b;
    b.arch = bitnpu::arch::load_arch(opt.arch);
    b.graph = load_onnx(opt.model);
    print_import_warnings(b.graph);
    CTable table;
    if (has_qdq(b.graph)) {
        // A QDQ model: the float graph under its Q/DQ pairs, and the program
        // npuexport embedded in it unless --ctable gives one.
        QdqImport imported = strip_qdq(b.graph);
        if (opt.ctable.empty()) {
            if (!imported.embedded)
                throw UserError(fmt::format("'{}' is a QDQ model without a bitnpu program in its metadata: give "
                                            "--ctable, or make one with calib --arch A.yaml {}",
                                            opt.model, opt.model));
            table = std::move(*imported.embedded);
            table.model.hash.clear();   // made for the float model the file was exported from
        }
    } else if (opt.ctable.empty()) {
        throw UserError(fmt::format("give --ctable: '{}' carries no CTable (only models npuexport wrote do)", opt.model));
    }
    run_standard_passes(b.graph);
    if (!opt.ctable.empty()) table = read_ctable(opt.ctable);
    const auto given = gather_inputs(opt, b.graph);
    check_inputs(b.graph, given, /*many_batches=*/true);
    b.program = build_program(b.graph, b.arch, table, given.begin()->second.shape());
    for (int id : b.program.qgraph.inputs) {
        const std::string& name = b.program.qgraph.tensors.at(static_cast<std::size_t>(id)).name;
        const Tensor t = given.at(name).cast(DType::f32);
        b.inputs.push_back({t.shape(), std::vector<float>(t.data<float>(), t.data<float>() + t.numel())});
    }
    return b;
}

// The inputs quantized as the program's input tensors say.
std::vector<bitnpu::sim::QTensor> quantized_inputs(const BitAccurate& b) {
    std::vector<bitnpu::sim::QTensor> q;
    for (std::size_t i = 0; i < b.inputs.size(); ++i)
        q.push_back(bitnpu::sim::quantize_tensor(
            b.inputs[i], b.program.qgraph.tensors.at(static_cast<std::size_t>(b.program.qgraph.inputs[i])).quant));
    return q;
}

// The program's output names (NAME, and NAME.raw with --raw).
std::vector<std::string> quantized_output_names(const Options& opt, const bitnpu::sim::QuantGraph& qgraph) {
    std::vector<std::string> names;
    for (int id : qgraph.outputs) {
        const std::string& name = qgraph.tensors.at(static_cast<std::size_t>(id)).name;
        names.push_back(name);
        if (opt.raw) names.push_back(name + ".raw");
    }
    return names;
}

void write_quantized_outputs(const Options& opt, const bitnpu::sim::QuantGraph& qgraph,
                             const std::vector<bitnpu::sim::QTensor>& raw, const NpyPlan& plan,
                             bitnpu::cli::OutputFiles& files) {
    std::map<std::string, Tensor> outputs;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const std::string& name = qgraph.tensors.at(static_cast<std::size_t>(qgraph.outputs[i])).name;
        const bitnpu::sim::FloatTensor f = bitnpu::sim::dequantize_tensor(raw[i]);
        outputs[name] = Tensor::from_vector<float>(f.shape, f.data);
        if (opt.raw) outputs[name + ".raw"] = Tensor::from_vector<std::int32_t>(raw[i].shape, raw[i].values);
    }
    write_outputs(plan, outputs, files);
}

int run_bit_accurate(const Options& opt) {
    const BitAccurate b = load_bit_accurate(opt);
    bitnpu::cli::OutputFiles files;
    add_inputs(opt, files);
    const NpyPlan plan = plan_npy_outputs(opt, quantized_output_names(opt, b.program.qgraph), files);
    bitnpu::sim::RunOptions run_options;
    run_options.threads = bitnpu::sim::resolve_threads(opt.threads);
    const std::vector<bitnpu::sim::QTensor> qinputs = quantized_inputs(b);
    const bitnpu::sim::GraphResult r =
        run_quantized_batched(b.program.qgraph, qinputs, fixed_batch(b.graph), run_options);
    std::cout << "npusim bit-accurate: " << opt.model << " on " << b.arch.name << " (" << b.program.qgraph.nodes.size()
              << " layers)\n";
    write_quantized_outputs(opt, b.program.qgraph, r.raw_outputs, plan, files);
    return 0;
}

nlohmann::ordered_json cycle_report_json(const bitnpu::sim::systemc::CycleReport& r) {
    nlohmann::ordered_json layers = nlohmann::ordered_json::array();
    for (const auto& l : r.layers)
        layers.push_back({{"layer", l.name}, {"op", l.op_type}, {"engine", l.engine}, {"cycles", l.cycles},
                          {"compute_cycles", l.compute_cycles}, {"stall_cycles", l.stall_cycles},
                          {"dma_cycles", l.dma_cycles}, {"dram_bytes_in", l.dram_bytes_in},
                          {"dram_bytes_out", l.dram_bytes_out}, {"macs", l.macs}, {"tiles", l.tiles},
                          {"double_buffered", l.double_buffered}, {"mac_utilization", l.mac_utilization},
                          {"fill_cycles", l.fill_cycles}, {"steady_cycles", l.steady_cycles},
                          {"drain_cycles", l.drain_cycles}, {"pe_active_cycles", l.pe_active_cycles}});
    return {{"cycles", r.cycles},
            {"compute_cycles", r.compute_cycles},
            {"stall_cycles", r.stall_cycles},
            {"dram_bytes_in", r.dram_bytes_in},
            {"dram_bytes_out", r.dram_bytes_out},
            {"macs", r.macs},
            {"mac_utilization", r.mac_utilization},
            {"fill_cycles", r.fill_cycles},
            {"steady_cycles", r.steady_cycles},
            {"drain_cycles", r.drain_cycles},
            {"pe_active_cycles", r.pe_active_cycles},
            {"clock_mhz", r.clock_mhz},
            {"latency_us", r.latency_us},
            {"layers", layers}};
}

int run_cycle(const Options& opt) {
    const BitAccurate b = load_bit_accurate(opt);
    bitnpu::cli::OutputFiles files;
    add_inputs(opt, files);
    const std::string report = opt.report.empty() ? "" : files.output(opt.report, "--report");
    const NpyPlan plan = opt.output_dir.empty()
                             ? NpyPlan{}
                             : plan_npy_outputs(opt, quantized_output_names(opt, b.program.qgraph), files);
    const std::vector<bitnpu::sim::QTensor> qinputs = quantized_inputs(b);
    bitnpu::sim::systemc::CycleOptions options;
    options.vcd_path = opt.vcd.empty() ? "" : files.output(opt.vcd, "--vcd");
    const auto r = bitnpu::sim::systemc::run_cycle_model(b.program.qgraph, b.arch, qinputs, options);
    // The cost model per inference: the input's batch divides the totals.
    const std::int64_t batch = qinputs.empty() || qinputs[0].shape.empty() ? 1 : std::max<std::int64_t>(1, qinputs[0].shape[0]);
    bitnpu::sim::systemc::EnergyReport energy = bitnpu::sim::systemc::estimate_energy(b.program.qgraph, r.report, b.arch);
    std::cout << "npusim cycle model: " << opt.model << " on " << b.arch.name << "\n"
              << bitnpu::sim::systemc::format_report(r.report)
              << fmt::format("energy (docs/energy.md, an estimate): {:.4g} uJ per sample ({} sample(s)), {:.3g} "
                             "pJ/MAC, {:.3g} TOPS/W; MAC + vector area {:.4g} mm^2\n",
                             energy.total_pj * 1e-6 / double(batch), batch, energy.pj_per_mac, energy.tops_per_watt,
                             energy.total_area_mm2);
    if (!report.empty()) {
        nlohmann::ordered_json j = cycle_report_json(r.report);
        j["energy"] = {{"samples", batch},
                       {"total_pj", energy.total_pj},
                       {"multiply_pj", energy.multiply_pj},
                       {"accumulate_pj", energy.accumulate_pj},
                       {"requant_pj", energy.requant_pj},
                       {"vector_pj", energy.vector_pj},
                       {"lut_pj", energy.lut_pj},
                       {"sram_pj", energy.sram_pj},
                       {"dram_pj", energy.dram_pj},
                       {"pj_per_mac", energy.pj_per_mac},
                       {"tops_per_watt", energy.tops_per_watt},
                       {"mac_area_um2", energy.mac_area_um2},
                       {"vector_area_um2", energy.vector_area_um2},
                       {"total_area_mm2", energy.total_area_mm2}};
        write_file_atomically(report, j.dump(2) + "\n");
    }
    if (!opt.output_dir.empty()) write_quantized_outputs(opt, b.program.qgraph, r.raw_outputs, plan, files);
    files.commit();
    return 0;
}

// The command line. Every mode takes the model and its inputs (--input,
// --images, --preprocess); the flags below belong to some modes only.
struct ModeFlag {
    const char* flag;
    bool fp32, run, cycle;
};
constexpr ModeFlag kModeFlags[] = {
    {"--arch", false, true, true},  {"--ctable", false, true, true}, {"--raw", false, true, true},
    {"--threads", true, true, false}, {"--report", false, false, true}, {"--vcd", false, false, true},
};

const char* mode_name(Mode m) {
    switch (m) {
        case Mode::fp32: return "fp32";
        case Mode::run: return "run";
        case Mode::cycle: return "cycle";
    }
    return "?";
}

bool applies(const ModeFlag& f, Mode m) { return m == Mode::fp32 ? f.fp32 : m == Mode::run ? f.run : f.cycle; }

bool applies(const char* flag, Mode m) {
    for (const ModeFlag& f : kModeFlags)
        if (std::strcmp(f.flag, flag) == 0) return applies(f, m);
    return true;
}

// "--vcd applies only to the cycle mode (npusim cycle ...)"
std::string misplaced(const ModeFlag& f) {
    std::vector<std::string> modes;
    for (Mode m : {Mode::fp32, Mode::run, Mode::cycle})
        if (applies(f, m)) modes.push_back(mode_name(m));
    return fmt::format("{} applies only to the {} mode{} (npusim {} ...)", f.flag, fmt::join(modes, " and "),
                       modes.size() > 1 ? "s" : "", fmt::join(modes, "|"));
}

// Declares npusim's options on cmd (the top-level app: all of them, for the
// old spellings; a subcommand: those of `mode` in its help, the others
// hidden so that check_command_line can name the mode they belong to).
void add_options(CLI::App& cmd, Options& opt, const std::optional<Mode>& mode) {
    const std::string group = mode ? "Options" : "Options of the old spelling (npusim [--fp32 MODEL | --cycle] ...)";
    auto place = [&](CLI::Option* o, const char* flag) {
        o->group(mode && !applies(flag, *mode) ? "" : group);
    };
    cmd.add_option("model", opt.model, mode ? "ONNX model" : "ONNX model for the bit-accurate / cycle modes")
        ->check(CLI::ExistingFile)
        ->group(group);
    place(cmd.add_option("--arch", opt.arch, "Architecture YAML")->check(CLI::ExistingFile), "--arch");
    place(cmd.add_option("--ctable", opt.ctable, "CTable from calib")->check(CLI::ExistingFile), "--ctable");
    place(cmd.add_flag("--raw", opt.raw, "Also write the raw integer outputs (NAME.raw.npy)"), "--raw");
    place(cmd.add_option("--report", opt.report, "Write the cycle report as JSON"), "--report");
    place(cmd.add_option("--vcd", opt.vcd, "Write a VCD waveform (engine busy, DMA active, tile index)"), "--vcd");
    cmd.add_option("--input", opt.inputs, "Input tensor (.npy or .pb): PATH for the next model input, or NAME=PATH")
        ->group(group);
    cmd.add_option("--images", opt.images_dir, "Directory of images for the next model input (sorted by name)")
        ->group(group);
    cmd.add_option("--preprocess", opt.preprocess_spec, "YAML file with a preprocess: section for --images")
        ->check(CLI::ExistingFile)
        ->group(group);
    cmd.add_option("--output-dir", opt.output_dir,
                   mode == Mode::cycle ? "Directory for one .npy per graph output (optional)"
                                       : "Directory for one .npy per graph output")
        ->group(group);
    place(cmd.add_option("--threads", opt.threads, "Threads (0: all cores)")->check(bitnpu::cli::non_negative_int()),
          "--threads");
}

// The mode the command line selects, after rejecting every flag that does
// not apply to it and checking the mode has what it needs.
Mode check_command_line(const CLI::App& app, Options& opt) {
    const std::vector<CLI::App*> subs = app.get_subcommands();
    const CLI::App& cmd = subs.empty() ? app : *subs.front();
    Mode mode = Mode::run;
    if (!subs.empty()) {
        for (const CLI::Option* o : app.get_options())
            if (o->count() > 0 && o != app.get_help_ptr())
                throw CLI::ValidationError(fmt::format("{} goes after the subcommand (npusim {} {} ...)", o->get_name(),
                                                       cmd.get_name(), o->get_name()));
        mode = cmd.get_name() == "fp32" ? Mode::fp32 : cmd.get_name() == "cycle" ? Mode::cycle : Mode::run;
    } else if (app.count("--fp32") > 0) {
        if (opt.cycle) throw CLI::ValidationError("--fp32 and --cycle select different modes (npusim fp32|cycle ...)");
        if (!opt.model.empty())
            throw CLI::ValidationError("--fp32 MODEL names the model; '" + opt.model + "' would be a second one");
        mode = Mode::fp32;
        opt.model = opt.fp32_model;
    } else if (opt.cycle) {
        mode = Mode::cycle;
    } else if (app.count_all() == 0) {
        throw CLI::ValidationError("give a mode: npusim fp32|run|cycle ... (npusim --help)");
    }
    for (const ModeFlag& f : kModeFlags)
        if (cmd.count(f.flag) > 0 && !applies(f, mode)) throw CLI::ValidationError(misplaced(f));

    if (mode == Mode::fp32 && opt.model.empty())
        throw CLI::ValidationError("npusim fp32 needs the model (npusim fp32 MODEL ...)");
    if (mode != Mode::fp32 && (opt.model.empty() || opt.arch.empty()))
        throw CLI::ValidationError(fmt::format(
            "the {} mode needs the model, --arch and --ctable (npusim {} --arch A.yaml --ctable T.yaml MODEL ...; "
            "--ctable may be left out for a model npuexport wrote, which carries its CTable)",
            mode == Mode::run ? "bit-accurate" : "cycle", mode_name(mode)));
    if (opt.inputs.empty() && opt.images_dir.empty())
        throw CLI::ValidationError("give the model's inputs with --input or --images");
    if (!opt.preprocess_spec.empty() && opt.images_dir.empty())
        throw CLI::ValidationError("--preprocess applies only with --images");
    if (mode != Mode::cycle && opt.output_dir.empty())
        throw CLI::ValidationError(fmt::format("npusim {} needs --output-dir", mode_name(mode)));
    if (opt.raw && opt.output_dir.empty())
        throw CLI::ValidationError("--raw needs --output-dir (it adds NAME.raw.npy there)");
    return mode;
}

}  // namespace


int main(int argc, char** argv) {
    CLI::App app{"npusim: run an ONNX model on bitnpu's simulators"};
    Options opt;
    app.add_option("--fp32", opt.fp32_model, "Old spelling of: npusim fp32 MODEL")
        ->check(CLI::ExistingFile)
        ->group("Options of the old spelling (npusim [--fp32 MODEL | --cycle] ...)");
    app.add_flag("--cycle", opt.cycle, "Old spelling of: npusim cycle")
        ->group("Options of the old spelling (npusim [--fp32 MODEL | --cycle] ...)");
    add_options(app, opt, std::nullopt);
    app.require_subcommand(0, 1);
    add_options(*app.add_subcommand("fp32", "Run the model on the FP32 reference executor"), opt, Mode::fp32);
    add_options(*app.add_subcommand("run", "Run the calibrated model bit-accurately (sim/functional)"), opt, Mode::run);
    add_options(*app.add_subcommand("cycle", "Run the calibrated model on the SystemC cycle model: cycles per layer"),
                opt, Mode::cycle);
    // After the subcommands: they would inherit it.
    app.footer(
        "Modes: npusim fp32 | run | cycle ... (npusim MODE --help lists each one's options).\n"
        "Old spellings: npusim --fp32 MODEL ... (fp32), npusim --cycle ... (cycle),\n"
        "               npusim --arch ... MODEL ... (run).");
    return bitnpu::cli::run_cli(app, argc, argv, [&] {
        const Mode mode = check_command_line(app, opt);
        setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
        switch (mode) {
            case Mode::fp32: return run_fp32(opt);
            case Mode::cycle: return run_cycle(opt);
            case Mode::run: break;
        }
        return run_bit_accurate(opt);
    });
}
