// Graph passes: structure after each pass, and results equal before/after.
#include <catch2/catch.hpp>

#include "bitnpu/frontend/passes.hpp"
#include "bitnpu/fp32/shape_inference.hpp"
#include "test_passes_util.hpp"

using namespace bitnpu::calib;
using namespace bitnpu::test;

namespace {

Tensor i64s(std::vector<std::int64_t> v) {
    const auto n = static_cast<std::int64_t>(v.size());
    return Tensor::from_vector<std::int64_t>({n}, v);
}

// Reshape(x[1,6], Concat(Unsqueeze(Gather(Shape(c), 0)), Unsqueeze(Gather(Shape(c), 1)))):
// the target shape is computed from a constant's shape, as exporters write it.
Graph shape_chain_graph() {
    Graph g;
    g.opset = 13;
    g.inputs = {static_input("x", {1, 6})};
    g.initializers["c"] = Tensor(DType::f32, {2, 3});
    g.initializers["i0"] = Tensor::scalar<std::int64_t>(0);
    g.initializers["i1"] = Tensor::scalar<std::int64_t>(1);
    g.initializers["axes"] = i64s({0});
    g.nodes = {make_node("shape", "Shape", {"c"}, {"s"}),
               make_node("g0", "Gather", {"s", "i0"}, {"d0"}),
               make_node("g1", "Gather", {"s", "i1"}, {"d1"}),
               make_node("u0", "Unsqueeze", {"d0", "axes"}, {"v0"}),
               make_node("u1", "Unsqueeze", {"d1", "axes"}, {"v1"}),
               make_node("cat", "Concat", {"v0", "v1"}, {"target"}),
               make_node("reshape", "Reshape", {"x", "target"}, {"y"})};
    g.nodes[5].attributes["axis"] = std::int64_t{0};
    g.outputs = {output("y")};
    return g;
}

}  // namespace

TEST_CASE("fold_constants: Shape/Gather/Unsqueeze/Concat chains become one initializer", "[passes]") {
    Graph g = shape_chain_graph();
    const std::map<std::string, Tensor> in{{"x", random_tensor({1, 6}, 1)}};
    const auto before = run_graph(g, in);
    CHECK(fold_constants(g) == 6);
    REQUIRE(g.nodes.size() == 1);
    CHECK(g.nodes[0].op_type == "Reshape");
    CHECK(g.initializer("target")->to_int64s() == std::vector<std::int64_t>{2, 3});
    check_same_outputs(before, run_graph(g, in));
    CHECK(before.at("y").shape() == Shape{2, 3});
}

TEST_CASE("fold_constants: Shape of an activation folds only for static inputs", "[passes]") {
    for (bool dynamic : {false, true}) {
        Graph g;
        g.inputs = {static_input("x", {dynamic ? -1 : 2, 3})};
        g.nodes = {make_node("relu", "Relu", {"x"}, {"r"}), make_node("shape", "Shape", {"r"}, {"s"}),
                   make_node("cast", "Cast", {"s"}, {"y"})};
        g.nodes[2].attributes["to"] = std::int64_t{1};
        g.outputs = {output("y")};
        infer_shapes(g, {{"x", {2, 3}}});
        const int folded = fold_constants(g);
        INFO("dynamic batch: " << dynamic);
        if (dynamic) {
            CHECK(folded == 0);  // value_info holds one run's batch, not the model's
        } else {
            CHECK(folded == 1);  // Shape folds; Cast produces the graph output and stays
            CHECK(g.initializer("s")->to_int64s() == std::vector<std::int64_t>{2, 3});
        }
    }
}

TEST_CASE("eliminate_dead_nodes: drops unused branches and initializers", "[passes]") {
    Graph g;
    g.inputs = {static_input("x", {4})};
    g.initializers["w"] = Tensor::from_vector<float>({4}, {1, 2, 3, 4});
    g.initializers["unused"] = Tensor(DType::f32, {10});
    g.nodes = {make_node("live", "Relu", {"x"}, {"y"}), make_node("dead1", "Mul", {"x", "w"}, {"d1"}),
               make_node("dead2", "Neg", {"d1"}, {"d2"})};
    g.outputs = {output("y")};
    CHECK(eliminate_dead_nodes(g) == 2);
    REQUIRE(g.nodes.size() == 1);
    CHECK(g.nodes[0].name == "live");
    CHECK(g.initializers.empty());
}

TEST_CASE("remove_identity: Identity, Dropout and same-type Cast disappear", "[passes]") {
    Graph g;
    g.inputs = {static_input("x", {4})};
    g.nodes = {make_node("id", "Identity", {"x"}, {"a"}), make_node("relu", "Relu", {"a"}, {"b"}),
               make_node("drop", "Dropout", {"b"}, {"c"}), make_node("cast", "Cast", {"c"}, {"d"}),
               make_node("neg", "Neg", {"d"}, {"e"}), make_node("out_id", "Identity", {"e"}, {"y"})};
    g.nodes[3].attributes["to"] = std::int64_t{1};  // FLOAT
    g.outputs = {output("y")};
    infer_shapes(g, {{"x", {4}}});  // gives Cast's input dtype
    const std::map<std::string, Tensor> in{{"x", random_tensor({4}, 2)}};
    const auto before = run_graph(g, in);
    CHECK(remove_identity(g) == 4);
    REQUIRE(g.nodes.size() == 2);
    CHECK(g.nodes[0].op_type == "Relu");
    CHECK(g.nodes[0].inputs[0] == "x");
    CHECK(g.nodes[1].op_type == "Neg");
    CHECK(g.nodes[1].outputs[0] == "y");  // graph output name kept by renaming the producer
    check_same_outputs(before, run_graph(g, in));
}

TEST_CASE("remove_identity: keeps a Cast that changes type and an input->output Identity", "[passes]") {
    Graph g;
    g.inputs = {static_input("x", {4})};
    g.nodes = {make_node("cast", "Cast", {"x"}, {"i"}), make_node("id", "Identity", {"x"}, {"y"})};
    g.nodes[0].attributes["to"] = std::int64_t{7};  // INT64
    g.outputs = {output("i"), output("y")};
    CHECK(remove_identity(g) == 0);
    CHECK(g.nodes.size() == 2);
}
