#include "cosim_run.hpp"

#include <chrono>
#include <ostream>

#include "bitnpu/arch/load.hpp"
#include "bitnpu/errors.hpp"
#include "vector_gen.hpp"

namespace bitnpu::rtl {

std::uint64_t tile_latency(const TileParams& p, int k) {
    return std::uint64_t(std::max(k, 1)) + p.rows + p.cols + 1;
}

Cosim::Cosim(const TileConfig& config, TileSim& sim, std::ostream& out, int max_reported)
    : c_(config), sim_(sim), out_(out), max_reported_(max_reported) {}

void Cosim::check(const TileVector& v) {
    const std::vector<std::int64_t> expected = golden_outputs(c_, v);
    const auto t0 = std::chrono::steady_clock::now();
    const TileResult got = sim_.run(v);
    report_.rtl_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    report_.rtl_cycles += got.cycles;
    ++report_.vectors;
    const int beats = c_.params.bnn ? (v.k + c_.params.chunk - 1) / c_.params.chunk : v.k;
    if (got.cycles != tile_latency(c_.params, beats)) ++report_.latency_errors;
    const int cols = c_.params.cols;
    for (std::size_t e = 0; e < expected.size(); ++e) {
        ++report_.outputs;
        if (got.complete && got.y[e] == expected[e]) continue;
        if (report_.mismatches++ < std::uint64_t(max_reported_)) {
            const int i = int(e) / cols, j = int(e) % cols;
            out_ << "mismatch in vector " << report_.vectors - 1 << " at output (" << i << ", " << j
                 << "): expected " << expected[e] << ", got "
                 << (got.complete ? std::to_string(got.y[e]) : std::string("no output")) << "\n"
                 << describe_output(c_, v, i, j);
        }
    }
}

CosimReport run_cosim(const CosimOptions& o, std::ostream& out) {
    const arch::ArchSpec arch = arch::load_arch(o.arch_path);
    const EngineSelector selector = parse_engine_selector(o.engine);
    const TileConfig config = tile_config_for(select_engine(arch, selector.engine), selector.options);
    const TileVariant& variant = find_variant(config);
    std::unique_ptr<TileSim> sim = variant.make(config);
    if (!o.trace_path.empty()) sim->open_trace(o.trace_path);
    out << "arch " << arch.name << ", engine " << config.engine << " -> variant " << variant.name << " ("
        << describe(config.params) << ")\n";

    Cosim cosim(config, *sim, out, o.max_reported);
    if (o.directed)
        for (const TileVector& v : directed_vectors(config)) cosim.check(v);
    VectorGenerator gen(config, o.seed);
    for (std::uint64_t n = 0; n < o.vectors; ++n) cosim.check(gen.next());

    if (!o.coverage_path.empty() && !sim->write_coverage(o.coverage_path))
        throw UserError("--coverage needs a variant built with Verilator coverage (run cosim_cov)");
    CosimReport r = cosim.report();
    r.variant = variant.name;
    return r;
}

void print_report(const CosimReport& r, std::ostream& out) {
    out << "vectors checked: " << r.vectors << " tiles, " << r.outputs << " outputs compared\n"
        << "mismatches: " << r.mismatches << "\n"
        << "latency errors: " << r.latency_errors << "\n"
        << "RTL cycles: " << r.rtl_cycles << "\n"
        << "simulated cycles/s: " << (r.rtl_seconds > 0 ? std::uint64_t(double(r.rtl_cycles) / r.rtl_seconds) : 0)
        << "\n";
}

}  // namespace bitnpu::rtl
