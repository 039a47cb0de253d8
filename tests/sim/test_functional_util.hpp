// Random layer and tensor generators shared by the functional-model tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "bitnpu/arch/types.hpp"
#include "bitnpu/sim/datapath/requant.hpp"
#include "bitnpu/sim/functional/mac_layer.hpp"
#include "bitnpu/sim/functional/qtensor.hpp"

namespace bitnpu::sim::testutil {

inline std::int64_t uniform(std::mt19937& rng, std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
}

// A legal value of type t (int1: -1/+1; int2: -1/0/+1).
inline std::int32_t random_value(std::mt19937& rng, arch::ValueType t) {
    if (t == arch::ValueType::int1) return uniform(rng, 0, 1) ? 1 : -1;
    const arch::ValueRange r = arch::value_range(t);
    return static_cast<std::int32_t>(uniform(rng, r.min, r.max));
}

inline QTensor random_tensor(std::mt19937& rng, const Shape& shape, arch::ValueType t, std::int64_t zp) {
    QTensor q(shape, per_tensor(t, 0.05f, zp));
    for (auto& v : q.values) v = random_value(rng, t);
    return q;
}

// A random register set of any kind, valid for an accumulator of acc_bits.
inline RequantRegisters random_registers(std::mt19937& rng, int acc_bits) {
    RequantRegisters r;
    r.kind = static_cast<arch::RequantKind>(uniform(rng, 0, 3));
    r.rounding = static_cast<arch::RoundingMode>(uniform(rng, 0, 4));
    r.dst_bits = acc_bits;
    switch (r.kind) {
        case arch::RequantKind::shifter: r.shift = static_cast<int>(uniform(rng, 0, 12)); break;
        case arch::RequantKind::multiplier:
            r.multiplier = uniform(rng, 1, 65535);
            r.shift = static_cast<int>(uniform(rng, 10, 28));
            break;
        case arch::RequantKind::gemmlowp:
            r.multiplier = uniform(rng, std::int64_t{1} << 30, (std::int64_t{1} << 31) - 1);
            r.shift = static_cast<int>(uniform(rng, -12, 0));
            r.rounding = arch::RoundingMode::half_away;
            break;
        case arch::RequantKind::float32:
            r.float_scale = static_cast<float>(std::ldexp(uniform(rng, 1, 1000), -static_cast<int>(uniform(rng, 8, 18))));
            r.rounding = arch::RoundingMode::half_even;
            break;
    }
    return r;
}

inline arch::ValueType random_type(std::mt19937& rng, bool allow_int16 = true) {
    static const arch::ValueType all[] = {arch::ValueType::int1, arch::ValueType::uint1, arch::ValueType::int2,
                                          arch::ValueType::int4, arch::ValueType::uint4, arch::ValueType::int8,
                                          arch::ValueType::uint8, arch::ValueType::int16};
    return all[uniform(rng, 0, allow_int16 ? 7 : 6)];
}

// A zero-point inside the type's range (0 for types without one).
inline std::int64_t random_zero_point(std::mt19937& rng, arch::ValueType t) {
    if (t == arch::ValueType::int1 || t == arch::ValueType::int2 || t == arch::ValueType::uint1) return 0;
    const arch::ValueRange r = arch::value_range(t);
    return uniform(rng, 0, 1) ? 0 : uniform(rng, r.min, r.max);
}

// A random layer of any precision, geometry and accumulator, and its input.
inline std::pair<MacLayer, QTensor> random_layer_and_input(std::mt19937& rng, MacKind kind) {
    MacLayer L;
    L.kind = kind;
    L.input_type = random_type(rng);
    L.weight_type = uniform(rng, 0, 3) == 0 ? L.input_type : random_type(rng);
    L.output_type = random_type(rng, true);
    L.input_zero_point = random_zero_point(rng, L.input_type);
    L.weight_zero_point = uniform(rng, 0, 3) == 0 ? random_zero_point(rng, L.weight_type) : 0;
    static const int acc_bits[] = {12, 14, 16, 20, 24, 32};
    L.accumulator.bits = acc_bits[uniform(rng, 0, 5)];
    L.accumulator.overflow = uniform(rng, 0, 1) ? arch::Overflow::wrap : arch::Overflow::saturate;
    L.bias_stage = uniform(rng, 0, 1) ? arch::BiasStage::post : arch::BiasStage::preload;

    Shape in_shape;
    if (kind == MacKind::conv) {
        ConvGeometry& g = L.geometry;
        const std::int64_t cin_g = uniform(rng, 1, 4), cout_g = uniform(rng, 1, 4);
        const int mode = static_cast<int>(uniform(rng, 0, 2));  // dense, grouped, depthwise
        g.groups = mode == 0 ? 1 : mode == 1 ? static_cast<int>(uniform(rng, 2, 3)) : static_cast<int>(uniform(rng, 2, 6));
        const std::int64_t cin = mode == 2 ? g.groups : cin_g * g.groups;
        const std::int64_t kh = uniform(rng, 1, 3), kw = uniform(rng, 1, 3);
        g.stride_h = static_cast<int>(uniform(rng, 1, 2));
        g.stride_w = static_cast<int>(uniform(rng, 1, 2));
        g.dilation_h = static_cast<int>(uniform(rng, 1, 2));
        g.dilation_w = static_cast<int>(uniform(rng, 1, 2));
        g.pad_top = static_cast<int>(uniform(rng, 0, 2));
        g.pad_bottom = static_cast<int>(uniform(rng, 0, 2));
        g.pad_left = static_cast<int>(uniform(rng, 0, 2));
        g.pad_right = static_cast<int>(uniform(rng, 0, 2));
        const std::int64_t h = uniform(rng, g.dilation_h * (kh - 1) + 1, 8);
        const std::int64_t w = uniform(rng, g.dilation_w * (kw - 1) + 1, 8);
        L.weight_shape = {cout_g * g.groups, cin / g.groups, kh, kw};
        in_shape = {uniform(rng, 1, 2), cin, h, w};
    } else {
        const std::int64_t k = uniform(rng, 1, 40);
        L.weight_shape = {uniform(rng, 1, 9), k};
        in_shape = uniform(rng, 0, 1) ? Shape{uniform(rng, 1, 6), k} : Shape{2, uniform(rng, 1, 3), k};
    }
    L.weights.resize(static_cast<std::size_t>(element_count(L.weight_shape)));
    for (auto& w : L.weights) w = random_value(rng, L.weight_type);
    const std::int64_t c_out = L.weight_shape[0];
    if (uniform(rng, 0, 3) != 0) {
        // Sometimes wider than the accumulator (bias.bits > accumulator.bits).
        const std::int64_t lim = std::int64_t{1} << (std::min(L.accumulator.bits, 20) - (uniform(rng, 0, 3) ? 2 : 0));
        for (std::int64_t c = 0; c < c_out; ++c) L.bias.push_back(uniform(rng, -lim, lim));
    }
    const bool per_channel = uniform(rng, 0, 1);
    for (std::int64_t c = 0; c < (per_channel ? c_out : 1); ++c)
        L.requant.push_back(random_registers(rng, L.accumulator.bits));
    const arch::ValueRange out = arch::value_range(L.output_type);
    L.output_zero_point = random_zero_point(rng, L.output_type);
    L.clamp_lo = uniform(rng, 0, 1) ? out.min : std::max(out.min, L.output_zero_point);  // ReLU
    L.clamp_hi = out.max;
    return {L, random_tensor(rng, in_shape, L.input_type, L.input_zero_point)};
}

}  // namespace bitnpu::sim::testutil
