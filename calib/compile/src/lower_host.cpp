// Lowering of data-movement ops (values and quantization unchanged) and of
// the FP32 host fallback (dequantize, run the executor's kernel, quantize).
#include <map>
#include <set>

#include <fmt/format.h>

#include "bitnpu/fp32/executor.hpp"
#include "bitnpu/errors.hpp"
#include "lower_ops.hpp"

namespace bitnpu::calib::lowering {
namespace {

Tensor to_tensor(const sim::FloatTensor& t) { return Tensor::from_vector<float>(t.shape, t.data); }

sim::FloatTensor to_float_tensor(const Tensor& t) {
    const Tensor f = t.dtype() == DType::f32 ? t : t.cast(DType::f32);
    return {f.shape(), std::vector<float>(f.data<float>(), f.data<float>() + f.numel())};
}

// A float function running the node's FP32 kernel, after the producers of
// its host region (host_region): activation inputs come from the simulator
// (in QuantNode order: the node's own, then the region's), constant inputs
// from the graph, the region's values from its producers.
sim::HostFunction fp32_kernel(const NodeContext& ctx) {
    const HostRegion region = host_region(ctx.graph, ctx.plan, ctx.node);
    const std::size_t index = static_cast<std::size_t>(&ctx.node - ctx.graph.nodes.data());
    const std::vector<std::string> from_sim = operand_inputs(ctx.graph, ctx.plan, index);
    std::vector<Node> steps;
    for (const Node* n : region.nodes) steps.push_back(*n);
    steps.push_back(ctx.node);
    std::map<std::string, const Tensor*> constants;
    for (const Node& n : steps)
        for (const std::string& in : n.inputs)
            if (const Tensor* t = in.empty() ? nullptr : ctx.graph.initializer(in)) constants[in] = t;
    const std::int64_t opset = ctx.graph.opset;
    return [steps, opset, constants, from_sim](const std::vector<sim::FloatTensor>& inputs) {
        std::map<std::string, Tensor> values;
        for (std::size_t i = 0; i < from_sim.size() && i < inputs.size(); ++i) values[from_sim[i]] = to_tensor(inputs[i]);
        std::vector<Tensor> last;
        for (const Node& n : steps) {
            std::vector<const Tensor*> args;
            for (const std::string& in : n.inputs) {
                if (in.empty()) { args.push_back(nullptr); continue; }
                auto c = constants.find(in);
                auto v = values.find(in);
                if (c == constants.end() && v == values.end())
                    throw UserError(fmt::format("node '{}' ({}): input '{}' is not available to the host", n.name,
                                                n.op_type, in));
                args.push_back(c != constants.end() ? c->second : &v->second);
            }
            last = run_node(n, args, opset);
            for (std::size_t k = 0; k < n.outputs.size() && k < last.size(); ++k)
                if (!n.outputs[k].empty()) values[n.outputs[k]] = last[k];
        }
        std::vector<sim::FloatTensor> outputs;
        for (const Tensor& t : last) outputs.push_back(to_float_tensor(t));
        return outputs;
    };
}

}  // namespace

sim::LayerParams lower_layout(const NodeContext& ctx, CTableLayer&) {
    // Reshape-like ops keep the values in order: the output's static shape,
    // batch dimension inferred. The others (Transpose, Slice, Gather, Pad,
    // ...) move values: the executor's kernel on the dequantized values,
    // which the tied output quantization returns exactly.
    static const std::set<std::string> reshapes = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"};
    if (!reshapes.count(ctx.node.op_type)) return sim::HostLayer{ctx.node.op_type, fp32_kernel(ctx)};
    Shape shape = ctx.shape(ctx.node.outputs[0]);
    if (shape.empty())
        throw UserError(fmt::format("node '{}' ({}): the output shape could not be inferred", ctx.node.name,
                                    ctx.node.op_type));
    shape[0] = -1;
    return sim::ReshapeLayer{shape};
}

sim::LayerParams lower_host(const NodeContext& ctx, CTableLayer&) {
    return sim::HostLayer{ctx.node.op_type, fp32_kernel(ctx)};
}

}  // namespace bitnpu::calib::lowering
