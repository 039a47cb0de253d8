// The MAC kernel's per-element exactness bound and its step-table finish,
// against the reference of sim/reference/mac.hpp (written per output element
// from numerics.md "The MAC datapath": the products in canonical order, one
// accumulate each, then requantize, zero-point and clamp). Narrow saturating
// accumulators (12..18 bits) make some elements saturate and leave others
// safe, so a layer mixes the exact sum and the ordered loop inside one channel.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "bitnpu/sim/datapath/accumulate.hpp"
#include "bitnpu/sim/datapath/requant.hpp"
#include "bitnpu/sim/functional/detail/mac_step_table.hpp"
#include "bitnpu/sim/functional/mac_fast.hpp"
#include "bitnpu/sim/functional/mac_layer.hpp"
#include "bitnpu/sim/reference/mac.hpp"
#include "test_functional_util.hpp"

using namespace bitnpu;
using namespace bitnpu::sim;
using namespace bitnpu::sim::testutil;
using arch::ValueType;

namespace {

// Activations mostly near the zero-point with a few large ones, as after a
// ReLU: most elements' sum |p_k| stays small while the channel bound
// (max|x| * sum|w|) does not.
void fill_skewed(std::mt19937& rng, QTensor& x, std::int64_t zx, const arch::ValueRange& range, int hot_percent) {
    for (auto& v : x.values) {
        const bool hot = uniform(rng, 0, 99) < hot_percent;
        const std::int64_t spread = hot ? range.max - range.min : 3;
        v = static_cast<std::int32_t>(std::clamp<std::int64_t>(zx + uniform(rng, -spread, spread), range.min, range.max));
    }
}

struct RandomLayer {
    MacLayer layer;
    QTensor input;
};

// A layer with a narrow saturating accumulator. big: enough pixels per
// channel that the kernel builds step tables.
RandomLayer saturating_layer(std::mt19937& rng, MacKind kind, bool big) {
    RandomLayer out;
    MacLayer& L = out.layer;
    L.kind = kind;
    static const ValueType in_types[] = {ValueType::int8, ValueType::uint8, ValueType::int4};
    L.input_type = in_types[uniform(rng, 0, 2)];
    L.weight_type = uniform(rng, 0, 1) ? ValueType::int8 : ValueType::int4;
    static const ValueType out_types[] = {ValueType::int8, ValueType::uint8, ValueType::int4, ValueType::int1,
                                          ValueType::int16};
    L.output_type = out_types[uniform(rng, 0, 4)];
    const arch::ValueRange xr = arch::value_range(L.input_type);
    L.input_zero_point = uniform(rng, 0, 1) ? 0 : uniform(rng, xr.min, xr.max);
    L.accumulator = {static_cast<int>(uniform(rng, 12, 18)), arch::Overflow::saturate};
    L.bias_stage = uniform(rng, 0, 1) ? arch::BiasStage::post : arch::BiasStage::preload;
    Shape in_shape;
    if (kind == MacKind::conv) {
        const std::int64_t cin = uniform(rng, 1, 6), k = uniform(rng, 1, 3);
        const std::int64_t side = big ? uniform(rng, 40, 56) : uniform(rng, 3, 9);
        L.weight_shape = {uniform(rng, 1, 6), cin, k, k};
        L.geometry.pad_top = L.geometry.pad_left = static_cast<int>(uniform(rng, 0, k / 2));
        L.geometry.pad_bottom = L.geometry.pad_right = static_cast<int>(uniform(rng, 0, k / 2));
        L.geometry.stride_h = L.geometry.stride_w = static_cast<int>(uniform(rng, 1, 2));
        if (big) L.geometry.stride_h = L.geometry.stride_w = 1;
        in_shape = {uniform(rng, 1, 2), cin, side, side};
    } else {
        const std::int64_t K = uniform(rng, 4, 64);
        L.weight_shape = {uniform(rng, 1, 8), K};
        in_shape = {big ? uniform(rng, 1500, 2500) : uniform(rng, 1, 40), K};
    }
    L.weights.resize(static_cast<std::size_t>(element_count(L.weight_shape)));
    for (auto& w : L.weights) w = random_value(rng, L.weight_type);
    const std::int64_t c_out = L.weight_shape[0];
    const std::int64_t lim = std::int64_t{1} << (L.accumulator.bits - 3);
    if (uniform(rng, 0, 3) != 0)
        for (std::int64_t c = 0; c < c_out; ++c) L.bias.push_back(uniform(rng, -lim, lim));
    const bool per_channel = uniform(rng, 0, 1);
    for (std::int64_t c = 0; c < (per_channel ? c_out : 1); ++c) {
        RequantRegisters r = random_registers(rng, L.accumulator.bits);
        // Keep the output informative for a narrow accumulator: smaller shifts.
        if (r.kind == arch::RequantKind::multiplier) r.shift = static_cast<int>(uniform(rng, 8, 20));
        L.requant.push_back(r);
    }
    const arch::ValueRange yr = arch::value_range(L.output_type);
    L.output_zero_point = L.output_type == ValueType::int1 ? 0 : uniform(rng, yr.min, yr.max);
    L.clamp_lo = uniform(rng, 0, 1) ? yr.min : std::max(yr.min, L.output_zero_point);
    L.clamp_hi = yr.max;
    out.input = QTensor(in_shape, per_tensor(L.input_type, 0.05f, L.input_zero_point));
    fill_skewed(rng, out.input, L.input_zero_point, xr, static_cast<int>(uniform(rng, 1, 30)));
    return out;
}

// A Gemm with one output channel of the given weights (K = their count), a
// saturating accumulator of acc_bits, no bias, an int16 output through a
// shifter with shift 0: the output is the accumulator, clamped to int16.
MacLayer one_channel_gemm(std::vector<std::int32_t> weights, int acc_bits) {
    MacLayer L;
    L.kind = MacKind::gemm;
    L.output_type = ValueType::int16;
    L.weight_shape = {1, static_cast<std::int64_t>(weights.size())};
    L.weights = std::move(weights);
    L.accumulator = {acc_bits, arch::Overflow::saturate};
    RequantRegisters r;
    r.kind = arch::RequantKind::shifter;
    r.dst_bits = 16;
    L.requant = {r};
    L.clamp_lo = -32768;
    L.clamp_hi = 32767;
    return L;
}

}  // namespace

TEST_CASE("element bound: narrow saturating layers match the per-element reference", "[functional][mac][bound]") {
    std::mt19937 rng(2024);
    MacStats total;
    int mixed_channels_layers = 0;
    for (int i = 0; i < 60; ++i) {
        const RandomLayer t = saturating_layer(rng, i % 2 ? MacKind::conv : MacKind::gemm, false);
        const MacLayer& L = t.layer;
        INFO("layer " << i << " acc " << L.accumulator.bits << " K " << reduction_length(L));
        const std::vector<std::int32_t> want = reference::mac(L, t.input).values;
        for (MacPath path : {MacPath::automatic, MacPath::exact_double, MacPath::ordered}) {
            MacStats one_thread;
            for (int threads : {1, 3}) {
                INFO("path " << int(path) << " threads " << threads);
                MacStats stats;
                const QTensor got = run_mac_layer(L, t.input, {threads, path, &stats});
                REQUIRE(got.values == want);
                CHECK(stats.exact_channel + stats.exact_element + stats.ordered == got.size());
                if (threads == 1) one_thread = stats;
                // Where the elements went does not depend on the thread count either.
                CHECK(stats.exact_channel == one_thread.exact_channel);
                CHECK(stats.exact_element == one_thread.exact_element);
                CHECK(stats.ordered == one_thread.ordered);
                if (path == MacPath::ordered) CHECK(stats.ordered == got.size());
                if (path == MacPath::automatic && threads == 1) {
                    total.exact_channel += stats.exact_channel;
                    total.exact_element += stats.exact_element;
                    total.ordered += stats.ordered;
                    if (stats.exact_element > 0 && stats.ordered > 0) ++mixed_channels_layers;
                }
            }
        }
    }
    // The per-element bound was really used, and really needed the ordered loop somewhere.
    CHECK(total.exact_element > 0);
    CHECK(total.ordered > 0);
    CHECK(mixed_channels_layers >= 5);
}

TEST_CASE("element bound: elements that saturate in canonical order take the ordered loop", "[functional][mac][bound]") {
    // Gemm, K = 4, 16-bit saturating accumulator. Row 0: 127 * 127 * 3 leaves
    // the range, then comes back (the ordered result 16638 differs from the
    // exact sum 32258). Row 1 is small: exact. The channel bound fails for both.
    MacLayer L = one_channel_gemm({127, 127, 127, -127}, 16);
    QTensor x({2, 4}, per_tensor(ValueType::int8, 1.0f, 0));
    x.values = {127, 127, 127, 127, 1, 2, 3, 4};
    MacStats stats;
    const QTensor y = run_mac_layer(L, x, {1, MacPath::automatic, &stats});
    CHECK(y.values == std::vector<std::int32_t>{16638, 127 * (1 + 2 + 3 - 4)});
    CHECK(stats.exact_channel == 0);
    CHECK(stats.exact_element == 1);
    CHECK(stats.ordered == 1);
    const MacPlan plan = plan_mac(L, x);
    CHECK(!plan.exact_ok[0]);
    CHECK(plan.element_bound[0]);
}

TEST_CASE("step tables: large layers (tables built and reused) match the reference", "[functional][mac][bound]") {
    std::mt19937 rng(77);
    std::int64_t by_table = 0;
    for (int i = 0; i < 16; ++i) {
        RandomLayer t = saturating_layer(rng, i % 2 ? MacKind::conv : MacKind::gemm, true);
        MacLayer& L = t.layer;
        if (i % 4 == 3) L.accumulator = {static_cast<int>(uniform(rng, 12, 32)), arch::Overflow::wrap};
        if (i % 4 == 2) L.accumulator.bits = 32;   // the common case: every channel exact
        INFO("layer " << i << " out " << arch::to_string(L.output_type) << " kind " << int(L.requant[0].kind));
        const std::vector<std::int32_t> want = reference::mac(L, t.input).values;
        const PreparedMacLayer prepared = prepare_mac_layer(L);
        // The first run builds the tables, the second reuses them; threads differ.
        MacStats stats;
        REQUIRE(run_mac_layer(prepared, t.input, {1, MacPath::automatic, &stats}).values == want);
        REQUIRE(run_mac_layer(prepared, t.input, {3, MacPath::automatic, &stats}).values == want);
        by_table += stats.by_table;
    }
    CHECK(by_table > 0);
}

TEST_CASE("step tables: lookup equals the channel's finish at and around every threshold", "[functional][mac][bound]") {
    std::mt19937 rng(5);
    int built = 0;
    for (int i = 0; i < 200; ++i) {
        MacChannel ch;
        ch.accumulator = {static_cast<int>(uniform(rng, 8, 40)),
                          uniform(rng, 0, 2) ? arch::Overflow::saturate : arch::Overflow::wrap};
        ch.bias_stage = uniform(rng, 0, 1) ? arch::BiasStage::post : arch::BiasStage::preload;
        ch.bias = uniform(rng, -(std::int64_t{1} << (ch.accumulator.bits - 1)), std::int64_t{1} << (ch.accumulator.bits - 1));
        ch.registers = random_registers(rng, ch.accumulator.bits);
        if (uniform(rng, 0, 9) == 0) ch.registers.multiplier = -ch.registers.multiplier;   // not monotone
        if (uniform(rng, 0, 9) == 0) ch.registers.float_scale = -ch.registers.float_scale;
        static const ValueType out_types[] = {ValueType::int8, ValueType::uint8, ValueType::int4, ValueType::int1};
        const ValueType ot = out_types[uniform(rng, 0, 3)];
        const arch::ValueRange yr = arch::value_range(ot);
        ch.output_zero_point = ot == ValueType::int1 ? 0 : uniform(rng, yr.min, yr.max);
        ch.clamp_lo = yr.min;
        ch.clamp_hi = yr.max;
        ch.binary_output = ot == ValueType::int1;
        // The channel's finish from datapath primitives alone: steps 5-6 of an
        // accumulator value, and steps 3-6 of an exact sum.
        const auto finish = [&](std::int64_t acc) {
            const std::int64_t y = add_zero_point_and_clamp(requantize(acc, ch.registers), ch.output_zero_point,
                                                            ch.clamp_lo, ch.clamp_hi);
            return ch.binary_output ? (y >= 0 ? 1 : -1) : y;
        };
        const auto h = [&](std::int64_t s) {
            const bool preload = ch.bias_stage == arch::BiasStage::preload;
            return finish(preload ? accumulate(accumulate(0, ch.bias, ch.accumulator), s, ch.accumulator)
                                  : accumulate(accumulate(0, s, ch.accumulator), ch.bias, ch.accumulator));
        };
        MacStepTable t;
        if (!build_step_table(ch, 4096, t)) {
            // Only a non-monotone register set may be refused at these sizes.
            CHECK(!finish_is_monotone(ch));
            continue;
        }
        ++built;
        // Sum domain: h of the exact sum. Wrap domain: the lookup takes the
        // accumulator value, i.e. h(s) == lookup(accumulate_exact(s)).
        const auto table_of_sum = [&](std::int64_t s) {
            if (t.sum_domain) return step_lookup(t, s);
            return step_lookup(t, mac_accumulate_exact(ch, s));
        };
        std::vector<std::int64_t> probes;
        for (std::int64_t k = 1; k < t.levels; ++k)
            for (std::int64_t d : {-1, 0, 1}) probes.push_back(t.thresholds[static_cast<std::size_t>(k)] + d);
        const std::int64_t span = std::int64_t{1} << (ch.accumulator.bits + 1);
        for (int k = 0; k < 300; ++k) probes.push_back(uniform(rng, -span, span));
        for (std::int64_t s : probes) {
            if (s < -kStepTableSumLimit || s > kStepTableSumLimit) continue;
            INFO("channel " << i << " kind " << int(ch.registers.kind) << " x " << s);
            REQUIRE(table_of_sum(s) == h(s));
            if (!t.sum_domain && s >= t.domain_min && s <= t.domain_max) REQUIRE(step_lookup(t, s) == finish(s));
        }
    }
    CHECK(built > 100);
}

TEST_CASE("element bound: patch-sum limits clear elements without the bound GEMM", "[functional][mac][bound]") {
    // Gemm, K = 4, weights {100, 1, 1, 1} (max|w| = 100, sum w^2 = 10003),
    // no bias. With a 14-bit saturating accumulator (A = 8191) the channel
    // bound sum|w| * max|x| = 103 * 127 = 13081 fails, so each element is
    // judged by its patch sums: S1 <= 8191 / 100 = 81 or
    // S2 <= 8191^2 / 10003 = 6707 clears it.
    MacLayer L = one_channel_gemm({100, 1, 1, 1}, 14);
    // Row 0: S1 = 400, S2 = 40000: not cleared (sum |p| = 10300 > 8191).
    // Row 1: S1 = 80: cleared by the first limit. Row 2: S1 = 100, S2 = 2500:
    // cleared by Cauchy-Schwarz (sum |p| = 2500 + 75 = 2575). Rows 3-39 like
    // row 1: one element in 40 uncleared, few enough to skip the bound GEMM.
    QTensor x({40, 4}, per_tensor(ValueType::int8, 1.0f, 0));
    x.values.assign(40 * 4, 20);
    for (int k = 0; k < 4; ++k) {
        x.values[static_cast<std::size_t>(k)] = 100;
        x.values[static_cast<std::size_t>(8 + k)] = 25;
    }
    const MacPlan plan = plan_mac(L, x);
    REQUIRE(plan.element_bound[0]);
    CHECK(plan.abs_limit[0] == 81);
    CHECK(plan.sq_limit[0] == 6707);
    MacStats stats;
    const QTensor y = run_mac_layer(L, x, {1, MacPath::automatic, &stats});
    CHECK(y.values == reference::mac(L, x).values);
    CHECK(stats.exact_element == 39);
    CHECK(stats.by_patch == 39);
    CHECK(stats.ordered == 1);
    // Three rows, one uncleared: the group takes the bound GEMM (same split).
    QTensor few({3, 4}, x.quant);
    few.values.assign(x.values.begin(), x.values.begin() + 12);
    MacStats few_stats;
    CHECK(run_mac_layer(L, few, {1, MacPath::automatic, &few_stats}).values == reference::mac(L, few).values);
    CHECK(few_stats.exact_element == 2);
    CHECK(few_stats.by_patch == 0);
    CHECK(few_stats.ordered == 1);
    // A 16-bit accumulator holds the channel bound: no element bound.
    L.accumulator.bits = 16;
    CHECK(plan_mac(L, x).exact_ok[0]);
    // A bias that leaves no room: nothing clears, and the bits still match.
    L.accumulator.bits = 14;
    L.bias = {9000};
    const MacPlan full = plan_mac(L, x);
    CHECK(full.abs_limit[0] == -1);
    CHECK(full.sq_limit[0] == -1);
    CHECK(run_mac_layer(L, x).values == reference::mac(L, x).values);
}

TEST_CASE("element bound: the patch sums and the bound GEMM give the same bits on wide layers",
          "[functional][mac][bound]") {
    // Many pixels with few hot activations (patch sums clear most elements)
    // and many hot ones (the group falls back to the bound GEMM): both match
    // the reference.
    std::mt19937 rng(515);
    std::int64_t by_patch_few_hot = 0, by_gemm_many_hot = 0;
    for (int hot : {1, 50}) {
        for (int i = 0; i < 6; ++i) {
            RandomLayer t = saturating_layer(rng, MacKind::conv, true);
            fill_skewed(rng, t.input, t.layer.input_zero_point, arch::value_range(t.layer.input_type), hot);
            INFO("hot " << hot << " layer " << i);
            MacStats stats;
            const QTensor got = run_mac_layer(t.layer, t.input, {2, MacPath::automatic, &stats});
            CHECK(got.values == reference::mac(t.layer, t.input).values);
            if (hot == 1) by_patch_few_hot += stats.by_patch;
            if (hot == 50) by_gemm_many_hot += stats.exact_element - stats.by_patch;
        }
    }
    CHECK(by_patch_few_hot > 0);   // few hot activations: the patch sums cleared elements
    CHECK(by_gemm_many_hot > 0);   // many: the bound GEMM was needed
}
