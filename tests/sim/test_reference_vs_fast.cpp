// The fast MAC kernel (mac_fast.hpp) and the accumulator API
// (mac_accumulators.hpp) against the reference layers of sim/reference,
// written from numerics.md "The MAC datapath": random layers of every value
// type, Conv (dense, grouped, depthwise; strides, pads, dilations) and Gemm,
// accumulators from 6 to 64 bits that wrap or saturate, every requant kind
// and rounding mode, every kernel path and thread count. Zero mismatches.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <set>
#include <stdexcept>

#include "bitnpu/errors.hpp"
#include "bitnpu/sim/functional/mac_accumulators.hpp"
#include "bitnpu/sim/functional/mac_fast.hpp"
#include "bitnpu/sim/reference/mac.hpp"
#include "test_functional_util.hpp"

using namespace bitnpu;
using namespace bitnpu::sim;
using namespace bitnpu::sim::testutil;
using arch::ValueType;

namespace {

struct Sweep {
    MacLayer layer;
    QTensor input;
};

// Registers for an accumulator of acc_bits that keep the output informative:
// the shift scaled to the accumulator's width, sometimes a saturating left
// shift (shifter) or a left-shifting gemmlowp exponent.
RequantRegisters sweep_registers(std::mt19937& rng, int acc_bits) {
    RequantRegisters r = random_registers(rng, acc_bits);
    const int top = std::max(1, acc_bits - 6);
    switch (r.kind) {
        case arch::RequantKind::shifter:
            r.shift = uniform(rng, 0, 5) == 0 ? -static_cast<int>(uniform(rng, 1, 3))
                                              : static_cast<int>(uniform(rng, 0, std::min(top, 40)));
            break;
        case arch::RequantKind::multiplier:
            r.shift = static_cast<int>(uniform(rng, std::min(top, 16), std::min(top + 16, 62)));
            break;
        case arch::RequantKind::gemmlowp:
            r.shift = static_cast<int>(uniform(rng, -std::min(top, 31), uniform(rng, 0, 7) == 0 ? 3 : 0));
            break;
        case arch::RequantKind::float32: {
            const int exponent = static_cast<int>(uniform(rng, 10, 10 + top));
            r.float_scale = static_cast<float>(std::ldexp(static_cast<double>(uniform(rng, 1, 1000)), -exponent));
            break;
        }
    }
    return r;
}

// A random layer for the sweep. big: enough output pixels per channel that
// the kernel builds step tables.
Sweep sweep_layer(std::mt19937& rng, MacKind kind, bool big) {
    static const ValueType types[] = {ValueType::int8, ValueType::uint8, ValueType::int4, ValueType::uint4,
                                      ValueType::int2, ValueType::int1,  ValueType::uint1, ValueType::int16};
    static const ValueType outputs[] = {ValueType::int8, ValueType::uint8, ValueType::int4,
                                        ValueType::int1, ValueType::int16};
    static const int widths[] = {6, 8, 10, 12, 14, 16, 18, 20, 24, 32, 40, 64};
    Sweep t;
    MacLayer& L = t.layer;
    L.kind = kind;
    const bool binary = uniform(rng, 0, 5) == 0;   // int1 x int1, zero-points 0: the XNOR engine's layers
    L.input_type = binary ? ValueType::int1 : types[uniform(rng, 0, big ? 6 : 7)];
    L.weight_type = binary ? ValueType::int1 : types[uniform(rng, 0, big ? 6 : 7)];
    L.output_type = outputs[uniform(rng, 0, 4)];
    L.input_zero_point = binary ? 0 : random_zero_point(rng, L.input_type);
    L.weight_zero_point = binary || uniform(rng, 0, 3) ? 0 : random_zero_point(rng, L.weight_type);
    L.accumulator.bits = widths[uniform(rng, 0, 11)];
    L.accumulator.overflow = uniform(rng, 0, 1) ? arch::Overflow::wrap : arch::Overflow::saturate;
    L.bias_stage = uniform(rng, 0, 1) ? arch::BiasStage::post : arch::BiasStage::preload;

    Shape in_shape;
    if (kind == MacKind::conv) {
        ConvGeometry& g = L.geometry;
        const int mode = static_cast<int>(uniform(rng, 0, 2));   // dense, grouped, depthwise
        g.groups = mode == 0 ? 1 : static_cast<int>(uniform(rng, 2, 4));
        const std::int64_t cin_g = mode == 2 ? 1 : uniform(rng, 1, big ? 3 : 5);
        const std::int64_t cout_g = uniform(rng, 1, 3);
        const std::int64_t kh = uniform(rng, 1, 3), kw = uniform(rng, 1, 3);
        g.stride_h = static_cast<int>(uniform(rng, 1, big ? 1 : 3));
        g.stride_w = static_cast<int>(uniform(rng, 1, big ? 1 : 3));
        g.dilation_h = static_cast<int>(uniform(rng, 1, 2));
        g.dilation_w = static_cast<int>(uniform(rng, 1, 2));
        g.pad_top = static_cast<int>(uniform(rng, 0, 2));
        g.pad_bottom = static_cast<int>(uniform(rng, 0, 2));
        g.pad_left = static_cast<int>(uniform(rng, 0, 2));
        g.pad_right = static_cast<int>(uniform(rng, 0, 2));
        const std::int64_t lo = big ? 28 : 1, hi = big ? 40 : 9;
        const std::int64_t h = std::max(uniform(rng, lo, hi), g.dilation_h * (kh - 1) + 1 - g.pad_top - g.pad_bottom);
        const std::int64_t w = std::max(uniform(rng, lo, hi), g.dilation_w * (kw - 1) + 1 - g.pad_left - g.pad_right);
        L.weight_shape = {cout_g * g.groups, cin_g, kh, kw};
        in_shape = {uniform(rng, 1, 2), cin_g * g.groups, std::max<std::int64_t>(h, 1), std::max<std::int64_t>(w, 1)};
    } else {
        const std::int64_t k = uniform(rng, 1, uniform(rng, 0, 3) ? 48 : 300);
        L.weight_shape = {uniform(rng, 1, 9), k};
        const std::int64_t rows = big ? uniform(rng, 1000, 1600) : uniform(rng, 1, 8);
        in_shape = uniform(rng, 0, 2) ? Shape{rows, k} : Shape{2, (rows + 1) / 2, k};
    }
    L.weights.resize(static_cast<std::size_t>(element_count(L.weight_shape)));
    for (auto& w : L.weights) w = random_value(rng, L.weight_type);
    const std::int64_t c_out = L.weight_shape[0];
    if (uniform(rng, 0, 3) != 0) {
        // Sometimes wider than the accumulator (bias.bits > accumulator.bits).
        const int bits = std::min(L.accumulator.bits, 30) - (uniform(rng, 0, 3) ? 2 : 0);
        const std::int64_t lim = std::int64_t{1} << std::max(bits, 1);
        for (std::int64_t c = 0; c < c_out; ++c) L.bias.push_back(uniform(rng, -lim, lim));
    }
    const bool per_channel = uniform(rng, 0, 1);
    for (std::int64_t c = 0; c < (per_channel ? c_out : 1); ++c)
        L.requant.push_back(sweep_registers(rng, L.accumulator.bits));
    const arch::ValueRange out = arch::value_range(L.output_type);
    L.output_zero_point = random_zero_point(rng, L.output_type);
    L.clamp_lo = uniform(rng, 0, 1) ? out.min : std::max(out.min, L.output_zero_point);   // ReLU
    L.clamp_hi = out.max;
    t.input = random_tensor(rng, in_shape, L.input_type, L.input_zero_point);
    return t;
}

// The paths that apply to the layer (plan_mac refuses the others).
std::vector<MacPath> paths_for(const MacLayer& L, const QTensor& x) {
    std::vector<MacPath> out;
    for (MacPath path : {MacPath::automatic, MacPath::ordered, MacPath::exact_double, MacPath::exact_float,
                         MacPath::xnor_popcount}) {
        try {
            plan_mac(L, x, path);
            out.push_back(path);
        } catch (const UserError&) {
        }
    }
    return out;
}

std::int64_t mismatches(const std::vector<std::int32_t>& a, const std::vector<std::int32_t>& b) {
    if (a.size() != b.size()) return static_cast<std::int64_t>(std::max(a.size(), b.size()));
    std::int64_t n = 0;
    for (std::size_t i = 0; i < a.size(); ++i) n += a[i] != b[i];
    return n;
}

template <class T>
std::int64_t mismatches(const std::vector<T>& a, const std::vector<std::int64_t>& b) {
    if (a.size() != b.size()) return static_cast<std::int64_t>(std::max(a.size(), b.size()));
    std::int64_t n = 0;
    for (std::size_t i = 0; i < a.size(); ++i) n += static_cast<std::int64_t>(a[i]) != b[i];
    return n;
}

}  // namespace

TEST_CASE("reference: hand-computed MAC outputs", "[reference][mac]") {
    // Gemm, K = 4, 16-bit saturating accumulator, identity shifter: the
    // accumulator is the output. p = 16129 x 3, -16129: 16129, 32258, 48387 ->
    // 32767, then 32767 - 16129 = 16638 (numerics.md "MAC step 4: accumulate").
    MacLayer L;
    L.kind = MacKind::gemm;
    L.output_type = ValueType::int16;
    L.weight_shape = {1, 4};
    L.weights = {127, 127, 127, -127};
    L.accumulator = {16, arch::Overflow::saturate};
    RequantRegisters r;
    r.kind = arch::RequantKind::shifter;
    r.shift = 0;
    r.dst_bits = 16;
    L.requant = {r};
    L.clamp_lo = -32768;
    L.clamp_hi = 32767;
    QTensor x({1, 4}, per_tensor(ValueType::int8, 1.0f, 0));
    x.values = {127, 127, 127, 127};
    CHECK(reference::mac(L, x).values == std::vector<std::int32_t>{16638});
    CHECK(reference::accumulators(L, x) == std::vector<std::int64_t>{16638});
    L.accumulator.overflow = arch::Overflow::wrap;   // 48387 wraps to -17149, -17149 - 16129 + 65536 = 32258
    CHECK(reference::mac(L, x).values == std::vector<std::int32_t>{32258});
    L.accumulator.overflow = arch::Overflow::saturate;
    L.bias = {20000};
    L.bias_stage = arch::BiasStage::post;   // one more saturating addition: 16638 + 20000 -> 32767
    CHECK(reference::mac(L, x).values == std::vector<std::int32_t>{32767});
    L.bias_stage = arch::BiasStage::preload;   // 20000 + 16129 -> 32767, 32767, 32767, 16638
    CHECK(reference::mac(L, x).values == std::vector<std::int32_t>{16638});

    // Conv 1 -> 1, 3x3 kernel, pad 1, z_x = 2: a padded position reads z_x, so
    // it adds 0. Input 2x2 all 3 (x - z_x = 1), weights all 1: every window
    // holds the 4 input positions, acc = 4; multiplier 3, shift 2, half_even:
    // 12 / 4 = 3, + z_y 5 = 8.
    MacLayer C;
    C.weight_shape = {1, 1, 3, 3};
    C.weights.assign(9, 1);
    C.input_zero_point = 2;
    C.geometry.pad_top = C.geometry.pad_left = C.geometry.pad_bottom = C.geometry.pad_right = 1;
    RequantRegisters m;
    m.kind = arch::RequantKind::multiplier;
    m.multiplier = 3;
    m.shift = 2;
    m.rounding = arch::RoundingMode::half_even;
    C.requant = {m};
    C.output_zero_point = 5;
    QTensor cx({1, 1, 2, 2}, per_tensor(ValueType::int8, 1.0f, 2));
    cx.values = {3, 3, 3, 3};
    const QTensor cy = reference::conv(C, cx);
    CHECK(cy.shape == Shape{1, 1, 2, 2});
    CHECK(cy.values == std::vector<std::int32_t>{8, 8, 8, 8});
    C.output_type = ValueType::int1;   // int1 outputs: the sign of the clamped value
    C.output_zero_point = 0;
    C.clamp_lo = -1;
    C.clamp_hi = 1;
    C.weights.assign(9, -1);
    CHECK(reference::conv(C, cx).values == std::vector<std::int32_t>{-1, -1, -1, -1});

    // Shapes that do not fit are UserErrors, as in the fast kernel.
    QTensor bad({1, 2, 2, 2}, per_tensor(ValueType::int8, 1.0f, 0));
    CHECK_THROWS_AS(reference::conv(C, bad), UserError);
    CHECK_THROWS_AS(reference::gemm(L, cx), UserError);
    CHECK_THROWS_AS(reference::gemm(C, x), UserError);
}

TEST_CASE("reference vs fast: random MAC layers, every path, zero mismatches", "[reference][mac][fast]") {
    std::mt19937 rng(20240611);
    std::int64_t compared = 0, differ = 0, overflowed = 0, by_table = 0, binary = 0;
    std::set<int> kinds, modes, widths;
    std::set<std::pair<int, int>> kind_modes;
    for (int i = 0; i < 360; ++i) {
        const bool big = i % 15 == 14;
        const Sweep t = sweep_layer(rng, i % 2 ? MacKind::conv : MacKind::gemm, big);
        const MacLayer& L = t.layer;
        INFO("layer " << i << " in " << arch::to_string(L.input_type) << " w " << arch::to_string(L.weight_type)
                      << " out " << arch::to_string(L.output_type) << " acc " << L.accumulator.bits
                      << (L.accumulator.overflow == arch::Overflow::wrap ? " wrap" : " sat") << " K "
                      << reduction_length(L));
        const QTensor want = reference::mac(L, t.input);
        MacLayer wide = L;
        wide.accumulator = {64, arch::Overflow::wrap};
        overflowed += reference::accumulators(wide, t.input) != reference::accumulators(L, t.input);
        binary += is_binary_layer(L);
        for (const RequantRegisters& r : L.requant) {
            kinds.insert(static_cast<int>(r.kind));
            const bool rounds = r.kind == arch::RequantKind::shifter || r.kind == arch::RequantKind::multiplier;
            if (rounds) {
                modes.insert(static_cast<int>(r.rounding));
                kind_modes.insert({static_cast<int>(r.kind), static_cast<int>(r.rounding)});
            }
        }
        widths.insert(L.accumulator.bits);
        for (MacPath path : paths_for(L, t.input))
            for (int threads : {1, 3}) {
                INFO("path " << int(path) << " threads " << threads);
                const QTensor got = run_mac_layer(L, t.input, {threads, path});
                REQUIRE(got.shape == want.shape);
                differ += mismatches(got.values, want.values);
                compared += want.size();
            }
        if (big) {
            // A prepared layer run twice: the second run finishes by step tables.
            const PreparedMacLayer prepared = prepare_mac_layer(L);
            for (int run = 0; run < 2; ++run) {
                MacStats stats;
                differ += mismatches(run_mac_layer(prepared, t.input, {1 + run, MacPath::automatic, &stats}).values,
                                     want.values);
                compared += want.size();
                by_table += stats.by_table;
            }
        }
    }
    INFO("compared " << compared << " outputs");
    CHECK(differ == 0);
    CHECK(compared > 100000);
    CHECK(overflowed >= 30);             // narrow accumulators really wrapped or saturated
    CHECK(binary >= 20);                 // the XNOR engine's layers
    CHECK(by_table > 0);                 // step tables were used
    CHECK(kinds.size() == 4);            // every requant kind
    CHECK(modes.size() == 5);            // every rounding mode
    CHECK(kind_modes.size() == 10);      // of both rounding units
    CHECK(widths.size() == 12);
}

TEST_CASE("mac_accumulators equals the reference's steps 1-4, the finisher its steps 5-6", "[reference][mac][fast]") {
    std::mt19937 rng(77);
    std::int64_t differ = 0, compared = 0, tabled = 0, narrow = 0;
    for (int i = 0; i < 240; ++i) {
        const bool big = i % 12 == 11;
        const Sweep t = sweep_layer(rng, i % 2 ? MacKind::conv : MacKind::gemm, big);
        const MacLayer& L = t.layer;
        INFO("layer " << i << " acc " << L.accumulator.bits);
        const std::vector<std::int64_t> want_acc = reference::accumulators(L, t.input);
        const QTensor want = reference::mac(L, t.input);
        for (MacPath path : paths_for(L, t.input)) {
            INFO("path " << int(path));
            const MacAccumulators<std::int64_t> acc64 = mac_accumulators<std::int64_t>(L, t.input, {2, path});
            REQUIRE(acc64.shape == want.shape);
            differ += mismatches(acc64.values, want_acc);
            compared += want.size();
            if (L.accumulator.bits <= 32) {
                const MacAccumulators<std::int32_t> acc32 = mac_accumulators<std::int32_t>(L, t.input, {1, path});
                REQUIRE(acc32.shape == want.shape);
                differ += mismatches(acc32.values, want_acc);
            } else {
                CHECK_THROWS_AS(mac_accumulators<std::int32_t>(L, t.input, {1, path}), std::invalid_argument);
            }
        }
        // Steps 5-6: the finisher against the reference's finish of the same
        // accumulators, run by run (int64 accumulators), part by part and in place
        // (int32).
        const AccumulatorFinisher finisher(L, want.shape, 2);
        tabled += finisher.tabled_channels();
        REQUIRE(finisher.runs() * finisher.run_length() == want.size());
        std::vector<std::int32_t> out(static_cast<std::size_t>(want.size()));
        finisher.finish(want_acc.data(), out.data(), 3);
        differ += mismatches(out, want.values);
        std::vector<std::int32_t> run_out(static_cast<std::size_t>(finisher.run_length()));
        const std::int64_t run = finisher.run_length();
        for (std::int64_t k = 0; k < finisher.runs(); ++k) {
            finisher.finish_run(k, want_acc.data() + k * run, run_out.data());
            for (std::int64_t e = 0; e < run; ++e)
                differ += run_out[static_cast<std::size_t>(e)] !=
                          reference::finish(L, k % finisher.channels(), want_acc[static_cast<std::size_t>(k * run + e)]);
        }
        if (L.accumulator.bits <= 32) {
            ++narrow;
            // finish_part: the values from `skip` on of every run, into
            // another buffer and in place.
            const std::int64_t skip = run / 3, count = run - skip;
            std::vector<std::int32_t> acc32(want_acc.begin(), want_acc.end()), part(static_cast<std::size_t>(run));
            for (std::int64_t k = 0; k < finisher.runs(); ++k) {
                std::int32_t* values = acc32.data() + k * run + skip;
                finisher.finish_part(k, values, part.data(), count);
                finisher.finish_part(k, values, values, count);
                for (std::int64_t e = 0; e < count; ++e) {
                    const std::int64_t want_e = want.values[static_cast<std::size_t>(k * run + skip + e)];
                    differ += (part[static_cast<std::size_t>(e)] != want_e) + (values[e] != want_e);
                }
            }
            CHECK_THROWS_AS(finisher.finish_part(0, acc32.data(), part.data(), run + 1), std::invalid_argument);
            MacAccumulators<std::int32_t> acc = mac_accumulators<std::int32_t>(L, t.input);
            const QTensor y = finish_accumulators(L, std::move(acc), 2);
            CHECK(y.shape == want.shape);
            CHECK(y.quant == want.quant);
            differ += mismatches(y.values, want.values);
        }
    }
    CHECK(differ == 0);
    CHECK(compared > 50000);
    CHECK(tabled > 0);   // some channels were finished by step tables
    CHECK(narrow > 100);
}

TEST_CASE("mac_accumulators: a finished candidate equals the layer run with its registers", "[reference][mac][fast]") {
    // The calibrator's use: one set of accumulators, many register sets.
    std::mt19937 rng(5);
    for (int i = 0; i < 40; ++i) {
        Sweep t = sweep_layer(rng, i % 2 ? MacKind::conv : MacKind::gemm, i % 8 == 7);
        MacLayer& L = t.layer;
        L.accumulator.bits = std::min(L.accumulator.bits, 32);
        for (RequantRegisters& r : L.requant) r.dst_bits = L.accumulator.bits;
        const MacAccumulators<std::int32_t> acc = mac_accumulators<std::int32_t>(L, t.input);
        for (int candidate = 0; candidate < 4; ++candidate) {
            MacLayer c = L;
            for (RequantRegisters& r : c.requant) r = sweep_registers(rng, c.accumulator.bits);
            c.output_zero_point = random_zero_point(rng, c.output_type);
            INFO("layer " << i << " candidate " << candidate);
            REQUIRE(finish_accumulators(c, acc).values == run_mac_layer(c, t.input).values);
        }
    }
}

TEST_CASE("add_bias_change gives the accumulators of the layer with the new bias, where none can overflow",
          "[mac][fast]") {
    std::mt19937 rng(5);
    int checked = 0;
    for (int i = 0; i < 60; ++i) {
        Sweep t = sweep_layer(rng, i % 2 ? MacKind::conv : MacKind::gemm, false);
        MacLayer from = t.layer;
        if (from.accumulator.bits > 32) continue;
        // A 32-bit accumulator and narrow biases: no partial sum of these
        // small layers comes near 2^31, so both accumulate exactly.
        from.accumulator = {32, arch::Overflow::saturate};
        const std::int64_t channels = output_channels(from);
        from.bias.assign(static_cast<std::size_t>(channels), 0);
        for (auto& b : from.bias) b = uniform(rng, -5000, 5000);
        MacLayer to = from;
        for (auto& b : to.bias) b += uniform(rng, -300, 300);
        MacAccumulators<std::int32_t> acc = mac_accumulators<std::int32_t>(from, t.input);
        add_bias_change(acc, from, to);
        const MacAccumulators<std::int32_t> want = mac_accumulators<std::int32_t>(to, t.input);
        REQUIRE(acc.shape == want.shape);
        CHECK(acc.values == want.values);
        ++checked;
    }
    CHECK(checked >= 30);
    MacLayer no_bias = sweep_layer(rng, MacKind::gemm, false).layer;
    no_bias.bias.clear();
    MacAccumulators<std::int32_t> acc{{1, output_channels(no_bias)}, {}};
    CHECK_THROWS_AS(add_bias_change(acc, no_bias, no_bias), std::invalid_argument);
}

TEST_CASE("count_overflows equals the reference's overflow statistics, stepping only what its bound cannot clear",
          "[reference][mac][fast][overflow]") {
    std::mt19937 rng(91);
    std::int64_t differ = 0, overflowing = 0, cleared = 0, layers = 0;
    for (int i = 0; i < 240; ++i) {
        Sweep t = sweep_layer(rng, i % 2 ? MacKind::conv : MacKind::gemm, i % 12 == 11);
        const MacLayer& L = t.layer;
        INFO("layer " << i << " acc " << L.accumulator.bits);
        if (i % 3 == 0 && L.input_type != ValueType::int1 && L.input_type != ValueType::uint1) {
            // Mostly at the zero-point, a few anywhere (as after a ReLU): the
            // patch sums clear most elements without the bound GEMM.
            for (auto& v : t.input.values)
                if (uniform(rng, 0, 19) != 0) v = static_cast<std::int32_t>(L.input_zero_point);
        }
        const reference::AccumulatorStats want = reference::accumulator_stats(L, t.input);
        for (int threads : {1, 3}) {
            const OverflowCounts got = count_overflows(L, t.input, threads);
            differ += got.outputs != want.outputs;
            differ += got.steps != want.steps;
            differ += got.overflowed_steps != want.overflowed_steps;
            differ += got.overflowed_outputs != want.overflowed_outputs;
            // Every overflowing output was stepped through; most others were not.
            differ += got.stepped_outputs < got.overflowed_outputs;
            cleared += got.outputs - got.stepped_outputs;
        }
        overflowing += want.overflowed_outputs > 0;
        ++layers;
    }
    CHECK(differ == 0);
    CHECK(overflowing > 30);   // the sweep's narrow accumulators overflow
    CHECK(cleared > 0);        // and the element bound spares most elements the ordered loop
    CHECK(layers == 240);
}
