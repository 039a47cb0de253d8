// MAC layers (Conv, grouped/depthwise Conv, Gemm) against a naive reference
// written straight from NUMERICS.md "The MAC datapath": scalar loops over the
// ONNX index space that call only datapath primitives.
#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>
#include <random>

#include "bitnpu/errors.hpp"

#include "bitnpu/sim/datapath/accumulate.hpp"
#include "bitnpu/sim/datapath/product.hpp"
#include "bitnpu/sim/datapath/requant.hpp"
#include "bitnpu/sim/functional/mac_layer.hpp"
#include "test_functional_util.hpp"

using namespace bitnpu;
using namespace bitnpu::sim;
using namespace bitnpu::sim::testutil;
using arch::ValueType;

namespace {

// Steps 3-6 for one output element, given its products in canonical order.
std::int64_t reference_output(const MacLayer& L, std::int64_t oc, const std::vector<std::int64_t>& products,
                              const AccumulatorRule& rule) {
    const std::int64_t b = L.bias.empty() ? 0 : L.bias[oc];
    // The accumulator register starts at b_q (loaded at accumulator width).
    std::int64_t acc = L.bias_stage == arch::BiasStage::preload ? accumulate(0, b, rule) : 0;
    for (std::int64_t p : products) acc = accumulate(acc, p, rule);
    if (L.bias_stage == arch::BiasStage::post) acc = accumulate(acc, b, rule);
    const RequantRegisters& r = L.requant.size() == 1 ? L.requant[0] : L.requant[oc];
    std::int64_t y = add_zero_point_and_clamp(requantize(acc, r), L.output_zero_point, L.clamp_lo, L.clamp_hi);
    if (L.output_type == ValueType::int1) y = y >= 0 ? 1 : -1;
    return y;
}

QTensor reference_conv(const MacLayer& L, const QTensor& x, const AccumulatorRule& rule) {
    const std::int64_t N = x.shape[0], H = x.shape[2], W = x.shape[3];
    const std::int64_t C_out = L.weight_shape[0], Cg = L.weight_shape[1], KH = L.weight_shape[2],
                       KW = L.weight_shape[3];
    const ConvGeometry& g = L.geometry;
    const std::int64_t OH = (H + g.pad_top + g.pad_bottom - g.dilation_h * (KH - 1) - 1) / g.stride_h + 1;
    const std::int64_t OW = (W + g.pad_left + g.pad_right - g.dilation_w * (KW - 1) - 1) / g.stride_w + 1;
    QTensor y({N, C_out, OH, OW}, per_tensor(L.output_type, 1.0f, L.output_zero_point));
    for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t oc = 0; oc < C_out; ++oc)
            for (std::int64_t oy = 0; oy < OH; ++oy)
                for (std::int64_t ox = 0; ox < OW; ++ox) {
                    const std::int64_t group = oc / (C_out / g.groups);
                    std::vector<std::int64_t> products;
                    for (std::int64_t ci = 0; ci < Cg; ++ci)
                        for (std::int64_t ky = 0; ky < KH; ++ky)
                            for (std::int64_t kx = 0; kx < KW; ++kx) {
                                const std::int64_t iy = oy * g.stride_h - g.pad_top + ky * g.dilation_h;
                                const std::int64_t ix = ox * g.stride_w - g.pad_left + kx * g.dilation_w;
                                const std::int64_t c = group * Cg + ci;
                                const bool inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
                                const std::int64_t xv =
                                    inside ? x.values[((n * x.shape[1] + c) * H + iy) * W + ix] : L.input_zero_point;
                                const std::int64_t wv = L.weights[((oc * Cg + ci) * KH + ky) * KW + kx];
                                products.push_back(product(wv - L.weight_zero_point, xv, L.input_zero_point));
                            }
                    y.values[((n * C_out + oc) * OH + oy) * OW + ox] =
                        static_cast<std::int32_t>(reference_output(L, oc, products, rule));
                }
    return y;
}

QTensor reference_gemm(const MacLayer& L, const QTensor& x, const AccumulatorRule& rule) {
    const std::int64_t K = L.weight_shape[1], N_out = L.weight_shape[0], M = x.size() / K;
    Shape out_shape = x.shape;
    out_shape.back() = N_out;
    QTensor y(out_shape, per_tensor(L.output_type, 1.0f, L.output_zero_point));
    for (std::int64_t m = 0; m < M; ++m)
        for (std::int64_t o = 0; o < N_out; ++o) {
            std::vector<std::int64_t> products;
            for (std::int64_t k = 0; k < K; ++k)
                products.push_back(
                    product(L.weights[o * K + k] - L.weight_zero_point, x.values[m * K + k], L.input_zero_point));
            y.values[m * N_out + o] = static_cast<std::int32_t>(reference_output(L, o, products, rule));
        }
    return y;
}

QTensor reference(const MacLayer& L, const QTensor& x) {
    return L.kind == MacKind::conv ? reference_conv(L, x, L.accumulator) : reference_gemm(L, x, L.accumulator);
}

// A random layer of any precision, geometry and accumulator, and its input.
std::pair<MacLayer, QTensor> random_layer(std::mt19937& rng, MacKind kind) {
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

void check_all_paths(const MacLayer& L, const QTensor& x, const QTensor& want) {
    for (MacPath path : {MacPath::automatic, MacPath::ordered, MacPath::exact_double, MacPath::exact_float,
                         MacPath::xnor_popcount}) {
        const MacPlan plan = [&] {
            try {
                return std::optional<MacPlan>(plan_mac(L, x, path));
            } catch (const UserError&) {
                return std::optional<MacPlan>();
            }
        }().value_or(MacPlan{});
        if (plan.exact_ok.empty()) continue;  // the path does not apply to this layer
        for (int threads : {1, 3}) {
            INFO("path " << int(path) << " threads " << threads);
            const QTensor got = run_mac_layer(L, x, {threads, path});
            REQUIRE(got.shape == want.shape);
            REQUIRE(got.values == want.values);
        }
    }
}

}  // namespace

TEST_CASE("functional: random Conv layers match the NUMERICS reference on every path", "[functional][mac]") {
    std::mt19937 rng(1234);
    int overflowed = 0;
    for (int i = 0; i < 150; ++i) {
        auto [L, x] = random_layer(rng, MacKind::conv);
        INFO("layer " << i << " in " << arch::to_string(L.input_type) << " w " << arch::to_string(L.weight_type)
                      << " acc " << L.accumulator.bits << (L.accumulator.overflow == arch::Overflow::wrap ? " wrap" : " sat")
                      << " groups " << L.geometry.groups);
        const QTensor want = reference(L, x);
        // Count layers whose narrow accumulator really overflowed, so the
        // ordered-saturation rule is exercised, not just stated.
        if (reference_conv(L, x, AccumulatorRule{64, arch::Overflow::wrap}).values != want.values) ++overflowed;
        check_all_paths(L, x, want);
    }
    CHECK(overflowed >= 10);
}

TEST_CASE("functional: random Gemm layers match the NUMERICS reference on every path", "[functional][mac]") {
    std::mt19937 rng(99);
    int overflowed = 0;
    for (int i = 0; i < 150; ++i) {
        auto [L, x] = random_layer(rng, MacKind::gemm);
        INFO("layer " << i);
        const QTensor want = reference(L, x);
        if (reference_gemm(L, x, AccumulatorRule{64, arch::Overflow::wrap}).values != want.values) ++overflowed;
        check_all_paths(L, x, want);
    }
    CHECK(overflowed >= 10);
}

namespace {
// One 1x1 Gemm output with an int16 output and identity requant, so the
// accumulator value is the output.
MacLayer identity_gemm(std::vector<std::int32_t> weights, int acc_bits, arch::Overflow overflow) {
    MacLayer L;
    L.kind = MacKind::gemm;
    L.output_type = ValueType::int16;
    L.weight_shape = {1, static_cast<std::int64_t>(weights.size())};
    L.weights = std::move(weights);
    L.accumulator = {acc_bits, overflow};
    RequantRegisters r;
    r.kind = arch::RequantKind::shifter;
    r.shift = 0;
    r.dst_bits = acc_bits;
    L.requant = {r};
    L.clamp_lo = -32768;
    L.clamp_hi = 32767;
    return L;
}
}  // namespace

TEST_CASE("functional: a 16-bit saturating accumulator saturates in canonical order", "[functional][mac]") {
    // p = 16129, 16129, 16129, -16129: 16129, 32258, 48387 -> 32767, 32767 - 16129 = 16638.
    MacLayer L = identity_gemm({127, 127, 127, -127}, 16, arch::Overflow::saturate);
    QTensor x({1, 4}, per_tensor(ValueType::int8, 1.0f, 0));
    x.values = {127, 127, 127, 127};
    for (MacPath path : {MacPath::automatic, MacPath::ordered})
        CHECK(run_mac_layer(L, x, {1, path}).values == std::vector<std::int32_t>{16638});
    // Reversed order: -16129, 16129, 16129, 16129 never leaves the range: 32258 -> clamp 32258.
    L.weights = {-127, 127, 127, 127};
    CHECK(run_mac_layer(L, x).values == std::vector<std::int32_t>{32258});
    // Wrap: 48387 - 65536 = -17149, then -33278 + 65536 = 32258: the exact sum.
    L = identity_gemm({127, 127, 127, -127}, 16, arch::Overflow::wrap);
    CHECK(run_mac_layer(L, x).values == std::vector<std::int32_t>{32258});
    // Post-stage bias is one more saturating addition: 16638 + 20000 -> 32767.
    L = identity_gemm({127, 127, 127, -127}, 16, arch::Overflow::saturate);
    L.bias = {20000};
    L.bias_stage = arch::BiasStage::post;
    CHECK(run_mac_layer(L, x).values == std::vector<std::int32_t>{32767});
    // Preload: 20000 + 16129 -> 32767 at once, then 32767, 32767, 16638.
    L.bias_stage = arch::BiasStage::preload;
    CHECK(run_mac_layer(L, x).values == std::vector<std::int32_t>{16638});
}

TEST_CASE("functional: int1 XNOR/popcount conv equals {-1,+1} arithmetic", "[functional][mac]") {
    std::mt19937 rng(7);
    for (int i = 0; i < 20; ++i) {
        MacLayer L;
        L.input_type = L.weight_type = ValueType::int1;
        L.output_type = ValueType::int16;
        const std::int64_t cin = uniform(rng, 1, 40), cout = uniform(rng, 1, 5);
        L.weight_shape = {cout, cin, 3, 3};
        L.geometry.pad_top = L.geometry.pad_left = L.geometry.pad_bottom = L.geometry.pad_right = 1;
        for (std::int64_t k = 0; k < element_count(L.weight_shape); ++k) L.weights.push_back(random_value(rng, ValueType::int1));
        L.requant = {RequantRegisters{arch::RequantKind::shifter, arch::RoundingMode::floor, 1, 0, 1.0f, 32}};
        L.clamp_lo = -32768;
        L.clamp_hi = 32767;
        const QTensor x = random_tensor(rng, {1, cin, 5, 4}, ValueType::int1, 0);
        const QTensor got = run_mac_layer(L, x, {2, MacPath::xnor_popcount});
        // Plain integer arithmetic on {-1,+1}: padding contributes nothing.
        for (std::int64_t oc = 0; oc < cout; ++oc)
            for (std::int64_t oy = 0; oy < 5; ++oy)
                for (std::int64_t ox = 0; ox < 4; ++ox) {
                    int sum = 0;
                    for (std::int64_t c = 0; c < cin; ++c)
                        for (int ky = 0; ky < 3; ++ky)
                            for (int kx = 0; kx < 3; ++kx) {
                                const std::int64_t iy = oy - 1 + ky, ix = ox - 1 + kx;
                                if (iy < 0 || iy >= 5 || ix < 0 || ix >= 4) continue;
                                sum += L.weights[((oc * cin + c) * 3 + ky) * 3 + kx] * x.values[(c * 5 + iy) * 4 + ix];
                            }
                    REQUIRE(got.values[(oc * 5 + oy) * 4 + ox] == sum);
                }
    }
}

TEST_CASE("functional: MAC results do not depend on the thread count", "[functional][mac]") {
    std::mt19937 rng(5);
    MacLayer L;
    L.weight_shape = {16, 8, 3, 3};
    for (int k = 0; k < 16 * 8 * 9; ++k) L.weights.push_back(random_value(rng, ValueType::int8));
    L.accumulator = {18, arch::Overflow::saturate};  // some channels take the ordered loop
    for (int c = 0; c < 16; ++c) L.requant.push_back(random_registers(rng, 18));
    L.geometry.pad_top = L.geometry.pad_left = 1;
    const QTensor x = random_tensor(rng, {3, 8, 7, 6}, ValueType::int8, 0);
    const QTensor one = run_mac_layer(L, x, {1, MacPath::automatic});
    for (int threads : {2, 3, 4, 7, 32}) CHECK(run_mac_layer(L, x, {threads, MacPath::automatic}).values == one.values);
    const MacPlan plan = plan_mac(L, x);
    CHECK(std::count(plan.exact_ok.begin(), plan.exact_ok.end(), false) > 0);
}

TEST_CASE("functional: quantize_bias rounds half to even and saturates", "[functional][mac]") {
    CHECK(quantize_bias(1.0, 0.5, 0.25, 32) == 8);
    CHECK(quantize_bias(0.625, 0.5, 0.5, 32) == 2);    // 2.5 -> 2
    CHECK(quantize_bias(0.875, 0.5, 0.5, 32) == 4);    // 3.5 -> 4
    CHECK(quantize_bias(-0.625, 0.5, 0.5, 32) == -2);  // -2.5 -> -2
    CHECK(quantize_bias(1e6, 1.0, 1.0, 8) == 127);
    CHECK(quantize_bias(-1e6, 1.0, 1.0, 8) == -128);
}

TEST_CASE("functional: MAC layer rejects inconsistent parameters", "[functional][mac]") {
    MacLayer L;
    L.weight_shape = {4, 2, 3, 3};
    L.weights.resize(10);
    L.requant.resize(1);
    QTensor x({1, 2, 5, 5}, per_tensor(ValueType::int8, 1.0f, 0));
    CHECK_THROWS_AS(run_mac_layer(L, x), UserError);
    L.weights.resize(72);
    L.requant.resize(3);
    CHECK_THROWS_AS(run_mac_layer(L, x), UserError);
    L.requant.resize(4);
    QTensor bad({1, 3, 5, 5}, per_tensor(ValueType::int8, 1.0f, 0));
    CHECK_THROWS_AS(run_mac_layer(L, bad), UserError);
    CHECK_NOTHROW(run_mac_layer(L, x));
}

TEST_CASE("functional: the per-element helpers reproduce whole-layer outputs", "[functional][mac]") {
    // The SystemC model computes one output at a time with im2col_row and
    // mac_output_element; the fast whole-layer kernel must agree with it.
    std::mt19937 rng(21);
    for (int i = 0; i < 30; ++i) {
        auto [L, x] = random_layer(rng, i % 2 ? MacKind::conv : MacKind::gemm);
        const QTensor y = run_mac_layer(L, x);
        std::vector<std::int32_t> row(static_cast<std::size_t>(reduction_length(L)));
        const std::int64_t c_out = output_channels(L);
        if (L.kind == MacKind::gemm) {
            for (std::int64_t m = 0; m < x.size() / L.weight_shape[1]; ++m)
                for (std::int64_t oc = 0; oc < c_out; ++oc) {
                    im2col_row(L, x, m, 0, 0, 0, row.data());
                    REQUIRE(mac_output_element(L, oc, row.data()) == y.values[m * c_out + oc]);
                }
            continue;
        }
        for (std::int64_t n = 0; n < y.shape[0]; ++n)
            for (std::int64_t oc = 0; oc < c_out; ++oc)
                for (std::int64_t oy = 0; oy < y.shape[2]; ++oy)
                    for (std::int64_t ox = 0; ox < y.shape[3]; ++ox) {
                        im2col_row(L, x, n, group_of(L, oc), oy, ox, row.data());
                        REQUIRE(mac_output_element(L, oc, row.data()) ==
                                y.values[((n * c_out + oc) * y.shape[2] + oy) * y.shape[3] + ox]);
                    }
    }
}
