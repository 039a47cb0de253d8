// The calibration driver (calibrator.hpp): statistics, candidate scales,
// the per-layer search, the CTable.
#include "bitnpu/calibrator/calibrator.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bitnpu/arch/derived.hpp"
#include "bitnpu/fp32/batching.hpp"
#include "bitnpu/fp32/executor.hpp"
#include "bitnpu/fp32/shape_inference.hpp"
#include "bitnpu/calibrator/stats_collector.hpp"
#include "bitnpu/errors.hpp"
#include "bitnpu/sim/parallel.hpp"
#include "memory_plan.hpp"
#include "precision_search.hpp"
#include "search.hpp"

namespace bitnpu::calib {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::int64_t samples_to_use(const SampleSource& samples, const CalibOptions& options) {
    const std::int64_t available = samples.size();
    if (available == 0) throw UserError("the calibration data holds no samples");
    if (options.samples <= 0) throw UserError(fmt::format("--samples must be positive, got {}", options.samples));
    if (available < options.samples && options.samples_required)
        throw UserError(fmt::format("asked for {} calibration samples but the data holds only {}", options.samples,
                                    available));
    return std::min(available, options.samples);
}

int resolved_threads(const CalibOptions& options) {
    return sim::resolve_threads(options.threads);
}

// Streams the samples through the FP32 executor in batches; memory holds one
// batch per worker and the fixed-size statistics. Workers take every
// `workers`-th batch with their own collector; the collectors merge exactly
// (integer counts on a fixed power-of-two grid, min/max), so the statistics
// do not depend on the number of workers.
std::map<std::string, TensorStats> collect_statistics(const Graph& graph, const SampleSource& samples,
                                                      std::int64_t count, const QuantizationPlan& plan,
                                                      const CalibOptions& options, std::int64_t batch) {
    std::set<std::string> names, wanted;
    for (const auto& [tensor, root] : plan.tied_to)
        if (!plan.constants.count(root)) names.insert(root);   // constants are quantized from their values
    wanted = names;
    if (options.statistics_cache) {   // only what the cache does not hold yet
        for (const auto& [name, stats] : *options.statistics_cache) names.erase(name);
        if (names.empty()) {
            std::map<std::string, TensorStats> out;
            for (const std::string& n : wanted) out.emplace(n, options.statistics_cache->at(n));
            return out;
        }
    }
    StatsOptions stats_options;
    stats_options.histograms =
        !options.policy || make_policy(*options.policy, options.policy_options)->needs_histograms();
    const std::int64_t batches = (count + batch - 1) / batch;
    const int workers = static_cast<int>(std::min<std::int64_t>(resolved_threads(options), batches));

    std::vector<std::unique_ptr<StatsCollector>> collectors;
    for (int w = 0; w < workers; ++w) collectors.push_back(std::make_unique<StatsCollector>(stats_options, names));
    std::mutex progress_mutex;
    std::int64_t done = 0;
    sim::parallel_for(workers, workers, [&](std::int64_t w) {
        // One worker: the executor's own kernels use the threads instead.
        const Executor executor(graph, {workers == 1 ? resolved_threads(options) : 1});
        StatsCollector& collector = *collectors[static_cast<std::size_t>(w)];
        for (std::int64_t b = w; b < batches; b += workers) {
            const std::int64_t begin = b * batch;
            const std::int64_t n = std::min(batch, count - begin);
            const Feed feed = samples.batch(begin, n);
            check_feed(graph, feed, begin, "calibration data");
            executor.run(feed, collector.observer());
            if (options.progress) {
                std::lock_guard<std::mutex> lock(progress_mutex);
                done += n;
                options.progress("statistics", done, count);
            }
        }
    });
    for (int w = 1; w < workers; ++w) collectors[0]->merge(*collectors[static_cast<std::size_t>(w)]);
    const std::vector<std::string> bad = collectors[0]->non_finite_tensors();
    if (!bad.empty())
        throw UserError(fmt::format("the FP32 model produces NaN or Inf in tensor '{}' on the calibration data; "
                                    "check the input preprocessing",
                                    bad.front()));
    std::map<std::string, TensorStats> collected = collectors[0]->stats();
    if (!options.statistics_cache) return collected;
    for (auto& [name, stats] : collected) options.statistics_cache->emplace(name, stats);
    std::map<std::string, TensorStats> out;
    for (const std::string& n : wanted)
        if (auto it = options.statistics_cache->find(n); it != options.statistics_cache->end()) out.emplace(n, it->second);
    return out;
}

CTable table_header(const Graph& graph, const arch::ArchSpec& arch, const CalibOptions& options,
                    std::int64_t samples) {
    CTable t;
    t.model = {graph.name, graph.source_path, graph.content_hash};
    t.arch = {arch.name, arch.content_hash};
    t.settings.policy = calib_policy_name(options.policy);
    t.settings.samples = samples;
    t.settings.seed = 0;
    t.settings.flags["search_samples"] = std::to_string(options.search_samples);
    t.settings.flags["bias_correction"] = options.bias_correction ? "true" : "false";
    if (options.adaround) t.settings.flags["adaround"] = "true";
    if (!options.policy || *options.policy == PolicyKind::percentile)
        t.settings.flags["percentile"] = fmt::format("{}", options.policy_options.percentile);
    if (options.start_from) t.settings.flags["refined_from"] = options.start_from->model.name;
    if (options.mixed_precision) t.settings.flags["mixed_precision"] = to_string(*options.mixed_precision);
    // Written only when not the default, so that tables of archs no input
    // can overflow stay what they were before the option existed.
    if (options.accumulator_aware != AccumulatorAware::automatic)
        t.settings.flags["accumulator_aware"] = accumulator_aware_name(options.accumulator_aware);
    return t;
}

LayerSummary summarize(const CTableLayer& layer, const CTable& table) {
    LayerSummary s;
    s.node = layer.node;
    s.op = layer.op;
    s.engine = layer.engine;
    s.precision = layer.precision.weight
                      ? fmt::format("{}x{}", arch::to_string(*layer.precision.weight),
                                    arch::to_string(layer.precision.activation))
                      : std::string(arch::to_string(layer.precision.activation));
    if (const CTableTensor* out = layer.outputs.empty() ? nullptr : table.find_tensor(layer.outputs[0])) {
        s.policy = out->policy;
        s.scale = out->scale.empty() ? 0.0 : out->scale[0];
    }
    if (!layer.requant.empty()) {
        s.ideal = layer.requant[0].ideal;
        s.realized = layer.requant[0].realized;
        for (const CTableRequant& r : layer.requant)
            if (r.ideal > 0) s.max_rel_error = std::max(s.max_rel_error, std::abs(r.realized - r.ideal) / r.ideal);
    }
    s.sqnr_db = layer.sqnr_db;
    return s;
}

// Layers whose integer biases sit at the bias register's bounds: the bias
// b / (s_w s_x) did not fit bias.bits and was saturated (silently wrong
// outputs otherwise).
std::vector<std::string> bias_saturation_warnings(const CTable& table, const arch::ArchSpec& arch) {
    std::vector<std::string> out;
    for (const CTableLayer& layer : table.layers) {
        if (layer.bias.empty() || !layer.bias_bits) continue;
        const arch::ValueRange range = arch::signed_range(*layer.bias_bits);
        const auto saturated = std::count_if(layer.bias.begin(), layer.bias.end(),
                                             [&](std::int64_t b) { return b == range.min || b == range.max; });
        if (saturated == 0) continue;
        out.push_back(fmt::format("node '{}': {} of {} biases saturate the {}-bit bias register of engine '{}' (the "
                                  "bias is large against s_w * s_x); the layer's output is off by the clipped "
                                  "amount. A wider `bias.bits` in {} avoids it",
                                  layer.node, saturated, layer.bias.size(), *layer.bias_bits, layer.engine,
                                  arch.source_path.empty() ? std::string("the arch YAML") : arch.source_path));
    }
    return out;
}

// Layers whose requant unit cannot come close to the ideal multiplier: a
// shifter realizes only powers of two, so a pool's 1/N or a rescale by 0.7
// is off by up to a factor sqrt(2); the outputs carry that gain error.
constexpr double kRequantErrorWarning = 0.01;

// The accumulator statistics of the search slice in each MAC layer's
// summary, and a warning naming the layers whose accumulations overflowed.
std::vector<std::string> note_accumulator_overflows(const SearchResult& search, const Lowering& lowering,
                                                    std::vector<LayerSummary>& layers) {
    std::vector<std::string> overflowing;
    std::int64_t overflowed = 0, total = 0;
    for (LayerSummary& l : layers) {
        auto it = search.accumulator.find(l.node);
        if (it == search.accumulator.end()) continue;
        l.accumulations = it->second.outputs;
        l.overflowed_accumulations = it->second.overflowed_outputs;
        l.overflowed_steps = it->second.overflowed_steps;
        const std::vector<double> fractions = lowering.accumulator_bound(l.node);
        if (!fractions.empty())
            l.accumulator_bound = std::accumulate(fractions.begin(), fractions.end(), 0.0) / double(fractions.size());
        total += it->second.outputs;
        overflowed += it->second.overflowed_outputs;
        if (it->second.overflowed_outputs > 0)
            overflowing.push_back(fmt::format("'{}' ({} of {})", l.node, it->second.overflowed_outputs, it->second.outputs));
    }
    if (overflowing.empty()) return {};
    return {fmt::format("{} of {} accumulations on the search slice wrapped or saturated the accumulator, in {} "
                        "layer(s): {}. --accumulator-aware bound (or auto) bounds the weight scales so that no input "
                        "can overflow it; a wider `accumulator.bits` avoids it too",
                        overflowed, total, overflowing.size(), fmt::join(overflowing, ", "))};
}

std::vector<std::string> requant_error_warnings(const std::vector<LayerSummary>& layers) {
    std::vector<std::string> out;
    for (const LayerSummary& l : layers) {
        if (l.max_rel_error <= kRequantErrorWarning) continue;
        out.push_back(fmt::format("node '{}' ({} on engine '{}'): the requant unit realizes the multiplier only to "
                                  "within {:.1f}% (ideal m = {:.6g}, realized m' = {:.6g} on the first channel), so the "
                                  "layer's outputs are scaled off by up to that much (a shifter realizes only powers "
                                  "of two; a multiplier unit is bounded by its bits and shift range)",
                                  l.node, l.op, l.engine, 100.0 * l.max_rel_error, l.ideal, l.realized));
    }
    return out;
}

std::string describe_params(const QuantParams& p) {
    if (p.scales.size() > 1) return fmt::format("{}, {} per-channel scales", arch::to_string(p.type), p.scales.size());
    return fmt::format("{} s {} z {}", arch::to_string(p.type), p.scales[0], p.zero_points.at(0));
}

// The SQNR (dB) of quantizing `values` with `params` (weights).
double values_sqnr_db(const Tensor& values, const QuantParams& params, std::int64_t channels) {
    const float* v = values.data<float>();
    const std::int64_t per_row = values.numel() / std::max<std::int64_t>(1, channels);
    double signal = 0.0, noise = 0.0;
    for (std::int64_t c = 0; c < channels; ++c) {
        const AffineQuant q = channel_quant(params, static_cast<std::size_t>(c));
        for (std::int64_t i = 0; i < per_row; ++i) {
            const double x = v[c * per_row + i];
            const double e = x - fake_quantize(x, q);
            signal += x * x;
            noise += e * e;
        }
    }
    return noise == 0.0 ? std::numeric_limits<double>::infinity() : 10.0 * std::log10(signal / noise);
}

// The weight scales a refined table gives a MAC node, as its engine takes
// them: per channel or one, of the engine's weight type's range, powers of
// two on a shifter; each change recorded with its SQNR cost. nullopt when the
// table gives none.
std::optional<std::vector<float>> given_weight_scales(const CTableLayer& given, const Lowering& lowering,
                                                      std::size_t index, std::vector<ForcedChange>& forced) {
    const NodePlacement& place = lowering.plan().placement.at(index);
    if (place.role != NodeRole::mac || given.weight_scale.empty()) return std::nullopt;
    const arch::EngineSpec& engine = *place.engine;
    const Tensor weight = lowering.mac_weight(index);
    const std::int64_t channels = weight.dim(0);
    const bool per_channel = engine.requant.per_channel;
    std::vector<float> scales = given.weight_scale;
    std::vector<std::string> why;
    if (static_cast<std::int64_t>(scales.size()) != channels && scales.size() != 1) return std::nullopt;
    if (!per_channel && scales.size() > 1) {
        scales = {*std::max_element(scales.begin(), scales.end())};
        why.push_back("per-channel weights -> per tensor");
    }
    if (per_channel && scales.size() == 1) scales.assign(static_cast<std::size_t>(channels), scales[0]);
    const arch::ValueType from = given.precision.weight.value_or(arch::ValueType::int8);
    const arch::ValueType to = place.precision.weight.value_or(arch::ValueType::int8);
    if (arch::value_range(from).max != arch::value_range(to).max) {
        const double ratio = double(arch::value_range(from).max) / double(arch::value_range(to).max);
        for (float& s : scales) s = static_cast<float>(s * ratio);
        why.push_back(fmt::format("{} weights not offered: {}", arch::to_string(from), arch::to_string(to)));
    }
    if (needs_power_of_two_scales(engine)) {
        bool changed = false;
        for (float& s : scales)
            if (!power_of_two_exponent(s)) {
                s = std::ldexp(1.0f, static_cast<int>(std::ceil(std::log2(double(s)))));
                changed = true;
            }
        if (changed) why.push_back("power-of-two weight scales");
    }
    if (!why.empty()) {
        auto params = [&](const std::vector<float>& s) {
            QuantParams p;
            p.type = to;
            p.restricted = engine.restricted_range;
            p.scales = s;
            p.zero_points.assign(s.size(), 0);
            p.axis = s.size() > 1 ? 0 : -1;
            return p;
        };
        QuantParams before = params(given.weight_scale);
        before.type = from;
        ForcedChange change{fmt::format("node '{}' weights", given.node), fmt::format("{}", fmt::join(why, "; ")),
                            describe_params(before), describe_params(params(scales)), std::nullopt, std::nullopt};
        change.sqnr_before_db = values_sqnr_db(weight, before, before.scales.size() > 1 ? channels : 1);
        change.sqnr_after_db = values_sqnr_db(weight, params(scales), scales.size() > 1 ? channels : 1);
        forced.push_back(std::move(change));
    }
    return scales;
}

}  // namespace

std::int64_t node_macs(const Graph& graph, const Node& node) {
    Shape out, w;
    if (node.inputs.size() < 2 || node.outputs.empty() || !static_shape(graph, node.outputs[0], out) || out.empty())
        return 0;
    if (!static_shape(graph, node.inputs[1], w) || w.empty()) return 0;
    std::int64_t per_sample = 1;
    for (std::size_t d = 1; d < out.size(); ++d) per_sample *= out[d];
    std::int64_t k = 1;
    if (node.op_type == "Conv") {
        for (std::size_t d = 1; d < w.size(); ++d) k *= w[d];
    } else if (node.op_type == "ConvTranspose") {
        Shape x;   // every input element meets C_out/g * kH * kW weights
        if (!static_shape(graph, node.inputs[0], x) || x.empty()) return 0;
        per_sample = 1;
        for (std::size_t d = 1; d < x.size(); ++d) per_sample *= x[d];
        for (std::size_t d = 1; d < w.size(); ++d) k *= w[d];
    } else if (node.op_type == "Gemm" || node.op_type == "MatMul") {
        const bool trans_b = node.op_type == "Gemm" && node.attr_int("transB", 0) != 0;
        k = trans_b ? w.back() : w[w.size() >= 2 ? w.size() - 2 : 0];
        if (out.size() == 2) per_sample = out[1];
    } else {
        return 0;
    }
    return per_sample * k;
}

std::optional<PolicyKind> parse_calib_policy(const std::string& name) {
    if (name == "auto") return std::nullopt;
    return parse_policy(name);
}

std::string calib_policy_name(const std::optional<PolicyKind>& policy) {
    return policy ? policy_name(*policy) : "auto";
}

AccumulatorAware parse_accumulator_aware(const std::string& name) {
    if (name == "auto") return AccumulatorAware::automatic;
    if (name == "bound") return AccumulatorAware::bound;
    if (name == "off") return AccumulatorAware::off;
    throw UserError(fmt::format("unknown accumulator-aware mode '{}' (expected auto, bound or off)", name));
}

std::string accumulator_aware_name(AccumulatorAware mode) {
    switch (mode) {
        case AccumulatorAware::automatic: return "auto";
        case AccumulatorAware::bound: return "bound";
        case AccumulatorAware::off: return "off";
    }
    return "auto";
}

CalibResult calibrate(Graph& graph, const arch::ArchSpec& arch, const SampleSource& samples,
                      const CalibOptions& options) {
    const auto start = Clock::now();
    if (options.policy) make_policy(*options.policy, options.policy_options);  // validates the percentile
    CalibResult result;
    result.samples_used = whole_batches(samples_to_use(samples, options), fixed_batch(graph));
    if (result.samples_used > samples.size())
        throw UserError(fmt::format("the model takes batches of {} samples but the calibration data holds only {}",
                                    fixed_batch(graph), samples.size()));

    // Shapes for one sample; every lowering rule that needs a shape reads it.
    const Feed first = samples.batch(0, std::max<std::int64_t>(1, std::min(fixed_batch(graph), samples.size())));
    check_feed(graph, first, 0, "calibration data");
    std::map<std::string, Shape> input_shapes;
    for (const auto& [name, t] : first) input_shapes[name] = t.shape();
    infer_shapes(graph, input_shapes);

    // How many samples the statistics batch and the search slice hold.
    const std::int64_t first_rows = first.begin()->second.shape().empty() ? 1 : first.begin()->second.shape()[0];
    const MemoryPlan memory =
        plan_memory(activation_bytes_per_sample(graph, first_rows), options, resolved_threads(options),
                    fixed_batch(graph), result.samples_used);
    result.activation_bytes_per_sample = memory.bytes_per_sample;
    result.memory_budget_bytes = memory.budget_bytes;
    result.statistics_batch = memory.statistics_batch;

    result.plan = plan_quantization(graph, arch);
    const auto stats =
        collect_statistics(graph, samples, result.samples_used, result.plan, options, memory.statistics_batch);
    result.seconds_statistics = seconds_since(start);

    const auto search_start = Clock::now();
    const std::int64_t slice = memory.search_samples;
    const Feed slice_feed = spread_samples(samples, slice, result.samples_used, fixed_batch(graph));
    if (options.mixed_precision) {   // the engines and precisions first; the roots and statistics do not change
        result.mixed_precision = choose_precisions(graph, arch, stats, slice_feed, options, *options.mixed_precision);
        result.plan = plan_quantization(graph, arch, result.mixed_precision->chosen);
    }
    result.search_samples_used = slice;
    Lowering lowering(graph, arch, result.plan);
    lowering.set_threads(resolved_threads(options));
    if (options.start_from)   // refining: the given weight scales, as the engines take them
        for (std::size_t i = 0; i < graph.nodes.size(); ++i)
            if (const CTableLayer* given = options.start_from->find_layer(graph.nodes[i].name))
                if (auto scales = given_weight_scales(*given, lowering, i, result.forced_changes)) {
                    CTableLayer weights_only;
                    weights_only.node = given->node;
                    weights_only.weight_scale = std::move(*scales);
                    lowering.set_recorded_layer(weights_only);
                }
    SearchResult search = search_activation_quant(lowering, stats, slice_feed, options);
    result.seconds_search = seconds_since(search_start);
    if (options.start_from)   // refining: where the arch changed a given activation quantization
        for (const auto& [root, params] : search.quant)
            if (const CTableTensor* t = options.start_from->find_tensor(root)) {
                std::vector<std::string> why;
                const QuantParams given = quant_params(*t);
                conform_to_constraints(given, result.plan.constraints.at(root), &why);
                if (why.empty()) continue;
                ForcedChange change{root, fmt::format("{}", fmt::join(why, "; ")), describe_params(given),
                                    describe_params(params), std::nullopt, std::nullopt};
                if (auto st = stats.find(root); st != stats.end() && st->second.count > 0) {
                    change.sqnr_before_db = calibration_sqnr_db(st->second, given);
                    change.sqnr_after_db = calibration_sqnr_db(st->second, params);
                }
                result.forced_changes.push_back(std::move(change));
            }

    CTable& table = result.table;
    table = table_header(graph, arch, options, result.samples_used);
    for (const std::string& tensor : result.plan.order) {
        const std::string& root = result.plan.root(tensor);
        CTableTensor t = ctable_tensor(search.quant.at(root), search.policy[root]);
        if (search.tensor_sqnr.count(tensor)) t.sqnr_db = search.tensor_sqnr.at(tensor);
        table.tensors[tensor] = std::move(t);
    }
    lowering.lower_graph(search.quant, &table.layers);
    for (CTableLayer& layer : table.layers)
        if (!layer.outputs.empty() && search.tensor_sqnr.count(layer.outputs[0]))
            layer.sqnr_db = search.tensor_sqnr.at(layer.outputs[0]);
    for (const CTableLayer& layer : table.layers) {
        result.layers.push_back(summarize(layer, table));
        if (!layer.outputs.empty())
            if (auto it = search.isolated_sqnr.find(layer.outputs[0]); it != search.isolated_sqnr.end())
                result.layers.back().isolated_sqnr_db = it->second;
    }
    std::map<std::string, std::int64_t> macs_by_precision;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        const std::int64_t macs = node_macs(graph, graph.nodes[i]);
        result.total_macs += macs;
        const NodePlacement& place = result.plan.placement[i];
        if (place.role == NodeRole::host) {
            result.host_nodes.push_back({graph.nodes[i].name, graph.nodes[i].op_type, macs});
            if (macs > 0) macs_by_precision["host"] += macs;
        } else if (place.role == NodeRole::mac) {
            macs_by_precision[fmt::format("{}x{}", arch::to_string(place.precision.weight.value_or(arch::ValueType::int8)),
                                          arch::to_string(place.precision.activation))] += macs;
        }
    }
    for (const auto& [precision, macs] : macs_by_precision)
        result.mac_fraction_by_precision[precision] =
            result.total_macs > 0 ? double(macs) / double(result.total_macs) : 0.0;
    result.warnings = memory.notes;
    for (std::string& w : bias_saturation_warnings(table, arch)) result.warnings.push_back(std::move(w));
    for (std::string& w : requant_error_warnings(result.layers)) result.warnings.push_back(std::move(w));
    for (std::string& w : note_accumulator_overflows(search, lowering, result.layers)) result.warnings.push_back(std::move(w));
    result.seconds_total = seconds_since(start);
    return result;
}

}  // namespace bitnpu::calib
