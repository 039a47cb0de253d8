// cosim: co-simulates a verilated npu_tile variant against the golden model.
//   cosim --arch configs/int8_npu.yaml [--engine NAME] --vectors N --seed S [--trace out.fst]
// Exit status: 0 all outputs equal, 1 mismatches, 2 bad input.
#include <iostream>

#include <CLI/CLI.hpp>

#include "bench/cosim_run.hpp"
#include "bitnpu/errors.hpp"

int main(int argc, char** argv) {
    bitnpu::rtl::CosimOptions o;
    CLI::App app{"Co-simulate the verilated MAC array + requant tile against sim/datapath"};
    app.add_option("--arch", o.arch_path, "arch YAML (configs/*.yaml)")->required();
    app.add_option("--engine", o.engine, "mac_array engine name (default: the first one)");
    app.add_option("--vectors", o.vectors, "random tiles to check")->capture_default_str();
    app.add_option("--seed", o.seed, "random seed")->capture_default_str();
    app.add_option("--trace", o.trace_path, "write an FST waveform");
    app.add_option("--coverage", o.coverage_path, "write Verilator coverage data (cosim_cov only)");
    app.add_option("--max-reported", o.max_reported, "mismatches printed in full")->capture_default_str();
    bool no_directed = false;
    app.add_flag("--no-directed", no_directed, "skip the directed corner tiles");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }
    o.directed = !no_directed;
    try {
        const bitnpu::rtl::CosimReport r = bitnpu::rtl::run_cosim(o, std::cout);
        bitnpu::rtl::print_report(r, std::cout);
        return (r.mismatches == 0 && r.latency_errors == 0) ? 0 : 1;
    } catch (const bitnpu::UserError& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    }
}
