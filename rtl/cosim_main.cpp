// cosim: co-simulates a verilated npu_tile variant against the golden model.
//   cosim --arch configs/int8_npu.yaml [--engine NAME[,activation=T][,array=RxC]] --vectors N --seed S
//         [--trace out.fst]
//   cosim --arch A.yaml --zoo MODEL.onnx --ctable T.yaml [--images data/test_100_x.npy] [--image-count N]
//         [--tiles-per-layer N]
// The second form cuts every MAC layer of a calibrated zoo model into tiles
// and compares the RTL with the functional model's output tensors.
// Exit status (tools/support/cli_main.hpp): 0 all outputs equal, 1 mismatches
// (or an internal error), 2 bad input ("error: ...").
#include <iostream>

#include <CLI/CLI.hpp>

#include "bench/cosim_run.hpp"
#include "bench/zoo_tiles.hpp"
#include "bitnpu/errors.hpp"
#include "cli_checks.hpp"
#include "cli_main.hpp"
#include "output_files.hpp"

namespace {

// --trace and --coverage are checked before the run (the FST writer gave
// no error for a directory it cannot write) and published at its end.
int run_random(bitnpu::rtl::CosimOptions o) {
    bitnpu::cli::OutputFiles files;
    files.input(o.arch_path, "--arch");
    const std::string trace = o.trace_path, coverage = o.coverage_path;
    if (!trace.empty()) o.trace_path = files.output(trace, "--trace");
    if (!coverage.empty()) o.coverage_path = files.output(coverage, "--coverage");
    const bitnpu::rtl::CosimReport r = bitnpu::rtl::run_cosim(o, std::cout);
    files.commit();
    bitnpu::rtl::print_report(r, std::cout);
    return (r.mismatches == 0 && r.latency_errors == 0) ? 0 : 1;
}

int run_zoo(const bitnpu::rtl::ZooOptions& z) {
    if (z.ctable_path.empty()) throw bitnpu::UserError("--zoo needs --ctable (the model calibrated for --arch)");
    const bitnpu::rtl::ZooReport r = bitnpu::rtl::run_zoo(z, std::cout);
    bitnpu::rtl::print_zoo_report(r, std::cout);
    return (r.mismatches == 0 && r.latency_errors == 0) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    bitnpu::rtl::CosimOptions o;
    bitnpu::rtl::ZooOptions z;
    z.images_path = "data/test_100_x.npy";
    CLI::App app{"Co-simulate the verilated MAC array + requant tile against sim/datapath"};
    app.add_option("--arch", o.arch_path, "arch YAML (configs/*.yaml)")->required();
    app.add_option("--engine", o.engine,
                   "mac_array engine name (default: the first one), optionally with variant options: "
                   "mac,activation=uint8,array=4x4");
    app.add_option("--vectors", o.vectors, "random tiles to check")
        ->check(bitnpu::cli::whole_number(0))->capture_default_str();
    app.add_option("--seed", o.seed, "random seed")->capture_default_str();
    app.add_option("--trace", o.trace_path, "write an FST waveform");
    app.add_option("--coverage", o.coverage_path, "write Verilator coverage data (cosim_cov only)");
    app.add_option("--max-reported", o.max_reported, "mismatches printed in full")
        ->check(bitnpu::cli::non_negative_int())->capture_default_str();
    bool no_directed = false;
    app.add_flag("--no-directed", no_directed, "skip the directed corner tiles");
    app.add_option("--zoo", z.model_path, "ONNX model: check the tiles of its MAC layers instead of random tiles")
        ->check(CLI::ExistingFile);
    app.add_option("--ctable", z.ctable_path, "--zoo: the model's CTable for --arch")->check(CLI::ExistingFile);
    app.add_option("--images", z.images_path, "--zoo: .npy of input images")->capture_default_str();
    app.add_option("--image-count", z.images, "--zoo: how many of the images")
        ->check(bitnpu::cli::positive_int())->capture_default_str();
    app.add_option("--tiles-per-layer", z.tiles_per_layer, "--zoo: at most this many tiles per layer (0: all)")
        ->check(bitnpu::cli::whole_number(0))
        ->capture_default_str();
    return bitnpu::cli::run_cli(app, argc, argv, [&] {
        o.directed = !no_directed;
        z.arch_path = o.arch_path;
        z.max_reported = o.max_reported;
        return z.model_path.empty() ? run_random(o) : run_zoo(z);
    });
}
