// Running, resuming, merging and summarizing sweeps (run.hpp).
#include "bitnpu/sweep/run.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bitnpu/arch/hash.hpp"
#include "bitnpu/arch/load.hpp"
#include "bitnpu/calibrator/calibrator.hpp"
#include "bitnpu/calibrator/evaluate.hpp"
#include "bitnpu/compile/program.hpp"
#include "bitnpu/errors.hpp"
#include "bitnpu/fp32/batching.hpp"
#include "bitnpu/fp32/executor.hpp"
#include "bitnpu/frontend/passes.hpp"
#include "bitnpu/frontend/tensor_io.hpp"
#include "bitnpu/graph/onnx_import.hpp"
#include "bitnpu/sim/systemc/cycle_model.hpp"
#include "bitnpu/sim/reference/mac.hpp"
#include "bitnpu/sim/systemc/energy.hpp"
#include "fp32_cache.hpp"

namespace bitnpu::sweep {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void write_atomically(const fs::path& path, const std::string& text) {
    const fs::path tmp = path.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary);
        out << text;
        if (!out.flush()) throw UserError(fmt::format("cannot write '{}'", path.string()));
    }
    fs::rename(tmp, path);
}

Json to_json(const PointResult& r) {
    Json j = {{"point", r.point}, {"network", r.network}, {"axis_values", r.axis_values}, {"status", r.status},
              {"error", r.error}, {"arch_hash", r.arch_hash}};
    auto opt = [&](const char* key, const std::optional<double>& v) { j[key] = v ? Json(*v) : Json(nullptr); };
    opt("fp32_top1", r.fp32_top1);
    opt("top1", r.top1);
    opt("drop_pp", r.drop_pp);
    opt("sqnr_db", r.sqnr_db);
    j["cycles"] = r.cycles;
    j["latency_us"] = r.latency_us;
    j["macs"] = r.macs;
    j["mac_utilization"] = r.mac_utilization;
    j["dram_bytes"] = r.dram_bytes;
    j["energy_pj"] = r.energy_pj;
    j["pj_per_mac"] = r.pj_per_mac;
    j["tops_per_watt"] = r.tops_per_watt;
    j["area_mm2"] = r.area_mm2;
    j["overflow_steps"] = r.overflow_steps;
    j["overflow_outputs"] = r.overflow_outputs;
    j["overflow_layers"] = r.overflow_layers;
    j["max_partial_ratio"] = r.max_partial_ratio;
    Json layers = Json::array();
    for (const LayerOverflow& l : r.layers)
        layers.push_back({{"node", l.node}, {"outputs", l.outputs}, {"overflowed_outputs", l.overflowed_outputs},
                          {"overflowed_steps", l.overflowed_steps}, {"max_abs_partial", l.max_abs_partial},
                          {"accumulator_max", l.accumulator_max}});
    j["layers"] = layers;
    j["seconds_calibrate"] = r.seconds_calibrate;
    j["seconds_evaluate"] = r.seconds_evaluate;
    j["seconds_cycle"] = r.seconds_cycle;
    return j;
}

PointResult from_json(const Json& j) {
    PointResult r;
    r.point = j.at("point");
    r.network = j.at("network");
    r.axis_values = j.at("axis_values").get<std::vector<std::string>>();
    r.status = j.at("status");
    r.error = j.at("error");
    r.arch_hash = j.at("arch_hash");
    auto opt = [&](const char* key) -> std::optional<double> {
        return j.at(key).is_null() ? std::nullopt : std::optional<double>(j.at(key).get<double>());
    };
    r.fp32_top1 = opt("fp32_top1");
    r.top1 = opt("top1");
    r.drop_pp = opt("drop_pp");
    r.sqnr_db = opt("sqnr_db");
    r.cycles = j.at("cycles");
    r.latency_us = j.at("latency_us");
    r.macs = j.at("macs");
    r.mac_utilization = j.at("mac_utilization");
    r.dram_bytes = j.at("dram_bytes");
    r.energy_pj = j.at("energy_pj");
    r.pj_per_mac = j.at("pj_per_mac");
    r.tops_per_watt = j.at("tops_per_watt");
    r.area_mm2 = j.at("area_mm2");
    r.overflow_steps = j.at("overflow_steps");
    r.overflow_outputs = j.at("overflow_outputs");
    r.overflow_layers = j.at("overflow_layers");
    r.max_partial_ratio = j.at("max_partial_ratio");
    for (const Json& l : j.at("layers"))
        r.layers.push_back({l.at("node"), l.at("outputs"), l.at("overflowed_outputs"), l.at("overflowed_steps"),
                            l.at("max_abs_partial"), l.at("accumulator_max")});
    r.seconds_calibrate = j.at("seconds_calibrate");
    r.seconds_evaluate = j.at("seconds_evaluate");
    r.seconds_cycle = j.at("seconds_cycle");
    return r;
}

std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

sim::QTensor quantized_first(const calib::Program& program, const calib::Tensor& t) {
    const calib::Tensor f = t.cast(calib::DType::f32);
    return sim::quantize_tensor({f.shape(), f.to_floats()},
                                program.qgraph.tensors.at(static_cast<std::size_t>(program.qgraph.inputs.at(0))).quant);
}

// Every MAC layer's overflow statistics on one sample: the program run with
// every tensor kept, each MAC layer's input through the reference
// accumulation with statistics.
void accumulator_overflows(const sim::QuantGraph& program, const std::vector<sim::QTensor>& inputs, PointResult& r) {
    sim::QuantGraph all = program;
    all.outputs.clear();
    for (std::size_t i = 0; i < all.tensors.size(); ++i)
        if (!all.tensors[i].constant) all.outputs.push_back(static_cast<int>(i));
    const sim::GraphResult run = sim::run_quantized(all, inputs);
    std::map<int, const sim::QTensor*> value;
    for (std::size_t k = 0; k < all.outputs.size(); ++k) value[all.outputs[k]] = &run.raw_outputs[k];
    for (std::size_t i = 0; i < all.inputs.size() && i < inputs.size(); ++i) value[all.inputs[i]] = &inputs[i];
    for (const sim::QuantNode& node : program.nodes) {
        const auto* mac = std::get_if<sim::MacLayer>(&node.params);
        if (!mac || node.inputs.empty() || !value.count(node.inputs[0])) continue;
        const sim::reference::AccumulatorStats s = sim::reference::accumulator_stats(*mac, *value.at(node.inputs[0]));
        r.layers.push_back({node.name, s.outputs, s.overflowed_outputs, s.overflowed_steps, s.max_abs_partial,
                            s.accumulator_max});
        r.overflow_steps += s.overflowed_steps;
        r.overflow_outputs += s.overflowed_outputs;
        r.overflow_layers += s.overflowed_steps > 0 ? 1 : 0;
        if (s.accumulator_max > 0)
            r.max_partial_ratio = std::max(r.max_partial_ratio, double(s.max_abs_partial) / double(s.accumulator_max));
    }
}

// What every point of a network shares (the FP32 side does not depend on the
// arch): its FP32 statistics and its FP32 reference outputs on the
// evaluation samples, computed once per network per run.
struct NetworkCache {
    std::map<std::string, calib::TensorStats> statistics;
    std::optional<std::map<std::string, calib::Tensor>> reference;
    bool statistics_looked_up = false;   // the on-disk cache was read (hit or miss)
};

// The network's statistics from the on-disk cache when an entry exists,
// once per run; stored there after the first calibration computed them.
void restore_statistics(const Fp32Cache& disk, const std::string& key, NetworkCache& cache, const Network& net,
                        bool progress) {
    if (cache.statistics_looked_up) return;
    cache.statistics_looked_up = true;
    if (auto stored = disk.load_statistics(key)) {
        cache.statistics = std::move(*stored);
        if (progress) std::cerr << fmt::format("archsweep: FP32 statistics of '{}' read from the cache\n", net.name);
    }
}

// One network on one point's arch: calibrate, evaluate, time.
void run_network(const SweepSpec& spec, const Network& net, const arch::ArchSpec& arch, const RunOptions& options,
                 const Fp32Cache& disk, NetworkCache& cache, PointResult& r) {
    auto t0 = Clock::now();
    calib::Graph graph = calib::load_onnx(net.model);
    calib::run_standard_passes(graph);
    const calib::Graph fp32 = graph;
    const auto calib_samples = calib::load_sample_file(net.calib, graph);
    calib::CalibOptions co;
    co.policy = calib::parse_calib_policy(spec.policy);
    co.samples = std::min(net.samples, calib_samples->size());
    co.search_samples = spec.search_samples;
    co.threads = options.threads;
    co.statistics_cache = &cache.statistics;
    const std::string stats_key = disk.statistics_key(net.model, net.calib, co.samples, spec.policy);
    restore_statistics(disk, stats_key, cache, net, options.progress);
    const std::size_t known = cache.statistics.size();
    const calib::CalibResult result = calib::calibrate(graph, arch, *calib_samples, co);
    if (cache.statistics.size() != known) disk.store_statistics(stats_key, cache.statistics);
    r.seconds_calibrate = seconds_since(t0);

    t0 = Clock::now();
    std::unique_ptr<calib::SampleSource> eval = calib::load_sample_file(net.eval, graph);
    if (net.eval_samples > 0 && net.eval_samples < eval->size())
        eval = calib::make_array_source(eval->batch(0, net.eval_samples));
    const calib::Feed first = eval->batch(0, 1);
    const calib::Program program = calib::build_program(graph, arch, result.table, first.begin()->second.shape());
    if (!net.labels.empty()) {
        calib::Tensor labels = calib::load_npy(net.labels);
        if (net.eval_samples > 0 && net.eval_samples < labels.dim(0)) labels = calib::slice_batch(labels, 0, eval->size());
        const calib::Top1 t = calib::evaluate_top1(graph, program.qgraph, *eval, labels, options.threads, 256);
        r.fp32_top1 = t.fp32();
        r.top1 = t.sim();
        r.drop_pp = t.drop_pp() + 0.0;
    } else {
        const calib::Feed all = eval->batch(0, eval->size());
        if (!cache.reference) {
            const std::string key = disk.reference_key(net.model, net.eval, eval->size());
            cache.reference = disk.load_reference(key);
            if (!cache.reference) {
                const calib::Executor exec(fp32);
                cache.reference = calib::run_batched(exec, all, calib::fixed_batch(fp32) > 0 ? calib::fixed_batch(fp32) : 64);
                disk.store_reference(key, *cache.reference);
            }
        }
        const std::map<std::string, calib::Tensor>& ref = *cache.reference;
        std::vector<sim::QTensor> q;
        for (int id : program.qgraph.inputs) {
            const std::string& name = program.qgraph.tensors.at(static_cast<std::size_t>(id)).name;
            const calib::Tensor f = all.at(name).cast(calib::DType::f32);
            q.push_back(sim::quantize_tensor({f.shape(), f.to_floats()},
                                             program.qgraph.tensors.at(static_cast<std::size_t>(id)).quant));
        }
        const sim::GraphResult out = calib::run_quantized_batched(program.qgraph, q, calib::fixed_batch(fp32));
        double worst = std::numeric_limits<double>::infinity();
        for (std::size_t i = 0; i < program.qgraph.outputs.size(); ++i) {
            const std::string& name =
                program.qgraph.tensors.at(static_cast<std::size_t>(program.qgraph.outputs[i])).name;
            const calib::Tensor& f = ref.at(name);
            worst = std::min(worst, sim::sqnr_db(f.data<float>(), out.outputs[i].data.data(), out.outputs[i].data.size()));
        }
        r.sqnr_db = worst;
    }
    r.seconds_evaluate = seconds_since(t0);

    t0 = Clock::now();
    std::vector<sim::QTensor> one;
    for (int id : program.qgraph.inputs) {
        const std::string& name = program.qgraph.tensors.at(static_cast<std::size_t>(id)).name;
        one.push_back(quantized_first(program, first.at(name)));
    }
    const auto cycle = sim::systemc::run_cycle_model(program.qgraph, arch, one);
    r.cycles = cycle.report.cycles;
    r.latency_us = cycle.report.latency_us;
    r.macs = cycle.report.macs;
    r.mac_utilization = cycle.report.mac_utilization;
    r.dram_bytes = cycle.report.dram_bytes_in + cycle.report.dram_bytes_out;
    const sim::systemc::EnergyReport energy = sim::systemc::estimate_energy(program.qgraph, cycle.report, arch);
    r.energy_pj = energy.total_pj;
    r.pj_per_mac = energy.pj_per_mac;
    r.tops_per_watt = energy.tops_per_watt;
    r.area_mm2 = energy.total_area_mm2;
    r.seconds_cycle = seconds_since(t0);
    accumulator_overflows(program.qgraph, one, r);
    r.status = "ok";
}

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

std::string number(const std::optional<double>& v) { return v ? fmt::format("{}", *v) : ""; }

std::string csv(const SweepSpec& spec, const std::vector<PointResult>& rows) {
    std::string out = "point,network";
    for (const Axis& a : spec.axes) out += "," + csv_field(a.path);
    out += ",status,error,arch_hash,fp32_top1,top1,drop_pp,sqnr_db,cycles,latency_us,macs,mac_utilization,dram_bytes,"
           "energy_pj,pj_per_mac,tops_per_watt,area_mm2,overflow_steps,overflow_outputs,overflow_layers,"
           "max_partial_ratio,seconds_calibrate,seconds_evaluate,seconds_cycle\n";
    for (const PointResult& r : rows) {
        out += r.point + "," + csv_field(r.network);
        for (const std::string& v : r.axis_values) out += "," + csv_field(v);
        out += fmt::format(",{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.3f},{:.3f},{:.3f}\n",
                           r.status, csv_field(r.error), r.arch_hash, number(r.fp32_top1), number(r.top1),
                           number(r.drop_pp), number(r.sqnr_db), r.cycles, r.latency_us, r.macs, r.mac_utilization,
                           r.dram_bytes, r.energy_pj, r.pj_per_mac, r.tops_per_watt, r.area_mm2, r.overflow_steps,
                           r.overflow_outputs, r.overflow_layers, r.max_partial_ratio, r.seconds_calibrate,
                           r.seconds_evaluate, r.seconds_cycle);
    }
    return out;
}

double accuracy(const PointResult& r) { return r.top1 ? *r.top1 : r.sqnr_db.value_or(-1e300); }

}  // namespace

std::vector<PointResult> run_points(const SweepSpec& spec, const std::vector<Point>& points, const std::string& out_dir,
                                    const std::string& shard, const RunOptions& options) {
    fs::create_directories(fs::path(out_dir) / "points");
    const fs::path meta = fs::path(out_dir) / "sweep.json";
    if (fs::exists(meta)) {   // resuming: the same spec only
        const Json j = Json::parse(read_text(meta));
        if (j.at("spec_hash") != spec.hash)
            throw UserError(fmt::format("'{}' holds results of another spec (hash {}); this spec is {}: use another -o",
                                        out_dir, j.at("spec_hash").get<std::string>(), spec.hash));
    }
    write_atomically(meta, Json{{"sweep", spec.name}, {"spec", spec.path}, {"spec_hash", spec.hash}, {"shard", shard},
                                {"points", points.size()}}.dump(2) + "\n");
    std::vector<PointResult> results;
    std::map<std::string, NetworkCache> caches;   // by network name
    const Fp32Cache disk(options.cache_dir);
    const auto start = Clock::now();
    std::size_t done = 0, ran = 0;
    for (const Point& point : points) {
        const fs::path dir = fs::path(out_dir) / "points" / point.id;
        fs::create_directories(dir);
        const std::string arch_text = arch_for_point(spec, point);
        write_atomically(dir / "arch.yaml", arch_text);
        std::optional<arch::ArchSpec> arch;
        std::string invalid;
        try {
            // Named relative to the result folder, so shard and unsharded runs give the same messages.
            arch = arch::parse_arch(arch_text, "points/" + point.id + "/arch.yaml");
            arch->content_hash = arch::sha256_hex(arch_text);
        } catch (const UserError& e) {
            invalid = e.what();
        }
        for (const Network& net : spec.networks) {
            const fs::path file = dir / (net.name + ".json");
            if (fs::exists(file)) {   // resumable: a finished point x network is not run again
                results.push_back(from_json(Json::parse(read_text(file))));
                continue;
            }
            PointResult r;
            r.point = point.id;
            r.network = net.name;
            for (const YAML::Node& v : point.values) r.axis_values.push_back(value_text(v));
            r.arch_hash = arch::sha256_hex(arch_text);
            if (!arch) {
                r.status = "invalid_arch";
                r.error = invalid;
            } else {
                try {
                    run_network(spec, net, *arch, options, disk, caches[net.name], r);
                } catch (const std::exception& e) {   // recorded; the sweep goes on
                    r.status = "failed";
                    r.error = e.what();
                }
            }
            write_atomically(file, to_json(r).dump(2) + "\n");
            results.push_back(r);
            ++ran;
        }
        ++done;
        if (options.progress) {
            const double elapsed = seconds_since(start);
            const double eta = ran > 0 ? elapsed / double(done) * double(points.size() - done) : 0.0;
            std::cerr << fmt::format("archsweep: {}/{} points ({} run), {:.0f} s, ETA {:.0f} s\n", done, points.size(),
                                     ran, elapsed, eta);
        }
    }
    return results;
}

std::vector<PointResult> pareto_front(const std::vector<PointResult>& results, const std::string& network) {
    std::vector<PointResult> ok;
    for (const PointResult& r : results)
        if (r.network == network && r.status == "ok") ok.push_back(r);
    std::vector<PointResult> front;
    for (const PointResult& a : ok) {
        bool dominated = false;
        for (const PointResult& b : ok) {
            const bool no_worse = accuracy(b) >= accuracy(a) && b.energy_pj <= a.energy_pj && b.cycles <= a.cycles &&
                                  b.area_mm2 <= a.area_mm2;
            const bool better = accuracy(b) > accuracy(a) || b.energy_pj < a.energy_pj || b.cycles < a.cycles ||
                                b.area_mm2 < a.area_mm2;
            if (no_worse && better) {
                dominated = true;
                break;
            }
        }
        if (!dominated) front.push_back(a);
    }
    return front;
}

void write_results(const SweepSpec& spec, const std::vector<PointResult>& results, const std::string& out_dir) {
    const fs::path dir(out_dir);
    write_atomically(dir / "results.csv", csv(spec, results));
    Json rows = Json::array();
    for (const PointResult& r : results) rows.push_back(to_json(r));
    Json axes = Json::array();
    for (const Axis& a : spec.axes) axes.push_back(a.path);
    write_atomically(dir / "results.json",
                     Json{{"sweep", spec.name}, {"spec_hash", spec.hash}, {"axes", axes}, {"results", rows}}.dump(2) + "\n");
    std::vector<PointResult> front;
    for (const Network& net : spec.networks)
        for (PointResult& r : pareto_front(results, net.name)) front.push_back(std::move(r));
    write_atomically(dir / "pareto.csv", csv(spec, front));
}

std::vector<PointResult> merge_results(const SweepSpec& spec, const std::vector<std::string>& shard_dirs) {
    std::map<std::string, PointResult> by_key;
    for (const std::string& d : shard_dirs) {
        const fs::path meta = fs::path(d) / "sweep.json";
        if (!fs::exists(meta)) throw UserError(fmt::format("'{}' is not a sweep folder (no sweep.json)", d));
        const Json j = Json::parse(read_text(meta));
        if (j.at("spec_hash") != spec.hash)
            throw UserError(fmt::format("'{}' was run from another spec (hash {}, this spec {}): refusing to merge", d,
                                        j.at("spec_hash").get<std::string>(), spec.hash));
        for (const auto& p : fs::directory_iterator(fs::path(d) / "points"))
            for (const auto& f : fs::directory_iterator(p.path())) {
                if (f.path().extension() != ".json") continue;
                PointResult r = from_json(Json::parse(read_text(f.path())));
                const std::string key = r.point + "/" + r.network;
                if (by_key.count(key)) throw UserError(fmt::format("point {} appears in two shards", key));
                by_key[key] = std::move(r);
            }
    }
    std::vector<PointResult> out;
    for (const Point& p : plan_points(spec))
        for (const Network& net : spec.networks) {
            auto it = by_key.find(p.id + "/" + net.name);
            if (it == by_key.end()) throw UserError(fmt::format("no shard holds point {} / {}", p.id, net.name));
            out.push_back(it->second);
        }
    return out;
}

}  // namespace bitnpu::sweep
