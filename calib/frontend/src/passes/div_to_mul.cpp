// div_by_constant_to_mul: Div(x, c) with c a float constant becomes
// Mul(x, 1/c) (c's reciprocal as a new initializer, shared by the Divs that
// read the same c). One op less for later passes to know: the activation
// fusions, fold_affine_into_linear (a Div right after a Conv folds into its
// weights) and the vector engines, which multiply but do not divide.
// Div(c, x), integer Div and constants with a zero, non-finite or
// non-invertible (reciprocal overflows) element are left alone.
//
// Exactness: x / c is rounded once, x * (1/c) twice (the reciprocal, then
// the product), so the results can differ by 1 ulp (relative 2^-23) in FP32.
#include <cmath>

#include "bitnpu/frontend/passes.hpp"
#include "pass_utils.hpp"

namespace bitnpu::calib {

namespace {

// 1/c elementwise, if every element has a finite, nonzero reciprocal.
bool reciprocal(const Tensor& c, Tensor& out) {
    if (c.dtype() != DType::f32) return false;
    out = c;
    float* d = out.data<float>();
    for (std::int64_t i = 0; i < out.numel(); ++i) {
        if (!std::isfinite(d[i]) || d[i] == 0.0f) return false;
        d[i] = 1.0f / d[i];
        if (!std::isfinite(d[i]) || d[i] == 0.0f) return false;
    }
    return true;
}

}  // namespace

int div_by_constant_to_mul(Graph& graph) {
    return pass_utils::swap_constant_operand(graph, "Div", "Mul", ".reciprocal", reciprocal);
}

}  // namespace bitnpu::calib
