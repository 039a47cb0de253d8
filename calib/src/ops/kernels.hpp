// Every op kernel of the FP32 executor, one function per ONNX op (the table
// mapping op names to them is in registry.cpp). Names follow the op names;
// the few that would clash with <cmath>/activation helpers carry an _op suffix.
#pragma once

#include "kernel.hpp"

namespace bitnpu::calib::ops {

std::vector<Tensor> abs(const KernelContext& ctx);
std::vector<Tensor> acos(const KernelContext& ctx);
std::vector<Tensor> acosh(const KernelContext& ctx);
std::vector<Tensor> add(const KernelContext& ctx);
std::vector<Tensor> arg_max(const KernelContext& ctx);
std::vector<Tensor> arg_min(const KernelContext& ctx);
std::vector<Tensor> asin(const KernelContext& ctx);
std::vector<Tensor> asinh(const KernelContext& ctx);
std::vector<Tensor> atan(const KernelContext& ctx);
std::vector<Tensor> atanh(const KernelContext& ctx);
std::vector<Tensor> average_pool(const KernelContext& ctx);
std::vector<Tensor> batch_normalization(const KernelContext& ctx);
std::vector<Tensor> cast(const KernelContext& ctx);
std::vector<Tensor> cast_like(const KernelContext& ctx);
std::vector<Tensor> ceil(const KernelContext& ctx);
std::vector<Tensor> celu(const KernelContext& ctx);
std::vector<Tensor> channel_affine(const KernelContext& ctx);
std::vector<Tensor> clip_op(const KernelContext& ctx);
std::vector<Tensor> concat(const KernelContext& ctx);
std::vector<Tensor> constant(const KernelContext& ctx);
std::vector<Tensor> constant_of_shape(const KernelContext& ctx);
std::vector<Tensor> conv(const KernelContext& ctx);
std::vector<Tensor> conv_transpose(const KernelContext& ctx);
std::vector<Tensor> cos(const KernelContext& ctx);
std::vector<Tensor> cosh(const KernelContext& ctx);
std::vector<Tensor> div(const KernelContext& ctx);
std::vector<Tensor> dropout(const KernelContext& ctx);
std::vector<Tensor> elu(const KernelContext& ctx);
std::vector<Tensor> equal(const KernelContext& ctx);
std::vector<Tensor> erf(const KernelContext& ctx);
std::vector<Tensor> exp(const KernelContext& ctx);
std::vector<Tensor> expand(const KernelContext& ctx);
std::vector<Tensor> flatten(const KernelContext& ctx);
std::vector<Tensor> floor(const KernelContext& ctx);
std::vector<Tensor> gather(const KernelContext& ctx);
std::vector<Tensor> gather_elements(const KernelContext& ctx);
std::vector<Tensor> gemm(const KernelContext& ctx);
std::vector<Tensor> global_average_pool(const KernelContext& ctx);
std::vector<Tensor> global_max_pool(const KernelContext& ctx);
std::vector<Tensor> greater(const KernelContext& ctx);
std::vector<Tensor> greater_or_equal(const KernelContext& ctx);
std::vector<Tensor> hard_sigmoid(const KernelContext& ctx);
std::vector<Tensor> hard_swish(const KernelContext& ctx);
std::vector<Tensor> hardmax(const KernelContext& ctx);
std::vector<Tensor> identity(const KernelContext& ctx);
std::vector<Tensor> is_inf(const KernelContext& ctx);
std::vector<Tensor> is_nan(const KernelContext& ctx);
std::vector<Tensor> leaky_relu_op(const KernelContext& ctx);
std::vector<Tensor> less(const KernelContext& ctx);
std::vector<Tensor> less_or_equal(const KernelContext& ctx);
std::vector<Tensor> log(const KernelContext& ctx);
std::vector<Tensor> log_softmax(const KernelContext& ctx);
std::vector<Tensor> logical_and(const KernelContext& ctx);
std::vector<Tensor> logical_not(const KernelContext& ctx);
std::vector<Tensor> logical_or(const KernelContext& ctx);
std::vector<Tensor> logical_xor(const KernelContext& ctx);
std::vector<Tensor> matmul(const KernelContext& ctx);
std::vector<Tensor> max(const KernelContext& ctx);
std::vector<Tensor> max_pool(const KernelContext& ctx);
std::vector<Tensor> mean(const KernelContext& ctx);
std::vector<Tensor> min(const KernelContext& ctx);
std::vector<Tensor> mul(const KernelContext& ctx);
std::vector<Tensor> neg(const KernelContext& ctx);
std::vector<Tensor> pad(const KernelContext& ctx);
std::vector<Tensor> pow(const KernelContext& ctx);
std::vector<Tensor> prelu(const KernelContext& ctx);
std::vector<Tensor> range(const KernelContext& ctx);
std::vector<Tensor> reciprocal(const KernelContext& ctx);
std::vector<Tensor> reduce_l1(const KernelContext& ctx);
std::vector<Tensor> reduce_l2(const KernelContext& ctx);
std::vector<Tensor> reduce_log_sum(const KernelContext& ctx);
std::vector<Tensor> reduce_log_sum_exp(const KernelContext& ctx);
std::vector<Tensor> reduce_max(const KernelContext& ctx);
std::vector<Tensor> reduce_mean(const KernelContext& ctx);
std::vector<Tensor> reduce_min(const KernelContext& ctx);
std::vector<Tensor> reduce_prod(const KernelContext& ctx);
std::vector<Tensor> reduce_sum(const KernelContext& ctx);
std::vector<Tensor> reduce_sum_square(const KernelContext& ctx);
std::vector<Tensor> relu_op(const KernelContext& ctx);
std::vector<Tensor> reshape(const KernelContext& ctx);
std::vector<Tensor> resize(const KernelContext& ctx);
std::vector<Tensor> round(const KernelContext& ctx);
std::vector<Tensor> selu(const KernelContext& ctx);
std::vector<Tensor> shape(const KernelContext& ctx);
std::vector<Tensor> sigmoid(const KernelContext& ctx);
std::vector<Tensor> sign(const KernelContext& ctx);
std::vector<Tensor> sin(const KernelContext& ctx);
std::vector<Tensor> sinh(const KernelContext& ctx);
std::vector<Tensor> size(const KernelContext& ctx);
std::vector<Tensor> slice(const KernelContext& ctx);
std::vector<Tensor> softmax(const KernelContext& ctx);
std::vector<Tensor> softplus(const KernelContext& ctx);
std::vector<Tensor> softsign(const KernelContext& ctx);
std::vector<Tensor> split(const KernelContext& ctx);
std::vector<Tensor> sqrt(const KernelContext& ctx);
std::vector<Tensor> squeeze(const KernelContext& ctx);
std::vector<Tensor> sub(const KernelContext& ctx);
std::vector<Tensor> sum(const KernelContext& ctx);
std::vector<Tensor> tan(const KernelContext& ctx);
std::vector<Tensor> tanh(const KernelContext& ctx);
std::vector<Tensor> thresholded_relu(const KernelContext& ctx);
std::vector<Tensor> tile(const KernelContext& ctx);
std::vector<Tensor> transpose(const KernelContext& ctx);
std::vector<Tensor> unsqueeze(const KernelContext& ctx);
std::vector<Tensor> where(const KernelContext& ctx);
std::vector<Tensor> mod(const KernelContext& ctx);
std::vector<Tensor> trilu(const KernelContext& ctx);
std::vector<Tensor> cum_sum(const KernelContext& ctx);
std::vector<Tensor> depth_to_space(const KernelContext& ctx);
std::vector<Tensor> space_to_depth(const KernelContext& ctx);
std::vector<Tensor> layer_normalization(const KernelContext& ctx);
std::vector<Tensor> instance_normalization(const KernelContext& ctx);

// Looks up the kernel for an op; nullptr when unsupported.
Kernel find_kernel(const std::string& op_type, const std::string& domain);
// All supported ops as "Op" (default domain) or "domain.Op".
std::vector<std::string> kernel_names();

}  // namespace bitnpu::calib::ops
