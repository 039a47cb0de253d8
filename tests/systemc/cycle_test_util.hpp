// Shared builders for the cycle-model tests: architectures built in code,
// one-node graphs, random MAC layers that overflow narrow accumulators.
#pragma once

#include <random>
#include <string>

#include "bitnpu/errors.hpp"
#include "bitnpu/sim/functional/graph.hpp"
#include "bitnpu/sim/systemc/cycle_model.hpp"
#include "test_functional_util.hpp"

namespace bitnpu::sim::cycletest {

using namespace bitnpu::sim::testutil;

inline arch::ArchSpec make_arch(arch::Dataflow dataflow, int rows, int cols, int lanes = 4,
                                std::int64_t sram_kib = 512, double bytes_per_cycle = 16.0) {
    arch::ArchSpec a;
    a.name = "test";
    a.clock_mhz = 500;
    a.memory.sram_kib = sram_kib;
    a.memory.dram_bytes_per_cycle = bytes_per_cycle;
    arch::EngineSpec mac;
    mac.name = "mac";
    mac.kind = arch::EngineKind::mac_array;
    mac.array = {rows, cols};
    mac.dataflow = dataflow;
    mac.ops = {"Conv", "Gemm", "MatMul"};
    arch::EngineSpec vec;
    vec.name = "vec";
    vec.kind = arch::EngineKind::vector;
    vec.lanes = lanes;
    vec.ops = {"Add", "Mul", "MaxPool", "AveragePool", "Concat", "Sigmoid", "Requantize"};
    a.engines = {mac, vec};
    return a;
}

// A graph with one node reading `inputs` (tensor ids 0..n-1) and writing tensor n.
inline QuantGraph one_node_graph(const LayerParams& params, const std::vector<QTensor>& inputs, const std::string& engine,
                                 const std::string& op = "Op") {
    QuantGraph g;
    g.name = "one_" + op;
    QuantNode node;
    node.name = op;
    node.op_type = op;
    node.engine = engine;
    node.params = params;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        g.tensors.push_back({"in" + std::to_string(i), inputs[i].quant, inputs[i].shape});
        g.inputs.push_back(static_cast<int>(i));
        node.inputs.push_back(static_cast<int>(i));
    }
    g.tensors.push_back({"out", QuantParams{}, {}});
    node.outputs = {static_cast<int>(inputs.size())};
    g.outputs = node.outputs;
    g.nodes.push_back(node);
    return g;
}

inline arch::ValueType random_mac_type(std::mt19937& rng) {
    static const arch::ValueType types[] = {arch::ValueType::int8, arch::ValueType::uint8, arch::ValueType::int4,
                                            arch::ValueType::uint4, arch::ValueType::int2, arch::ValueType::int1};
    return types[uniform(rng, 0, 9) < 7 ? uniform(rng, 0, 2) : uniform(rng, 3, 5)];
}

// A random Conv (dense, grouped, depthwise) or Gemm layer with tiny shapes,
// narrow accumulators (12-16 bits often, so they saturate or wrap) and its input.
inline std::pair<MacLayer, QTensor> random_mac_layer(std::mt19937& rng, MacKind kind) {
    MacLayer L;
    L.kind = kind;
    L.input_type = random_mac_type(rng);
    L.weight_type = random_mac_type(rng);
    L.output_type = uniform(rng, 0, 1) ? arch::ValueType::int8 : arch::ValueType::uint8;
    L.input_zero_point = random_zero_point(rng, L.input_type);
    L.weight_zero_point = uniform(rng, 0, 3) == 0 ? random_zero_point(rng, L.weight_type) : 0;
    static const int acc_bits[] = {12, 13, 14, 15, 16, 20, 32};
    L.accumulator.bits = acc_bits[uniform(rng, 0, 6)];
    L.accumulator.overflow = uniform(rng, 0, 1) ? arch::Overflow::wrap : arch::Overflow::saturate;
    L.bias_stage = uniform(rng, 0, 1) ? arch::BiasStage::post : arch::BiasStage::preload;
    Shape in_shape;
    std::int64_t c_out = 0;
    if (kind == MacKind::conv) {
        ConvGeometry& g = L.geometry;
        const int mode = static_cast<int>(uniform(rng, 0, 2));  // dense, grouped, depthwise
        g.groups = mode == 0 ? 1 : static_cast<int>(uniform(rng, 2, 4));
        const std::int64_t cin_g = mode == 2 ? 1 : uniform(rng, 1, 4);
        const std::int64_t cout_g = mode == 2 ? uniform(rng, 1, 2) : uniform(rng, 1, 5);
        c_out = cout_g * g.groups;
        const std::int64_t kh = uniform(rng, 1, 3), kw = uniform(rng, 1, 3);
        g.stride_h = static_cast<int>(uniform(rng, 1, 2));
        g.stride_w = static_cast<int>(uniform(rng, 1, 2));
        g.dilation_h = static_cast<int>(uniform(rng, 1, 2));
        g.dilation_w = static_cast<int>(uniform(rng, 1, 2));
        g.pad_top = static_cast<int>(uniform(rng, 0, 1));
        g.pad_bottom = static_cast<int>(uniform(rng, 0, 1));
        g.pad_left = static_cast<int>(uniform(rng, 0, 1));
        g.pad_right = static_cast<int>(uniform(rng, 0, 1));
        const std::int64_t h = uniform(rng, g.dilation_h * (kh - 1) + 1, 7);
        const std::int64_t w = uniform(rng, g.dilation_w * (kw - 1) + 1, 7);
        in_shape = {uniform(rng, 1, 2), cin_g * g.groups, h, w};
        L.weight_shape = {c_out, cin_g, kh, kw};
    } else {
        const std::int64_t k = uniform(rng, 1, 40);
        c_out = uniform(rng, 1, 12);
        in_shape = {uniform(rng, 1, 6), k};
        L.weight_shape = {c_out, k};
    }
    L.weights.resize(static_cast<std::size_t>(element_count(L.weight_shape)));
    for (auto& w : L.weights) w = random_value(rng, L.weight_type);
    if (uniform(rng, 0, 2) > 0) {
        const std::int64_t lim = std::int64_t{1} << (std::min(L.accumulator.bits, 20) - 2);
        for (std::int64_t c = 0; c < c_out; ++c) L.bias.push_back(uniform(rng, -lim, lim));
    }
    const std::int64_t sets = uniform(rng, 0, 1) ? c_out : 1;
    for (std::int64_t c = 0; c < sets; ++c) L.requant.push_back(random_registers(rng, L.accumulator.bits));
    const arch::ValueRange r = arch::value_range(L.output_type);
    L.output_zero_point = uniform(rng, 0, 1) ? 0 : uniform(rng, r.min, r.max);
    L.clamp_lo = r.min;
    L.clamp_hi = r.max;
    return {L, random_tensor(rng, in_shape, L.input_type, L.input_zero_point)};
}

inline std::int64_t mismatches(const QTensor& a, const QTensor& b) {
    if (a.shape != b.shape || a.values.size() != b.values.size()) return std::max<std::int64_t>(1, a.size());
    std::int64_t n = 0;
    for (std::size_t i = 0; i < a.values.size(); ++i) n += a.values[i] != b.values[i];
    return n;
}

}  // namespace bitnpu::sim::cycletest
