// The mixed-precision search (precision_search.hpp): options, sensitivity,
// cost, assignment, the Pareto sweep.
#include "precision_search.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "bitnpu/errors.hpp"
#include "bitnpu/fp32/batching.hpp"
#include "bitnpu/fp32/executor.hpp"
#include "bitnpu/sim/parallel.hpp"
#include "bitnpu/sim/systemc/cycle_model.hpp"
#include "bitnpu/sim/systemc/energy.hpp"
#include "search.hpp"

namespace bitnpu::calib {
namespace {

using Clock = std::chrono::steady_clock;

// Below 8 bits in the weight or the activation: what `lowbit-macs` counts.
bool is_lowbit(const arch::Precision& p) {
    return arch::bit_width(p.activation) < 8 || (p.weight && arch::bit_width(*p.weight) < 8);
}

// The reference option of a layer: its widest (weight bits x activation
// bits; the first such in YAML order), the all-INT8 point on INT8 chips.
std::size_t widest_option(const std::vector<LayerChoice>& options) {
    std::size_t best = 0;
    auto area = [](const LayerChoice& c) {
        return arch::bit_width(c.precision.weight.value_or(arch::ValueType::int8)) * arch::bit_width(c.precision.activation);
    };
    for (std::size_t k = 1; k < options.size(); ++k)
        if (area(options[k]) > area(options[best])) best = k;
    return best;
}

double to_db(double nsr) {
    if (nsr <= 0.0) return std::numeric_limits<double>::infinity();
    return -10.0 * std::log10(nsr);
}

struct Costs {
    std::map<std::string, double> cycles, energy;   // per node
    double total_cycles = 0.0, total_energy = 0.0;
};

// Programs of the graph at given choices, judged by the simulator (outputs
// vs FP32 on the slice) and by the cycle and energy models (one batch).
class Evaluator {
public:
    Evaluator(const Graph& graph, const arch::ArchSpec& arch, const std::map<std::string, TensorStats>& stats,
              const Feed& slice, const CalibOptions& options)
        : graph_(graph), arch_(arch), stats_(stats), slice_(slice),
          policy_(make_policy(options.policy.value_or(PolicyKind::l2), options.policy_options)),
          threads_(sim::resolve_threads(options.threads)), batch_(fixed_batch(graph)) {
        const Executor executor(graph, {threads_});
        const std::map<std::string, Tensor> out = run_batched(executor, slice, batch_);
        for (const ValueInfo& o : graph.outputs)
            if (auto it = out.find(o.name); it != out.end() && it->second.dtype() == DType::f32) fp32_.emplace(o.name, it->second);
        if (fp32_.empty())
            throw UserError("--mixed-precision judges options by the model's float outputs, and this model has none");
    }

    // Noise-to-signal ratio of the outputs: sum over outputs of
    // (ref - q)^2 over sum of ref^2.
    double nsr(const LayerChoices& choices) const {
        const sim::QuantGraph q = lower(choices);
        const sim::GraphResult r = run_quantized_batched(q, quantized_inputs(q, slice_), batch_, {threads_});
        double signal = 0.0, noise = 0.0;
        for (std::size_t k = 0; k < q.outputs.size(); ++k) {
            auto ref_it = fp32_.find(q.tensors.at(static_cast<std::size_t>(q.outputs[k])).name);
            if (ref_it == fp32_.end()) continue;   // not a float output of the model
            const float* ref = ref_it->second.data<float>();
            const std::vector<float>& test = r.outputs.at(k).data;
            if (static_cast<std::int64_t>(test.size()) != ref_it->second.numel())
                throw std::logic_error("mixed precision: simulated and FP32 outputs differ in size");
            for (std::size_t i = 0; i < test.size(); ++i) {
                const double d = double(ref[i]) - double(test[i]);
                signal += double(ref[i]) * double(ref[i]);
                noise += d * d;
            }
        }
        return signal > 0.0 ? noise / signal : (noise > 0.0 ? std::numeric_limits<double>::infinity() : 0.0);
    }

    // Cycles and energy per layer of one batch (the first rows of the slice).
    Costs costs(const LayerChoices& choices) const {
        const sim::QuantGraph q = lower(choices);
        Feed one;
        const std::int64_t rows = std::max<std::int64_t>(1, batch_);
        for (const auto& [name, t] : slice_) one[name] = slice_batch(t, 0, std::min<std::int64_t>(rows, t.dim(0)));
        const auto cycle = sim::systemc::run_cycle_model(q, arch_, quantized_inputs(q, one));
        Costs c;
        for (const sim::systemc::LayerReport& layer : cycle.report.layers) {
            sim::systemc::CycleReport alone;
            alone.layers = {layer};
            alone.dram_bytes_in = layer.dram_bytes_in;
            alone.dram_bytes_out = layer.dram_bytes_out;
            alone.macs = layer.macs;
            const double pj = sim::systemc::estimate_energy(q, alone, arch_).total_pj;
            c.cycles[layer.name] += double(layer.cycles);
            c.energy[layer.name] += pj;
            c.total_cycles += double(layer.cycles);
            c.total_energy += pj;
        }
        return c;
    }

private:
    // Every root at the one policy's parameters under the choices' constraints.
    sim::QuantGraph lower(const LayerChoices& choices) const {
        const QuantizationPlan plan = plan_quantization(graph_, arch_, choices);
        ActivationQuant quant;
        for (const auto& [tensor, root] : plan.tied_to) {
            if (tensor != root) continue;
            const TensorConstraints& c = plan.constraints.at(root);
            if (plan.constants.count(root)) {
                quant[root] = constant_params(graph_, root, c);
                continue;
            }
            auto st = stats_.find(root);
            if (st == stats_.end() || st->second.count == 0)
                throw UserError(fmt::format("no finite FP32 values were observed for tensor '{}'", root));
            quant[root] = candidate_params(st->second, *policy_, c);
        }
        Lowering lowering(graph_, arch_, plan);
        lowering.set_threads(threads_);
        return lowering.lower_graph(quant);
    }

    static std::vector<sim::QTensor> quantized_inputs(const sim::QuantGraph& q, const Feed& feed) {
        std::vector<sim::QTensor> inputs;
        for (int id : q.inputs) {
            const sim::QuantTensorInfo& info = q.tensors.at(static_cast<std::size_t>(id));
            const Tensor& t = feed.at(info.name);
            inputs.push_back(sim::quantize_tensor(
                {t.shape(), std::vector<float>(t.data<float>(), t.data<float>() + t.numel())}, info.quant));
        }
        return inputs;
    }

    const Graph& graph_;
    const arch::ArchSpec& arch_;
    const std::map<std::string, TensorStats>& stats_;
    const Feed& slice_;
    std::unique_ptr<Policy> policy_;
    int threads_;
    std::int64_t batch_;
    std::map<std::string, Tensor> fp32_;   // the model's float outputs on the slice, by name
};

struct Layer {
    std::string node;
    std::int64_t macs = 0;
    std::vector<LayerChoice> options;   // options[0]: the reference
};

// The MAC layers with a choice, each option list led by its reference.
std::vector<Layer> choosable_layers(const Graph& graph, const arch::ArchSpec& arch) {
    const std::vector<NodePlacement> placement = place_nodes(graph, arch);
    std::vector<Layer> layers;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        if (placement[i].role != NodeRole::mac) continue;
        std::vector<LayerChoice> options = mac_layer_options(graph, arch, graph.nodes[i]);
        if (options.empty()) continue;
        std::rotate(options.begin(), options.begin() + static_cast<std::ptrdiff_t>(widest_option(options)),
                    options.begin() + static_cast<std::ptrdiff_t>(widest_option(options)) + 1);
        layers.push_back({graph.nodes[i].name, node_macs(graph, graph.nodes[i]), std::move(options)});
    }
    return layers;
}

LayerChoices reference_choices(const std::vector<Layer>& layers) {
    LayerChoices c;
    for (const Layer& l : layers) c[l.node] = l.options.front();
    return c;
}


// Phase 2: every non-reference option of every layer, the rest at the
// reference, judged by the simulator (independent runs, on the workers).
void measure_sensitivity(const Evaluator& eval, const std::vector<Layer>& layers, double reference_nsr,
                         std::vector<LayerFigures>& figures, int threads,
                         const std::function<void(const std::string&, std::int64_t, std::int64_t)>& progress) {
    std::vector<std::pair<std::size_t, std::size_t>> jobs;
    for (std::size_t l = 0; l < layers.size(); ++l)
        for (std::size_t o = 1; o < layers[l].options.size(); ++o) jobs.push_back({l, o});
    const LayerChoices reference = reference_choices(layers);
    std::vector<double> nsrs(jobs.size(), 0.0);
    std::vector<std::exception_ptr> errors(jobs.size());
    std::vector<std::string> infeasible(jobs.size());
    std::atomic<std::int64_t> done{0};
    std::mutex progress_mutex;
    // One job per worker: each lowers its own program; the simulator inside runs single-threaded.
    sim::parallel_for(static_cast<std::int64_t>(jobs.size()), threads, [&](std::int64_t j) {
        const auto [l, o] = jobs[static_cast<std::size_t>(j)];
        try {
            LayerChoices choices = reference;
            choices[layers[l].node] = layers[l].options[o];
            nsrs[static_cast<std::size_t>(j)] = eval.nsr(choices);
        } catch (const UserError& e) {   // a register the engine cannot realize: the option is out
            infeasible[static_cast<std::size_t>(j)] = e.what();
        } catch (...) {
            errors[static_cast<std::size_t>(j)] = std::current_exception();
        }
        if (progress) {
            std::lock_guard<std::mutex> lock(progress_mutex);
            progress("precision sensitivity", ++done, static_cast<std::int64_t>(jobs.size()));
        }
    }, sim::Schedule::dynamic);
    for (std::size_t j = 0; j < jobs.size(); ++j) {
        if (errors[j]) std::rethrow_exception(errors[j]);
        OptionFigures& f = figures[jobs[j].first].options[jobs[j].second];
        f.infeasible = infeasible[j];
        if (!f.infeasible.empty()) continue;
        f.sqnr_db = to_db(nsrs[j]);
        f.error = nsrs[j] - reference_nsr;
    }
}

// Phase 3: one cycle-model run per distinct option, every layer offering it
// set to it (a layer's cycles and energy depend on its own engine and
// precision; its neighbours change only the bytes its DMA moves).
void measure_costs(const Evaluator& eval, const std::vector<Layer>& layers, const Costs& reference,
                   std::vector<LayerFigures>& figures) {
    std::vector<LayerChoice> distinct;
    for (const Layer& l : layers)
        for (const LayerChoice& c : l.options)
            if (std::find(distinct.begin(), distinct.end(), c) == distinct.end()) distinct.push_back(c);
    for (std::size_t l = 0; l < layers.size(); ++l) {   // the reference run's own figures
        figures[l].options.front().cycles = reference.cycles.count(layers[l].node) ? reference.cycles.at(layers[l].node) : 0.0;
        figures[l].options.front().energy_pj = reference.energy.count(layers[l].node) ? reference.energy.at(layers[l].node) : 0.0;
    }
    for (const LayerChoice& d : distinct) {
        // The layers whose option d the simulator could run (phase 2).
        std::vector<std::pair<std::size_t, std::size_t>> at;
        for (std::size_t l = 0; l < layers.size(); ++l)
            for (std::size_t o = 0; o < layers[l].options.size(); ++o)
                if (o > 0 && layers[l].options[o] == d && figures[l].options[o].infeasible.empty()) at.push_back({l, o});
        auto costs_with = [&](const std::vector<std::pair<std::size_t, std::size_t>>& set) {
            LayerChoices choices = reference_choices(layers);
            for (const auto& [l, o] : set) choices[layers[l].node] = d;
            return eval.costs(choices);
        };
        auto store = [&](const Costs& costs, std::size_t l, std::size_t o) {
            const std::string& node = layers[l].node;
            figures[l].options[o].cycles = costs.cycles.count(node) ? costs.cycles.at(node) : 0.0;
            figures[l].options[o].energy_pj = costs.energy.count(node) ? costs.energy.at(node) : 0.0;
        };
        try {   // all of them in one run
            const Costs costs = costs_with(at);
            for (const auto& [l, o] : at) store(costs, l, o);
        } catch (const UserError&) {   // together they need a register one cannot hold: one run per layer
            for (const auto& [l, o] : at) {
                try {
                    store(costs_with({{l, o}}), l, o);
                } catch (const UserError& e) {
                    figures[l].options[o].infeasible = e.what();
                }
            }
        }
    }
}

ChoiceProblem problem_of(const std::vector<LayerFigures>& figures, BudgetKind kind) {
    ChoiceProblem p;
    for (const LayerFigures& l : figures) {
        std::vector<ChoiceOption> options;
        for (const OptionFigures& f : l.options)
            options.push_back({f.error, kind == BudgetKind::energy ? f.energy_pj : f.cycles,
                               f.lowbit ? double(l.macs) : 0.0, f.infeasible.empty()});
        p.layers.push_back(std::move(options));
    }
    return p;
}

// The solver's limit for a budget: on the choosable layers' sum.
double solver_limit(const Budget& b, double fixed_cycles, double fixed_energy, double ref_cycles, double ref_energy,
                    double total_macs) {
    switch (b.kind) {
        case BudgetKind::cycles: return b.fraction * ref_cycles - fixed_cycles;
        case BudgetKind::energy: return b.fraction * ref_energy - fixed_energy;
        case BudgetKind::lowbit_macs: return b.fraction * total_macs;
    }
    return 0.0;
}

// The reachable extreme of a budget kind, as a fraction (for the error
// message and the sweep): least cycles / energy, most low-bit MACs.
double reachable_fraction(const std::vector<LayerFigures>& figures, BudgetKind kind, double fixed, double reference,
                          double total_macs) {
    double sum = 0.0;
    for (const LayerFigures& l : figures) {
        double best = kind == BudgetKind::lowbit_macs ? 0.0 : std::numeric_limits<double>::infinity();
        for (const OptionFigures& f : l.options) {
            if (!f.infeasible.empty()) continue;
            if (kind == BudgetKind::lowbit_macs) best = std::max(best, f.lowbit ? double(l.macs) : 0.0);
            else best = std::min(best, kind == BudgetKind::energy ? f.energy_pj : f.cycles);
        }
        sum += best;
    }
    if (kind == BudgetKind::lowbit_macs) return total_macs > 0 ? sum / total_macs : 0.0;
    return reference > 0 ? (fixed + sum) / reference : 1.0;
}

void mark_pareto(std::vector<ParetoPoint>& points, BudgetKind kind) {
    auto cost = [&](const ParetoPoint& p) {
        return kind == BudgetKind::energy ? p.energy_fraction
               : kind == BudgetKind::cycles ? p.cycles_fraction
                                            : -p.lowbit_mac_fraction;
    };
    for (ParetoPoint& p : points) {
        p.pareto = std::none_of(points.begin(), points.end(), [&](const ParetoPoint& q) {
            const bool no_worse = q.sqnr_db >= p.sqnr_db && cost(q) <= cost(p);
            const bool better = q.sqnr_db > p.sqnr_db || cost(q) < cost(p);
            return &q != &p && no_worse && better;
        });
    }
    std::sort(points.begin(), points.end(), [&](const ParetoPoint& a, const ParetoPoint& b) { return cost(a) < cost(b); });
}

}  // namespace

MixedPrecisionReport choose_precisions(const Graph& graph, const arch::ArchSpec& arch,
                                       const std::map<std::string, TensorStats>& stats, const Feed& slice,
                                       const CalibOptions& options, const Budget& budget) {
    const auto start = Clock::now();
    MixedPrecisionReport report;
    report.budget = budget;
    const std::vector<Layer> layers = choosable_layers(graph, arch);
    const bool any_choice = std::any_of(layers.begin(), layers.end(), [](const Layer& l) { return l.options.size() > 1; });
    if (!any_choice)
        throw UserError(fmt::format("--mixed-precision: arch '{}' offers no MAC layer of this model more than one "
                                    "(engine, precision); list several precisions or mac_array engines for its ops",
                                    arch.name));
    double total_macs = 0.0;
    for (const Node& n : graph.nodes) total_macs += double(node_macs(graph, n));

    // Phase 1: options and the reference.
    for (const Layer& l : layers) {
        LayerFigures f;
        f.node = l.node;
        f.macs = l.macs;
        for (const LayerChoice& c : l.options) f.options.push_back({c, 0.0, 0.0, 0.0, 0.0, is_lowbit(c.precision)});
        report.layers.push_back(std::move(f));
    }
    const Evaluator eval(graph, arch, stats, slice, options);
    const LayerChoices reference = reference_choices(layers);
    const double reference_nsr = eval.nsr(reference);
    report.reference_sqnr_db = to_db(reference_nsr);
    for (LayerFigures& f : report.layers) f.options.front().sqnr_db = report.reference_sqnr_db;

    // Phases 2 and 3.
    measure_sensitivity(eval, layers, reference_nsr, report.layers, sim::resolve_threads(options.threads),
                        options.progress);
    const Costs reference_costs = eval.costs(reference);
    report.reference_cycles = reference_costs.total_cycles;
    report.reference_energy_pj = reference_costs.total_energy;
    measure_costs(eval, layers, reference_costs, report.layers);
    double fixed_cycles = reference_costs.total_cycles, fixed_energy = reference_costs.total_energy;
    for (const LayerFigures& f : report.layers) {
        fixed_cycles -= f.options.front().cycles;
        fixed_energy -= f.options.front().energy_pj;
    }

    // Phase 4: the budget asked for, and a sweep of budgets of its kind.
    const double reference_cost = budget.kind == BudgetKind::energy ? report.reference_energy_pj : report.reference_cycles;
    const double fixed = budget.kind == BudgetKind::energy ? fixed_energy : fixed_cycles;
    const double reachable = reachable_fraction(report.layers, budget.kind, fixed, reference_cost, total_macs);
    const ChoiceProblem problem = problem_of(report.layers, budget.kind);
    auto solve = [&](const Budget& b) {
        return solve_choices(problem, b.kind,
                             solver_limit(b, fixed_cycles, fixed_energy, report.reference_cycles,
                                          report.reference_energy_pj, total_macs));
    };
    const std::optional<std::vector<int>> asked = solve(budget);
    if (!asked)
        throw UserError(fmt::format("--budget {} cannot be met on arch '{}': the {} reachable is {:.3f} of {}",
                                    to_string(budget), arch.name,
                                    budget.kind == BudgetKind::lowbit_macs ? "largest fraction of low-bit MACs"
                                                                           : "smallest fraction",
                                    reachable, budget.kind == BudgetKind::lowbit_macs ? "all MACs" : "the reference"));
    std::vector<Budget> sweep;
    constexpr int kSweepPoints = 10;
    for (int k = 0; k <= kSweepPoints; ++k) {
        const double t = double(k) / kSweepPoints;
        const double f = budget.kind == BudgetKind::lowbit_macs ? t * reachable : reachable + t * (1.0 - reachable);
        sweep.push_back({budget.kind, std::clamp(f, 0.0, 1.0)});
    }
    std::vector<std::vector<int>> assignments{*asked};
    std::vector<std::string> budgets{to_string(budget)};
    for (const Budget& b : sweep)
        if (auto a = solve(b); a && std::find(assignments.begin(), assignments.end(), *a) == assignments.end()) {
            assignments.push_back(*a);
            budgets.push_back(to_string(b));
        }
    for (std::size_t k = 0; k < assignments.size(); ++k) {
        ParetoPoint p;
        p.budget = budgets[k];
        p.chosen = k == 0;
        double error = 0.0, cycles = fixed_cycles, energy = fixed_energy, lowbit = 0.0;
        for (std::size_t l = 0; l < report.layers.size(); ++l) {
            const OptionFigures& f = report.layers[l].options[static_cast<std::size_t>(assignments[k][l])];
            p.choices[report.layers[l].node] = f.choice;
            error += f.error;
            cycles += f.cycles;
            energy += f.energy_pj;
            lowbit += f.lowbit ? double(report.layers[l].macs) : 0.0;
        }
        p.predicted_sqnr_db = to_db(std::max(reference_nsr + error, 0.0));
        p.sqnr_db = to_db(eval.nsr(p.choices));
        p.cycles = cycles;
        p.energy_pj = energy;
        p.cycles_fraction = report.reference_cycles > 0 ? cycles / report.reference_cycles : 0.0;
        p.energy_fraction = report.reference_energy_pj > 0 ? energy / report.reference_energy_pj : 0.0;
        p.lowbit_mac_fraction = total_macs > 0 ? lowbit / total_macs : 0.0;
        report.candidates.push_back(std::move(p));
    }
    for (std::size_t l = 0; l < report.layers.size(); ++l) report.layers[l].chosen = (*asked)[l];
    report.chosen = report.candidates.front().choices;
    mark_pareto(report.candidates, budget.kind);
    report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return report;
}

}  // namespace bitnpu::calib
