// Mixed precision: the exact solver against brute-force enumeration, the
// budget parser, per-layer choices in placement (type narrowing, pins,
// refused choices), and calib's search end to end on the zoo's cnn with
// configs/hetero.yaml (the CTable it writes runs at the chosen engines).
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <random>

#include "bitnpu/arch/load.hpp"
#include "bitnpu/calibrator/calibrator.hpp"
#include "bitnpu/calibrator/mixed_precision.hpp"
#include "bitnpu/compile/program.hpp"
#include "bitnpu/errors.hpp"
#include "bitnpu/fp32/shape_inference.hpp"
#include "bitnpu/calibrator/samples.hpp"
#include "bitnpu/frontend/passes.hpp"
#include "bitnpu/graph/onnx_import.hpp"

using namespace bitnpu;
using namespace bitnpu::calib;
using Catch::Matchers::Contains;

namespace {

// The best summed error over every assignment meeting the limit, by enumeration.
std::optional<double> brute_force(const ChoiceProblem& p, BudgetKind kind, double limit) {
    std::optional<double> best;
    std::vector<int> pick(p.layers.size(), 0);
    std::function<void(std::size_t, double, double, double)> walk = [&](std::size_t l, double err, double cost,
                                                                         double low) {
        if (l == p.layers.size()) {
            const bool ok = kind == BudgetKind::lowbit_macs ? low >= limit - 1e-9 : cost <= limit + 1e-9;
            if (ok && (!best || err < *best)) best = err;
            return;
        }
        for (const ChoiceOption& o : p.layers[l])
            if (o.allowed) walk(l + 1, err + o.error, cost + o.cost, low + o.lowbit_macs);
    };
    walk(0, 0.0, 0.0, 0.0);
    return best;
}

double objective(const ChoiceProblem& p, const std::vector<int>& pick) {
    double e = 0.0;
    for (std::size_t l = 0; l < pick.size(); ++l) e += p.layers[l][static_cast<std::size_t>(pick[l])].error;
    return e;
}

ChoiceProblem random_problem(std::mt19937& rng, std::size_t layers, std::size_t options) {
    std::uniform_real_distribution<double> err(0.0, 1.0), cost(1.0, 10.0), macs(1.0, 100.0);
    std::bernoulli_distribution allowed(0.9);
    ChoiceProblem p;
    for (std::size_t l = 0; l < layers; ++l) {
        const double m = macs(rng);
        std::vector<ChoiceOption> opts;
        opts.push_back({0.0, cost(rng) + 10.0, 0.0, true});   // a reference: no error, dearest, not low-bit
        for (std::size_t o = 1; o < options; ++o) opts.push_back({err(rng), cost(rng), m, allowed(rng)});
        p.layers.push_back(opts);
    }
    return p;
}

}  // namespace

TEST_CASE("mixed precision: the GLPK solver finds the brute-force optimum on random small problems", "[mixed]") {
    std::mt19937 rng(11);
    int feasible = 0, infeasible = 0;
    for (int trial = 0; trial < 60; ++trial) {
        const ChoiceProblem p = random_problem(rng, 2 + trial % 5, 2 + trial % 3);
        for (BudgetKind kind : {BudgetKind::cycles, BudgetKind::lowbit_macs}) {
            double total_cost = 0.0, total_macs = 0.0;
            for (const auto& layer : p.layers) {
                total_cost += layer[0].cost;
                total_macs += layer.back().lowbit_macs;
            }
            const double fraction = std::uniform_real_distribution<double>(0.2, 1.0)(rng);
            const double limit = kind == BudgetKind::cycles ? fraction * total_cost : fraction * total_macs;
            const std::optional<double> best = brute_force(p, kind, limit);
            const std::optional<std::vector<int>> got = solve_choices(p, kind, limit);
            REQUIRE(best.has_value() == got.has_value());
            if (!best) {
                ++infeasible;
                continue;
            }
            ++feasible;
            CHECK(objective(p, *got) == Approx(*best).margin(1e-9));
            double cost = 0.0, low = 0.0;
            for (std::size_t l = 0; l < got->size(); ++l) {
                const ChoiceOption& o = p.layers[l][static_cast<std::size_t>((*got)[l])];
                CHECK(o.allowed);
                cost += o.cost;
                low += o.lowbit_macs;
            }
            if (kind == BudgetKind::cycles) CHECK(cost <= limit + 1e-6);
            else CHECK(low >= limit - 1e-6);
        }
    }
    CHECK(feasible > 40);   // the trials exercise both outcomes
    CHECK(infeasible > 0);
}

TEST_CASE("mixed precision: budgets parse, and bad ones say what is expected", "[mixed]") {
    CHECK(parse_budget("cycles=0.6").kind == BudgetKind::cycles);
    CHECK(parse_budget("energy=1").fraction == 1.0);
    CHECK(parse_budget("lowbit-macs=0").kind == BudgetKind::lowbit_macs);
    CHECK(to_string(parse_budget("lowbit-macs=0.5")) == "lowbit-macs=0.5");
    CHECK_THROWS_WITH(parse_budget("cycles"), Contains("cycles=F"));
    CHECK_THROWS_WITH(parse_budget("area=0.5"), Contains("unknown budget 'area'"));
    CHECK_THROWS_WITH(parse_budget("cycles=0"), Contains("out of range"));
    CHECK_THROWS_WITH(parse_budget("lowbit-macs=1.5"), Contains("out of range"));
    CHECK_THROWS_WITH(parse_budget("energy=half"), Contains("not a number"));
    CHECK_THROWS_WITH(parse_budget("energy=nan"), Contains("not a number"));
}

namespace {

struct Zoo {
    arch::ArchSpec arch = arch::load_arch(BITNPU_SOURCE_DIR "/configs/hetero.yaml");
    Graph graph = load_onnx(BITNPU_SOURCE_DIR "/models/cnn.onnx");
    Zoo() {
        run_standard_passes(graph);
        infer_shapes(graph, {{"input", {1, 1, 28, 28}}});
    }
};

}  // namespace

TEST_CASE("mixed precision: a layer's choice narrows the tensor it reads; pins and bad choices are refused",
          "[mixed]") {
    Zoo z;
    const QuantizationPlan base = plan_quantization(z.graph, z.arch);
    // conv2 reads pool1's output, tied to conv1's: int8 by default.
    const std::string conv1_out = z.graph.nodes[0].outputs[0];
    CHECK(base.constraints.at(base.root(conv1_out)).type == arch::ValueType::int8);
    const QuantizationPlan narrowed =
        plan_quantization(z.graph, z.arch, {{"/conv2/Conv", {"bnn", {arch::ValueType::int1, arch::ValueType::int1}}}});
    const TensorConstraints& c = narrowed.constraints.at(narrowed.root(conv1_out));
    CHECK(c.type == arch::ValueType::int1);
    CHECK(c.unsigned_ok);          // bnn lists uint1; mac8 and vec read it widened
    CHECK(c.power_of_two);         // bnn's shifter reads it

    CHECK_THROWS_WITH(plan_quantization(z.graph, z.arch, {{"/conv2/Conv", {"mac8", {arch::ValueType::int4, arch::ValueType::int8}}}}),
                      Contains("engine 'mac8' offers int8xint8"));
    CHECK_THROWS_WITH(plan_quantization(z.graph, z.arch, {{"/conv2/Conv", {"vec", {arch::ValueType::int8, arch::ValueType::int8}}}}),
                      Contains("vector engine"));
    arch::ArchSpec pinned = z.arch;
    pinned.node_mapping["/conv2/Conv"] = "mac8";
    CHECK_THROWS_WITH(plan_quantization(z.graph, pinned, {{"/conv2/Conv", {"mac4", {arch::ValueType::int4, arch::ValueType::int8}}}}),
                      Contains("pins the layer to engine 'mac8'"));
    const std::vector<LayerChoice> options = mac_layer_options(z.graph, pinned, z.graph.nodes[2]);
    REQUIRE(z.graph.nodes[2].name == "/conv2/Conv");
    REQUIRE(options.size() == 1);
    CHECK(options[0].engine == "mac8");
    // mac8, mac4 and bnn: bnn's int1 and uint1 activations are one option (the data decides the sign).
    CHECK(mac_layer_options(z.graph, z.arch, z.graph.nodes[2]).size() == 3);
}

TEST_CASE("mixed precision: calib meets a low-bit MAC budget on the zoo cnn and the CTable runs at its choices",
          "[mixed]") {
    Zoo z;
    const auto samples = load_sample_file(BITNPU_SOURCE_DIR "/data/calib_500.npy", z.graph);
    CalibOptions options;
    options.samples = 64;
    options.threads = 1;
    options.mixed_precision = Budget{BudgetKind::lowbit_macs, 0.5};
    arch::ArchSpec arch = z.arch;
    arch.node_mapping["/fc2/Gemm"] = "mac8";   // a pin the search must respect
    const CalibResult r = calibrate(z.graph, arch, *samples, options);
    REQUIRE(r.mixed_precision);
    double lowbit = 0.0;
    for (const auto& [precision, fraction] : r.mac_fraction_by_precision)
        if (precision != "int8xint8" && precision != "host") lowbit += fraction;
    CHECK(lowbit >= 0.5);
    int chosen = 0;
    for (const ParetoPoint& p : r.mixed_precision->candidates) {
        chosen += p.chosen;
        CHECK(std::isfinite(p.sqnr_db));
    }
    CHECK(chosen == 1);
    CHECK(r.mixed_precision->candidates.size() >= 2);
    // The table records each layer where the search put it, and npusim's program follows it.
    const Program program = build_program(z.graph, arch, r.table, {1, 1, 28, 28});
    for (const CTableLayer& layer : r.table.layers) {
        if (!layer.precision.weight) continue;
        const LayerChoice& want = r.mixed_precision->chosen.at(layer.node);
        CHECK(layer.engine == want.engine);
        if (layer.node == "/fc2/Gemm") CHECK(layer.engine == "mac8");
        for (std::size_t i = 0; i < z.graph.nodes.size(); ++i)
            if (z.graph.nodes[i].name == layer.node) CHECK(program.plan.placement[i].engine->name == want.engine);
    }
}
