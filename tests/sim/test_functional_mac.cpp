// MAC layers (Conv, grouped/depthwise Conv, Gemm) of the fast kernel against
// the reference of sim/reference/mac.hpp, written straight from
// numerics.md "The MAC datapath": scalar loops over the ONNX index space that
// call only datapath primitives.
#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>
#include <random>

#include "bitnpu/errors.hpp"

#include "bitnpu/sim/functional/mac_fast.hpp"
#include "bitnpu/sim/functional/mac_layer.hpp"
#include "bitnpu/sim/reference/mac.hpp"
#include "test_functional_util.hpp"

using namespace bitnpu;
using namespace bitnpu::sim;
using namespace bitnpu::sim::testutil;
using arch::ValueType;

namespace {

// The layer with a 64-bit wrapping accumulator: no step ever overflows (the
// registers, and so the requant's left-shift width, stay as they are).
MacLayer wide_accumulator(MacLayer L) {
    L.accumulator = AccumulatorRule{64, arch::Overflow::wrap};
    return L;
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
        auto [L, x] = random_layer_and_input(rng, MacKind::conv);
        INFO("layer " << i << " in " << arch::to_string(L.input_type) << " w " << arch::to_string(L.weight_type)
                      << " acc " << L.accumulator.bits << (L.accumulator.overflow == arch::Overflow::wrap ? " wrap" : " sat")
                      << " groups " << L.geometry.groups);
        const QTensor want = reference::mac(L, x);
        // Count layers whose narrow accumulator really overflowed, so the
        // ordered-saturation rule is exercised, not just stated.
        if (reference::mac(wide_accumulator(L), x).values != want.values) ++overflowed;
        check_all_paths(L, x, want);
    }
    CHECK(overflowed >= 10);
}

TEST_CASE("functional: random Gemm layers match the NUMERICS reference on every path", "[functional][mac]") {
    std::mt19937 rng(99);
    int overflowed = 0;
    for (int i = 0; i < 150; ++i) {
        auto [L, x] = random_layer_and_input(rng, MacKind::gemm);
        INFO("layer " << i);
        const QTensor want = reference::mac(L, x);
        if (reference::mac(wide_accumulator(L), x).values != want.values) ++overflowed;
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
        auto [L, x] = random_layer_and_input(rng, i % 2 ? MacKind::conv : MacKind::gemm);
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
