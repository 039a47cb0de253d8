// archsweep: compares datapath variants of an accelerator on real networks
// (docs/sweeps.md): every point of a sweep spec calibrated, evaluated bit-
// accurately and timed by the cycle model.
//   archsweep plan SPEC                                   list the points
//   archsweep run SPEC -o DIR [--shard K/N] [--threads N] run (resumable)
//   archsweep merge SPEC -o DIR SHARD_DIR...              join shard folders
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <sys/wait.h>

#include "bitnpu/errors.hpp"
#include "bitnpu/sweep/run.hpp"
#include "bitnpu/sweep/spec.hpp"
#include "cli_main.hpp"

namespace {

using namespace bitnpu;
using namespace bitnpu::sweep;

struct Options {
    std::string spec, out, shard, cache;
    bool no_report = false;   // --no-report: results only, no plots / report.html
    std::vector<std::string> shards;
    int threads = 0;
    bool quiet = false;
};

int plan(const Options& opt) {
    const SweepSpec spec = load_sweep_spec(opt.spec);
    const std::vector<Point> points = plan_points(spec);
    std::cout << fmt::format("{}: {} points x {} networks on {} (spec hash {})\n", spec.name, points.size(),
                             spec.networks.size(), spec.arch_path, spec.hash.substr(0, 12));
    std::cout << "point";
    for (const Axis& a : spec.axes) std::cout << "\t" << a.path;
    std::cout << "\n";
    for (const Point& p : points) {
        std::cout << p.id;
        for (const YAML::Node& v : p.values) std::cout << "\t" << value_text(v);
        std::cout << "\n";
    }
    return 0;
}

// A path as one single-quoted shell word.
std::string shell_quoted(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// The plots and report.html of a result folder: scripts/sweep/report.js
// (Vega-Lite, docs/sweeps.md "Plots and the HTML page"), found at
// $BITNPU_SWEEP_REPORT or in the source tree archsweep was built from. The
// results are written before this runs; a missing node or missing packages
// only print how to get the page.
void make_report(const Options& opt) {
    if (opt.no_report) return;
    const char* env = std::getenv("BITNPU_SWEEP_REPORT");
    const std::string script = env && *env ? env : BITNPU_SWEEP_REPORT_JS;
    const std::string how = fmt::format("bash {}/setup.sh && node {} {}",
                                        std::filesystem::path(script).parent_path().string(), script, opt.out);
    if (!std::filesystem::exists(script) || std::system("node --version >/dev/null 2>&1") != 0) {
        std::cerr << "archsweep: no plots or report.html (node or scripts/sweep/report.js not found); for them: " << how
                  << "\n";
        return;
    }
    const int status = std::system(("node " + shell_quoted(script) + " " + shell_quoted(opt.out) + " -q").c_str());
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 0) {
        if (!opt.quiet) std::cout << fmt::format("archsweep: plots and report.html in {}\n", opt.out);
    } else if (code == 3) {
        std::cerr << "archsweep: no plots or report.html: the plotting packages are not installed; for them: " << how
                  << "\n";
    } else {
        std::cerr << fmt::format("archsweep: warning: the report script failed (exit {}); the results are written; "
                                 "retry with: {}\n",
                                 code, how);
    }
}

int run(const Options& opt) {
    if (opt.out.empty()) throw UserError("archsweep run needs -o DIR");
    const SweepSpec spec = load_sweep_spec(opt.spec);
    std::vector<Point> points = plan_points(spec);
    if (!opt.shard.empty()) {
        const auto [k, n] = parse_shard(opt.shard);
        points = shard_points(points, k, n);
    }
    RunOptions ro;
    ro.threads = opt.threads;
    ro.progress = !opt.quiet;
    ro.cache_dir = opt.cache;
    const std::vector<PointResult> results = run_points(spec, points, opt.out, opt.shard, ro);
    write_results(spec, results, opt.out);
    std::size_t ok = 0, invalid = 0, failed = 0;
    for (const PointResult& r : results) (r.status == "ok" ? ok : r.status == "invalid_arch" ? invalid : failed) += 1;
    std::cout << fmt::format("archsweep: {} point x network results in {} ({} ok, {} invalid arch, {} failed)\n",
                             results.size(), opt.out, ok, invalid, failed);
    for (const PointResult& r : results)
        if (r.status != "ok") std::cout << fmt::format("  {} {}: {}: {}\n", r.point, r.network, r.status, r.error);
    if (opt.shard.empty()) make_report(opt);   // a shard's folder is merged first
    return 0;
}

int merge(const Options& opt) {
    if (opt.out.empty()) throw UserError("archsweep merge needs -o DIR");
    if (opt.shards.empty()) throw UserError("archsweep merge needs the shard folders");
    const SweepSpec spec = load_sweep_spec(opt.spec);
    const std::vector<PointResult> results = merge_results(spec, opt.shards);
    std::filesystem::create_directories(opt.out);
    write_results(spec, results, opt.out);
    std::cout << fmt::format("archsweep: merged {} shard folders, {} results, into {}\n", opt.shards.size(),
                             results.size(), opt.out);
    make_report(opt);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"archsweep: accelerator datapath sweeps (accuracy, cycles) on real networks (docs/sweeps.md)"};
    app.require_subcommand(1);
    Options opt;
    CLI::App* p = app.add_subcommand("plan", "List the points of a sweep spec");
    p->add_option("spec", opt.spec, "sweep spec YAML")->required()->check(CLI::ExistingFile);
    CLI::App* r = app.add_subcommand("run", "Run the points (all, or one shard); resumes from -o");
    r->add_option("spec", opt.spec, "sweep spec YAML")->required()->check(CLI::ExistingFile);
    r->add_option("-o,--output", opt.out, "result folder")->required();
    r->add_option("--shard", opt.shard, "K/N: run every N-th point from the K-th");
    r->add_option("--threads", opt.threads, "threads (0: all cores)")->check(CLI::NonNegativeNumber);
    r->add_option("--cache", opt.cache,
                  "folder for FP32 statistics and reference outputs shared by shards and runs (keyed by model and "
                  "data bytes; default: none)");
    r->add_flag("-q,--quiet", opt.quiet, "no progress on stderr");
    r->add_flag("--no-report", opt.no_report, "skip the plots and report.html (scripts/sweep/report.js)");
    CLI::App* m = app.add_subcommand("merge", "Join shard folders into one result");
    m->add_option("spec", opt.spec, "sweep spec YAML")->required()->check(CLI::ExistingFile);
    m->add_option("-o,--output", opt.out, "result folder")->required();
    m->add_option("shards", opt.shards, "shard folders")->required();
    m->add_flag("--no-report", opt.no_report, "skip the plots and report.html (scripts/sweep/report.js)");
    return bitnpu::cli::run_cli(app, argc, argv, [&] {
        if (*p) return plan(opt);
        if (*r) return run(opt);
        return merge(opt);
    });
}

