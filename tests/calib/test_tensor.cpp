// Tensor basics, ONNX Cast semantics, Graph look-ups and input checks.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "bitnpu/graph/graph.hpp"
#include "bitnpu/errors.hpp"

using namespace bitnpu::calib;
using bitnpu::UserError;
using Catch::Matchers::Contains;

TEST_CASE("tensor: sizes, names and shapes", "[tensor]") {
    CHECK(element_size(DType::f32) == 4);
    CHECK(element_size(DType::f64) == 8);
    CHECK(element_size(DType::i8) == 1);
    CHECK(element_size(DType::u8) == 1);
    CHECK(element_size(DType::i16) == 2);
    CHECK(element_size(DType::i32) == 4);
    CHECK(element_size(DType::i64) == 8);
    CHECK(element_size(DType::boolean) == 1);
    CHECK(to_string(DType::f32) == "float32");
    CHECK(to_string(DType::boolean) == "bool");
    CHECK(num_elements({}) == 1);
    CHECK(num_elements({2, 3, 4}) == 24);
    CHECK(num_elements({2, 0, 4}) == 0);
    CHECK(shape_to_string({1, 3, 224, 224}) == "[1, 3, 224, 224]");
    CHECK(shape_to_string({}) == "[]");
}

TEST_CASE("tensor: construction is zero-filled, reshape keeps data", "[tensor]") {
    Tensor t(DType::i32, {2, 3});
    CHECK(t.byte_size() == 24);
    CHECK(t.numel() == 6);
    CHECK(t.rank() == 2);
    CHECK(t.dim(-1) == 3);
    for (int i = 0; i < 6; ++i) CHECK(t.data<std::int32_t>()[i] == 0);
    t.data<std::int32_t>()[4] = 42;
    const Tensor r = t.reshaped({3, 2});
    CHECK(r.shape() == Shape{3, 2});
    CHECK(r.data<std::int32_t>()[4] == 42);
    CHECK_THROWS(t.reshaped({4, 2}));
    CHECK_THROWS(t.data<float>());  // wrong element type
    CHECK_THROWS(Tensor::from_vector<float>({3}, {1.0f, 2.0f}));
}

TEST_CASE("tensor: cast float to int truncates toward zero and clamps", "[tensor]") {
    const Tensor f = Tensor::from_vector<float>({7}, {2.7f, -2.7f, 0.5f, -0.5f, 1e10f, -1e10f, NAN});
    CHECK(f.cast(DType::i32).to_int64s() ==
          std::vector<std::int64_t>{2, -2, 0, 0, std::numeric_limits<std::int32_t>::max(),
                                    std::numeric_limits<std::int32_t>::min(), 0});
    CHECK(f.cast(DType::i8).to_int64s() == std::vector<std::int64_t>{2, -2, 0, 0, 127, -128, 0});
    CHECK(f.cast(DType::u8).to_int64s() == std::vector<std::int64_t>{2, 0, 0, 0, 255, 0, 0});
    CHECK(f.cast(DType::boolean).to_int64s() == std::vector<std::int64_t>{1, 1, 1, 1, 1, 1, 1});
    const Tensor big = Tensor::from_vector<double>({2}, {9.3e18, -9.3e18});
    CHECK(big.cast(DType::i64).to_int64s() ==
          std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()});
}

TEST_CASE("tensor: cast between integers wraps, to bool tests non-zero", "[tensor]") {
    const Tensor i = Tensor::from_vector<std::int64_t>({4}, {300, -1, 0, 128});
    CHECK(i.cast(DType::u8).to_int64s() == std::vector<std::int64_t>{44, 255, 0, 128});
    CHECK(i.cast(DType::i8).to_int64s() == std::vector<std::int64_t>{44, -1, 0, -128});
    CHECK(i.cast(DType::boolean).to_int64s() == std::vector<std::int64_t>{1, 1, 0, 1});
    CHECK(i.cast(DType::f32).to_floats() == std::vector<float>{300.0f, -1.0f, 0.0f, 128.0f});
    const Tensor b = Tensor::from_vector<bool>({2}, {true, false});
    CHECK(b.cast(DType::f32).to_floats() == std::vector<float>{1.0f, 0.0f});
    CHECK(b.cast(DType::boolean).to_int64s() == std::vector<std::int64_t>{1, 0});
}

namespace {

Graph two_node_graph() {
    Graph g;
    g.inputs.push_back(ValueInfo{"x", DType::f32, {Dim{-1, "batch"}, Dim{3, ""}}, true});
    g.initializers["w"] = Tensor::from_vector<float>({3}, {1, 2, 3});
    Node mul;
    mul.name = "mul";
    mul.op_type = "Mul";
    mul.inputs = {"x", "w"};
    mul.outputs = {"m"};
    Node add;
    add.name = "add";
    add.op_type = "Add";
    add.inputs = {"m", "m"};
    add.outputs = {"y"};
    g.nodes = {mul, add};
    g.outputs.push_back(ValueInfo{"y", DType::f32, {}, false});
    return g;
}

}  // namespace

TEST_CASE("graph: producers, consumers and initializers", "[tensor]") {
    const Graph g = two_node_graph();
    CHECK(g.producer_of("m") == &g.nodes[0]);
    CHECK(g.producer_of("x") == nullptr);
    CHECK(g.producer_of("w") == nullptr);
    REQUIRE(g.consumers_of("m").size() == 1);  // used twice by one node
    CHECK(g.consumers_of("m")[0] == &g.nodes[1]);
    CHECK(g.initializer("w")->numel() == 3);
    CHECK(g.initializer("x") == nullptr);
}

TEST_CASE("graph: sort_topologically and cycle detection", "[tensor]") {
    Graph g = two_node_graph();
    std::swap(g.nodes[0], g.nodes[1]);
    sort_topologically(g);
    CHECK(g.nodes[0].name == "mul");
    g.nodes[0].inputs = {"x", "y"};  // mul now reads add's output: a cycle
    CHECK_THROWS_WITH(sort_topologically(g), Contains("cycle") && Contains("'mul'") && Contains("'add'"));
}

TEST_CASE("graph: check_inputs accepts matching inputs and names mismatches", "[tensor]") {
    const Graph g = two_node_graph();
    CHECK_NOTHROW(check_inputs(g, {{"x", Tensor(DType::f32, {5, 3})}}));
    CHECK_THROWS_WITH(check_inputs(g, {{"x", Tensor(DType::f32, {5, 3})}, {"z", Tensor(DType::f32, {1})}}),
                      Contains("'z'") && Contains("not an input") && Contains("x"));
    CHECK_THROWS_WITH(check_inputs(g, {}), Contains("'x'") && Contains("not given"));
    CHECK_THROWS_WITH(check_inputs(g, {{"x", Tensor(DType::f32, {5, 3, 1})}}), Contains("rank 2"));
    CHECK_THROWS_WITH(check_inputs(g, {{"x", Tensor(DType::f32, {5, 4})}}),
                      Contains("dimension 1 must be 3") && Contains("[batch, 3]"));
    CHECK_THROWS_WITH(check_inputs(g, {{"x", Tensor(DType::i64, {5, 3})}}),
                      Contains("float32") && Contains("int64"));
}
