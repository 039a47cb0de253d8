// sub_constant_to_add: Sub(x, c) with c a float constant becomes
// Add(x, -c) (the negation as a new initializer, shared by the Subs that
// read the same c), so that later passes and the vector engines see one
// kind of constant offset: fold_affine_into_linear folds it into a Conv's
// bias, and configs whose vector engine lists Add but not Sub run it.
// Sub(c, x) (it would need a Neg of x) and integer Sub are left alone.
//
// Exactness: exact. IEEE subtraction is defined as the addition of the
// negated operand, and negation is exact, so the results are bit-identical.
#include <map>

#include "bitnpu/frontend/passes.hpp"
#include "pass_utils.hpp"

namespace bitnpu::calib {

int sub_constant_to_add(Graph& graph) {
    std::map<std::string, std::string> negation_of;  // constant -> its negation's initializer
    int changed = 0;
    for (Node& node : graph.nodes) {
        if (node.op_type != "Sub" || !node.domain.empty() || node.inputs.size() != 2) continue;
        const std::string& c = node.inputs[1];
        const Tensor* subtrahend = graph.initializer(c);
        if (!subtrahend || subtrahend->dtype() != DType::f32 || graph.is_initializer(node.inputs[0])) continue;
        auto it = negation_of.find(c);
        if (it == negation_of.end()) {
            Tensor neg = *subtrahend;
            for (std::int64_t i = 0; i < neg.numel(); ++i) neg.data<float>()[i] = -neg.data<float>()[i];
            const std::string name = pass_utils::unique_name(graph, c + ".negated");
            graph.initializers[name] = std::move(neg);
            it = negation_of.emplace(c, name).first;
        }
        node.op_type = "Add";
        node.inputs[1] = it->second;
        ++changed;
    }
    return changed;
}

}  // namespace bitnpu::calib
