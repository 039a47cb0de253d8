// The search's node-by-node FP32 walk (calibrator/src/fp32_walk.hpp) on a
// fixed-batch model: the slice runs in chunks of the batch, a value read by
// the search is joined once and its chunks dropped, and later nodes read
// their chunk sliced from the joined value: the same values as one run.
#include <catch2/catch.hpp>

#include "bitnpu/fp32/executor.hpp"
#include "calibrator/src/fp32_walk.hpp"
#include "test_ops_util.hpp"

using namespace bitnpu::calib;
using namespace bitnpu::calib::test;

TEST_CASE("Fp32Walk: chunks of a fixed batch, joined on request, read again by later nodes",
          "[calibrator][fp32_walk]") {
    // x [1, 3] (batch fixed at 1) -> Relu -> r -> Neg -> y; r also feeds Add.
    Graph g;
    g.opset = 13;
    g.inputs.push_back(ValueInfo{"x", DType::f32, {Dim{1, ""}, Dim{3, ""}}, true});
    g.outputs.push_back(ValueInfo{"z", DType::f32, {}, false});
    Node relu{"relu", "Relu", "", {"x"}, {"r"}, {}};
    Node neg{"neg", "Neg", "", {"r"}, {"y"}, {}};
    Node add{"add", "Add", "", {"r", "y"}, {"z"}, {}};
    g.nodes = {relu, neg, add};
    const Tensor x = Tensor::from_vector<float>({4, 3}, {-1, 2, 3, 4, -5, 6, 7, 8, -9, 1, 1, -1});
    Fp32Walk walk(g, {{"x", x}}, /*batch=*/1, /*threads=*/1);
    walk.run_node(0);
    const Tensor* r = walk.find("r");   // joined: [4, 3]; its chunks are dropped
    REQUIRE(r);
    require_values(*r, {4, 3}, {0, 2, 3, 4, 0, 6, 7, 8, 0, 1, 1, 0});
    walk.run_node(1);   // reads r's chunks, sliced from the joined value
    walk.run_node(2);
    REQUIRE(walk.find("y"));
    require_values(*walk.find("y"), {4, 3}, {-0.0f, -2, -3, -4, -0.0f, -6, -7, -8, -0.0f, -1, -1, -0.0f});
    const Tensor* z = walk.find("z");
    REQUIRE(z);
    require_values(*z, {4, 3}, std::vector<float>(12, 0.0f));
    CHECK(walk.find("r") == r);   // still the same joined value
    walk.release("r");
    CHECK(walk.find("r") == nullptr);
}
