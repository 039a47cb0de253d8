// The integer program of a calibrated graph: the CTable's activation
// quantization and layer records lowered for an arch (npusim, evaluation,
// the RTL benches). No calibration happens here.
#include "bitnpu/compile/program.hpp"

#include <fmt/format.h>

#include "bitnpu/errors.hpp"
#include "bitnpu/fp32/batching.hpp"
#include "bitnpu/fp32/shape_inference.hpp"
#include "bitnpu/sim/parallel.hpp"

namespace bitnpu::calib {

ActivationQuant activation_quant_from(const CTable& table, const QuantizationPlan& plan) {
    ActivationQuant quant;
    for (const std::string& tensor : plan.order) {
        const std::string& root = plan.root(tensor);
        if (quant.count(root)) continue;
        const CTableTensor* t = table.find_tensor(root);
        if (!t) t = table.find_tensor(tensor);
        if (t) quant[root] = quant_params(*t);
    }
    return quant;
}

LayerChoices layer_choices_from(const CTable& table, const arch::ArchSpec& arch) {
    LayerChoices choices;
    for (const CTableLayer& layer : table.layers) {
        if (!layer.precision.weight || layer.engine == "host") continue;
        arch::Precision p{layer.precision.weight, layer.precision.activation};
        // Tables written before layers recorded their engine precision hold
        // the output's type there (uint8 on an engine listing int8): the
        // engine's precision of the same weight type and activation width.
        if (const arch::EngineSpec* e = arch.find_engine(layer.engine); e && !e->supports_precision(p))
            for (const arch::Precision& offered : e->precisions)
                if (offered.weight == p.weight && arch::bit_width(offered.activation) == arch::bit_width(p.activation)) {
                    p = offered;
                    break;
                }
        choices[layer.node] = {layer.engine, p};
    }
    return choices;
}

Program build_program(Graph& graph, const arch::ArchSpec& arch, const CTable& table, const Shape& input_shape) {
    check_made_for_model(table, "", graph.source_path, graph.content_hash);
    check_made_for_arch(table, arch);
    std::map<std::string, Shape> shapes;
    if (!graph.inputs.empty()) {
        // A model with a fixed batch runs in chunks of it (batching.hpp): its
        // shapes are inferred for that batch, whatever the data's row count
        // (with the data's, the reshapes of a batch-1 model came out wrong).
        Shape shape = input_shape;
        if (const std::int64_t fixed = fixed_batch(graph); fixed > 0 && !shape.empty()) shape[0] = fixed;
        shapes[graph.inputs.front().name] = shape;
    }
    infer_shapes(graph, shapes);
    Program p;
    p.plan = plan_quantization(graph, arch, layer_choices_from(table, arch));
    const ActivationQuant quant = activation_quant_from(table, p.plan);
    for (const auto& [tensor, root] : p.plan.tied_to)
        if (!quant.count(root))
            throw UserError(fmt::format("the CTable has no quantization for tensor '{}'", root));
    Lowering lowering(graph, arch, p.plan);
    lowering.set_threads(sim::resolve_threads(0));
    for (const CTableLayer& layer : table.layers) lowering.set_recorded_layer(layer);
    p.qgraph = lowering.lower_graph(quant);
    return p;
}

}  // namespace bitnpu::calib
