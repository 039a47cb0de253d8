// Small IR-building helpers for the graph-pass tests.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "bitnpu/fp32/executor.hpp"
#include "bitnpu/graph/graph.hpp"

namespace bitnpu::test {

using namespace bitnpu::calib;

inline Node make_node(const std::string& name, const std::string& op, std::vector<std::string> inputs,
                      std::vector<std::string> outputs) {
    Node n;
    n.name = name;
    n.op_type = op;
    n.inputs = std::move(inputs);
    n.outputs = std::move(outputs);
    return n;
}

inline ValueInfo static_input(const std::string& name, const Shape& shape, DType dtype = DType::f32) {
    ValueInfo vi;
    vi.name = name;
    vi.dtype = dtype;
    vi.has_shape = true;
    for (auto d : shape) vi.shape.push_back(d < 0 ? Dim{-1, "batch"} : Dim{d, ""});
    return vi;
}

inline ValueInfo output(const std::string& name) {
    ValueInfo vi;
    vi.name = name;
    return vi;
}

// Deterministic pseudo-random floats in [lo, hi).
inline Tensor random_tensor(const Shape& shape, unsigned seed, float lo = -1.0f, float hi = 1.0f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    Tensor t(DType::f32, shape);
    for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(rng);
    return t;
}

inline std::map<std::string, Tensor> run_graph(const Graph& g, const std::map<std::string, Tensor>& inputs) {
    ExecutorOptions opt;
    opt.threads = 1;
    return Executor(g, opt).run(inputs);
}

// Every output of `after` equals `before`'s within a relative tolerance
// (folding reorders float arithmetic).
inline void check_same_outputs(const std::map<std::string, Tensor>& before, const std::map<std::string, Tensor>& after,
                               float tolerance = 1e-5f) {
    REQUIRE(before.size() == after.size());
    for (const auto& [name, t] : before) {
        const Tensor& u = after.at(name);
        REQUIRE(u.shape() == t.shape());
        const auto a = t.to_floats(), b = u.to_floats();
        for (std::size_t i = 0; i < a.size(); ++i) {
            INFO(name << "[" << i << "]");
            CHECK(b[i] == Approx(a[i]).epsilon(tolerance).margin(tolerance));
        }
    }
}

inline int count_ops(const Graph& g, const std::string& op) {
    int n = 0;
    for (const Node& node : g.nodes) n += node.op_type == op;
    return n;
}

}  // namespace bitnpu::test
