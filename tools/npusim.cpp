// npusim: runs an ONNX model on bitnpu's simulators.
//   npusim --fp32 model.onnx --input x.npy [--input name=y.npy]
//          [--images DIR [--preprocess spec.yaml]] --output-dir out/ [--threads N]
//   npusim --arch A.yaml --ctable T.yaml model.onnx --input x.npy --output-dir out/ [--raw]
//   npusim --cycle --arch A.yaml --ctable T.yaml model.onnx --input x.npy [--report r.json] [--vcd w.vcd]
// Writes one .npy per graph output (bit-accurate: the dequantized values;
// --raw adds the integers as NAME.raw.npy). Each mode is its own function.
#include <CLI/CLI.hpp>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include <systemc>
#include <nlohmann/json.hpp>

#include "bitnpu/arch/load.hpp"
#include "bitnpu/calib/batching.hpp"
#include "bitnpu/calib/calibrator.hpp"
#include "bitnpu/calib/ctable.hpp"
#include "bitnpu/calib/executor.hpp"
#include "bitnpu/sim/systemc/cycle_model.hpp"
#include "bitnpu/calib/onnx_import.hpp"
#include "bitnpu/calib/passes.hpp"
#include "bitnpu/calib/tensor_io.hpp"
#include "bitnpu/errors.hpp"
#include "bitnpu/sim/parallel.hpp"

namespace {

using namespace bitnpu::calib;
using bitnpu::UserError;

struct Options {
    std::string fp32_model;
    std::string model;            // bit-accurate and cycle modes
    std::string arch, ctable, report, vcd;
    bool cycle = false;
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

std::map<std::string, Tensor> gather_inputs(const Options& opt, const Graph& graph) {
    std::map<std::string, Tensor> given;
    for (const std::string& arg : opt.inputs) {
        const auto eq = arg.find('=');
        if (eq != std::string::npos && find_input(graph, arg.substr(0, eq))) {
            given[arg.substr(0, eq)] = load_tensor_file(arg.substr(eq + 1));
            continue;
        }
        if (eq != std::string::npos && !std::filesystem::exists(arg)) {
            std::string names;
            for (const ValueInfo& in : graph.inputs) names += (names.empty() ? "" : ", ") + in.name;
            throw UserError("--input " + arg + ": '" + arg.substr(0, eq) + "' is not a model input (inputs: " + names + ")");
        }
        const ValueInfo& in = next_free_input(graph, given, "--input " + arg);
        given[in.name] = load_tensor_file(arg);
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

void write_outputs(const Options& opt, const Graph& graph, const std::map<std::string, Tensor>& outputs) {
    std::error_code ec;
    std::filesystem::create_directories(opt.output_dir, ec);
    if (ec) throw UserError("cannot create output directory '" + opt.output_dir + "': " + ec.message());
    for (const ValueInfo& out : graph.outputs) {
        const Tensor& t = outputs.at(out.name);
        const std::string path = (std::filesystem::path(opt.output_dir) / file_name_for(out.name)).string();
        save_npy(path, t);
        std::cout << "  " << out.name << ": " << shape_to_string(t.shape()) << " " << to_string(t.dtype()) << " -> "
                  << path << "\n";
    }
}

int run_fp32(const Options& opt) {
    Graph graph = load_onnx(opt.fp32_model);
    run_standard_passes(graph);
    const auto inputs = gather_inputs(opt, graph);
    ExecutorOptions exec_options;
    exec_options.threads = opt.threads;
    const Executor exec(graph, exec_options);
    const auto outputs = run_batched(exec, inputs, fixed_batch(graph));
    std::cout << "npusim fp32: " << opt.fp32_model << " (" << graph.nodes.size() << " nodes after passes, opset "
              << graph.opset << ")\n";
    for (const auto& [name, t] : inputs) std::cout << "  input " << name << ": " << shape_to_string(t.shape()) << "\n";
    write_outputs(opt, graph, outputs);
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
    if (opt.model.empty() || opt.arch.empty() || opt.ctable.empty())
        throw UserError("bit-accurate mode needs the model, --arch and --ctable (or use --fp32 MODEL)");
    BitAccurate b;
    b.arch = bitnpu::arch::load_arch(opt.arch);
    b.graph = load_onnx(opt.model);
    run_standard_passes(b.graph);
    const CTable table = read_ctable(opt.ctable);
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

void write_quantized_outputs(const Options& opt, const bitnpu::sim::QuantGraph& qgraph,
                             const std::vector<bitnpu::sim::QTensor>& raw) {
    std::map<std::string, Tensor> outputs;
    std::vector<ValueInfo> infos;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const std::string& name = qgraph.tensors.at(static_cast<std::size_t>(qgraph.outputs[i])).name;
        const bitnpu::sim::FloatTensor f = bitnpu::sim::dequantize_tensor(raw[i]);
        outputs[name] = Tensor::from_vector<float>(f.shape, f.data);
        infos.push_back({name, DType::f32, {}, false});
        if (opt.raw) {
            outputs[name + ".raw"] = Tensor::from_vector<std::int32_t>(raw[i].shape, raw[i].values);
            infos.push_back({name + ".raw", DType::i32, {}, false});
        }
    }
    Graph names;
    names.outputs = infos;
    write_outputs(opt, names, outputs);
}

int run_bit_accurate(const Options& opt) {
    const BitAccurate b = load_bit_accurate(opt);
    bitnpu::sim::RunOptions run_options;
    run_options.threads = bitnpu::sim::resolve_threads(opt.threads);
    const std::vector<bitnpu::sim::QTensor> qinputs = quantized_inputs(b);
    const bitnpu::sim::GraphResult r =
        run_quantized_batched(b.program.qgraph, qinputs, fixed_batch(b.graph), run_options);
    std::cout << "npusim bit-accurate: " << opt.model << " on " << b.arch.name << " (" << b.program.qgraph.nodes.size()
              << " layers)\n";
    write_quantized_outputs(opt, b.program.qgraph, r.raw_outputs);
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
    const std::vector<bitnpu::sim::QTensor> qinputs = quantized_inputs(b);
    bitnpu::sim::systemc::CycleOptions options;
    options.vcd_path = opt.vcd;
    const auto r = bitnpu::sim::systemc::run_cycle_model(b.program.qgraph, b.arch, qinputs, options);
    std::cout << "npusim cycle model: " << opt.model << " on " << b.arch.name << "\n"
              << bitnpu::sim::systemc::format_report(r.report);
    if (!opt.report.empty()) write_file_atomically(opt.report, cycle_report_json(r.report).dump(2) + "\n");
    if (!opt.output_dir.empty()) write_quantized_outputs(opt, b.program.qgraph, r.raw_outputs);
    return 0;
}

}  // namespace

// libsystemc owns main() and calls sc_main; npusim has its own main, so this
// is never called, but the link needs it.
int sc_main(int, char**) { return 0; }

int main(int argc, char** argv) {
    CLI::App app{"npusim: run an ONNX model on bitnpu's simulators"};
    Options opt;
    app.add_option("--fp32", opt.fp32_model, "Run this ONNX model on the FP32 reference executor")
        ->check(CLI::ExistingFile);
    app.add_option("model", opt.model, "ONNX model for the bit-accurate / cycle modes")->check(CLI::ExistingFile);
    app.add_option("--arch", opt.arch, "Architecture YAML (bit-accurate and cycle modes)")->check(CLI::ExistingFile);
    app.add_option("--ctable", opt.ctable, "CTable from calib (bit-accurate and cycle modes)")->check(CLI::ExistingFile);
    app.add_flag("--cycle", opt.cycle, "Run the SystemC cycle model and print cycles per layer");
    app.add_flag("--raw", opt.raw, "Also write the raw integer outputs (NAME.raw.npy)");
    app.add_option("--report", opt.report, "Cycle mode: write the cycle report as JSON");
    app.add_option("--vcd", opt.vcd, "Cycle mode: write a VCD waveform (engine busy, DMA active, tile index)");
    app.add_option("--input", opt.inputs, "Input tensor (.npy or .pb): PATH for the next model input, or NAME=PATH");
    app.add_option("--images", opt.images_dir, "Directory of images for the next model input (sorted by name)");
    app.add_option("--preprocess", opt.preprocess_spec, "YAML file with a preprocess: section for --images")
        ->check(CLI::ExistingFile);
    app.add_option("--output-dir", opt.output_dir, "Directory for one .npy per graph output");
    app.add_option("--threads", opt.threads, "Executor threads (0: all cores)")->check(CLI::NonNegativeNumber);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }
    try {
        if (opt.inputs.empty() && opt.images_dir.empty()) throw UserError("give the model's inputs with --input or --images");
        setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
        if (!opt.fp32_model.empty()) {
            if (opt.output_dir.empty()) throw UserError("--fp32 needs --output-dir");
            return run_fp32(opt);
        }
        if (opt.cycle) return run_cycle(opt);
        if (opt.output_dir.empty()) throw UserError("bit-accurate mode needs --output-dir");
        return run_bit_accurate(opt);
    } catch (const UserError& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "internal error (please report): " << e.what() << "\n";
        return 1;
    }
}
