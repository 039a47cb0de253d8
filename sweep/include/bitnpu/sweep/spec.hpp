// A sweep spec (docs/sweeps.md): a base arch YAML, the networks to judge it
// on, and the axes to vary, each an arch field by its path
// (engines.mac.accumulator.bits: [12, 16, 24]). Loading validates the spec
// with located errors ("spec.yaml:7:3: axes: ..."), including each axis path
// against the base arch (did-you-mean for unknown fields).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <vector>

namespace bitnpu::sweep {

inline constexpr int kSweepVersion = 1;

struct Network {
    std::string name;
    std::string model;       // paths resolved against the spec's folder
    std::string calib;       // calibration samples (.npy / .npz)
    std::string eval;        // evaluation samples
    std::string labels;      // optional: with labels -> top-1, without -> output SQNR against FP32
    std::int64_t samples = 100;   // calibration samples used
    std::int64_t eval_samples = 0;   // evaluation samples used (0: all)
};

struct Axis {
    std::string path;                 // e.g. "engines.mac.accumulator.bits"
    std::vector<YAML::Node> values;   // each a scalar or a YAML list/map (an engine's precisions)
    int line = 0;                     // in the spec, for messages
};

enum class Combine : std::uint8_t { grid, zip, random };

struct SweepSpec {
    std::string name;
    std::string path;                 // the spec file
    std::string hash;                 // content hash of the spec file (shards carry it)
    std::string arch_path;            // the base arch
    std::string arch_text;            // its YAML
    std::vector<Network> networks;
    std::vector<Axis> axes;
    Combine combine = Combine::grid;
    std::int64_t random_points = 0;   // random: how many points
    std::uint64_t seed = 1;
    std::string policy = "auto";      // calibration policy
    std::int64_t search_samples = 8;
};

// The most points a spec may have (grid product, zip length or random
// points); more is a UserError at load.
inline constexpr std::uint64_t kMaxPoints = 100000;

// Throws bitnpu::UserError "FILE:LINE:COL: field: problem" for a malformed spec.
SweepSpec load_sweep_spec(const std::string& path);

// One point of the sweep: the value of every axis (in spec order).
struct Point {
    std::string id;                   // "p0007": stable for a spec (plan order)
    std::vector<YAML::Node> values;   // one per axis
};

// Every point in plan order: the grid's row-major product (last axis
// fastest), the zipped lists (all of one length), or `random_points` draws
// (each axis value uniformly, from `seed`).
std::vector<Point> plan_points(const SweepSpec& spec);

// A value as text for tables and CSV ("16", "wrap", "[{weight: int8, activation: int8}]").
std::string value_text(const YAML::Node& value);

// The base arch with the point's values set at their paths, as YAML text.
// A path segment selects a map key, or in a list the element whose `name`
// is the segment (or whose index it is). UserError naming the path when a
// segment names no list element.
std::string arch_for_point(const SweepSpec& spec, const Point& point);

// The points a shard K of N runs (K in 1..N): every N-th point from the
// K-th, so the partition is deterministic and covers each point once.
// UserError for K outside 1..N.
std::vector<Point> shard_points(const std::vector<Point>& points, std::int64_t k, std::int64_t n);
// "K/N" -> {K, N}; UserError for anything else (0/4, 5/4, x).
std::pair<std::int64_t, std::int64_t> parse_shard(const std::string& text);

}  // namespace bitnpu::sweep
