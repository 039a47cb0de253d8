// npuexport: a calibrated model (ONNX + CTable) as an ONNX model other
// runtimes run, in QOperator or QDQ form (docs/export.md). The model and the
// CTable are never changed.
//   npuexport --arch A.yaml --ctable T.yaml model.onnx -o out.onnx --format qdq|qoperator
//             [--input-shape 1,3,224,224] [--report layers.json]
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <sstream>

#include "bitnpu/arch/load.hpp"
#include "bitnpu/errors.hpp"
#include "bitnpu/export/export.hpp"
#include "bitnpu/frontend/passes.hpp"
#include "bitnpu/graph/onnx_import.hpp"
#include "cli_main.hpp"
#include "output_files.hpp"

namespace {

using namespace bitnpu;
using namespace bitnpu::calib;

struct Options {
    std::string arch, ctable, model, output, format = "qdq", input_shape, report;
};

// The first graph input's shape: --input-shape, else its declared shape with
// symbolic dimensions as 1.
Shape input_shape(const Options& opt, const Graph& graph) {
    if (graph.inputs.empty()) throw UserError("the model has no inputs");
    Shape shape;
    if (!opt.input_shape.empty()) {
        std::stringstream ss(opt.input_shape);
        std::string item;
        while (std::getline(ss, item, ',')) {
            try {
                std::size_t used = 0;
                const long long v = std::stoll(item, &used);
                if (used != item.size() || v <= 0) throw std::invalid_argument(item);
                shape.push_back(v);
            } catch (const std::exception&) {
                throw UserError(fmt::format("--input-shape '{}': '{}' is not a positive integer", opt.input_shape, item));
            }
        }
        return shape;
    }
    const ValueInfo& in = graph.inputs.front();
    if (!in.has_shape)
        throw UserError(fmt::format("input '{}' has no declared shape: give --input-shape", in.name));
    for (const Dim& d : in.shape) shape.push_back(d.known() ? d.value : 1);
    return shape;
}

nlohmann::ordered_json report_json(const Options& opt, const ExportResult& r) {
    nlohmann::ordered_json layers = nlohmann::ordered_json::array();
    std::size_t exact = 0;
    for (const ExportedLayer& l : r.layers) {
        layers.push_back({{"node", l.node}, {"op", l.op}, {"form", l.form}, {"exact", l.exact}, {"why", l.why}});
        exact += l.exact ? 1 : 0;
    }
    return {{"format", opt.format}, {"model", opt.model}, {"ctable", opt.ctable}, {"arch", opt.arch},
            {"layers_total", r.layers.size()}, {"layers_exact", exact}, {"layers", layers}};
}

int run(const Options& opt) {
    const ExportFormat format = parse_export_format(opt.format);
    cli::OutputFiles files;
    files.input(opt.model, "MODEL");
    files.input(opt.arch, "--arch");
    files.input(opt.ctable, "--ctable");
    const std::string model_tmp = files.output(opt.output, "-o");
    const std::string report_tmp = opt.report.empty() ? "" : files.output(opt.report, "--report");

    const arch::ArchSpec arch = arch::load_arch(opt.arch);
    Graph graph = load_onnx(opt.model);
    for (const std::string& w : graph.import_warnings) std::cerr << "warning: " << w << "\n";
    run_standard_passes(graph);
    const CTable table = read_ctable(opt.ctable);
    const Program program = build_program(graph, arch, table, input_shape(opt, graph));
    const ExportResult result = export_model(graph, arch, table, program, format);
    check_exported_model(result.model);

    {
        std::ofstream out(model_tmp, std::ios::binary);
        if (!result.model.SerializeToOstream(&out) || !out.flush())
            throw UserError(fmt::format("-o {}: cannot write the model", opt.output));
    }
    if (!report_tmp.empty()) {
        std::ofstream out(report_tmp);
        out << report_json(opt, result).dump(2) << "\n";
        if (!out.flush()) throw UserError(fmt::format("--report {}: cannot write", opt.report));
    }
    files.commit();
    std::size_t exact = 0;
    for (const ExportedLayer& l : result.layers) exact += l.exact ? 1 : 0;
    std::cout << fmt::format("npuexport: {} -> {} ({}, {} layers, {} exact by construction)\n", opt.model, opt.output,
                             opt.format, result.layers.size(), exact);
    for (const ExportedLayer& l : result.layers)
        if (!l.exact) std::cout << fmt::format("  not exact: {} ({}): {}: {}\n", l.node, l.op, l.form, l.why);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"npuexport: a calibrated model (ONNX + CTable) as QOperator or QDQ ONNX (docs/export.md)"};
    Options opt;
    app.add_option("model", opt.model, "the ONNX model the CTable was calibrated for")->required()->check(CLI::ExistingFile);
    app.add_option("--arch", opt.arch, "architecture YAML")->required()->check(CLI::ExistingFile);
    app.add_option("--ctable", opt.ctable, "CTable from calib")->required()->check(CLI::ExistingFile);
    app.add_option("-o,--output", opt.output, "exported ONNX model")->required();
    app.add_option("--format", opt.format, "qdq (default) or qoperator")->check(CLI::IsMember({"qdq", "qoperator"}));
    app.add_option("--input-shape", opt.input_shape, "shape of the first input, e.g. 1,3,224,224 (default: declared, symbolic dims 1)");
    app.add_option("--report", opt.report, "JSON: how each layer was exported and whether it is exact");
    return bitnpu::cli::run_cli(app, argc, argv, [&] { return run(opt); });
}
