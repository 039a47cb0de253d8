// A tensor whose only reader is a lookup-table op (table_reader.hpp).
#include "table_reader.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "bitnpu/fp32/executor.hpp"

namespace bitnpu::calib {

namespace {

bool tied_to_root(const QuantizationPlan& plan, const std::string& tensor, const std::string& root) {
    auto it = plan.tied_to.find(tensor);
    return it != plan.tied_to.end() && it->second == root;
}

// Whether every non-empty output of node is tied to root (the node passes
// root's quantization on).
bool passes_on(const QuantizationPlan& plan, const Node& node, const std::string& root) {
    bool any = false;
    for (const std::string& out : node.outputs) {
        if (out.empty()) continue;
        if (!tied_to_root(plan, out, root)) return false;
        any = true;
    }
    return any;
}

// f on a grid of kTableGrid points over [lo, hi]: the points and f's values.
struct Grid {
    std::vector<float> x, y;
};
Grid evaluate(const ValueMap& f, double lo, double hi) {
    Grid g;
    g.x.resize(kTableGrid);
    for (int i = 0; i < kTableGrid; ++i) g.x[i] = static_cast<float>(lo + (hi - lo) * i / (kTableGrid - 1));
    g.y = f(g.x);
    return g;
}

bool all_finite(const std::vector<float>& v) {
    return std::all_of(v.begin(), v.end(), [](float y) { return std::isfinite(y); });
}

// The last grid index i with |y[j] - anchor| <= tol for every j <= i (from
// the left) or the first with it for every j >= i (from the right).
int flat_end(const Grid& g, float anchor, double tol, bool from_left) {
    if (from_left) {
        int i = 0;
        while (i + 1 < kTableGrid && std::fabs(double(g.y[i + 1]) - anchor) <= tol) ++i;
        return i;
    }
    int i = kTableGrid - 1;
    while (i > 0 && std::fabs(double(g.y[i - 1]) - anchor) <= tol) --i;
    return i;
}

}  // namespace

ReaderIndex reader_index(const Graph& graph, const QuantizationPlan& plan) {
    ReaderIndex index;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        std::set<std::string> read(graph.nodes[i].inputs.begin(), graph.nodes[i].inputs.end());
        for (const std::string& in : read)
            if (!in.empty()) index.readers[in].push_back(i);
    }
    for (const auto& [tensor, root] : plan.tied_to) index.tied[root].push_back(tensor);
    return index;
}

std::optional<TableRead> lone_table_reader(const Graph& graph, const QuantizationPlan& plan, const std::string& root) {
    return lone_table_reader(graph, plan, root, reader_index(graph, plan));
}

std::optional<TableRead> lone_table_reader(const Graph& graph, const QuantizationPlan& plan, const std::string& root,
                                           const ReaderIndex& index) {
    for (const ValueInfo& out : graph.outputs)
        if (tied_to_root(plan, out.name, root)) return std::nullopt;
    // Readers of each tensor tied to root.
    std::map<std::string, std::vector<std::size_t>> readers;
    if (auto tied = index.tied.find(root); tied != index.tied.end())
        for (const std::string& tensor : tied->second)
            if (auto r = index.readers.find(tensor); r != index.readers.end()) readers[tensor] = r->second;
    TableRead out;
    std::string value = root;
    for (;;) {
        auto it = readers.find(value);
        if (it == readers.end() || it->second.size() != 1) return std::nullopt;
        const std::size_t i = it->second.front();
        const Node& node = graph.nodes[i];
        if (node.inputs.empty() || node.inputs[0] != value) return std::nullopt;
        for (std::size_t k = 1; k < node.inputs.size(); ++k)
            if (node.inputs[k] == value) return std::nullopt;
        if (!passes_on(plan, node, root)) {
            if (plan.placement.at(i).role != NodeRole::vector || !is_lut_op(node.op_type)) return std::nullopt;
            for (std::size_t k = 1; k < node.inputs.size(); ++k)
                if (!node.inputs[k].empty() && !graph.initializer(node.inputs[k])) return std::nullopt;
            out.reader = i;
            // Every read of a tensor tied to root is on the path.
            std::size_t reads = 0;
            for (const auto& [tensor, nodes] : readers) reads += nodes.size();
            if (reads != out.chain.size() + 1) return std::nullopt;
            return out;
        }
        std::vector<std::string> outs;
        for (const std::string& o : node.outputs)
            if (!o.empty()) outs.push_back(o);
        if (outs.size() != 1) return std::nullopt;
        out.chain.push_back(i);
        value = outs.front();
    }
}

ValueMap table_function(const Graph& graph, const Node& node) {
    return [&graph, &node](const std::vector<float>& values) {
        const Tensor x = Tensor::from_vector<float>({static_cast<std::int64_t>(values.size())}, values);
        std::vector<const Tensor*> inputs{&x};
        for (std::size_t k = 1; k < node.inputs.size(); ++k)
            inputs.push_back(node.inputs[k].empty() ? nullptr : graph.initializer(node.inputs[k]));
        return run_node(node, inputs, graph.opset).at(0).to_floats();
    };
}

std::optional<ClipRange> table_domain(const ValueMap& f, double lo, double hi, double tol) {
    if (!(lo < hi) || !std::isfinite(lo) || !std::isfinite(hi)) return std::nullopt;
    const Grid coarse = evaluate(f, lo, hi);
    if (!all_finite(coarse.y)) return std::nullopt;
    const float f_lo = coarse.y.front(), f_hi = coarse.y.back();
    const int a = flat_end(coarse, f_lo, tol, true), b = flat_end(coarse, f_hi, tol, false);
    if (a >= b) return std::nullopt;   // flat (within tol of one end) everywhere
    // Refine each end between its grid point and the next one inward.
    const Grid left = evaluate(f, coarse.x[a], coarse.x[a + 1]);
    const Grid right = evaluate(f, coarse.x[b - 1], coarse.x[b]);
    if (!all_finite(left.y) || !all_finite(right.y)) return std::nullopt;
    double lo_clip = left.x[flat_end(left, f_lo, tol, true)];
    double hi_clip = right.x[flat_end(right, f_hi, tol, false)];
    if (!(lo_clip < hi_clip)) return std::nullopt;
    return ClipRange{std::min(lo_clip, 0.0), std::max(hi_clip, 0.0)};
}

double table_tolerance(const TensorStats& output_stats, arch::ValueType output_type) {
    const arch::ValueRange codes = arch::value_range(output_type);
    const double span = std::max(output_stats.max, 0.0) - std::min(output_stats.min, 0.0);
    return 0.5 * span / static_cast<double>(std::max<std::int64_t>(codes.max - codes.min, 1));
}

}  // namespace bitnpu::calib
