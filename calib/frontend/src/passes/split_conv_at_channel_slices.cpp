// split_conv_at_channel_slices: a Conv whose output is read only through
// Slices of its channel axis, possibly after channel-wise ops (a Resize that
// keeps N and C, Relu, Sigmoid, Clip, ...), becomes one Conv per Slice that
// computes only that slice's channels (those rows of its weights and bias),
// the channel-wise ops repeated on each piece. Channels no Slice reads are
// no longer computed.
//
// Why: each piece gets its own activation scale. Detection and line-segment
// heads (M-LSD, CenterNet- and YOLO-style exports) compute several maps in
// one Conv and slice them apart; with one per-tensor scale for all of them
// the map with the widest range (a logit map, or a map the model does not
// even output) sets the quantization step of the others (box offsets).
//
// Exactness: the same function (every output channel is the same sum of
// the same products; the repeated ops act on each channel alone); in FP32
// only the GEMM's summation order may differ (float rounding).
#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "bitnpu/fp32/shape_inference.hpp"
#include "bitnpu/frontend/passes.hpp"
#include "pass_utils.hpp"

namespace bitnpu::calib {

namespace {

using namespace pass_utils;

// Ops that act on each channel alone and keep the channel axis where it is.
bool channelwise(const Graph& graph, const Node& n) {
    static const std::set<std::string> unary = {"Relu", "Sigmoid", "Tanh", "LeakyRelu", "HardSigmoid", "HardSwish",
                                                "Clip", "Swish", "Gelu", "Mish", "Elu", "Softplus"};
    if (!n.domain.empty() || n.outputs.size() != 1) return false;
    for (std::size_t k = 1; k < n.inputs.size(); ++k)
        if (!n.inputs[k].empty() && !graph.is_initializer(n.inputs[k])) return false;
    if (unary.count(n.op_type)) return true;
    if (n.op_type != "Resize") return false;
    Shape in, out;   // N and C unchanged
    return static_shape(graph, n.inputs[0], in) && static_shape(graph, n.outputs[0], out) && in.size() == 4 &&
           out.size() == 4 && in[0] == out[0] && in[1] == out[1];
}

// The constant int64 values of input k of a node (empty when absent).
bool ints_input(const Graph& graph, const Node& n, std::size_t k, std::vector<std::int64_t>& v) {
    v.clear();
    if (n.inputs.size() <= k || n.inputs[k].empty()) return true;
    const Tensor* t = graph.initializer(n.inputs[k]);
    if (!t || (t->dtype() != DType::i64 && t->dtype() != DType::i32)) return false;
    for (std::int64_t i = 0; i < t->numel(); ++i)
        v.push_back(t->dtype() == DType::i64 ? t->data<std::int64_t>()[i] : t->data<std::int32_t>()[i]);
    return true;
}

// The channel range [lo, hi) a Slice of a rank-4 value with C channels and
// shape `shape` selects, if it slices nothing but the channel axis (step 1).
bool channel_range(const Graph& graph, const Node& slice, const Shape& shape, std::int64_t& lo, std::int64_t& hi) {
    if (slice.op_type != "Slice" || !slice.domain.empty() || graph.opset < 10) return false;
    std::vector<std::int64_t> starts, ends, axes, steps;
    if (!ints_input(graph, slice, 1, starts) || !ints_input(graph, slice, 2, ends) ||
        !ints_input(graph, slice, 3, axes) || !ints_input(graph, slice, 4, steps) || starts.size() != ends.size())
        return false;
    if (axes.empty())
        for (std::size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<std::int64_t>(i));
    if (axes.size() != starts.size() || (!steps.empty() && steps.size() != starts.size())) return false;
    lo = 0;
    hi = shape[1];
    for (std::size_t i = 0; i < axes.size(); ++i) {
        const std::int64_t axis = axes[i] < 0 ? axes[i] + 4 : axes[i];
        if (axis < 0 || axis > 3 || (!steps.empty() && steps[i] != 1)) return false;
        const std::int64_t dim = shape[static_cast<std::size_t>(axis)];
        auto clamp = [dim](std::int64_t v) { return std::min(std::max(v < 0 ? v + dim : v, std::int64_t{0}), dim); };
        const std::int64_t s = clamp(starts[i]), e = clamp(ends[i]);
        if (axis == 1) {
            lo = s;
            hi = e;
        } else if (s != 0 || e != dim) {
            return false;
        }
    }
    return lo < hi;
}

// The rows [lo, hi) of a tensor's first axis.
Tensor rows(const Tensor& t, std::int64_t lo, std::int64_t hi) {
    Shape shape = t.shape();
    const std::int64_t row = t.numel() / shape[0];
    shape[0] = hi - lo;
    Tensor out(DType::f32, shape);
    std::copy(t.data<float>() + lo * row, t.data<float>() + hi * row, out.data<float>());
    return out;
}

struct Split {
    std::size_t conv = 0;
    std::vector<std::size_t> chain;    // channel-wise nodes after the conv, in order
    std::vector<std::size_t> slices;
    std::vector<std::pair<std::int64_t, std::int64_t>> ranges;
};

bool find_split(const Graph& graph, std::size_t i, Split& s) {
    const Node& conv = graph.nodes[i];
    if (conv.op_type != "Conv" || !conv.domain.empty() || conv.attr_int("group", 1) != 1 || conv.inputs.size() < 2)
        return false;
    const Tensor* w = graph.initializer(conv.inputs[1]);
    const bool has_bias = conv.inputs.size() > 2 && !conv.inputs[2].empty();
    if (!w || w->dtype() != DType::f32 || w->rank() != 4) return false;
    if (has_bias && !graph.initializer(conv.inputs[2])) return false;
    s.conv = i;
    std::string v = conv.outputs.at(0);
    auto index_of = [&](const Node* n) { return static_cast<std::size_t>(n - graph.nodes.data()); };
    for (int depth = 0; depth < 8; ++depth) {
        if (is_graph_output(graph, v)) return false;
        const std::vector<const Node*> readers = graph.consumers_of(v);
        if (readers.empty()) return false;
        Shape shape;
        if (!static_shape(graph, v, shape) || shape.size() != 4) return false;
        bool all_slices = true;
        std::int64_t covered = 0;
        for (const Node* r : readers) {
            std::int64_t lo = 0, hi = 0;
            if (r->inputs.at(0) != v || !channel_range(graph, *r, shape, lo, hi)) {
                all_slices = false;
                break;
            }
            s.slices.push_back(index_of(r));
            s.ranges.emplace_back(lo, hi);
            covered += hi - lo;
        }
        if (all_slices) return readers.size() > 1 || covered < shape[1];   // nothing gained otherwise
        s.slices.clear();
        s.ranges.clear();
        if (readers.size() != 1 || readers[0]->inputs.at(0) != v || !channelwise(graph, *readers[0])) return false;
        s.chain.push_back(index_of(readers[0]));
        v = readers[0]->outputs[0];
    }
    return false;
}

// The nodes replacing one slice: its Conv, then the chain, the last writing
// the slice's output.
std::vector<Node> piece(Graph& graph, const Split& s, std::size_t k) {
    const Node& conv = graph.nodes[s.conv];
    const auto [lo, hi] = s.ranges[k];
    // The slice index keeps the names of two slices of one range apart.
    const std::string tag = ".part" + std::to_string(k) + ".ch" + std::to_string(lo) + "_" + std::to_string(hi);
    std::vector<Node> out;
    Node c = conv;
    c.name = unique_name(graph, conv.name + tag);
    const std::string w = unique_name(graph, conv.inputs[1] + tag);
    graph.initializers[w] = rows(*graph.initializer(conv.inputs[1]), lo, hi);
    c.inputs[1] = w;
    if (c.inputs.size() > 2 && !c.inputs[2].empty()) {
        const std::string b = unique_name(graph, conv.inputs[2] + tag);
        graph.initializers[b] = rows(*graph.initializer(conv.inputs[2]), lo, hi);
        c.inputs[2] = b;
    }
    const std::string& final_name = graph.nodes[s.slices[k]].outputs[0];
    std::string value = s.chain.empty() ? final_name : unique_name(graph, conv.outputs[0] + tag);
    c.outputs = {value};
    out.push_back(c);
    for (std::size_t j = 0; j < s.chain.size(); ++j) {
        Node n = graph.nodes[s.chain[j]];
        n.name = unique_name(graph, n.name + tag);
        n.inputs[0] = value;
        // A Resize given output sizes: the piece has hi - lo channels.
        std::vector<std::int64_t> sizes;
        if (n.op_type == "Resize" && n.inputs.size() > 3 && ints_input(graph, n, 3, sizes) && sizes.size() == 4) {
            sizes[1] = hi - lo;
            const std::string name = unique_name(graph, n.inputs[3] + tag);
            graph.initializers[name] = Tensor::from_vector<std::int64_t>({4}, sizes);
            n.inputs[3] = name;
        }
        value = j + 1 == s.chain.size() ? final_name : unique_name(graph, n.outputs[0] + tag);
        n.outputs = {value};
        out.push_back(n);
    }
    return out;
}

}  // namespace

int split_conv_at_channel_slices(Graph& graph) {
    int changed = 0;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        Split s;
        if (!find_split(graph, i, s)) continue;
        std::vector<Node> pieces;
        for (std::size_t k = 0; k < s.slices.size(); ++k)
            for (Node& n : piece(graph, s, k)) pieces.push_back(std::move(n));
        // The pieces go where the first slice was: every input they read (the
        // conv's input, constants) exists there, and every reader of a slice
        // output comes after it. The conv, the chain and the slices go.
        std::map<std::size_t, std::vector<Node>> replacements;
        replacements[s.conv];
        for (std::size_t c : s.chain) replacements[c];
        for (std::size_t sl : s.slices) replacements[sl];
        replacements[*std::min_element(s.slices.begin(), s.slices.end())] = std::move(pieces);
        replace_nodes(graph, std::move(replacements));
        ++changed;
        i = 0;   // indices moved; the split conv is gone, so this terminates
    }
    return changed;
}

}  // namespace bitnpu::calib
