// fold_symbolic_shapes: constant-folds the shape arithmetic of models with a
// symbolic (batch) dimension.
//
// Exporters write `x.view(x.size(0), -1)`, `torch.chunk` and channel
// shuffles as Shape -> Gather -> Div -> Concat -> Reshape/Slice chains.
// fold_constants cannot fold them while a graph input has a symbolic
// dimension, and the quantized model cannot compute them at run time, so
// every dynamic-batch ShuffleNet, ViT or `torch.flatten`-free CNN failed.
//
// How: shape inference runs twice, with every symbolic input dimension set
// to two different probe sizes. A value computed only from constants and
// shapes (the probe knows its exact contents) that comes out the same both
// times does not depend on the symbolic dimensions: it becomes an
// initializer. A Reshape target that differs only in its first entry, where
// it equals the probe batch and the data's own first dimension, becomes the
// constant target with a 0 there (ONNX: copy that dimension from the
// input); a Resize's [batch, ...] sizes become exact constant scales.
// Shapes found by the probes are recorded in value_info, with the
// dimensions that differ left symbolic, so later passes know ranks.
#include <cstring>

#include "bitnpu/frontend/passes.hpp"
#include "bitnpu/fp32/shape_inference.hpp"
#include "pass_utils.hpp"

namespace bitnpu::calib {

namespace {

using namespace pass_utils;

// Two sizes no exporter hard-codes together, so that a value equal under
// both is (for all practical graphs) independent of the symbolic dimension.
// kProbeA/B go to the first (batch) dimension; other symbolic dimensions
// (fully convolutional models' H and W) get sizes that survive five
// stride-2 stages, so the probe runs the graph the way real inputs do.
constexpr std::int64_t kProbeA = 3;
constexpr std::int64_t kProbeB = 7;
constexpr std::int64_t kSpatialProbeA = 32;
constexpr std::int64_t kSpatialProbeB = 96;
// Shape arithmetic is small; anything larger is real data, never folded.
constexpr std::int64_t kMaxFoldedElements = 1024;

// Input shapes with every symbolic dimension set to `size`; false when some
// input has no shape at all or no dimension is symbolic.
bool probe_input_shapes(const Graph& graph, bool first, std::map<std::string, Shape>& shapes) {
    bool symbolic = false;
    for (const ValueInfo& in : graph.inputs) {
        if (!in.has_shape) return false;
        Shape s;
        for (const Dim& d : in.shape) {
            symbolic = symbolic || !d.known();
            const std::int64_t probe =
                s.empty() ? (first ? kProbeA : kProbeB) : (first ? kSpatialProbeA : kSpatialProbeB);
            s.push_back(d.known() ? d.value : probe);
        }
        shapes[in.name] = s;
    }
    return symbolic;
}

bool same_tensor(const Tensor& a, const Tensor& b) {
    return a.dtype() == b.dtype() && a.shape() == b.shape() && a.byte_size() == b.byte_size() &&
           std::memcmp(a.raw(), b.raw(), a.byte_size()) == 0;
}

// The value, when both probes computed it exactly and agree.
const Tensor* invariant_value(const ShapeProbe& a, const ShapeProbe& b, const std::string& name) {
    auto va = a.values.find(name), vb = b.values.find(name);
    if (va == a.values.end() || vb == b.values.end()) return nullptr;
    if (va->second.numel() > kMaxFoldedElements || !same_tensor(va->second, vb->second)) return nullptr;
    return &va->second;
}

bool fold_invariant_outputs(Graph& graph, const Node& node, const ShapeProbe& a, const ShapeProbe& b) {
    if (node.op_type.rfind("Random", 0) == 0) return false;
    std::vector<std::pair<std::string, const Tensor*>> folded;
    for (const std::string& out : node.outputs) {
        if (out.empty()) continue;
        if (is_graph_output(graph, out)) return false;  // keep the interface a computed value
        const Tensor* v = invariant_value(a, b, out);
        if (!v) return false;
        folded.emplace_back(out, v);
    }
    if (folded.empty()) return false;
    for (const auto& [name, v] : folded) graph.initializers[name] = *v;
    return true;
}

// The probe's first dimension of value, or -1.
std::int64_t first_dim(const ShapeProbe& p, const std::string& value) {
    auto it = p.shapes.find(value);
    return it == p.shapes.end() || it->second.second.empty() ? -1 : it->second.second.front();
}

// Reshape(data, target) whose target is [batch, constants...]: the target
// becomes the constant [0, constants...].
bool fold_batch_reshape(Graph& graph, Node& node, const ShapeProbe& a, const ShapeProbe& b) {
    if (node.op_type != "Reshape" || !node.domain.empty() || node.inputs.size() < 2) return false;
    if (node.attr_int("allowzero", 0) != 0 || graph.is_initializer(node.inputs[1])) return false;
    auto ta = a.values.find(node.inputs[1]), tb = b.values.find(node.inputs[1]);
    if (ta == a.values.end() || tb == b.values.end()) return false;
    std::vector<std::int64_t> va = ta->second.to_int64s(), vb = tb->second.to_int64s();
    if (va.empty() || va.size() != vb.size() || va[0] != kProbeA || vb[0] != kProbeB) return false;
    if (first_dim(a, node.inputs[0]) != kProbeA || first_dim(b, node.inputs[0]) != kProbeB) return false;
    for (std::size_t i = 1; i < va.size(); ++i)
        if (va[i] != vb[i] || va[i] == 0) return false;  // a literal 0 elsewhere would change meaning
    va[0] = 0;
    const std::string name = unique_name(graph, node.name + "_static_shape");
    graph.initializers[name] = Tensor::from_vector<std::int64_t>({static_cast<std::int64_t>(va.size())}, va);
    node.inputs[1] = name;
    return true;
}

// The probe's shape of value, or empty.
Shape probed_shape(const ShapeProbe& p, const std::string& value) {
    auto it = p.shapes.find(value);
    return it == p.shapes.end() ? Shape{} : it->second.second;
}

// Resize(X, roi, "", sizes) whose sizes are [batch, static...] (torch's
// F.interpolate(size=...) on a dynamic batch) and whose X has static dims
// after the batch: the sizes become the constant scales out / in. Only
// where that ratio is exact in fp32, so scales reproduce the very output
// size and coordinate mapping that sizes gave.
bool fold_batch_resize(Graph& graph, Node& node, const ShapeProbe& a, const ShapeProbe& b) {
    if (node.op_type != "Resize" || !node.domain.empty() || graph.opset < 11 || node.inputs.size() != 4) return false;
    if (node.has_attr("axes") || graph.is_initializer(node.inputs[3])) return false;
    auto sa = a.values.find(node.inputs[3]), sb = b.values.find(node.inputs[3]);
    if (sa == a.values.end() || sb == b.values.end()) return false;
    const std::vector<std::int64_t> va = sa->second.to_int64s(), vb = sb->second.to_int64s();
    const Shape xa = probed_shape(a, node.inputs[0]), xb = probed_shape(b, node.inputs[0]);
    if (va.size() < 2 || va.size() != vb.size() || xa.size() != va.size() || xb.size() != va.size()) return false;
    if (va[0] != xa[0] || vb[0] != xb[0]) return false;  // the batch itself is resized
    std::vector<float> scales{1.0f};
    for (std::size_t i = 1; i < va.size(); ++i) {
        if (va[i] != vb[i] || xa[i] != xb[i] || xa[i] <= 0) return false;
        const double ratio = static_cast<double>(va[i]) / static_cast<double>(xa[i]);
        const auto scale = static_cast<float>(ratio);
        if (static_cast<double>(scale) != ratio) return false;
        scales.push_back(scale);
    }
    const std::string name = unique_name(graph, node.name + "_static_scales");
    graph.initializers[name] = Tensor::from_vector<float>({static_cast<std::int64_t>(scales.size())}, scales);
    node.inputs[2] = name;
    node.inputs.resize(3);
    return true;
}

// value_info for every value both probes shaped with the same rank; the
// dimensions that differ stay symbolic. Declared value_info is kept.
void record_partial_shapes(Graph& graph, const ShapeProbe& a, const ShapeProbe& b) {
    for (const auto& [name, ta] : a.shapes) {
        auto tb = b.shapes.find(name);
        if (tb == b.shapes.end() || ta.first != tb->second.first) continue;
        const Shape& sa = ta.second;
        const Shape& sb = tb->second.second;
        if (sa.size() != sb.size() || graph.value_info.count(name)) continue;
        ValueInfo vi;
        vi.name = name;
        vi.dtype = ta.first;
        vi.has_shape = true;
        for (std::size_t i = 0; i < sa.size(); ++i) vi.shape.push_back(sa[i] == sb[i] ? Dim{sa[i], ""} : Dim{-1, "batch"});
        graph.value_info[name] = vi;
    }
}

}  // namespace

int fold_symbolic_shapes(Graph& graph) {
    std::map<std::string, Shape> shapes_a, shapes_b;
    if (!probe_input_shapes(graph, true, shapes_a) || !probe_input_shapes(graph, false, shapes_b)) return 0;
    ShapeProbe a, b;
    try {
        a = probe_shapes(graph, shapes_a);
        b = probe_shapes(graph, shapes_b);
    } catch (const std::exception&) {
        return 0;  // a kernel rejected the probe sizes: leave the graph as exported
    }
    std::vector<bool> remove(graph.nodes.size(), false);
    int changed = 0;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        Node& node = graph.nodes[i];
        if (fold_invariant_outputs(graph, node, a, b)) {
            remove[i] = true;
            ++changed;
        } else if (fold_batch_reshape(graph, node, a, b) || fold_batch_resize(graph, node, a, b)) {
            ++changed;
        }
    }
    erase_marked(graph, remove);
    record_partial_shapes(graph, a, b);
    return changed;
}

}  // namespace bitnpu::calib
