// KernelContext helpers: input access and error messages that name the node.
#include "bitnpu/fp32/kernel.hpp"

namespace bitnpu::calib::ops {

std::string describe(const Node& node) {
    const std::string op = node.domain.empty() ? node.op_type : node.domain + "." + node.op_type;
    return "node '" + node.name + "' (" + op + ")";
}

const Tensor& KernelContext::input(std::size_t i) const {
    if (!has_input(i)) fail("required input " + std::to_string(i) + " is missing");
    return *inputs[i];
}

void KernelContext::fail(const std::string& what) const { throw UserError(describe(node) + ": " + what); }

void KernelContext::require_float(std::size_t i) const {
    const DType t = input(i).dtype();
    if (t != DType::f32 && t != DType::f64)
        fail("input " + std::to_string(i) + " has type " + std::string(to_string(t)) +
             "; this op is implemented for float32/float64 only");
}

std::vector<std::int64_t> KernelContext::ints_from_input_or_attr(std::size_t input_index, const std::string& attr,
                                                                 const std::vector<std::int64_t>& fallback) const {
    if (has_input(input_index)) return inputs[input_index]->to_int64s();
    return node.attr_ints(attr, fallback);
}

std::int64_t normalize_axis(const KernelContext& ctx, std::int64_t axis, std::int64_t rank) {
    if (axis < -rank || axis >= rank)
        ctx.fail("axis " + std::to_string(axis) + " is out of range for a rank-" + std::to_string(rank) + " tensor");
    return axis < 0 ? axis + rank : axis;
}

}  // namespace bitnpu::calib::ops
