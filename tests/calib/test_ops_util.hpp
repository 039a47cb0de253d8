// Helpers for the executor op tests: build one node, run it, compare.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "bitnpu/fp32/executor.hpp"
#include "bitnpu/errors.hpp"

namespace bitnpu::calib::test {

inline Node make_node(const std::string& op, std::size_t n_inputs, std::map<std::string, AttributeValue> attrs = {},
                      std::size_t n_outputs = 1) {
    Node node;
    node.name = "n_" + op;
    node.op_type = op;
    for (std::size_t i = 0; i < n_inputs; ++i) node.inputs.push_back("x" + std::to_string(i));
    for (std::size_t i = 0; i < n_outputs; ++i) node.outputs.push_back("y" + std::to_string(i));
    node.attributes = std::move(attrs);
    return node;
}

// Runs one node; nullptr entries mark omitted optional inputs.
inline std::vector<Tensor> run(const Node& node, const std::vector<const Tensor*>& inputs, std::int64_t opset = 13) {
    return run_node(node, inputs, opset);
}

inline Tensor random_tensor(std::mt19937& rng, Shape shape, float lo = -1.0f, float hi = 1.0f) {
    Tensor t(DType::f32, std::move(shape));
    std::uniform_real_distribution<float> dist(lo, hi);
    for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(rng);
    return t;
}

inline std::vector<float> values(const Tensor& t) { return t.to_floats(); }

// Element-wise |a - b| <= atol + rtol |b|, with shapes equal.
inline void require_close(const Tensor& got, const Tensor& want, double rtol = 1e-5, double atol = 1e-5) {
    REQUIRE(got.shape() == want.shape());
    const auto g = got.to_floats(), w = want.to_floats();
    for (std::size_t i = 0; i < g.size(); ++i) {
        INFO("element " << i);
        REQUIRE(std::abs(g[i] - w[i]) <= atol + rtol * std::abs(w[i]));
    }
}

inline void require_values(const Tensor& got, const Shape& shape, const std::vector<float>& want, double tol = 1e-6) {
    REQUIRE(got.shape() == shape);
    const auto g = got.to_floats();
    REQUIRE(g.size() == want.size());
    for (std::size_t i = 0; i < g.size(); ++i) {
        INFO("element " << i << ": got " << g[i] << ", want " << want[i]);
        REQUIRE(std::abs(g[i] - want[i]) <= tol);
    }
}

}  // namespace bitnpu::calib::test
