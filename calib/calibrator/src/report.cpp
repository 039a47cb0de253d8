// Calibration reports (report.hpp).
#include "bitnpu/calibrator/report.hpp"

#include <cmath>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace bitnpu::calib {
namespace {

std::string sqnr_text(const std::optional<double>& s) {
    if (!s) return "-";
    if (std::isinf(*s)) return "inf";
    return fmt::format("{:.2f}", *s);
}

// The MAC layers' accumulator overflows on the search slice, summed.
nlohmann::ordered_json accumulator_json(const CalibResult& result) {
    std::int64_t total = 0, overflowed = 0, bounded = 0;
    nlohmann::ordered_json layers = nlohmann::ordered_json::array();
    for (const LayerSummary& l : result.layers) {
        if (!l.accumulations) continue;
        total += *l.accumulations;
        overflowed += l.overflowed_accumulations.value_or(0);
        bounded += l.accumulator_bound > 0.0 ? 1 : 0;
        if (l.overflowed_accumulations.value_or(0) > 0) layers.push_back(l.node);
    }
    auto flag = result.table.settings.flags.find("accumulator_aware");
    return {{"accumulator_aware", flag == result.table.settings.flags.end() ? std::string("auto") : flag->second},
            {"measured_on", fmt::format("search slice: {} calibration samples, every layer quantized",
                                        result.search_samples_used)},
            {"accumulations", total},
            {"overflowed_accumulations", overflowed},
            {"overflowing_layers", layers},
            {"bounded_layers", bounded}};
}

std::string multiplier_text(double m) { return m > 0 ? fmt::format("{:.6g}", m) : std::string("-"); }

}  // namespace

std::string format_layer_table(const CalibResult& result) {
    std::size_t name_width = 5;
    for (const LayerSummary& l : result.layers) name_width = std::max(name_width, l.node.size());
    name_width = std::min<std::size_t>(name_width, 40);
    std::string out = fmt::format("{:<{}}  {:<17} {:<8} {:<11} {:<10} {:>11} {:>11} {:>11} {:>9} {:>9}\n", "layer",
                                  name_width, "op", "engine", "precision", "policy", "scale", "m", "m'", "SQNR dB",
                                  "alone dB");
    for (const LayerSummary& l : result.layers)
        out += fmt::format("{:<{}}  {:<17} {:<8} {:<11} {:<10} {:>11.5g} {:>11} {:>11} {:>9} {:>9}\n",
                           l.node.substr(0, name_width), name_width, l.op, l.engine, l.precision,
                           l.policy.empty() ? "-" : l.policy, l.scale, multiplier_text(l.ideal),
                           multiplier_text(l.realized), sqnr_text(l.sqnr_db), sqnr_text(l.isolated_sqnr_db));
    out += format_host_summary(result);
    out += format_forced_changes(result);
    return out;
}

std::string format_forced_changes(const CalibResult& result) {
    if (result.forced_changes.empty()) return "";
    std::string out = fmt::format("\n{} change(s) the arch forced on the given quantization (tensor SQNR dB on the "
                                  "calibration data, before -> after):\n",
                                  result.forced_changes.size());
    for (const ForcedChange& c : result.forced_changes)
        out += fmt::format("  {}: {}: {} -> {} ({} -> {})\n", c.item, c.why, c.before, c.after, sqnr_text(c.sqnr_before_db),
                           sqnr_text(c.sqnr_after_db));
    return out;
}

std::string format_host_summary(const CalibResult& result) {
    if (result.host_nodes.empty()) return "\nhost: no node runs on the host\n";
    std::map<std::string, int> by_op;
    std::int64_t macs = 0;
    for (const HostNode& h : result.host_nodes) {
        ++by_op[h.op];
        macs += h.macs;
    }
    std::string ops;
    for (const auto& [op, n] : by_op) ops += fmt::format("{}{} x{}", ops.empty() ? "" : ", ", op, n);
    const double share = result.total_macs > 0 ? 100.0 * double(macs) / double(result.total_macs) : 0.0;
    return fmt::format("\nhost: {} node(s) run in FP32 on the host ({}); {:.2f}% of the model's MACs\n",
                       result.host_nodes.size(), ops, share);
}

std::string format_mac_fractions(const CalibResult& result) {
    std::string out;
    for (const auto& [precision, fraction] : result.mac_fraction_by_precision)
        out += fmt::format("{}{} {:.1f}%", out.empty() ? "" : ", ", precision, 100.0 * fraction);
    return out.empty() ? "" : "MACs by precision: " + out + "\n";
}

std::string format_mixed_precision(const MixedPrecisionReport& r) {
    std::string out = fmt::format(
        "mixed precision ({}; {} layers, {} candidates, {:.2f} s): reference (widest) output SQNR {} dB, "
        "{:.0f} cycles, {:.4g} pJ\n",
        to_string(r.budget), r.layers.size(), r.candidates.size(), r.seconds, sqnr_text(r.reference_sqnr_db),
        r.reference_cycles, r.reference_energy_pj);
    out += fmt::format("  {:<22} {:>10} {:>10} {:>8} {:>8} {:>8}\n", "budget", "SQNR dB", "predicted", "cycles",
                       "energy", "low-bit");
    for (const ParetoPoint& p : r.candidates)
        out += fmt::format("{}{} {:<22} {:>10} {:>10} {:>8.3f} {:>8.3f} {:>8.3f}\n", p.chosen ? '*' : ' ',
                           p.pareto ? 'P' : ' ', p.budget, sqnr_text(p.sqnr_db), sqnr_text(p.predicted_sqnr_db),
                           p.cycles_fraction, p.energy_fraction, p.lowbit_mac_fraction);
    out += "  (cycles and energy as fractions of the reference's; * the budget asked for, P Pareto-optimal)\n";
    return out;
}

std::string format_top1(const Top1& t) {
    return fmt::format("top-1 on {} samples: FP32 {:.2f}%, bit-accurate {:.2f}%, drop {:.2f} pp\n", t.samples,
                       t.fp32(), t.sim(), t.drop_pp() + 0.0);  // + 0.0 turns -0.0 into 0.0
}

std::string report_json(const CalibResult& result, const std::optional<Top1>& top1) {
    nlohmann::ordered_json j;
    const CTable& t = result.table;
    j["model"] = {{"name", t.model.name}, {"path", t.model.path}, {"hash", t.model.hash}};
    j["arch"] = {{"name", t.arch.name}, {"hash", t.arch.hash}};
    j["settings"] = {{"policy", t.settings.policy}, {"samples", result.samples_used}};
    j["timing_seconds"] = {{"statistics", result.seconds_statistics},
                           {"search", result.seconds_search},
                           {"total", result.seconds_total}};
    constexpr double kMiB = 1024.0 * 1024.0;
    j["memory"] = {{"activation_mb_per_sample", double(result.activation_bytes_per_sample) / kMiB},
                   {"budget_mb", double(result.memory_budget_bytes) / kMiB},
                   {"statistics_batch", result.statistics_batch},
                   {"search_samples", result.search_samples_used}};
    nlohmann::ordered_json layers = nlohmann::ordered_json::array();
    for (const LayerSummary& l : result.layers) {
        nlohmann::ordered_json e = {{"layer", l.node}, {"op", l.op},        {"engine", l.engine},
                                    {"precision", l.precision}, {"policy", l.policy}, {"scale", l.scale}};
        if (l.ideal > 0) {
            e["ideal_multiplier"] = l.ideal;
            e["realized_multiplier"] = l.realized;
            e["max_relative_multiplier_error"] = l.max_rel_error;
        }
        if (l.sqnr_db && std::isfinite(*l.sqnr_db)) e["sqnr_db"] = *l.sqnr_db;
        if (l.isolated_sqnr_db && std::isfinite(*l.isolated_sqnr_db)) e["sqnr_isolated_db"] = *l.isolated_sqnr_db;
        if (l.accumulations) {
            e["accumulations"] = *l.accumulations;
            e["overflowed_accumulations"] = l.overflowed_accumulations.value_or(0);
            e["overflowed_steps"] = l.overflowed_steps.value_or(0);
            e["accumulator_bound"] = l.accumulator_bound;
        }
        layers.push_back(e);
    }
    j["layers"] = layers;
    j["accumulator"] = accumulator_json(result);
    nlohmann::ordered_json host = nlohmann::ordered_json::array();
    for (const HostNode& h : result.host_nodes) host.push_back({{"node", h.node}, {"op", h.op}, {"macs", h.macs}});
    j["host"] = {{"nodes", host}, {"total_macs", result.total_macs}};
    j["warnings"] = result.warnings;
    nlohmann::ordered_json forced = nlohmann::ordered_json::array();
    for (const ForcedChange& c : result.forced_changes) {
        nlohmann::ordered_json e = {{"item", c.item}, {"why", c.why}, {"before", c.before}, {"after", c.after}};
        if (c.sqnr_before_db && std::isfinite(*c.sqnr_before_db)) e["sqnr_before_db"] = *c.sqnr_before_db;
        if (c.sqnr_after_db && std::isfinite(*c.sqnr_after_db)) e["sqnr_after_db"] = *c.sqnr_after_db;
        forced.push_back(e);
    }
    j["forced_changes"] = forced;
    j["mac_fraction_by_precision"] = result.mac_fraction_by_precision;
    if (result.mixed_precision) {
        const MixedPrecisionReport& m = *result.mixed_precision;
        auto finite = [](double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr); };
        auto choices = [](const LayerChoices& c) {
            nlohmann::ordered_json o = nlohmann::ordered_json::object();
            for (const auto& [node, choice] : c)
                o[node] = {{"engine", choice.engine},
                           {"precision", fmt::format("{}x{}", arch::to_string(choice.precision.weight.value_or(arch::ValueType::int8)),
                                                     arch::to_string(choice.precision.activation))}};
            return o;
        };
        j["budget"] = {{"kind", std::string(to_string(m.budget.kind))}, {"fraction", m.budget.fraction}};
        nlohmann::ordered_json pareto = nlohmann::ordered_json::array();
        for (const ParetoPoint& p : m.candidates)
            pareto.push_back({{"budget", p.budget}, {"chosen", p.chosen}, {"pareto", p.pareto},
                              {"sqnr_db", finite(p.sqnr_db)}, {"predicted_sqnr_db", finite(p.predicted_sqnr_db)},
                              {"cycles", p.cycles}, {"energy_pj", p.energy_pj}, {"cycles_fraction", p.cycles_fraction},
                              {"energy_fraction", p.energy_fraction}, {"lowbit_mac_fraction", p.lowbit_mac_fraction},
                              {"choices", choices(p.choices)}});
        j["pareto"] = pareto;
        nlohmann::ordered_json layers_mp = nlohmann::ordered_json::array();
        for (const LayerFigures& l : m.layers) {
            nlohmann::ordered_json options = nlohmann::ordered_json::array();
            for (const OptionFigures& o : l.options) {
                options.push_back({{"engine", o.choice.engine},
                                   {"precision", fmt::format("{}x{}", arch::to_string(o.choice.precision.weight.value_or(arch::ValueType::int8)),
                                                             arch::to_string(o.choice.precision.activation))},
                                   {"sqnr_db", finite(o.sqnr_db)}, {"error", o.error}, {"cycles", o.cycles},
                                   {"energy_pj", o.energy_pj}, {"lowbit", o.lowbit}});
                if (!o.infeasible.empty()) options.back()["infeasible"] = o.infeasible;
            }
            layers_mp.push_back({{"layer", l.node}, {"macs", l.macs}, {"chosen", l.chosen}, {"options", options}});
        }
        j["mixed_precision"] = {{"solver", m.solver}, {"seconds", m.seconds},
                                {"reference", {{"sqnr_db", finite(m.reference_sqnr_db)}, {"cycles", m.reference_cycles},
                                               {"energy_pj", m.reference_energy_pj}}},
                                {"layers", layers_mp}};
    }
    if (top1) {
        j["evaluation"] = {{"samples", top1->samples},
                           {"fp32_top1", top1->fp32()},
                           {"bit_accurate_top1", top1->sim()},
                           {"drop_pp", top1->drop_pp()},
                           {"seconds_fp32", top1->seconds_fp32},
                           {"seconds_bit_accurate", top1->seconds_sim}};
    }
    return j.dump(2) + "\n";
}

}  // namespace bitnpu::calib
