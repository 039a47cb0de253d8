// The lookup-table ops: functions of one input that a vector engine
// evaluates through its lookup table, y = T[x - qmin] with T[q] = f(s_x (q -
// z_x)) quantized to the output (numerics.md "Lookup table"). One row per op,
// the one place both readers take it from:
//   - arch/ (validate.cpp): a vector engine whose `ops:` lists an op with
//     `needs_lut` must declare `lut:`;
//   - the compiler (calib/compile: is_lut_op): an op with `lowered` is placed
//     on a vector engine that lists it and lowered to a sim::LutLayer, whose
//     table the op's own FP32 kernel fills (lower_vector.cpp lower_lut), so
//     no op needs its float function spelled out anywhere else.
// The columns differ for two reasons: Relu, Clip, Neg, Abs, Sqrt are
// lowered to a table but arch/ does not require one (an engine without
// `lut:` fails at lowering instead, naming the node), and Log is never placed
// on a vector engine because its table would hold -inf (log 0) and NaN for
// the codes at and below zero: it runs on the host.
// Max and Min are table ops only against one-element constants after their
// first input, max(x, c) being a function of x (placement checks the
// constants; two activations need the host).
// Adding a LUT op is one row here (docs/adding_an_op.md).
#pragma once

#include <string_view>

namespace bitnpu::arch {

struct LutOp {
    std::string_view op_type;
    bool needs_lut;  // arch/: a vector engine listing the op must have a `lut:`
    bool lowered;    // compile: runs on a vector engine as a sim::LutLayer
};

// Sorted by op_type.
inline constexpr LutOp kLutOps[] = {
    // op_type        needs_lut  lowered
    {"Abs",           false,     true},
    {"Celu",          true,      true},
    {"Clip",          false,     true},
    {"Elu",           true,      true},
    {"Erf",           true,      true},
    {"Exp",           true,      true},
    {"Gelu",          true,      true},
    {"HardSigmoid",   true,      true},
    {"HardSwish",     true,      true},
    {"LeakyRelu",     true,      true},
    {"Log",           true,      false},
    {"Max",           true,      true},
    {"Min",           true,      true},
    {"Mish",          true,      true},
    {"Neg",           false,     true},
    {"Relu",          false,     true},
    {"Selu",          true,      true},
    {"Sigmoid",       true,      true},
    {"Softplus",      true,      true},
    {"Softsign",      true,      true},
    {"Sqrt",          false,     true},
    {"Swish",         true,      true},
    {"Tanh",          true,      true},
};

// The row of op_type, or nullptr.
constexpr const LutOp* find_lut_op(std::string_view op_type) {
    for (const LutOp& op : kLutOps)
        if (op.op_type == op_type) return &op;
    return nullptr;
}

}  // namespace bitnpu::arch
