// The budget and the exact solver of the mixed-precision assignment
// (mixed_precision.hpp): a multiple-choice knapsack as a 0-1 integer program
// for GLPK's branch and cut.
#include <cmath>
#include <memory>

#include <fmt/format.h>
#include <glpk.h>

#include "bitnpu/calibrator/mixed_precision.hpp"
#include "bitnpu/errors.hpp"

namespace bitnpu::calib {

std::string_view to_string(BudgetKind kind) {
    switch (kind) {
        case BudgetKind::cycles: return "cycles";
        case BudgetKind::energy: return "energy";
        case BudgetKind::lowbit_macs: return "lowbit-macs";
    }
    return "?";
}

std::string to_string(const Budget& budget) { return fmt::format("{}={:g}", to_string(budget.kind), budget.fraction); }

Budget parse_budget(const std::string& text) {
    const std::string usage = "use cycles=F or energy=F (F in (0, 1]: the fraction of the reference's cycles or "
                              "energy) or lowbit-macs=F (F in [0, 1]: the least fraction of MACs below 8 bits)";
    const auto eq = text.find('=');
    if (eq == std::string::npos) throw UserError(fmt::format("--budget '{}': {}", text, usage));
    const std::string kind = text.substr(0, eq), value = text.substr(eq + 1);
    Budget b;
    if (kind == "cycles") b.kind = BudgetKind::cycles;
    else if (kind == "energy") b.kind = BudgetKind::energy;
    else if (kind == "lowbit-macs" || kind == "lowbit_macs") b.kind = BudgetKind::lowbit_macs;
    else throw UserError(fmt::format("--budget '{}': unknown budget '{}'; {}", text, kind, usage));
    std::size_t used = 0;
    try {
        b.fraction = std::stod(value, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != value.size() || !std::isfinite(b.fraction))
        throw UserError(fmt::format("--budget '{}': '{}' is not a number; {}", text, value, usage));
    const bool ok = b.kind == BudgetKind::lowbit_macs ? (b.fraction >= 0.0 && b.fraction <= 1.0)
                                                      : (b.fraction > 0.0 && b.fraction <= 1.0);
    if (!ok) throw UserError(fmt::format("--budget '{}': {} is out of range; {}", text, b.fraction, usage));
    return b;
}

namespace {

struct GlpProblem {
    glp_prob* p = glp_create_prob();
    ~GlpProblem() { glp_delete_prob(p); }
};

}  // namespace

// Variables x[l][o] in {0, 1}; rows: for each layer sum_o x[l][o] = 1, and
// one budget row. Objective: minimize sum error * x.
std::optional<std::vector<int>> solve_choices(const ChoiceProblem& problem, BudgetKind kind, double limit) {
    if (problem.layers.empty()) return std::vector<int>{};
    for (const auto& layer : problem.layers)
        if (layer.empty()) throw std::invalid_argument("solve_choices: a layer without options");
    glp_term_out(GLP_OFF);
    GlpProblem glp;
    glp_set_obj_dir(glp.p, GLP_MIN);
    const int layers = static_cast<int>(problem.layers.size());
    glp_add_rows(glp.p, layers + 1);
    for (int l = 1; l <= layers; ++l) glp_set_row_bnds(glp.p, l, GLP_FX, 1.0, 1.0);
    if (kind == BudgetKind::lowbit_macs) glp_set_row_bnds(glp.p, layers + 1, GLP_LO, limit, 0.0);
    else glp_set_row_bnds(glp.p, layers + 1, GLP_UP, 0.0, limit);

    std::vector<int> rows{0}, cols{0};
    std::vector<double> values{0.0};
    int column = 0;
    for (int l = 0; l < layers; ++l) {
        const auto& options = problem.layers[static_cast<std::size_t>(l)];
        glp_add_cols(glp.p, static_cast<int>(options.size()));
        for (const ChoiceOption& o : options) {
            ++column;
            glp_set_col_kind(glp.p, column, GLP_BV);
            if (!o.allowed) glp_set_col_bnds(glp.p, column, GLP_FX, 0.0, 0.0);
            glp_set_obj_coef(glp.p, column, o.error);
            rows.push_back(l + 1), cols.push_back(column), values.push_back(1.0);
            rows.push_back(layers + 1), cols.push_back(column);
            values.push_back(kind == BudgetKind::lowbit_macs ? o.lowbit_macs : o.cost);
        }
    }
    glp_load_matrix(glp.p, static_cast<int>(values.size()) - 1, rows.data(), cols.data(), values.data());
    glp_iocp parameters;
    glp_init_iocp(&parameters);
    parameters.presolve = GLP_ON;
    parameters.msg_lev = GLP_MSG_OFF;
    parameters.mip_gap = 0.0;   // exact: no early stop at a relative gap
    const int status = glp_intopt(glp.p, &parameters);
    if (status == GLP_ENOPFS || status == GLP_ENODFS) return std::nullopt;   // presolver: no (primal) feasible point
    if (status != 0) throw std::runtime_error(fmt::format("GLPK glp_intopt failed with code {}", status));
    const int mip = glp_mip_status(glp.p);
    if (mip == GLP_NOFEAS) return std::nullopt;
    if (mip != GLP_OPT) throw std::runtime_error(fmt::format("GLPK found no optimum (status {})", mip));
    std::vector<int> chosen(static_cast<std::size_t>(layers), 0);
    column = 0;
    for (int l = 0; l < layers; ++l)
        for (std::size_t o = 0; o < problem.layers[static_cast<std::size_t>(l)].size(); ++o)
            if (glp_mip_col_val(glp.p, ++column) > 0.5) chosen[static_cast<std::size_t>(l)] = static_cast<int>(o);
    return chosen;
}

}  // namespace bitnpu::calib
