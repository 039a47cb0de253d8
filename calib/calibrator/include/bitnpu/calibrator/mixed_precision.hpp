// Mixed precision under a budget: which engine and precision each MAC layer
// runs at (calib --mixed-precision --budget KIND=F). docs/calibrator.md,
// "Mixed precision", walks through it:
//   1. options:     every (engine, precision) the arch offers a layer
//                   (placement.hpp mac_layer_options; node_mapping pins);
//   2. sensitivity: the output noise each option adds, measured by the
//                   bit-accurate simulator with the other layers at the
//                   reference (the widest option of each layer);
//   3. cost:        cycles and energy of each option from the cycle and
//                   energy models, MACs below 8 bits;
//   4. assignment:  a multiple-choice knapsack solved exactly as a 0-1
//                   integer program (GLPK), at the budget and along a sweep
//                   of budgets (the Pareto list), each candidate then
//                   measured by the simulator.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bitnpu/compile/placement.hpp"

namespace bitnpu::calib {

enum class BudgetKind : std::uint8_t {
    cycles,       // total cycles <= fraction * the reference's
    energy,       // total energy <= fraction * the reference's
    lowbit_macs,  // MACs on < 8-bit precisions >= fraction * all MACs
};

struct Budget {
    BudgetKind kind = BudgetKind::lowbit_macs;
    double fraction = 0.5;
};

// "cycles=0.6", "energy=0.5", "lowbit-macs=0.5"; UserError naming what is
// wrong otherwise (cycles and energy in (0, 1], lowbit-macs in [0, 1]).
Budget parse_budget(const std::string& text);
std::string to_string(const Budget& budget);     // "lowbit-macs=0.5"
std::string_view to_string(BudgetKind kind);     // "lowbit-macs"

// One layer's option as the solver sees it.
struct ChoiceOption {
    double error = 0.0;         // predicted increase of the output noise-to-signal ratio
    double cost = 0.0;          // cycles or pJ (the budget's kind; unused for lowbit-macs)
    double lowbit_macs = 0.0;   // MACs at a precision below 8 bits (0 otherwise)
    bool allowed = true;        // false: never chosen (the arch cannot program the layer there)
};

// A multiple-choice knapsack: exactly one option per layer.
struct ChoiceProblem {
    std::vector<std::vector<ChoiceOption>> layers;
};

// The option index per layer minimizing the summed error subject to
//   cycles / energy: sum of the chosen costs <= limit,
//   lowbit-macs:     sum of the chosen lowbit_macs >= limit;
// solved exactly as a 0-1 integer program by GLPK's branch and cut
// (ties: GLPK's first optimum). nullopt when no assignment meets the limit.
std::optional<std::vector<int>> solve_choices(const ChoiceProblem& problem, BudgetKind kind, double limit);

// What calibrate() reports of a mixed-precision search.
struct OptionFigures {
    LayerChoice choice;
    double sqnr_db = 0.0;        // model outputs vs FP32, this layer at this option, the rest at the reference
    double error = 0.0;          // noise-to-signal increase over the reference (the solver's error)
    double cycles = 0.0, energy_pj = 0.0;
    bool lowbit = false;
    std::string infeasible;      // why the arch cannot run the layer at this option ("" when it can)
};

struct LayerFigures {
    std::string node;
    std::int64_t macs = 0;
    std::vector<OptionFigures> options;   // options[0] is the reference
    int chosen = 0;
};

struct ParetoPoint {
    std::string budget;            // the budget the solver was given
    double predicted_sqnr_db = 0.0;
    double sqnr_db = 0.0;          // measured by the simulator
    double cycles = 0.0, energy_pj = 0.0;
    double cycles_fraction = 0.0, energy_fraction = 0.0, lowbit_mac_fraction = 0.0;
    bool pareto = false;           // no other candidate is at least as good in SQNR and cost, better in one
    bool chosen = false;
    LayerChoices choices;
};

struct MixedPrecisionReport {
    Budget budget;
    double reference_sqnr_db = 0.0, reference_cycles = 0.0, reference_energy_pj = 0.0;
    std::vector<LayerFigures> layers;
    std::vector<ParetoPoint> candidates;   // every assignment the sweep produced, cost ascending
    LayerChoices chosen;
    std::string solver = "GLPK 0-1 integer program (branch and cut)";
    double seconds = 0.0;
};

}  // namespace bitnpu::calib
