// Broadcasting elementwise ops, activations, and their error messages.
#include <catch2/catch.hpp>

#include <limits>

#include "test_ops_util.hpp"

using namespace bitnpu::calib;
using namespace bitnpu::calib::test;

TEST_CASE("Add/Sub/Mul/Div broadcast like numpy", "[ops][elementwise]") {
    const Tensor a = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
    const Tensor row = Tensor::from_vector<float>({3}, {10, 20, 30});
    const Tensor col = Tensor::from_vector<float>({2, 1}, {100, 200});
    const Tensor scalar = Tensor::scalar<float>(2);
    require_values(run(make_node("Add", 2), {&a, &row}).at(0), {2, 3}, {11, 22, 33, 14, 25, 36});
    require_values(run(make_node("Sub", 2), {&col, &a}).at(0), {2, 3}, {99, 98, 97, 196, 195, 194});
    require_values(run(make_node("Mul", 2), {&scalar, &a}).at(0), {2, 3}, {2, 4, 6, 8, 10, 12});
    require_values(run(make_node("Div", 2), {&a, &scalar}).at(0), {2, 3}, {0.5, 1, 1.5, 2, 2.5, 3});
    // Both sides broadcast: [2,1] + [3] -> [2,3].
    require_values(run(make_node("Add", 2), {&col, &row}).at(0), {2, 3}, {110, 120, 130, 210, 220, 230});
    // Rank-4 per-channel: [1,2,1,1] * [2,2,2,2].
    Tensor x(DType::f32, {2, 2, 2, 2});
    for (int i = 0; i < 16; ++i) x.data<float>()[i] = static_cast<float>(i);
    const Tensor ch = Tensor::from_vector<float>({1, 2, 1, 1}, {1, -1});
    const auto y = run(make_node("Mul", 2), {&x, &ch}).at(0).to_floats();
    for (int i = 0; i < 16; ++i) REQUIRE(y[i] == ((i / 4) % 2 == 0 ? i : -i));
}

TEST_CASE("Elementwise shape mismatch names the node and both shapes", "[ops][elementwise]") {
    const Tensor a(DType::f32, {2, 3}), b(DType::f32, {4});
    REQUIRE_THROWS_AS(run(make_node("Add", 2), {&a, &b}), bitnpu::UserError);
    REQUIRE_THROWS_WITH(run(make_node("Add", 2), {&a, &b}),
                        Catch::Contains("n_Add") && Catch::Contains("[2, 3]") && Catch::Contains("[4]"));
    const Tensor i(DType::i64, {2, 3});
    REQUIRE_THROWS_WITH(run(make_node("Mul", 2), {&a, &i}), Catch::Contains("different types"));
}

TEST_CASE("Integer arithmetic for shape computations", "[ops][elementwise]") {
    const Tensor a = Tensor::from_vector<std::int64_t>({3}, {7, -7, 9});
    const Tensor b = Tensor::from_vector<std::int64_t>({3}, {2, 2, 3});
    REQUIRE(run(make_node("Div", 2), {&a, &b}).at(0).to_int64s() == std::vector<std::int64_t>{3, -3, 3});
    REQUIRE(run(make_node("Mul", 2), {&a, &b}).at(0).to_int64s() == std::vector<std::int64_t>{14, -14, 27});
    const Tensor zero = Tensor::from_vector<std::int64_t>({1}, {0});
    REQUIRE_THROWS_WITH(run(make_node("Div", 2), {&a, &zero}), Catch::Contains("division by zero"));
    const auto eq = run(make_node("Equal", 2), {&a, &b}).at(0);
    REQUIRE(eq.dtype() == DType::boolean);
    const Tensor cond = Tensor::from_vector<bool>({3}, {true, false, true});
    REQUIRE(run(make_node("Where", 3), {&cond, &a, &b}).at(0).to_int64s() == std::vector<std::int64_t>{7, 2, 9});
}

TEST_CASE("Variadic Max/Min/Sum broadcast all inputs", "[ops][elementwise]") {
    const Tensor a = Tensor::from_vector<float>({3}, {1, 5, 3});
    const Tensor b = Tensor::scalar<float>(2);
    const Tensor c = Tensor::from_vector<float>({2, 1}, {0, 4});
    require_values(run(make_node("Max", 3), {&a, &b, &c}).at(0), {2, 3}, {2, 5, 3, 4, 5, 4});
    require_values(run(make_node("Min", 3), {&a, &b, &c}).at(0), {2, 3}, {0, 0, 0, 1, 2, 2});
    require_values(run(make_node("Min", 1), {&a}).at(0), {3}, {1, 5, 3});
}

TEST_CASE("Activations follow their ONNX definitions", "[ops][activation]") {
    const Tensor x = Tensor::from_vector<float>({6}, {-4, -1, -0.25f, 0, 0.5f, 4});
    require_values(run(make_node("Relu", 1), {&x}).at(0), {6}, {0, 0, 0, 0, 0.5f, 4});
    require_values(run(make_node("LeakyRelu", 1, {{"alpha", 0.1f}}), {&x}).at(0), {6}, {-0.4f, -0.1f, -0.025f, 0, 0.5f, 4});
    require_values(run(make_node("HardSigmoid", 1), {&x}).at(0), {6}, {0, 0.3f, 0.45f, 0.5f, 0.6f, 1});
    // HardSwish = x * max(0, min(1, x/6 + 1/2)).
    require_values(run(make_node("HardSwish", 1), {&x}).at(0), {6},
                   {0, -1.0f / 3, -0.25f * (0.5f - 0.25f / 6), 0, 0.5f * (0.5f + 0.5f / 6), 4});
    require_values(run(make_node("Sigmoid", 1), {&x}).at(0), {6},
                   {1 / (1 + std::exp(4.0f)), 1 / (1 + std::exp(1.0f)), 1 / (1 + std::exp(0.25f)), 0.5f,
                    1 / (1 + std::exp(-0.5f)), 1 / (1 + std::exp(-4.0f))});
    // Clip: attributes before opset 11, inputs after.
    const Node clip6 = make_node("Clip", 1, {{"min", -1.0f}, {"max", 1.0f}});
    require_values(run(clip6, {&x}, 9).at(0), {6}, {-1, -1, -0.25f, 0, 0.5f, 1});
    const Tensor lo = Tensor::scalar<float>(0), hi = Tensor::scalar<float>(0.3f);
    require_values(run(make_node("Clip", 3), {&x, nullptr, &hi}, 13).at(0), {6}, {-4, -1, -0.25f, 0, 0.3f, 0.3f});
    require_values(run(make_node("Clip", 3), {&x, &lo, nullptr}, 13).at(0), {6}, {0, 0, 0, 0, 0.5f, 4});
}

TEST_CASE("PRelu slopes broadcast per channel", "[ops][activation]") {
    const Tensor x = Tensor::from_vector<float>({1, 2, 1, 2}, {-1, 2, -3, 4});
    const Tensor slope = Tensor::from_vector<float>({2, 1, 1}, {0.5f, 0.25f});
    require_values(run(make_node("PRelu", 2), {&x, &slope}).at(0), {1, 2, 1, 2}, {-0.5f, 2, -0.75f, 4});
    const Tensor bad = Tensor::from_vector<float>({3}, {1, 2, 3});
    REQUIRE_THROWS_WITH(run(make_node("PRelu", 2), {&x, &bad}), Catch::Contains("n_PRelu"));
}

TEST_CASE("Unsupported ops and bad attributes are UserErrors naming the node", "[ops]") {
    const Tensor x(DType::f32, {1});
    REQUIRE_FALSE(is_supported_op("NoSuchOp"));
    REQUIRE(is_supported_op("Conv"));
    REQUIRE(is_supported_op("ChannelAffine", "bitnpu"));
    REQUIRE_THROWS_WITH(run(make_node("NoSuchOp", 1), {&x}), Catch::Contains("NoSuchOp") && Catch::Contains("not supported"));
    const Tensor t(DType::f32, {2, 3});
    REQUIRE_THROWS_WITH(run(make_node("Transpose", 1, {{"perm", std::vector<std::int64_t>{0, 0}}}), {&t}),
                        Catch::Contains("n_Transpose") && Catch::Contains("perm"));
    REQUIRE_THROWS_WITH(run(make_node("Softmax", 1, {{"axis", std::int64_t{5}}}), {&t}), Catch::Contains("axis 5"));
}
