// Lowering of data-movement ops (values and quantization unchanged) and of
// the FP32 host fallback (dequantize, run the executor's kernel, quantize).
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

// A float function running the node's FP32 kernel: activation inputs come
// from the simulator (in QuantNode order), constant inputs from the graph.
sim::HostFunction fp32_kernel(const NodeContext& ctx) {
    std::vector<const Tensor*> constants;
    std::vector<bool> from_sim;
    for (const std::string& in : ctx.node.inputs) {
        const bool quantized = !in.empty() && ctx.plan.tied_to.count(in);
        from_sim.push_back(quantized);
        constants.push_back(quantized || in.empty() ? nullptr : ctx.graph.initializer(in));
        if (!quantized && !in.empty() && constants.back() == nullptr)
            throw UserError(fmt::format("node '{}' ({}): input '{}' is computed at run time but is not a quantized "
                                        "activation; the bit-accurate model cannot feed it",
                                        ctx.node.name, ctx.node.op_type, in));
    }
    const Node node = ctx.node;
    const std::int64_t opset = ctx.graph.opset;
    return [node, opset, constants, from_sim](const std::vector<sim::FloatTensor>& inputs) {
        std::vector<Tensor> owned;
        owned.reserve(inputs.size());
        for (const sim::FloatTensor& t : inputs) owned.push_back(to_tensor(t));
        std::vector<const Tensor*> args = constants;
        std::size_t next = 0;
        for (std::size_t i = 0; i < args.size(); ++i)
            if (from_sim[i]) args[i] = &owned.at(next++);
        std::vector<sim::FloatTensor> outputs;
        for (const Tensor& t : run_node(node, args, opset)) outputs.push_back(to_float_tensor(t));
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
