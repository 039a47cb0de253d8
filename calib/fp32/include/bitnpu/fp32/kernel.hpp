// What every op kernel of the FP32 executor sees: the node, its concrete
// inputs and the model's opset, plus the helpers that turn a bad attribute or
// shape into a UserError naming the node. Public because im2col.hpp (which
// the calibrator's input moments use) is built on it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bitnpu/graph/graph.hpp"
#include "bitnpu/errors.hpp"

namespace bitnpu::calib::ops {

struct KernelContext {
    const Node& node;
    const std::vector<const Tensor*>& inputs;
    std::int64_t opset;
    int threads = 1;  // heavy kernels may split their work over this many threads

    std::size_t num_inputs() const { return inputs.size(); }
    bool has_input(std::size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
    // A required input; UserError if the model omitted it.
    const Tensor& input(std::size_t i) const;
    const Tensor* optional_input(std::size_t i) const { return has_input(i) ? inputs[i] : nullptr; }

    // "node 'conv1' (Conv): <what>" as a UserError.
    [[noreturn]] void fail(const std::string& what) const;
    // Throws unless the input has one of the float types (f32/f64).
    void require_float(std::size_t i) const;

    // Attribute that moved to an input in a later opset: the input when
    // present, else the attribute, else the fallback.
    std::vector<std::int64_t> ints_from_input_or_attr(std::size_t input_index, const std::string& attr,
                                                      const std::vector<std::int64_t>& fallback = {}) const;
};

std::string describe(const Node& node);  // "node 'conv1' (Conv)"

// Normalizes an axis in [-rank, rank) to [0, rank); fails otherwise.
std::int64_t normalize_axis(const KernelContext& ctx, std::int64_t axis, std::int64_t rank);

using Kernel = std::vector<Tensor> (*)(const KernelContext&);

// Output helpers.
inline std::vector<Tensor> one(Tensor t) {
    std::vector<Tensor> out;
    out.push_back(std::move(t));
    return out;
}

}  // namespace bitnpu::calib::ops
