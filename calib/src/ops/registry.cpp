// The op table: ONNX op type -> kernel.
#include <map>
#include <utility>

#include "kernels.hpp"

namespace bitnpu::calib::ops {

namespace {

using Key = std::pair<std::string, std::string>;  // (domain, op_type)

const std::map<Key, Kernel>& table() {
    static const std::map<Key, Kernel> kTable = {
        // Convolution, matrix products, pooling, normalization.
        {{"", "Conv"}, conv},
        {{"", "ConvTranspose"}, conv_transpose},
        {{"", "Gemm"}, gemm},
        {{"", "MatMul"}, matmul},
        {{"", "MaxPool"}, max_pool},
        {{"", "AveragePool"}, average_pool},
        {{"", "GlobalAveragePool"}, global_average_pool},
        {{"", "GlobalMaxPool"}, global_max_pool},
        {{"", "BatchNormalization"}, batch_normalization},
        {{kDomain, kChannelAffine}, channel_affine},
        {{"", "Softmax"}, softmax},
        {{"", "LogSoftmax"}, log_softmax},
        {{"", "Hardmax"}, hardmax},
        // Broadcasting elementwise.
        {{"", "Add"}, add},
        {{"", "Sub"}, sub},
        {{"", "Mul"}, mul},
        {{"", "Div"}, div},
        {{"", "Pow"}, pow},
        {{"", "Max"}, max},
        {{"", "Min"}, min},
        {{"", "Sum"}, sum},
        {{"", "Mean"}, mean},
        {{"", "Equal"}, equal},
        {{"", "Greater"}, greater},
        {{"", "GreaterOrEqual"}, greater_or_equal},
        {{"", "Less"}, less},
        {{"", "LessOrEqual"}, less_or_equal},
        {{"", "And"}, logical_and},
        {{"", "Or"}, logical_or},
        {{"", "Xor"}, logical_xor},
        {{"", "Not"}, logical_not},
        {{"", "Where"}, where},
        // Activations.
        {{"", "Relu"}, relu_op},
        {{"", "LeakyRelu"}, leaky_relu_op},
        {{"", "PRelu"}, prelu},
        {{"", "Clip"}, clip_op},
        {{"", "Sigmoid"}, sigmoid},
        {{"", "Tanh"}, tanh},
        {{"", "HardSigmoid"}, hard_sigmoid},
        {{"", "HardSwish"}, hard_swish},
        {{"", "Elu"}, elu},
        {{"", "Selu"}, selu},
        {{"", "Celu"}, celu},
        {{"", "ThresholdedRelu"}, thresholded_relu},
        {{"", "Softplus"}, softplus},
        {{"", "Softsign"}, softsign},
        // Unary math.
        {{"", "Sqrt"}, sqrt},
        {{"", "Exp"}, exp},
        {{"", "Log"}, log},
        {{"", "Erf"}, erf},
        {{"", "Neg"}, neg},
        {{"", "Abs"}, abs},
        {{"", "Sign"}, sign},
        {{"", "Reciprocal"}, reciprocal},
        {{"", "Floor"}, floor},
        {{"", "Ceil"}, ceil},
        {{"", "Round"}, round},
        {{"", "Sin"}, sin},
        {{"", "Cos"}, cos},
        {{"", "Tan"}, tan},
        {{"", "Asin"}, asin},
        {{"", "Acos"}, acos},
        {{"", "Atan"}, atan},
        {{"", "Sinh"}, sinh},
        {{"", "Cosh"}, cosh},
        {{"", "Asinh"}, asinh},
        {{"", "Acosh"}, acosh},
        {{"", "Atanh"}, atanh},
        {{"", "IsNaN"}, is_nan},
        {{"", "IsInf"}, is_inf},
        // Reductions.
        {{"", "ReduceMean"}, reduce_mean},
        {{"", "ReduceSum"}, reduce_sum},
        {{"", "ReduceMax"}, reduce_max},
        {{"", "ReduceMin"}, reduce_min},
        {{"", "ReduceProd"}, reduce_prod},
        {{"", "ReduceSumSquare"}, reduce_sum_square},
        {{"", "ReduceL1"}, reduce_l1},
        {{"", "ReduceL2"}, reduce_l2},
        {{"", "ReduceLogSum"}, reduce_log_sum},
        {{"", "ReduceLogSumExp"}, reduce_log_sum_exp},
        {{"", "ArgMax"}, arg_max},
        {{"", "ArgMin"}, arg_min},
        // Shape and data movement.
        {{"", "Reshape"}, reshape},
        {{"", "Flatten"}, flatten},
        {{"", "Transpose"}, transpose},
        {{"", "Squeeze"}, squeeze},
        {{"", "Unsqueeze"}, unsqueeze},
        {{"", "Concat"}, concat},
        {{"", "Split"}, split},
        {{"", "Slice"}, slice},
        {{"", "Gather"}, gather},
        {{"", "GatherElements"}, gather_elements},
        {{"", "Pad"}, pad},
        {{"", "Resize"}, resize},
        {{"", "Upsample"}, resize},
        {{"", "Expand"}, expand},
        {{"", "Tile"}, tile},
        {{"", "Shape"}, shape},
        {{"", "Size"}, size},
        {{"", "Identity"}, identity},
        {{"", "Dropout"}, dropout},
        {{"", "Constant"}, constant},
        {{"", "ConstantOfShape"}, constant_of_shape},
        {{"", "Cast"}, cast},
        {{"", "CastLike"}, cast_like},
        {{"", "Range"}, range},
        // Less common ops (misc_ops.cpp).
        {{"", "Mod"}, mod},
        {{"", "Trilu"}, trilu},
        {{"", "CumSum"}, cum_sum},
        {{"", "DepthToSpace"}, depth_to_space},
        {{"", "SpaceToDepth"}, space_to_depth},
        {{"", "LayerNormalization"}, layer_normalization},
        {{"", "InstanceNormalization"}, instance_normalization},
    };
    return kTable;
}

}  // namespace

Kernel find_kernel(const std::string& op_type, const std::string& domain) {
    // "ai.onnx" is another spelling of the default domain.
    const std::string d = domain == "ai.onnx" ? "" : domain;
    auto it = table().find({d, op_type});
    return it == table().end() ? nullptr : it->second;
}

std::vector<std::string> kernel_names() {
    std::vector<std::string> names;
    for (const auto& [key, kernel] : table()) names.push_back(key.first.empty() ? key.second : key.first + "." + key.second);
    return names;
}

}  // namespace bitnpu::calib::ops
