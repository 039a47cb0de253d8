// concat_zeros_to_pad: a Concat whose leading and/or trailing inputs are
// float constants of zeros (channel padding: the ResNet "option A" shortcut,
// exporters padding channels to a multiple of 8) becomes a Pad of zeros on
// the Concat's axis around the remaining inputs (a Concat of them when there
// are several). A Pad of zeros moves data only (every activation grid holds 0
// exactly), so no engine needs to hold the constant. Only constants that are
// entirely zero qualify; a Concat with a zero block between activations, or
// whose middle inputs are all constants, is left alone.
//
// Exactness: exact (the same values; a constant's -0.0 becomes +0.0).
#include <algorithm>
#include <map>

#include "bitnpu/frontend/passes.hpp"
#include "pass_utils.hpp"

namespace bitnpu::calib {

namespace {

using namespace pass_utils;

bool zero_constant(const Graph& graph, const std::string& name) {
    const Tensor* t = graph.initializer(name);
    if (!t || t->dtype() != DType::f32 || t->rank() == 0) return false;
    const float* d = t->data<float>();
    return std::all_of(d, d + t->numel(), [](float v) { return v == 0.0f; });
}

// The rewrite of one Concat (nodes to put in its place), or false.
bool rewrite(Graph& graph, const Node& concat, std::vector<Node>& out) {
    if (concat.op_type != "Concat" || !concat.domain.empty() || concat.outputs.size() != 1 || concat.inputs.size() < 2)
        return false;
    const std::size_t n = concat.inputs.size();
    std::size_t first = 0, last = n;   // the inputs [first, last) that are not zero blocks
    while (first < n && zero_constant(graph, concat.inputs[first])) ++first;
    while (last > first && zero_constant(graph, concat.inputs[last - 1])) --last;
    if (first == last || (first == 0 && last == n)) return false;
    const bool any_activation = std::any_of(concat.inputs.begin() + static_cast<std::ptrdiff_t>(first),
                                            concat.inputs.begin() + static_cast<std::ptrdiff_t>(last),
                                            [&](const std::string& in) { return !graph.is_initializer(in); });
    if (!any_activation) return false;
    const std::int64_t rank = graph.initializer(concat.inputs[first == 0 ? n - 1 : 0])->rank();
    std::int64_t axis = concat.attr_int("axis", 0);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) return false;
    std::int64_t before = 0, after = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (i >= first && i < last) continue;
        const Tensor* z = graph.initializer(concat.inputs[i]);
        if (z->rank() != rank) return false;
        (i < first ? before : after) += z->dim(axis);
    }
    std::string x = concat.inputs[first];
    if (last - first > 1) {
        Node inner;
        inner.name = unique_name(graph, concat.name + ".inner");
        inner.op_type = "Concat";
        inner.inputs.assign(concat.inputs.begin() + static_cast<std::ptrdiff_t>(first),
                            concat.inputs.begin() + static_cast<std::ptrdiff_t>(last));
        x = unique_name(graph, concat.outputs[0] + ".inner");
        inner.outputs = {x};
        inner.attributes["axis"] = axis;
        out.push_back(std::move(inner));
    }
    std::vector<std::int64_t> pads(static_cast<std::size_t>(2 * rank), 0);
    pads[static_cast<std::size_t>(axis)] = before;
    pads[static_cast<std::size_t>(axis + rank)] = after;
    Node pad;
    pad.name = concat.name;
    pad.op_type = "Pad";
    pad.outputs = concat.outputs;
    pad.attributes["mode"] = std::string("constant");
    if (graph.opset < 11) {
        pad.attributes["pads"] = pads;
        pad.attributes["value"] = 0.0f;
        pad.inputs = {x};
    } else {
        const std::string pads_name = unique_name(graph, concat.name + ".pads");
        graph.initializers[pads_name] = Tensor::from_vector<std::int64_t>({2 * rank}, pads);
        pad.inputs = {x, pads_name};
    }
    out.push_back(std::move(pad));
    return true;
}

}  // namespace

int concat_zeros_to_pad(Graph& graph) { return pass_utils::rewrite_nodes(graph, rewrite); }

}  // namespace bitnpu::calib
