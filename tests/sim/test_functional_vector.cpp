// Vector-engine layers against values computed by hand from
// numerics.md "Vector engine units", and against the reference layers of
// sim/reference on random data.
#include <catch2/catch.hpp>

#include <cmath>
#include <optional>
#include <random>
#include <utility>

#include "bitnpu/errors.hpp"
#include "bitnpu/sim/datapath/rounding.hpp"
#include "bitnpu/sim/functional/add_sub.hpp"
#include "bitnpu/sim/functional/broadcast.hpp"
#include "bitnpu/sim/functional/concat.hpp"
#include "bitnpu/sim/functional/host_layer.hpp"
#include "bitnpu/sim/functional/lut_layer.hpp"
#include "bitnpu/sim/functional/mul.hpp"
#include "bitnpu/sim/functional/pool.hpp"
#include "bitnpu/sim/functional/requantize_layer.hpp"
#include "bitnpu/sim/functional/reshape.hpp"
#include "bitnpu/sim/reference/add_sub.hpp"
#include "bitnpu/sim/reference/concat.hpp"
#include "bitnpu/sim/reference/lut.hpp"
#include "bitnpu/sim/reference/mul.hpp"
#include "bitnpu/sim/reference/pool.hpp"
#include "bitnpu/sim/reference/rescale.hpp"
#include "test_functional_util.hpp"

using namespace bitnpu;
using namespace bitnpu::sim;
using arch::RoundingMode;
using arch::ValueType;

namespace {

QTensor tensor(Shape shape, std::vector<std::int32_t> values, ValueType t = ValueType::int8) {
    QTensor q(std::move(shape), per_tensor(t, 1.0f, 0));
    q.values = std::move(values);
    return q;
}

RequantRegisters multiplier_regs(std::int64_t m, int shift, RoundingMode mode) {
    RequantRegisters r;
    r.kind = arch::RequantKind::multiplier;
    r.multiplier = m;
    r.shift = shift;
    r.rounding = mode;
    return r;
}

}  // namespace

TEST_CASE("functional: Add and Sub follow the shared-shift formula", "[functional][vector]") {
    AddLayer L;
    L.a_zero_point = 2;
    L.a_multiplier = 3;
    L.b_zero_point = 1;
    L.b_multiplier = 5;
    L.shift = 2;
    L.rounding = RoundingMode::half_up;
    L.output_zero_point = 3;
    L.clamp_lo = -20;
    L.clamp_hi = 15;
    // acc = (10-2)*3 + (-5-1)*5 = -6; floor((-6 + 2) / 4) = -1; + 3 = 2.
    CHECK(add_output_element(L, 10, -5) == 2);
    // Sub: 24 + 30 = 54; floor(56 / 4) = 14; + 3 = 17 -> clamp 15.
    L.subtract = true;
    CHECK(add_output_element(L, 10, -5) == 15);
    // An 8-bit accumulator saturates after each addition: 100 -> 127 + 0.
    AddLayer S;
    S.accumulator = {8, arch::Overflow::saturate};
    S.a_multiplier = S.b_multiplier = 10;
    S.clamp_lo = -1000;
    S.clamp_hi = 1000;
    CHECK(add_output_element(S, 10, 10) == 127);
    CHECK(add_output_element(S, 10, -10) == 0);
    S.accumulator.overflow = arch::Overflow::wrap;   // 200 wraps to -56
    CHECK(add_output_element(S, 10, 10) == -56);
}

TEST_CASE("functional: Add broadcasts like ONNX", "[functional][vector]") {
    CHECK(broadcast_shape({2, 3, 4}, {3, 1}) == Shape{2, 3, 4});
    CHECK_THROWS_AS(broadcast_shape({2, 3}, {4}), UserError);
    AddLayer L;   // identity multipliers: y = a + b
    const QTensor a = tensor({2, 3}, {1, 2, 3, 4, 5, 6});
    const QTensor b = tensor({3}, {10, 20, 30});
    CHECK(run_add_layer(L, a, b).values == std::vector<std::int32_t>{11, 22, 33, 14, 25, 36});
    const QTensor col = tensor({2, 1}, {100, -100});
    L.clamp_lo = -1000;
    L.clamp_hi = 1000;
    const QTensor y = run_add_layer(L, a, col);
    CHECK(y.shape == Shape{2, 3});
    CHECK(y.values == std::vector<std::int32_t>{101, 102, 103, -96, -95, -94});
}

TEST_CASE("functional: Mul requantizes the exact product", "[functional][vector]") {
    MulLayer L;
    L.a_zero_point = 1;
    L.b_zero_point = 0;
    L.requant = multiplier_regs(3, 2, RoundingMode::half_even);
    // (6-1)*(-2) = -10; -10 * 3 = -30; -30 / 4 = -7.5 -> -8 (ties to even).
    CHECK(mul_output_element(L, 6, -2) == -8);
    L.requant.rounding = RoundingMode::half_up;   // -7.5 -> -7
    CHECK(mul_output_element(L, 6, -2) == -7);
    L.output_zero_point = 100;                    // -7 + 100 = 93
    CHECK(mul_output_element(L, 6, -2) == 93);
}

TEST_CASE("functional: MaxPool picks the window maximum, ignoring padding", "[functional][vector]") {
    const QTensor x = tensor({1, 1, 4, 4}, {1, 5, 2, 0, -3, 4, 8, 1, 7, -1, -2, -9, 0, 6, 3, -4});
    MaxPoolLayer L;
    L.geometry.kernel_h = L.geometry.kernel_w = 2;
    L.geometry.stride_h = L.geometry.stride_w = 2;
    CHECK(run_max_pool_layer(L, x).values == std::vector<std::int32_t>{5, 8, 7, 3});
    // 3x3 stride 2 pad 1: windows centred on (0,0), (0,2), (2,0), (2,2).
    L.geometry.kernel_h = L.geometry.kernel_w = 3;
    L.geometry.pad_top = L.geometry.pad_left = L.geometry.pad_bottom = L.geometry.pad_right = 1;
    const QTensor y = run_max_pool_layer(L, tensor({1, 1, 4, 4}, std::vector<std::int32_t>(16, -100)));
    CHECK(y.values == std::vector<std::int32_t>(4, -100));   // padding never wins
    // ceil_mode: 5 wide, kernel 2, stride 2 -> 3 outputs instead of 2.
    PoolGeometry g;
    g.kernel_h = g.kernel_w = 2;
    g.stride_h = g.stride_w = 2;
    CHECK(pool_output_shape(g, {1, 1, 5, 5}) == Shape{1, 1, 2, 2});
    g.ceil_mode = true;
    CHECK(pool_output_shape(g, {1, 1, 5, 5}) == Shape{1, 1, 3, 3});
    MaxPoolLayer G;
    G.geometry.global = true;
    CHECK(run_max_pool_layer(G, x).values == std::vector<std::int32_t>{8});
}

TEST_CASE("functional: AveragePool uses one register set per window count", "[functional][vector]") {
    const QTensor x = tensor({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
    AvgPoolLayer L;
    L.geometry.kernel_h = L.geometry.kernel_w = 3;
    L.geometry.pad_top = L.geometry.pad_left = L.geometry.pad_bottom = L.geometry.pad_right = 1;
    // count_include_pad = 0: corners average 4 values, edges 6, the centre 9.
    CHECK(window_counts(L, x.shape) == std::vector<std::int64_t>{4, 6, 9});
    // m = 1/N as M * 2^-16, half_up.
    for (std::int64_t n : {4, 6, 9})
        L.registers_by_count[n] = multiplier_regs(std::llround(65536.0 / static_cast<double>(n)), 16, RoundingMode::half_up);
    // Corners: 12/4 = 3, 16/4 = 4, 24/4 = 6, 28/4 = 7. Edges: 21/6 = 3.5 -> 4,
    // 27/6 = 4.5 -> 5, 33/6 = 5.5 -> 6, 39/6 = 6.5 -> 7. Centre 45/9 = 5.
    CHECK(run_avg_pool_layer(L, x).values == std::vector<std::int32_t>{3, 4, 4, 5, 5, 6, 6, 7, 7});
    // count_include_pad = 1: every window counts 9 (padding reads z_x = 0):
    // 12/9, 21/9, 16/9, 27/9, 45/9, 33/9, 24/9, 39/9, 28/9 rounded half up.
    L.count_include_pad = true;
    CHECK(window_counts(L, x.shape) == std::vector<std::int64_t>{9});
    CHECK(run_avg_pool_layer(L, x).values == std::vector<std::int32_t>{1, 2, 2, 3, 5, 4, 3, 4, 3});
    // A count with no registers is a user error, not a silent default.
    L.registers_by_count.erase(9);
    CHECK_THROWS_AS(run_avg_pool_layer(L, x), UserError);

    AvgPoolLayer G;   // GlobalAveragePool with z_x = 2: (sum - 4*2) / 4
    G.geometry.global = true;
    G.input_zero_point = 2;
    G.registers_by_count[4] = multiplier_regs(1, 2, RoundingMode::half_even);
    const QTensor g = tensor({1, 2, 2, 2}, {1, 2, 3, 4, 10, 10, 10, 12});
    // (10 - 8) / 4 = 0.5 -> 0; (42 - 8) / 4 = 8.5 -> 8.
    CHECK(run_avg_pool_layer(G, g).values == std::vector<std::int32_t>{0, 8});
}

TEST_CASE("functional: Concat copies tied inputs and requantizes the rest", "[functional][vector]") {
    ConcatLayer L;
    L.axis = 1;
    L.output_zero_point = 10;
    L.inputs = {ConcatInput{10, std::nullopt}, ConcatInput{-4, multiplier_regs(1, 1, RoundingMode::half_even)}};
    const QTensor a = tensor({1, 2, 2}, {1, 2, 3, 4});
    const QTensor b = tensor({1, 1, 2}, {0, 3});
    // b: (0+4)/2 = 2 -> 12; (3+4)/2 = 3.5 -> 4 -> 14.
    const QTensor y = run_concat_layer(L, {&a, &b});
    CHECK(y.shape == Shape{1, 3, 2});
    CHECK(y.values == std::vector<std::int32_t>{1, 2, 3, 4, 12, 14});
    L.axis = -1;   // along the last axis
    const QTensor z = run_concat_layer(L, {&a, &a});
    CHECK(z.shape == Shape{1, 2, 4});
    CHECK_THROWS_AS(run_concat_layer(L, {&a, &b}), UserError);
}

TEST_CASE("functional: LUT layer looks up the table build_lut makes", "[functional][vector]") {
    const LutLayer L = make_lut_layer([](double v) { return v; }, LutQuant{0.5f, 0, ValueType::int8},
                                      LutQuant{1.0f, 0, ValueType::int8});
    REQUIRE(L.table.size() == 256);
    CHECK(lut_output_element(L, 3) == 2);     // 1.5 -> 2
    CHECK(lut_output_element(L, 5) == 2);     // 2.5 -> 2
    CHECK(lut_output_element(L, -3) == -2);   // -1.5 -> -2
    CHECK(lut_output_element(L, -128) == -64);
    const QTensor y = run_lut_layer(L, tensor({3}, {3, 5, 127}));
    CHECK(y.values == std::vector<std::int32_t>{2, 2, 64});
    // Every code of the type, in a large tensor: the element rule.
    QTensor all = tensor({1000}, std::vector<std::int32_t>(1000));
    for (std::size_t i = 0; i < all.values.size(); ++i) all.values[i] = static_cast<std::int32_t>(i % 256) - 128;
    const QTensor ya = run_lut_layer(L, all);
    for (std::size_t i = 0; i < all.values.size(); ++i) REQUIRE(ya.values[i] == lut_output_element(L, all.values[i]));
    // A value outside the table is named, not read.
    CHECK_THROWS_WITH(run_lut_layer(L, tensor({3}, {3, 300, 5})), Catch::Contains("LUT input 300"));
    CHECK_THROWS_WITH(run_lut_layer(L, tensor({2}, {-129, 0})), Catch::Contains("LUT input -129"));
}

TEST_CASE("functional: Requantize layer rescales per channel", "[functional][vector]") {
    RequantizeLayer L;
    L.input_zero_point = 1;
    L.axis = 1;
    L.requant = {multiplier_regs(1, 0, RoundingMode::floor), multiplier_regs(1, 1, RoundingMode::floor)};
    L.output_zero_point = -1;
    // Channel 0: (x-1) - 1; channel 1: floor((x-1)/2) - 1.
    const QTensor y = run_requantize_layer(L, tensor({1, 2, 2}, {5, 6, 5, 8}));
    CHECK(y.values == std::vector<std::int32_t>{3, 4, 1, 2});
    CHECK_THROWS_AS(run_requantize_layer(L, tensor({1, 3, 1}, {1, 2, 3})), UserError);
}

TEST_CASE("functional: Reshape infers -1 and keeps values", "[functional][vector]") {
    ReshapeLayer L{{0, -1}};
    const QTensor y = run_reshape_layer(L, tensor({2, 3, 2}, std::vector<std::int32_t>(12, 7)));
    CHECK(y.shape == Shape{2, 6});
    CHECK(y.values.size() == 12);
    CHECK_THROWS_AS(run_reshape_layer(ReshapeLayer{{5, -1}}, tensor({2, 3}, std::vector<std::int32_t>(6, 0))), UserError);
}

TEST_CASE("functional: Host layer runs FP32 between dequantize and quantize", "[functional][vector]") {
    HostLayer L;
    L.op = "Double";
    L.function = [](const std::vector<FloatTensor>& in) {
        FloatTensor out = in[0];
        for (float& v : out.data) v *= 2.0f;
        return std::vector<FloatTensor>{out};
    };
    QTensor x({4}, per_tensor(ValueType::int8, 0.5f, 2));
    x.values = {2, 3, 4, 127};   // real 0, 0.5, 1, 62.5
    // Output scale 0.25, zero-point -10: 0 -> -10, 1 -> -6, 2 -> -2, 125 -> 490 -> clamp 127.
    const auto y = run_host_layer(L, {&x}, {per_tensor(ValueType::int8, 0.25f, -10)});
    REQUIRE(y.size() == 1);
    CHECK(y[0].values == std::vector<std::int32_t>{-10, -6, -2, 127});
    L.function = nullptr;
    CHECK_THROWS_AS(run_host_layer(L, {&x}, {per_tensor(ValueType::int8, 0.25f, -10)}), UserError);
}

TEST_CASE("functional: random Add/Mul match the NUMERICS formulas", "[functional][vector]") {
    std::mt19937 rng(11);
    for (int i = 0; i < 300; ++i) {
        AddLayer A;
        A.subtract = testutil::uniform(rng, 0, 1);
        A.a_zero_point = testutil::uniform(rng, -128, 127);
        A.b_zero_point = testutil::uniform(rng, -128, 127);
        A.a_multiplier = testutil::uniform(rng, 0, 1 << 15);
        A.b_multiplier = testutil::uniform(rng, 0, 1 << 15);
        A.shift = static_cast<int>(testutil::uniform(rng, -2, 20));
        A.rounding = static_cast<RoundingMode>(testutil::uniform(rng, 0, 4));
        A.accumulator = {static_cast<int>(testutil::uniform(rng, 12, 32)),
                         testutil::uniform(rng, 0, 1) ? arch::Overflow::wrap : arch::Overflow::saturate};
        A.output_zero_point = testutil::uniform(rng, -20, 20);
        const std::int64_t a = testutil::uniform(rng, -128, 127), b = testutil::uniform(rng, -128, 127);
        // Reference: each term exact, accumulated at accumulator width, one shift.
        std::int64_t acc = accumulate(0, (a - A.a_zero_point) * A.a_multiplier, A.accumulator);
        acc = accumulate(acc, (A.subtract ? -1 : 1) * (b - A.b_zero_point) * A.b_multiplier, A.accumulator);
        const auto shifted = static_cast<std::int64_t>(round_shift(acc, A.shift, A.rounding, A.accumulator.bits));
        const std::int64_t want = std::clamp<std::int64_t>(shifted + A.output_zero_point, -128, 127);
        REQUIRE(add_output_element(A, a, b) == want);

        MulLayer M;
        M.a_zero_point = A.a_zero_point;
        M.b_zero_point = A.b_zero_point;
        M.accumulator = A.accumulator;
        M.requant = testutil::random_registers(rng, A.accumulator.bits);
        const std::int64_t macc = accumulate(0, (a - M.a_zero_point) * (b - M.b_zero_point), M.accumulator);
        REQUIRE(mul_output_element(M, a, b) == std::clamp<std::int64_t>(requantize(macc, M.requant), -128, 127));
    }
}

TEST_CASE("functional: large int8 Add/Mul (pair-table path) equal the per-element rule", "[functional][vector]") {
    // 2 x 64 x 40 x 40 = 204800 outputs > 256 * 256 operand pairs: the layer
    // runs through its table; every output must equal the element rule.
    // Trials 3-4: int16 operands whose values span a narrow range (the
    // table covers the values held, not the type's range).
    // Trial 5: the broadcast operand first (the table's rows are then a's).
    std::mt19937 rng(23);
    for (int trial = 0; trial < 6; ++trial) {
        QTensor a = testutil::random_tensor(rng, {2, 64, 40, 40}, trial == 2 ? ValueType::uint8 : trial >= 3 ? ValueType::int16 : ValueType::int8, 0);
        QTensor b = testutil::random_tensor(rng, {1, 64, 1, 1}, trial == 4 ? ValueType::int16 : ValueType::int8, 0);   // broadcast (SE block)
        if (trial == 5) std::swap(a, b);
        if (trial == 3 || trial == 4) {
            for (auto& v : a.values) v = v % 101 - 7;
            for (auto& v : b.values) v = v % 60 + 1000 * (trial == 4);
        }
        AddLayer A;
        A.a_zero_point = testutil::uniform(rng, -10, 10);
        A.b_zero_point = testutil::uniform(rng, -10, 10);
        A.a_multiplier = testutil::uniform(rng, 1, 1 << 14);
        A.b_multiplier = testutil::uniform(rng, 1, 1 << 14);
        A.shift = static_cast<int>(testutil::uniform(rng, 4, 16));
        A.rounding = static_cast<RoundingMode>(testutil::uniform(rng, 0, 4));
        MulLayer M;
        M.a_zero_point = A.a_zero_point;
        M.b_zero_point = A.b_zero_point;
        M.requant = testutil::random_registers(rng, 32);
        const QTensor ya = run_add_layer(A, a, b), ym = run_mul_layer(M, a, b);
        const std::vector<std::int64_t> ia = broadcast_indices(a.shape, ya.shape), ib = broadcast_indices(b.shape, ya.shape);
        REQUIRE(ya.values.size() == 204800);
        std::size_t mismatches = 0;
        for (std::size_t i = 0; i < ya.values.size(); ++i) {
            const std::int64_t va = a.values[static_cast<std::size_t>(ia[i])], vb = b.values[static_cast<std::size_t>(ib[i])];
            mismatches += ya.values[i] != add_output_element(A, va, vb);
            mismatches += ym.values[i] != mul_output_element(M, va, vb);
        }
        CHECK(mismatches == 0);
    }
}

TEST_CASE("functional: broadcast runs visit the same operand elements as broadcast_indices", "[functional][vector]") {
    std::mt19937 rng(31);
    for (int trial = 0; trial < 500; ++trial) {
        // Random compatible shapes: each output dim d, each operand 1 or d, random ranks.
        const std::size_t rank = static_cast<std::size_t>(testutil::uniform(rng, 0, 5));
        Shape out(rank), a, b;
        for (auto& d : out) d = testutil::uniform(rng, 1, 4);
        const std::size_t ra = static_cast<std::size_t>(testutil::uniform(rng, 0, static_cast<std::int64_t>(rank)));
        const std::size_t rb = static_cast<std::size_t>(testutil::uniform(rng, 0, static_cast<std::int64_t>(rank)));
        for (std::size_t i = rank - ra; i < rank; ++i) a.push_back(testutil::uniform(rng, 0, 1) ? out[i] : 1);
        for (std::size_t i = rank - rb; i < rank; ++i) b.push_back(testutil::uniform(rng, 0, 1) ? out[i] : 1);
        const Shape shape = broadcast_shape(a, b);
        const std::vector<std::int64_t> ia = broadcast_indices(a, shape), ib = broadcast_indices(b, shape);
        std::vector<std::int64_t> ja(ia.size(), -1), jb(ib.size(), -1);
        const BroadcastRuns runs = broadcast_runs(a, b, shape);
        for_each_broadcast_run(runs, [&](std::int64_t out_at, std::int64_t a_at, std::int64_t b_at) {
            for (std::int64_t k = 0; k < runs.length; ++k) {
                ja.at(static_cast<std::size_t>(out_at + k)) = a_at + k * runs.step_a;
                jb.at(static_cast<std::size_t>(out_at + k)) = b_at + k * runs.step_b;
            }
        });
        INFO("trial " << trial);
        REQUIRE(ja == ia);
        REQUIRE(jb == ib);
    }
}

namespace {

// A random shape of rank 1..4 and its broadcast partner (each dimension kept,
// set to 1, or dropped from the front).
std::pair<Shape, Shape> broadcast_pair(std::mt19937& rng, bool large) {
    const std::size_t rank = static_cast<std::size_t>(testutil::uniform(rng, 1, 4));
    Shape a(rank);
    for (auto& d : a) d = testutil::uniform(rng, 1, large ? 12 : 4);
    Shape b = a;
    for (auto& d : b)
        if (testutil::uniform(rng, 0, 2) == 0) d = 1;
    const auto drop = static_cast<std::size_t>(testutil::uniform(rng, 0, static_cast<std::int64_t>(rank)));
    b.erase(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(drop));
    if (testutil::uniform(rng, 0, 1)) std::swap(a, b);
    return {a, b};
}

// Values of type t, sometimes squeezed into a narrow band (the fast binary
// layers then use their pair table).
QTensor vector_operand(std::mt19937& rng, const Shape& shape, ValueType t, bool narrow) {
    QTensor q = testutil::random_tensor(rng, shape, t, 0);
    if (narrow)
        for (auto& v : q.values) v = static_cast<std::int32_t>(v % 7);
    return q;
}

}  // namespace

TEST_CASE("reference vs fast: random Add/Sub and Mul layers with broadcasting", "[functional][vector][reference]") {
    std::mt19937 rng(404);
    std::int64_t compared = 0, differ = 0;
    for (int i = 0; i < 400; ++i) {
        const bool large = i % 4 == 3;
        const auto [sa, sb] = broadcast_pair(rng, large);
        const ValueType ta = testutil::uniform(rng, 0, 3) ? ValueType::int8 : ValueType::int16;
        const ValueType tb = testutil::uniform(rng, 0, 1) ? ValueType::uint8 : ValueType::int4;
        const QTensor a = vector_operand(rng, sa, ta, large), b = vector_operand(rng, sb, tb, large);
        AddLayer A;
        A.subtract = testutil::uniform(rng, 0, 1);
        A.a_zero_point = testutil::uniform(rng, -20, 20);
        A.b_zero_point = testutil::uniform(rng, -20, 20);
        A.a_multiplier = testutil::uniform(rng, 0, 1 << 15);
        A.b_multiplier = testutil::uniform(rng, 0, 1 << 15);
        A.shift = static_cast<int>(testutil::uniform(rng, -3, 24));
        A.rounding = static_cast<RoundingMode>(testutil::uniform(rng, 0, 4));
        A.accumulator = {static_cast<int>(testutil::uniform(rng, 10, 40)),
                         testutil::uniform(rng, 0, 1) ? arch::Overflow::wrap : arch::Overflow::saturate};
        A.output_zero_point = testutil::uniform(rng, -20, 20);
        A.clamp_lo = testutil::uniform(rng, 0, 1) ? -128 : A.output_zero_point;
        MulLayer M;
        M.a_zero_point = A.a_zero_point;
        M.b_zero_point = A.b_zero_point;
        M.accumulator = A.accumulator;
        M.requant = testutil::random_registers(rng, A.accumulator.bits);
        M.output_zero_point = A.output_zero_point;
        INFO("case " << i);
        const QTensor want_add = reference::add(A, a, b), want_mul = reference::mul(M, a, b);
        const QTensor got_add = run_add_layer(A, a, b), got_mul = run_mul_layer(M, a, b);
        REQUIRE(got_add.shape == want_add.shape);
        REQUIRE(got_mul.shape == want_mul.shape);
        CHECK(got_add.quant == want_add.quant);
        for (std::size_t e = 0; e < want_add.values.size(); ++e) {
            differ += got_add.values[e] != want_add.values[e];
            differ += got_mul.values[e] != want_mul.values[e];
        }
        compared += 2 * want_add.size();
    }
    CHECK(differ == 0);
    CHECK(compared > 20000);
    // Shapes that do not broadcast: both refuse.
    CHECK_THROWS_AS(reference::add(AddLayer{}, tensor({2, 3}, std::vector<std::int32_t>(6)), tensor({4}, std::vector<std::int32_t>(4))),
                    UserError);
}

TEST_CASE("reference vs fast: random MaxPool and AveragePool layers", "[functional][vector][reference]") {
    std::mt19937 rng(505);
    std::int64_t compared = 0, differ = 0, refused = 0;
    for (int i = 0; i < 300; ++i) {
        PoolGeometry g;
        g.global = testutil::uniform(rng, 0, 9) == 0;
        g.kernel_h = static_cast<int>(testutil::uniform(rng, 1, 4));
        g.kernel_w = static_cast<int>(testutil::uniform(rng, 1, 4));
        g.stride_h = static_cast<int>(testutil::uniform(rng, 1, 3));
        g.stride_w = static_cast<int>(testutil::uniform(rng, 1, 3));
        g.dilation_h = static_cast<int>(testutil::uniform(rng, 1, 2));
        g.dilation_w = static_cast<int>(testutil::uniform(rng, 1, 2));
        g.pad_top = static_cast<int>(testutil::uniform(rng, 0, g.kernel_h - 1));
        g.pad_bottom = static_cast<int>(testutil::uniform(rng, 0, g.kernel_h - 1));
        g.pad_left = static_cast<int>(testutil::uniform(rng, 0, g.kernel_w - 1));
        g.pad_right = static_cast<int>(testutil::uniform(rng, 0, g.kernel_w - 1));
        g.ceil_mode = testutil::uniform(rng, 0, 1);
        const Shape shape{testutil::uniform(rng, 1, 2), testutil::uniform(rng, 1, 3), testutil::uniform(rng, 1, 9),
                          testutil::uniform(rng, 1, 9)};
        const ValueType t = testutil::uniform(rng, 0, 1) ? ValueType::int8 : ValueType::uint8;
        const QTensor x = testutil::random_tensor(rng, shape, t, 0);
        INFO("case " << i);
        CHECK(reference::output_shape(g, shape) == pool_output_shape(g, shape));

        MaxPoolLayer P{g};
        std::optional<QTensor> want_max;
        try {
            want_max = reference::max_pool(P, x);
        } catch (const UserError&) {
            ++refused;   // a window entirely in the padding: the fast layer refuses it too
            CHECK_THROWS_AS(run_max_pool_layer(P, x), UserError);
        }
        if (want_max) {
            const QTensor got = run_max_pool_layer(P, x);
            REQUIRE(got.shape == want_max->shape);
            CHECK(got.quant == want_max->quant);
            differ += got.values != want_max->values;
            compared += got.size();
        }

        AvgPoolLayer A;
        A.geometry = g;
        A.count_include_pad = testutil::uniform(rng, 0, 1);
        A.input_zero_point = testutil::uniform(rng, -5, 5);
        A.accumulator = {static_cast<int>(testutil::uniform(rng, 8, 32)),
                         testutil::uniform(rng, 0, 1) ? arch::Overflow::wrap : arch::Overflow::saturate};
        A.output_zero_point = testutil::uniform(rng, -10, 10);
        // Registers for every count a window can have (the reference does not
        // ask window_counts which it meets).
        const std::int64_t most = g.global ? shape[2] * shape[3] : std::int64_t{g.kernel_h} * g.kernel_w;
        for (std::int64_t n = 0; n <= most; ++n) A.registers_by_count[n] = testutil::random_registers(rng, A.accumulator.bits);
        std::optional<QTensor> want_avg;
        try {
            want_avg = reference::average_pool(A, x);
        } catch (const UserError&) {
            CHECK_THROWS_AS(run_avg_pool_layer(A, x), UserError);
        }
        if (want_avg) {
            const QTensor got = run_avg_pool_layer(A, x);
            REQUIRE(got.shape == want_avg->shape);
            differ += got.values != want_avg->values;
            compared += got.size();
        }
    }
    CHECK(differ == 0);
    CHECK(compared > 5000);
    CHECK(refused < 100);
}

TEST_CASE("reference vs fast: random Concat, LUT and Requantize layers", "[functional][vector][reference]") {
    std::mt19937 rng(606);
    std::int64_t differ = 0, compared = 0;
    for (int i = 0; i < 200; ++i) {
        INFO("case " << i);
        // Concat: 1..4 inputs of one rank, differing along the axis; some copied (tied), some requantized.
        const std::size_t rank = static_cast<std::size_t>(testutil::uniform(rng, 1, 4));
        Shape base(rank);
        for (auto& d : base) d = testutil::uniform(rng, 1, 4);
        ConcatLayer C;
        const int axis = static_cast<int>(testutil::uniform(rng, 0, static_cast<std::int64_t>(rank) - 1));
        C.axis = testutil::uniform(rng, 0, 1) ? axis : axis - static_cast<int>(rank);
        C.output_zero_point = testutil::uniform(rng, -10, 10);
        std::vector<QTensor> parts;
        const auto count = static_cast<std::size_t>(testutil::uniform(rng, 1, 4));
        for (std::size_t k = 0; k < count; ++k) {
            Shape s = base;
            s[static_cast<std::size_t>(axis)] = testutil::uniform(rng, 1, 3);
            parts.push_back(testutil::random_tensor(rng, s, ValueType::int8, 0));
            ConcatInput in;
            in.zero_point = testutil::uniform(rng, -10, 10);
            if (testutil::uniform(rng, 0, 2)) in.requant = testutil::random_registers(rng, 32);
            C.inputs.push_back(in);
        }
        std::vector<const QTensor*> inputs;
        for (const QTensor& p : parts) inputs.push_back(&p);
        const QTensor want_c = reference::concat(C, inputs), got_c = run_concat_layer(C, inputs);
        REQUIRE(got_c.shape == want_c.shape);
        differ += got_c.values != want_c.values;
        compared += got_c.size();

        // LUT: a table over a random input quantization, inputs of every code.
        const ValueType in_type = testutil::uniform(rng, 0, 1) ? ValueType::int8 : ValueType::int4;
        const ValueType out_type = testutil::uniform(rng, 0, 1) ? ValueType::uint8 : ValueType::int8;
        const LutLayer L = make_lut_layer([](double v) { return std::tanh(v); },
                                          LutQuant{0.01f * static_cast<float>(testutil::uniform(rng, 1, 20)), 0, in_type},
                                          LutQuant{1.0f / 128, testutil::uniform(rng, -3, 3), out_type});
        const QTensor lx = testutil::random_tensor(rng, {testutil::uniform(rng, 1, 600)}, in_type, 0);
        const QTensor want_l = reference::lut(L, lx), got_l = run_lut_layer(L, lx);
        CHECK(got_l.quant == want_l.quant);
        differ += got_l.values != want_l.values;
        compared += got_l.size();

        // Requantize: per tensor, or per channel along a random axis.
        RequantizeLayer R;
        const Shape rs{testutil::uniform(rng, 1, 3), testutil::uniform(rng, 1, 4), testutil::uniform(rng, 1, 5)};
        R.axis = static_cast<int>(testutil::uniform(rng, 0, 2));
        R.input_zero_point = testutil::uniform(rng, -10, 10);
        R.output_zero_point = testutil::uniform(rng, -10, 10);
        const std::int64_t sets = testutil::uniform(rng, 0, 1) ? 1 : rs[static_cast<std::size_t>(R.axis)];
        for (std::int64_t c = 0; c < sets; ++c) R.requant.push_back(testutil::random_registers(rng, 32));
        const QTensor rx = testutil::random_tensor(rng, rs, ValueType::int16, 0);
        const QTensor want_r = reference::rescale(R, rx), got_r = run_requantize_layer(R, rx);
        differ += got_r.values != want_r.values;
        compared += got_r.size();
    }
    CHECK(differ == 0);
    CHECK(compared > 20000);
    // Inputs outside the table are named by both.
    const LutLayer L = make_lut_layer([](double v) { return v; }, LutQuant{0.5f, 0, ValueType::int8},
                                      LutQuant{1.0f, 0, ValueType::int8});
    CHECK_THROWS_WITH(reference::lut(L, tensor({3}, {3, 300, 5})), Catch::Contains("LUT input 300"));
}
