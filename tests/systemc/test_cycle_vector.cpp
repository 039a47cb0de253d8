// Vector-engine layers on the cycle model against the functional
// run_*_layer functions: random shapes, broadcasting, windows, registers.
#include <catch2/catch.hpp>

#include "bitnpu/sim/systemc/cycle_model.hpp"
#include "cycle_test_util.hpp"

using namespace bitnpu;
using namespace bitnpu::sim;
using namespace bitnpu::sim::cycletest;

namespace {

Shape random_shape(std::mt19937& rng) {
    return {uniform(rng, 1, 2), uniform(rng, 1, 5), uniform(rng, 1, 9), uniform(rng, 1, 9)};
}

// Runs one vector layer on a random lane count and SRAM; the mismatches.
std::int64_t check_layer(std::mt19937& rng, const LayerParams& params, const std::vector<QTensor>& in,
                         const QTensor& expected) {
    arch::ArchSpec a = make_arch(arch::Dataflow::output_stationary, 4, 4, static_cast<int>(uniform(rng, 1, 16)),
                                 uniform(rng, 0, 1) ? 512 : 1, uniform(rng, 0, 1) ? 16.0 : 0.25);
    const auto result = systemc::run_cycle_model(one_node_graph(params, in, "vec"), a, in);
    if (!expected.values.empty()) CHECK(result.report.layers.at(0).cycles > 0);
    return mismatches(result.raw_outputs.at(0), expected);
}

AccumulatorRule random_rule(std::mt19937& rng) {
    return {static_cast<int>(uniform(rng, 12, 32)), uniform(rng, 0, 1) ? arch::Overflow::wrap : arch::Overflow::saturate};
}

void random_clamp(std::mt19937& rng, arch::ValueType& type, std::int64_t& zp, std::int64_t& lo, std::int64_t& hi) {
    type = uniform(rng, 0, 1) ? arch::ValueType::int8 : arch::ValueType::uint8;
    const arch::ValueRange r = arch::value_range(type);
    zp = uniform(rng, r.min, r.max);
    lo = r.min;
    hi = r.max;
}

}  // namespace

TEST_CASE("cycle model: random Add/Sub and Mul with broadcasting match the functional model", "[systemc][vector]") {
    std::mt19937 rng(11);
    std::int64_t bad = 0;
    for (int i = 0; i < 150; ++i) {
        const Shape sa = random_shape(rng);
        Shape sb = sa;
        for (auto& d : sb) if (uniform(rng, 0, 2) == 0) d = 1;   // broadcast some axes
        const QTensor a = random_tensor(rng, sa, arch::ValueType::int8, uniform(rng, -5, 5));
        const QTensor b = random_tensor(rng, sb, arch::ValueType::uint8, uniform(rng, 100, 140));
        if (i % 2) {
            AddLayer l;
            l.subtract = uniform(rng, 0, 1);
            l.a_zero_point = a.quant.zero_points[0];
            l.b_zero_point = b.quant.zero_points[0];
            l.a_multiplier = uniform(rng, 1, 1 << 15);
            l.b_multiplier = uniform(rng, 1, 1 << 15);
            l.shift = static_cast<int>(uniform(rng, 0, 20));
            l.rounding = static_cast<arch::RoundingMode>(uniform(rng, 0, 4));
            l.accumulator = random_rule(rng);
            random_clamp(rng, l.output_type, l.output_zero_point, l.clamp_lo, l.clamp_hi);
            bad += check_layer(rng, l, {a, b}, run_add_layer(l, a, b));
        } else {
            MulLayer l;
            l.a_zero_point = a.quant.zero_points[0];
            l.b_zero_point = b.quant.zero_points[0];
            l.accumulator = random_rule(rng);
            l.requant = random_registers(rng, l.accumulator.bits);
            random_clamp(rng, l.output_type, l.output_zero_point, l.clamp_lo, l.clamp_hi);
            bad += check_layer(rng, l, {b, a}, run_mul_layer(l, b, a));
        }
    }
    CHECK(bad == 0);
}

TEST_CASE("cycle model: random MaxPool and AveragePool match the functional model", "[systemc][vector]") {
    std::mt19937 rng(12);
    std::int64_t bad = 0;
    for (int i = 0; i < 150; ++i) {
        const QTensor x = random_tensor(rng, random_shape(rng), arch::ValueType::int8, uniform(rng, -3, 3));
        PoolGeometry g;
        g.global = uniform(rng, 0, 5) == 0;
        g.kernel_h = static_cast<int>(uniform(rng, 1, std::min<std::int64_t>(3, x.shape[2])));
        g.kernel_w = static_cast<int>(uniform(rng, 1, std::min<std::int64_t>(3, x.shape[3])));
        g.stride_h = static_cast<int>(uniform(rng, 1, 2));
        g.stride_w = static_cast<int>(uniform(rng, 1, 2));
        g.pad_top = static_cast<int>(uniform(rng, 0, g.kernel_h - 1));
        g.pad_left = static_cast<int>(uniform(rng, 0, g.kernel_w - 1));
        g.ceil_mode = uniform(rng, 0, 1);
        if (i % 2) {
            MaxPoolLayer l;
            l.geometry = g;
            bad += check_layer(rng, l, {x}, run_max_pool_layer(l, x));
        } else {
            AvgPoolLayer l;
            l.geometry = g;
            l.count_include_pad = uniform(rng, 0, 1);
            l.input_zero_point = x.quant.zero_points[0];
            l.accumulator = random_rule(rng);
            for (std::int64_t n : window_counts(l, x.shape)) l.registers_by_count[n] = random_registers(rng, l.accumulator.bits);
            random_clamp(rng, l.output_type, l.output_zero_point, l.clamp_lo, l.clamp_hi);
            bad += check_layer(rng, l, {x}, run_avg_pool_layer(l, x));
        }
    }
    CHECK(bad == 0);
}

TEST_CASE("cycle model: random Concat, LUT and Requantize match the functional model", "[systemc][vector]") {
    std::mt19937 rng(13);
    std::int64_t bad = 0;
    for (int i = 0; i < 150; ++i) {
        const Shape s = random_shape(rng);
        const QTensor x = random_tensor(rng, s, arch::ValueType::int8, uniform(rng, -3, 3));
        if (i % 3 == 0) {
            ConcatLayer l;
            l.axis = static_cast<int>(uniform(rng, -4, 3));
            const int axis = l.axis < 0 ? l.axis + 4 : l.axis;
            std::vector<QTensor> in;
            std::vector<const QTensor*> ptrs;
            for (int k = 0, n = static_cast<int>(uniform(rng, 1, 3)); k < n; ++k) {
                Shape sk = s;
                sk[static_cast<std::size_t>(axis)] = uniform(rng, 1, 4);
                in.push_back(random_tensor(rng, sk, arch::ValueType::int8, 0));
                ConcatInput ci;
                ci.zero_point = uniform(rng, -3, 3);
                if (uniform(rng, 0, 1)) ci.requant = random_registers(rng, 32);
                l.inputs.push_back(ci);
            }
            for (const QTensor& t : in) ptrs.push_back(&t);
            random_clamp(rng, l.output_type, l.output_zero_point, l.clamp_lo, l.clamp_hi);
            bad += check_layer(rng, l, in, run_concat_layer(l, ptrs));
        } else if (i % 3 == 1) {
            LutLayer l;
            for (int c = 0; c < 256; ++c) l.table.push_back(uniform(rng, -128, 127));
            bad += check_layer(rng, l, {x}, run_lut_layer(l, x));
        } else {
            RequantizeLayer l;
            l.input_zero_point = x.quant.zero_points[0];
            l.axis = static_cast<int>(uniform(rng, 0, 3));
            const std::int64_t sets = uniform(rng, 0, 1) ? s[static_cast<std::size_t>(l.axis)] : 1;
            for (std::int64_t c = 0; c < sets; ++c) l.requant.push_back(random_registers(rng, 32));
            random_clamp(rng, l.output_type, l.output_zero_point, l.clamp_lo, l.clamp_hi);
            bad += check_layer(rng, l, {x}, run_requantize_layer(l, x));
        }
    }
    CHECK(bad == 0);
}

TEST_CASE("cycle model: random linear Resize matches the functional model", "[systemc][vector]") {
    std::mt19937 rng(17);
    std::int64_t bad = 0;
    const ResizeCoordinates modes[] = {ResizeCoordinates::half_pixel, ResizeCoordinates::pytorch_half_pixel,
                                       ResizeCoordinates::align_corners, ResizeCoordinates::asymmetric};
    for (int i = 0; i < 40; ++i) {
        const Shape s{uniform(rng, 1, 2), uniform(rng, 1, 3), uniform(rng, 1, 6), uniform(rng, 1, 6)};
        const QTensor x = random_tensor(rng, s, arch::ValueType::int8, uniform(rng, -3, 3));
        ResizeLayer l;
        l.coordinates = modes[i % 4];
        l.out_h = uniform(rng, 1, 13);
        l.out_w = uniform(rng, 1, 13);
        l.scale_h = double(l.out_h) / double(s[2]);
        l.scale_w = double(l.out_w) / double(s[3]);
        l.rounding = i % 2 ? arch::RoundingMode::half_up : arch::RoundingMode::half_even;
        bad += check_layer(rng, l, {x}, run_resize_layer(l, x));
    }
    CHECK(bad == 0);
}
