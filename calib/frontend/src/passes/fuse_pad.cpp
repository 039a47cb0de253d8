// fuse_pad: a constant-mode Pad of the spatial axes whose only reader is a
// Conv, AveragePool or MaxPool moves into that node's `pads` attribute
// (TF/Keras and tf2onnx exports write an explicit Pad before every "same"
// convolution with stride 2; torchvision-style `F.pad` before a pool).
//
// Exact only where the consumer's own padding means the same thing:
//   - Conv pads with zeros: the Pad value must be 0.
//   - AveragePool: the Pad's zeros are real elements the average counts, so
//     the merged pool counts its padding (count_include_pad = 1), which is
//     only the same when the pool had no padding of its own or counted it
//     already; ceil_mode = 0 (its last-window rule depends on the input size).
//   - MaxPool ignores its padding (-inf): a Pad value of -inf merges; a Pad
//     of 0 only when the input is known to be >= 0 (Relu, Clip with a
//     lower bound >= 0, Sigmoid, HardSigmoid, or a fused Relu), so that the
//     zeros never win a window. MaxPool with ceil_mode, dilations or an
//     Indices output is left alone, and so is a pad as wide as the kernel
//     (a window of padding only).
// Pads of the batch or channel axes, negative pads (crops), reflect/edge
// modes and consumers with auto_pad SAME_* are left alone.
#include <algorithm>
#include <cmath>
#include <limits>

#include "bitnpu/frontend/passes.hpp"
#include "pass_utils.hpp"

namespace bitnpu::calib {

namespace {

using namespace pass_utils;

struct PadSpec {
    std::vector<std::int64_t> begin, end;   // per axis of the input
    double value = 0;
};

// The Pad's per-axis pads and its constant, if all are constants.
bool pad_spec(const Graph& graph, const Node& pad, PadSpec& s) {
    if (pad.attr_string("mode", "constant") != "constant" || pad.inputs.empty()) return false;
    std::vector<std::int64_t> pads;
    std::vector<std::int64_t> axes;
    if (graph.opset < 11) {
        pads = pad.attr_ints("pads", pad.attr_ints("paddings"));
        s.value = pad.attr_float("value", 0.0f);
    } else {
        if (pad.inputs.size() < 2) return false;
        const Tensor* p = graph.initializer(pad.inputs[1]);
        if (!p) return false;
        pads = p->to_int64s();
        if (pad.inputs.size() > 2 && !pad.inputs[2].empty()) {
            const Tensor* v = graph.initializer(pad.inputs[2]);
            if (!v || v->numel() != 1 || (v->dtype() != DType::f32 && v->dtype() != DType::f64)) return false;
            s.value = v->to_floats().at(0);
        }
        if (pad.inputs.size() > 3 && !pad.inputs[3].empty()) {
            const Tensor* a = graph.initializer(pad.inputs[3]);
            if (!a) return false;
            axes = a->to_int64s();
        }
    }
    std::int64_t rank = known_rank(graph, pad.inputs[0]);
    if (axes.empty()) {
        if (pads.size() % 2 != 0 || (rank >= 0 && static_cast<std::int64_t>(pads.size()) != 2 * rank)) return false;
        rank = static_cast<std::int64_t>(pads.size() / 2);
        for (std::int64_t d = 0; d < rank; ++d) axes.push_back(d);
    }
    if (rank < 0 || pads.size() != 2 * axes.size()) return false;
    s.begin.assign(static_cast<std::size_t>(rank), 0);
    s.end.assign(static_cast<std::size_t>(rank), 0);
    for (std::size_t i = 0; i < axes.size(); ++i) {
        const std::int64_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
        if (a < 0 || a >= rank) return false;
        s.begin[static_cast<std::size_t>(a)] = pads[i];
        s.end[static_cast<std::size_t>(a)] = pads[i + axes.size()];
    }
    return true;
}

// Whether every value of `value` is >= 0 by construction.
bool non_negative(const Graph& graph, const std::string& value) {
    const Node* p = graph.producer_of(value);
    if (!p || !p->domain.empty()) return false;
    auto clip_floor = [&](const Node& n, float& lo) {
        if (graph.opset < 11) {
            if (!n.has_attr("min")) return false;
            lo = n.attr_float("min", 0.0f);
            return true;
        }
        const Tensor* t = n.inputs.size() > 1 && !n.inputs[1].empty() ? graph.initializer(n.inputs[1]) : nullptr;
        if (!t || t->numel() != 1) return false;
        lo = t->to_floats().at(0);
        return true;
    };
    float lo = 0;
    if (p->op_type == "Relu" || p->op_type == "Sigmoid" || p->op_type == "HardSigmoid") return true;
    if (p->op_type == "Clip") return clip_floor(*p, lo) && lo >= 0.0f;
    const std::string act = p->attr_string(fused::kActivation, "");
    return act == "Relu" || (act == "Clip" && p->attr_float(fused::kClipMin, -1.0f) >= 0.0f);
}

bool merge_into(const Graph& graph, const Node& pad, const PadSpec& s, Node& consumer) {
    const std::int64_t rank = static_cast<std::int64_t>(s.begin.size());
    if (rank < 3 || s.begin[0] || s.end[0] || s.begin[1] || s.end[1]) return false;
    for (std::int64_t d = 2; d < rank; ++d)
        if (s.begin[static_cast<std::size_t>(d)] < 0 || s.end[static_cast<std::size_t>(d)] < 0) return false;
    const std::size_t spatial = static_cast<std::size_t>(rank - 2);
    const std::string auto_pad = consumer.attr_string("auto_pad", "NOTSET");
    if (auto_pad != "NOTSET" && auto_pad != "VALID") return false;
    std::vector<std::int64_t> pads = auto_pad == "VALID" ? std::vector<std::int64_t>{} : consumer.attr_ints("pads");
    if (pads.empty()) pads.assign(2 * spatial, 0);
    if (pads.size() != 2 * spatial) return false;
    const bool own_padding = std::any_of(pads.begin(), pads.end(), [](std::int64_t p) { return p != 0; });
    const std::string& op = consumer.op_type;
    if (op == "Conv") {
        const Tensor* w = consumer.inputs.size() > 1 ? graph.initializer(consumer.inputs[1]) : nullptr;
        if (s.value != 0.0 || (w && w->rank() != rank)) return false;
    } else {
        const std::vector<std::int64_t> kernel = consumer.attr_ints("kernel_shape");
        if (kernel.size() != spatial || consumer.attr_int("ceil_mode", 0) != 0) return false;
        const std::vector<std::int64_t> dilations = consumer.attr_ints("dilations");
        if (std::any_of(dilations.begin(), dilations.end(), [](std::int64_t d) { return d != 1; })) return false;
        if (op == "AveragePool") {
            if (s.value != 0.0 || (own_padding && consumer.attr_int("count_include_pad", 0) == 0)) return false;
        } else {  // MaxPool
            if (consumer.outputs.size() > 1 && !consumer.outputs[1].empty()) return false;
            const bool ignored = s.value == -std::numeric_limits<double>::infinity();
            if (!ignored && !(s.value == 0.0 && non_negative(graph, pad.inputs[0]))) return false;
            for (std::size_t d = 0; d < spatial; ++d)
                if (pads[d] + s.begin[d + 2] >= kernel[d] || pads[d + spatial] + s.end[d + 2] >= kernel[d]) return false;
        }
    }
    for (std::size_t d = 0; d < spatial; ++d) {
        pads[d] += s.begin[d + 2];
        pads[d + spatial] += s.end[d + 2];
    }
    consumer.attributes["pads"] = pads;
    consumer.attributes.erase("auto_pad");
    if (op == "AveragePool") consumer.attributes["count_include_pad"] = std::int64_t{1};
    consumer.inputs[0] = pad.inputs[0];
    return true;
}

}  // namespace

int fuse_pad(Graph& graph) {
    std::vector<bool> remove(graph.nodes.size(), false);
    int fused_count = 0;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        const Node& pad = graph.nodes[i];
        PadSpec s;
        if (pad.op_type != "Pad" || !pad.domain.empty() || pad.outputs.size() != 1 || !pad_spec(graph, pad, s)) continue;
        const std::string& y = pad.outputs[0];
        if (is_graph_output(graph, y) || use_count(graph, y) != 1) continue;
        Node* consumer = nullptr;
        for (Node& n : graph.nodes)
            if (!n.inputs.empty() && n.inputs[0] == y) consumer = &n;
        if (!consumer || !consumer->domain.empty() ||
            (consumer->op_type != "Conv" && consumer->op_type != "AveragePool" && consumer->op_type != "MaxPool"))
            continue;
        if (!merge_into(graph, pad, s, *consumer)) continue;
        remove[i] = true;
        ++fused_count;
    }
    erase_marked(graph, remove);
    return fused_count;
}

}  // namespace bitnpu::calib
