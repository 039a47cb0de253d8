// sub_constant_to_add: Sub(x, c) with c a float constant becomes
// Add(x, -c) (the negation as a new initializer, shared by the Subs that
// read the same c), so that later passes and the vector engines see one
// kind of constant offset: fold_affine_into_linear folds it into a Conv's
// bias, and configs whose vector engine lists Add but not Sub run it.
// Sub(c, x) (it would need a Neg of x) and integer Sub are left alone.
//
// Exactness: exact. IEEE subtraction is defined as the addition of the
// negated operand, and negation is exact, so the results are bit-identical.
#include "bitnpu/frontend/passes.hpp"
#include "pass_utils.hpp"

namespace bitnpu::calib {

int sub_constant_to_add(Graph& graph) {
    return pass_utils::swap_constant_operand(graph, "Sub", "Add", ".negated", [](const Tensor& c, Tensor& neg) {
        neg = c;
        for (std::int64_t i = 0; i < neg.numel(); ++i) neg.data<float>()[i] = -neg.data<float>()[i];
        return true;
    });
}

}  // namespace bitnpu::calib
