// The Executor: input validation, observer order, outputs, threads, and the
// ONNX-file path through load_onnx.
#include <catch2/catch.hpp>

#include <set>

#include "test_ops_util.hpp"

using namespace bitnpu::calib;
using namespace bitnpu::calib::test;

namespace {

// x -> Relu -> r -> Add(r, bias) -> y ; also r -> Neg -> unused (not a graph output)
Graph small_graph() {
    Graph g;
    g.opset = 13;
    g.inputs.push_back(ValueInfo{"x", DType::f32, {Dim{-1, "N"}, Dim{3, ""}}, true});
    g.outputs.push_back(ValueInfo{"y", DType::f32, {}, false});
    g.initializers["bias"] = Tensor::from_vector<float>({3}, {1, 2, 3});
    Node relu;
    relu.name = "relu";
    relu.op_type = "Relu";
    relu.inputs = {"x"};
    relu.outputs = {"r"};
    Node neg;
    neg.name = "neg";
    neg.op_type = "Neg";
    neg.inputs = {"r"};
    neg.outputs = {"dead"};
    Node add;
    add.name = "add";
    add.op_type = "Add";
    add.inputs = {"r", "bias"};
    add.outputs = {"y"};
    g.nodes = {relu, neg, add};
    return g;
}

}  // namespace

TEST_CASE("Executor runs nodes in order, observes every produced value, returns outputs", "[ops][executor]") {
    const Graph g = small_graph();
    Executor exec(g, ExecutorOptions{1});
    std::vector<std::string> seen;
    const Tensor x = Tensor::from_vector<float>({2, 3}, {-1, 0, 1, 2, -2, 3});
    const auto out = exec.run({{"x", x}}, [&](const std::string& name, const Tensor&) { seen.push_back(name); });
    REQUIRE(seen == std::vector<std::string>{"x", "r", "dead", "y"});
    REQUIRE(out.size() == 1);
    require_values(out.at("y"), {2, 3}, {1, 2, 4, 3, 2, 6});
}

TEST_CASE("Executor validates inputs and reports unsupported ops up front", "[ops][executor]") {
    const Graph g = small_graph();
    Executor exec(g);
    REQUIRE_THROWS_AS(exec.run({}), bitnpu::UserError);
    REQUIRE_THROWS_AS(exec.run({{"x", Tensor(DType::f32, {2, 4})}}), bitnpu::UserError);
    REQUIRE_THROWS_AS(exec.run({{"x", Tensor(DType::i64, {2, 3})}}), bitnpu::UserError);
    Graph bad = small_graph();
    bad.nodes[1].op_type = "FancyOp";
    REQUIRE_THROWS_WITH(Executor(bad), Catch::Contains("neg") && Catch::Contains("FancyOp"));
}

TEST_CASE("Executor errors inside a node name the node", "[ops][executor]") {
    Graph g = small_graph();
    g.initializers["bias"] = Tensor::from_vector<float>({2}, {1, 2});  // does not broadcast to [N, 3]
    REQUIRE_THROWS_WITH(Executor(g).run({{"x", Tensor(DType::f32, {2, 3})}}),
                        Catch::Contains("node 'add'") && Catch::Contains("[2]"));
}

TEST_CASE("Executor results do not depend on the thread count", "[ops][executor]") {
    // A Gemm big enough to be split into row blocks and run on several threads.
    std::mt19937 rng(3);
    Graph g;
    g.opset = 13;
    g.inputs.push_back(ValueInfo{"x", DType::f32, {Dim{-1, "N"}, Dim{256, ""}}, true});
    g.outputs.push_back(ValueInfo{"y", DType::f32, {}, false});
    g.initializers["w"] = random_tensor(rng, {256, 200});
    Node gemm;
    gemm.name = "fc";
    gemm.op_type = "Gemm";
    gemm.inputs = {"x", "w"};
    gemm.outputs = {"y"};
    g.nodes = {gemm};
    const Tensor x = random_tensor(rng, {150, 256});
    const Tensor one = Executor(g, ExecutorOptions{1}).run({{"x", x}}).at("y");
    const Tensor four = Executor(g, ExecutorOptions{4}).run({{"x", x}}).at("y");
    REQUIRE(std::equal(one.raw(), one.raw() + one.byte_size(), four.raw()));
}

TEST_CASE("supported_ops lists the required ops", "[ops][executor]") {
    const auto ops = supported_ops();
    const std::set<std::string> have(ops.begin(), ops.end());
    for (const char* op : {"Conv", "ConvTranspose", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Max", "Min", "Pow",
                           "Sqrt", "Relu", "LeakyRelu", "PRelu", "Clip", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish",
                           "Softmax", "MaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization", "Concat",
                           "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Pad", "Resize", "Slice", "Split",
                           "Gather", "Shape", "Constant", "ConstantOfShape", "Identity", "ReduceMean", "Cast", "Dropout",
                           "Erf", "Exp", "Log", "Neg", "Abs", "Reciprocal", "Floor", "Ceil", "Equal", "Where", "Expand",
                           "bitnpu.ChannelAffine"})
        REQUIRE(have.count(op) == 1);
}

TEST_CASE("peak_live_bytes follows the executor's liveness: inputs and outputs of a node together",
          "[ops][executor][memory]") {
    const Graph g = small_graph();
    const auto last = last_use_index(g);
    CHECK(last.at("x") == 0);
    CHECK(last.at("r") == 2);
    CHECK(last.at("y") == 3);   // a graph output: never freed
    CHECK(!last.count("dead"));  // read by nobody: dropped at once
    // x 10, r 20, dead 100, y 5 bytes: relu holds x + r (30), neg r + dead
    // (120), add r + y (25).
    CHECK(peak_live_bytes(g, {{"x", 10}, {"r", 20}, {"dead", 100}, {"y", 5}}) == 120);
    // A small dead value: the peak is relu's x + r.
    CHECK(peak_live_bytes(g, {{"x", 10}, {"r", 20}, {"dead", 1}, {"y", 5}}) == 30);
    // Missing sizes count 0; initializers never count.
    CHECK(peak_live_bytes(g, {{"r", 20}, {"bias", 1000}}) == 20);
}
