// A small CNN built in code (conv, maxpool, depthwise conv, residual add,
// global average pool, reshape, FC, LUT) with random int8 weights and
// registers that keep activations in range: the whole-graph test and the
// benchmark run it.
#pragma once

#include <cmath>
#include <random>
#include <string>

#include "bitnpu/sim/functional/graph.hpp"

namespace bitnpu::sim::cnntest {

struct CnnBuilder {
    QuantGraph graph;
    std::mt19937 rng;
    explicit CnnBuilder(unsigned seed) : rng(seed) {}

    int tensor(const std::string& name) {
        graph.tensors.push_back({name, per_tensor(arch::ValueType::int8, 0.05f, 0), {}});
        return static_cast<int>(graph.tensors.size()) - 1;
    }
    int node(const std::string& name, const std::string& op, const std::string& engine, LayerParams params,
             std::vector<int> inputs) {
        QuantNode n;
        n.name = name;
        n.op_type = op;
        n.engine = engine;
        n.params = std::move(params);
        n.inputs = std::move(inputs);
        n.outputs = {tensor(name)};
        graph.nodes.push_back(n);
        return n.outputs[0];
    }
    // A multiplier register set for m = target_std / (73^2 * sqrt(K)): keeps
    // int8 outputs of a K-long random int8 dot product spread over the range.
    RequantRegisters registers(std::int64_t k) {
        RequantRegisters r;
        r.kind = arch::RequantKind::multiplier;
        r.rounding = arch::RoundingMode::half_up;
        r.shift = 24;
        r.dst_bits = 32;
        r.multiplier = std::max<std::int64_t>(1, std::llround(40.0 / (73.0 * 73.0 * std::sqrt(double(k))) * (1 << 24)));
        return r;
    }
    int conv(const std::string& name, int input, std::int64_t c_in, std::int64_t c_out, int k, int stride, int groups,
             bool relu) {
        MacLayer L;
        L.kind = MacKind::conv;
        L.weight_shape = {c_out, c_in / groups, k, k};
        L.geometry.stride_h = L.geometry.stride_w = stride;
        L.geometry.pad_top = L.geometry.pad_left = L.geometry.pad_bottom = L.geometry.pad_right = k / 2;
        L.geometry.groups = groups;
        L.weights.resize(static_cast<std::size_t>(element_count(L.weight_shape)));
        std::uniform_int_distribution<int> w(-127, 127), b(-2000, 2000);
        for (auto& v : L.weights) v = w(rng);
        for (std::int64_t c = 0; c < c_out; ++c) L.bias.push_back(b(rng));
        L.requant = {registers(c_in / groups * k * k)};
        L.clamp_lo = relu ? 0 : -128;
        return node(name, "Conv", "mac", L, {input});
    }
    int gemm(const std::string& name, int input, std::int64_t k, std::int64_t n) {
        MacLayer L;
        L.kind = MacKind::gemm;
        L.weight_shape = {n, k};
        L.weights.resize(static_cast<std::size_t>(n * k));
        std::uniform_int_distribution<int> w(-127, 127);
        for (auto& v : L.weights) v = w(rng);
        L.requant = {registers(k)};
        return node(name, "Gemm", "mac", L, {input});
    }
};

// Input [1, 3, size, size]; widths w, 2w, 4w; 10 outputs.
inline QuantGraph make_cnn(unsigned seed, std::int64_t size, std::int64_t w) {
    CnnBuilder b(seed);
    b.graph.name = "cnn";
    const int x = b.tensor("input");
    b.graph.inputs = {x};
    int t = b.conv("conv1", x, 3, w, 3, 1, 1, true);
    MaxPoolLayer pool;
    pool.geometry.kernel_h = pool.geometry.kernel_w = 2;
    pool.geometry.stride_h = pool.geometry.stride_w = 2;
    t = b.node("pool1", "MaxPool", "vec", pool, {t});
    t = b.conv("conv2", t, w, 2 * w, 3, 1, 1, true);
    t = b.node("pool2", "MaxPool", "vec", pool, {t});
    const int c3 = b.conv("conv3", t, 2 * w, 4 * w, 3, 1, 1, true);
    const int dw = b.conv("dwconv", c3, 4 * w, 4 * w, 3, 1, static_cast<int>(4 * w), false);
    AddLayer add;
    add.a_multiplier = add.b_multiplier = 1 << 14;
    add.shift = 15;
    t = b.node("residual", "Add", "vec", add, {c3, dw});
    AvgPoolLayer gap;
    gap.geometry.global = true;
    const std::int64_t plane = (size / 4) * (size / 4);
    RequantRegisters r;
    r.shift = 20;
    r.multiplier = (std::int64_t{1} << 20) / plane;
    gap.registers_by_count[plane] = r;
    t = b.node("gap", "GlobalAveragePool", "vec", gap, {t});
    t = b.node("flatten", "Flatten", "layout", ReshapeLayer{{1, 4 * w}}, {t});
    t = b.gemm("fc", t, 4 * w, 10);
    LutLayer lut;
    for (int code = -128; code <= 127; ++code) lut.table.push_back(std::clamp(code * 3 / 4 + 5, -128, 127));
    t = b.node("lut", "Sigmoid", "vec", lut, {t});
    b.graph.outputs = {t};
    b.graph.tensors[static_cast<std::size_t>(x)].shape = {1, 3, size, size};
    return b.graph;
}

}  // namespace bitnpu::sim::cnntest
