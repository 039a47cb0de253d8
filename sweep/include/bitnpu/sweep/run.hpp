// Running a sweep (docs/sweeps.md): every point x network calibrated for the
// point's arch, evaluated bit-accurately (top-1 with labels, else output
// SQNR against FP32), and timed by the SystemC cycle model; results written
// per point (resumable) and joined into results.csv / results.json /
// pareto.csv. Shards run a deterministic partition and merge into the same
// result.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bitnpu/sweep/spec.hpp"

namespace bitnpu::sweep {

// Overflow statistics of one MAC layer on the first evaluation sample
// (sim::reference::accumulator_stats).
struct LayerOverflow {
    std::string node;
    std::int64_t outputs = 0, overflowed_outputs = 0, overflowed_steps = 0;
    std::int64_t max_abs_partial = 0, accumulator_max = 0;
};

struct PointResult {
    std::string point, network;
    std::vector<std::string> axis_values;    // value_text per axis, in spec order
    std::string status;                      // "ok", "invalid_arch" (the arch validator said no), "failed"
    std::string error;                       // why, when not ok
    std::string arch_hash;
    std::optional<double> fp32_top1, top1, drop_pp;   // networks with labels (percent, points)
    std::optional<double> sqnr_db;           // networks without labels: the lowest output SQNR vs FP32
    std::int64_t cycles = 0, macs = 0, dram_bytes = 0;
    double latency_us = 0.0, mac_utilization = 0.0;
    // The cost model (docs/energy.md), per inference.
    double energy_pj = 0.0, pj_per_mac = 0.0, tops_per_watt = 0.0, area_mm2 = 0.0;
    // Accumulator overflows on the first evaluation sample: steps that
    // wrapped or saturated, outputs they touched, layers with any, and the
    // largest exact partial sum over the accumulator's maximum (> 1: overflow).
    std::int64_t overflow_steps = 0, overflow_outputs = 0, overflow_layers = 0;
    double max_partial_ratio = 0.0;
    std::vector<LayerOverflow> layers;
    double seconds_calibrate = 0.0, seconds_evaluate = 0.0, seconds_cycle = 0.0;   // timing columns
};

struct RunOptions {
    int threads = 0;        // 0: all cores
    bool progress = true;   // points done / total and ETA on stderr
    // A folder shared by the shards of a sweep (and later runs): each
    // network's FP32 statistics and reference outputs, keyed by the model's
    // and data's bytes and the settings, are read from it instead of
    // recomputed (docs/sweeps.md "Shared work"). "": none.
    std::string cache_dir;
};

// Runs the points (skipping those whose result files exist in out_dir)
// and returns every point x network result, in plan order. out_dir gets
// sweep.json (spec name, hash, shard), points/<id>/arch.yaml and
// points/<id>/<network>.json.
std::vector<PointResult> run_points(const SweepSpec& spec, const std::vector<Point>& points, const std::string& out_dir,
                                    const std::string& shard, const RunOptions& options);

// results.csv, results.json (one row per point x network: every axis value
// and every figure), pareto.csv (per network, the points no other point beats
// on accuracy, energy, cycles and area at once).
void write_results(const SweepSpec& spec, const std::vector<PointResult>& results, const std::string& out_dir);

// The shard folders' results joined (UserError when they come from
// different specs, or a point appears twice or is missing).
std::vector<PointResult> merge_results(const SweepSpec& spec, const std::vector<std::string>& shard_dirs);

// The non-dominated results of one network (accuracy higher is better;
// energy, cycles and area lower): what pareto.csv lists.
std::vector<PointResult> pareto_front(const std::vector<PointResult>& results, const std::string& network);

}  // namespace bitnpu::sweep
