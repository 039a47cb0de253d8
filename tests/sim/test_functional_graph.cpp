// QuantGraph execution: orchestration (order, quantization at the edges,
// observer, freeing), validation errors, and sqnr_db.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>

#include "bitnpu/errors.hpp"
#include "bitnpu/sim/datapath/quantize.hpp"
#include "bitnpu/sim/functional/graph.hpp"
#include "test_functional_util.hpp"

using namespace bitnpu;
using namespace bitnpu::sim;
using arch::ValueType;

namespace {

RequantRegisters regs(std::int64_t m, int shift) {
    RequantRegisters r;
    r.kind = arch::RequantKind::multiplier;
    r.rounding = arch::RoundingMode::half_even;
    r.multiplier = m;
    r.shift = shift;
    return r;
}

// input -> Conv(3x3, ReLU) -> MaxPool -> Reshape -> Gemm -> Host(x2), outputs Gemm and Host.
QuantGraph small_graph(std::mt19937& rng) {
    QuantGraph g;
    g.name = "small";
    g.tensors = {{"x", per_tensor(ValueType::int8, 0.1f, 0), {1, 2, 4, 4}},
                 {"conv", per_tensor(ValueType::uint8, 0.05f, 0), {}},
                 {"pool", per_tensor(ValueType::uint8, 0.05f, 0), {}},
                 {"flat", per_tensor(ValueType::uint8, 0.05f, 0), {}},
                 {"fc", per_tensor(ValueType::int8, 0.2f, 3), {}},
                 {"host", per_tensor(ValueType::int8, 0.4f, 0), {}}};
    MacLayer conv;
    conv.input_type = ValueType::int8;
    conv.output_type = ValueType::uint8;
    conv.weight_shape = {3, 2, 3, 3};
    for (int i = 0; i < 54; ++i) conv.weights.push_back(testutil::random_value(rng, ValueType::int8));
    conv.bias = {100, -200, 300};
    conv.requant = {regs(700, 16), regs(900, 16), regs(1100, 16)};
    conv.geometry.pad_top = conv.geometry.pad_left = conv.geometry.pad_bottom = conv.geometry.pad_right = 1;
    conv.clamp_lo = 0;
    conv.clamp_hi = 255;
    MaxPoolLayer pool;
    pool.geometry.kernel_h = pool.geometry.kernel_w = pool.geometry.stride_h = pool.geometry.stride_w = 2;
    MacLayer fc;
    fc.kind = MacKind::gemm;
    fc.input_type = ValueType::uint8;
    fc.weight_shape = {4, 12};
    for (int i = 0; i < 48; ++i) fc.weights.push_back(testutil::random_value(rng, ValueType::int8));
    fc.requant = {regs(40, 14)};
    fc.output_zero_point = 3;
    HostLayer host{"Double", [](const std::vector<FloatTensor>& in) {
                       FloatTensor out = in[0];
                       for (float& v : out.data) v *= 2.0f;
                       return std::vector<FloatTensor>{out};
                   }};
    g.nodes = {{"conv0", "Conv", "mac", {ValueType::int8, ValueType::int8}, conv, {0}, {1}},
               {"pool0", "MaxPool", "vec", {std::nullopt, ValueType::uint8}, pool, {1}, {2}},
               {"flat0", "Flatten", "vec", {std::nullopt, ValueType::uint8}, ReshapeLayer{{1, -1}}, {2}, {3}},
               {"fc0", "Gemm", "mac", {ValueType::int8, ValueType::uint8}, fc, {3}, {4}},
               {"host0", "Double", "host", {std::nullopt, ValueType::int8}, host, {4}, {5}}};
    g.inputs = {0};
    g.outputs = {4, 5};
    return g;
}

FloatTensor random_input(std::mt19937& rng) {
    FloatTensor x{{1, 2, 4, 4}, {}};
    std::uniform_real_distribution<float> u(-10.0f, 10.0f);
    for (int i = 0; i < 32; ++i) x.data.push_back(u(rng));
    return x;
}

}  // namespace

TEST_CASE("functional: a graph run chains its layers and quantizes at the edges", "[functional][graph]") {
    std::mt19937 rng(3);
    const QuantGraph g = small_graph(rng);
    const FloatTensor x = random_input(rng);

    // The same chain by hand, layer by layer.
    QTensor q(x.shape, g.tensors[0].quant);
    for (std::size_t i = 0; i < x.data.size(); ++i) q.values[i] = static_cast<std::int32_t>(quantize(x.data[i], 0.1f, 0, -128, 127));
    const QTensor c = run_mac_layer(std::get<MacLayer>(g.nodes[0].params), q);
    const QTensor p = run_max_pool_layer(std::get<MaxPoolLayer>(g.nodes[1].params), c);
    const QTensor f = run_reshape_layer(std::get<ReshapeLayer>(g.nodes[2].params), p);
    const QTensor fc = run_mac_layer(std::get<MacLayer>(g.nodes[3].params), f);
    REQUIRE(f.shape == Shape{1, 12});

    std::vector<int> seen;
    const GraphResult r = run(g, {x}, {}, [&](const QuantNode* node, int id, const QTensor& t) {
        CHECK((node == nullptr) == (id == 0));
        CHECK(t.quant.scales == g.tensors[static_cast<std::size_t>(id)].quant.scales);
        if (id == 1) CHECK(t.values == c.values);
        seen.push_back(id);
    });
    CHECK(seen == std::vector<int>{0, 1, 2, 3, 4, 5});
    REQUIRE(r.raw_outputs.size() == 2);
    CHECK(r.raw_outputs[0].values == fc.values);
    CHECK(r.raw_outputs[0].shape == Shape{1, 4});
    // Dequantized: 0.2 * (q - 3). Host: quantize(2 * that, 0.4, 0) = q - 3, clamped.
    for (std::size_t i = 0; i < 4; ++i) {
        CHECK(r.outputs[0].data[i] == Approx(0.2f * static_cast<float>(fc.values[i] - 3)));
        CHECK(r.raw_outputs[1].values[i] == std::max(fc.values[i] - 3, -128));
    }
    // More threads and the forced ordered path give the same bits.
    const GraphResult r3 = run(g, {x}, {3, MacPath::ordered});
    CHECK(r3.raw_outputs[0].values == r.raw_outputs[0].values);
    // A runner reused across inputs gives what fresh runs give.
    const GraphRunner runner(g);
    const FloatTensor x2 = random_input(rng);
    CHECK(runner.run({x}).raw_outputs[1].values == r.raw_outputs[1].values);
    CHECK(runner.run({x2}).raw_outputs[0].values == run(g, {x2}).raw_outputs[0].values);
}

TEST_CASE("functional: malformed graphs are user errors", "[functional][graph]") {
    std::mt19937 rng(4);
    const FloatTensor x = random_input(rng);
    QuantGraph g = small_graph(rng);
    CHECK_THROWS_AS(run(g, {}), UserError);
    CHECK_THROWS_AS(run(g, {x, x}), UserError);
    FloatTensor bad = x;
    bad.data.pop_back();
    CHECK_THROWS_AS(run(g, {bad}), UserError);

    QuantGraph swapped = g;
    std::swap(swapped.nodes[1], swapped.nodes[2]);
    CHECK_THROWS_WITH(run(swapped, {x}), Catch::Contains("topological"));
    QuantGraph missing = g;
    missing.nodes[0].outputs = {17};
    CHECK_THROWS_AS(run(missing, {x}), UserError);
    QuantGraph arity = g;
    arity.nodes[0].inputs = {0, 0};
    CHECK_THROWS_AS(run(arity, {x}), UserError);
    QuantGraph wrong_k = g;
    std::get<ReshapeLayer>(wrong_k.nodes[2].params).shape = {1, 3, -1};   // Gemm then sees K = 4
    CHECK_THROWS_WITH(run(wrong_k, {x}), Catch::Contains("fc0"));
}

TEST_CASE("functional: sqnr_db", "[functional][graph]") {
    const float ref[] = {1.0f, 2.0f, 3.0f};
    const float test[] = {1.0f, 2.0f, 4.0f};
    CHECK(sqnr_db(ref, test, 3) == Approx(10.0 * std::log10(14.0)));
    CHECK(sqnr_db(ref, ref, 3) == std::numeric_limits<double>::infinity());
    const float zero[] = {0.0f, 0.0f, 0.0f};
    CHECK(sqnr_db(zero, ref, 3) == -std::numeric_limits<double>::infinity());
}

TEST_CASE("functional: SqnrSums gives the same bits however the elements are split into blocks", "[functional][graph]") {
    std::mt19937 rng(5);
    std::normal_distribution<float> d(0.0f, 3.0f);
    for (std::size_t n : {std::size_t{1}, std::size_t{7}, std::size_t{8}, std::size_t{9}, std::size_t{1000}}) {
        std::vector<float> ref(n), test(n);
        for (std::size_t i = 0; i < n; ++i) {
            ref[i] = d(rng);
            test[i] = ref[i] + 0.01f * d(rng);
        }
        const double whole = sqnr_db(ref.data(), test.data(), n);
        for (int trial = 0; trial < 20; ++trial) {
            SqnrSums sums;
            for (std::size_t i = 0; i < n;) {
                const std::size_t block = std::min<std::size_t>(n - i, std::uniform_int_distribution<std::size_t>(1, 13)(rng));
                sums.add(ref.data() + i, test.data() + i, block);
                i += block;
            }
            CHECK(sums.db() == whole);
        }
        // Against a long double reference: the lanes only regroup the sums.
        long double s = 0, e = 0;
        for (std::size_t i = 0; i < n; ++i) {
            s += static_cast<long double>(ref[i]) * ref[i];
            e += (static_cast<long double>(ref[i]) - test[i]) * (static_cast<long double>(ref[i]) - test[i]);
        }
        CHECK(whole == Approx(static_cast<double>(10.0L * std::log10(s / e))).epsilon(1e-12));
    }
}

TEST_CASE("functional: sqnr_db of a QTensor equals it on the dequantized values", "[functional][graph]") {
    std::mt19937 rng(6);
    std::uniform_int_distribution<int> q(-128, 127);
    QTensor t({2, 3, 5, 7}, per_tensor(arch::ValueType::int8, 0.05f, 3));
    t.quant.scales = {0.05f, 0.02f, 0.11f};
    t.quant.zero_points = {3, -1, 0};
    t.quant.axis = 1;
    for (auto& v : t.values) v = q(rng);
    std::vector<float> ref(t.values.size());
    for (float& r : ref) r = std::normal_distribution<float>(0.0f, 3.0f)(rng);
    const FloatTensor f = dequantize_tensor(t);
    CHECK(sqnr_db(ref.data(), t) == sqnr_db(ref.data(), f.data.data(), ref.size()));
}

namespace {

// x [2, 3, 4, 4] + c [1, 3, 1, 1] on a vector engine, c a constant tensor
// (numerics.md "Constant operands").
QuantGraph add_constant_graph(std::mt19937& rng) {
    QuantGraph g;
    g.name = "add_const";
    const QuantParams qx = per_tensor(ValueType::int8, 0.05f, 3);
    QuantParams qc = per_tensor(ValueType::uint8, 0.02f, 100);
    const QuantParams qy = per_tensor(ValueType::int8, 0.06f, -2);
    g.tensors.push_back({"x", qx, {2, 3, 4, 4}});
    QuantTensorInfo c{"c", qc, {1, 3, 1, 1}};
    c.constant = std::vector<std::int32_t>{0, 137, 255};
    g.tensors.push_back(c);
    g.tensors.push_back({"y", qy, {}});
    AddLayer add;
    add.a_zero_point = 3;
    add.b_zero_point = 100;
    add.a_multiplier = 1 + static_cast<std::int64_t>(testutil::uniform(rng, 0, 30000));
    add.b_multiplier = 1 + static_cast<std::int64_t>(testutil::uniform(rng, 0, 30000));
    add.shift = 14;
    add.accumulator = {32, arch::Overflow::saturate};
    add.output_zero_point = -2;
    QuantNode node;
    node.name = "add";
    node.op_type = "Add";
    node.engine = "vec";
    node.params = add;
    node.inputs = {0, 1};
    node.outputs = {2};
    g.nodes.push_back(node);
    g.inputs = {0};
    g.outputs = {2};
    return g;
}

}  // namespace

TEST_CASE("functional: a constant tensor is read like an activation and equals the per-element rule",
          "[functional][graph][constants]") {
    std::mt19937 rng(21);
    for (int trial = 0; trial < 20; ++trial) {
        const QuantGraph g = add_constant_graph(rng);
        const QTensor x = testutil::random_tensor(rng, {2, 3, 4, 4}, ValueType::int8, 3);
        const GraphResult r = run_quantized(g, {x});
        const AddLayer& add = std::get<AddLayer>(g.nodes[0].params);
        const std::vector<std::int32_t>& c = *g.tensors[1].constant;
        REQUIRE(r.raw_outputs.at(0).values.size() == x.values.size());
        for (std::size_t i = 0; i < x.values.size(); ++i) {
            const std::size_t channel = (i / 16) % 3;
            INFO(i);
            REQUIRE(r.raw_outputs[0].values[i] == add_output_element(add, x.values[i], c[channel]));
        }
        // The runner keeps its constants: a second run gives the same bits.
        GraphRunner runner(g);
        CHECK(runner.run_quantized({x}).raw_outputs.at(0).values == r.raw_outputs.at(0).values);
        CHECK(runner.run_quantized({x}).raw_outputs.at(0).values == r.raw_outputs.at(0).values);
    }
}

TEST_CASE("functional: validate rejects a constant with the wrong size or written by a node",
          "[functional][graph][constants]") {
    std::mt19937 rng(4);
    QuantGraph wrong_size = add_constant_graph(rng);
    wrong_size.tensors[1].constant->push_back(7);
    CHECK_THROWS_WITH(validate(wrong_size), Catch::Matchers::Contains("constant tensor 'c' holds 4 values"));
    QuantGraph written = add_constant_graph(rng);
    written.nodes[0].outputs = {1};
    written.outputs = {1};
    CHECK_THROWS_WITH(validate(written), Catch::Matchers::Contains("writes constant tensor 'c'"));
}
