// Exporter patterns of real dynamic-batch models that the quantized model
// could not run until the front end folded them: torch.chunk / channel
// shuffle (ShuffleNetV2), x.view(x.size(0), -1), and x.mean([2, 3])
// (MnasNet). Each graph is the smallest copy of what torch.onnx.export
// writes for the pattern.
#include <cstring>

#include "bitnpu/frontend/passes.hpp"
#include "test_passes_util.hpp"

using namespace bitnpu::test;

namespace {

Tensor i64s(const std::vector<std::int64_t>& v) {
    return Tensor::from_vector<std::int64_t>({static_cast<std::int64_t>(v.size())}, v);
}

// torch.chunk(x, 2, dim=1) as exported with a dynamic batch: the split
// point is Shape(x)[1] / 2, computed at run time.
Graph chunk_graph() {
    Graph g;
    g.inputs = {static_input("x", {-1, 4, 2, 2})};
    g.initializers["one"] = i64s({1});
    g.initializers["two"] = Tensor::scalar<std::int64_t>(2);
    g.initializers["zero"] = i64s({0});
    g.initializers["index1"] = Tensor::scalar<std::int64_t>(1);
    g.nodes = {make_node("shape", "Shape", {"x"}, {"s"}),
               make_node("gather", "Gather", {"s", "index1"}, {"c"}),
               make_node("div", "Div", {"c", "two"}, {"half"}),
               make_node("unsq", "Unsqueeze", {"half", "zero"}, {"end"}),
               make_node("slice", "Slice", {"x", "zero", "end", "one"}, {"y"})};
    g.outputs = {output("y")};
    return g;
}

// x.view(x.size(0), -1): the Reshape target carries the run-time batch.
Graph flatten_view_graph() {
    Graph g;
    g.inputs = {static_input("x", {-1, 2, 3})};
    g.initializers["index0"] = Tensor::scalar<std::int64_t>(0);
    g.initializers["axes0"] = i64s({0});
    g.initializers["minus1"] = i64s({-1});
    g.nodes = {make_node("relu", "Relu", {"x"}, {"r"}), make_node("shape", "Shape", {"r"}, {"s"}),
               make_node("gather", "Gather", {"s", "index0"}, {"n"}),
               make_node("unsq", "Unsqueeze", {"n", "axes0"}, {"n1"}),
               make_node("concat", "Concat", {"n1", "minus1"}, {"target"}),
               make_node("reshape", "Reshape", {"r", "target"}, {"y"})};
    g.nodes[4].attributes["axis"] = std::int64_t{0};
    g.outputs = {output("y")};
    return g;
}

// Tensor of `batch` random samples; the graph input is "x".
std::map<std::string, Tensor> batch_of(const Shape& shape, unsigned seed) { return {{"x", random_tensor(shape, seed)}}; }

// Mean over H and W of an NCHW tensor, by definition.
std::vector<float> spatial_mean(const Tensor& x) {
    const auto n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
    std::vector<float> out;
    for (std::int64_t i = 0; i < n * c; ++i) {
        double sum = 0;
        for (std::int64_t k = 0; k < hw; ++k) sum += x.data<float>()[i * hw + k];
        out.push_back(static_cast<float>(sum / static_cast<double>(hw)));
    }
    return out;
}

Graph spatial_mean_graph(bool keepdims, bool axes_as_input) {
    Graph g;
    g.opset = axes_as_input ? 18 : 13;
    g.inputs = {static_input("x", {-1, 3, 4, 5})};
    g.nodes = {make_node("mean", "ReduceMean", {"x"}, {"y"})};
    if (axes_as_input) {
        g.initializers["axes"] = i64s({-1, -2});
        g.nodes[0].inputs.push_back("axes");
    } else {
        g.nodes[0].attributes["axes"] = std::vector<std::int64_t>{2, 3};
    }
    g.nodes[0].attributes["keepdims"] = std::int64_t{keepdims ? 1 : 0};
    g.outputs = {output("y")};
    return g;
}

}  // namespace

TEST_CASE("realworld: a torch.chunk split point folds although the batch is symbolic", "[passes][realworld]") {
    Graph g = chunk_graph();
    CHECK(fold_symbolic_shapes(g) == 3);  // Gather, Div, Unsqueeze (Shape itself varies)
    eliminate_dead_nodes(g);
    REQUIRE(g.nodes.size() == 1);
    CHECK(g.nodes[0].op_type == "Slice");
    CHECK(g.initializer(g.nodes[0].inputs[2])->to_int64s() == std::vector<std::int64_t>{2});
    for (std::int64_t batch : {1, 5}) {
        const auto in = batch_of({batch, 4, 2, 2}, 7);
        const Tensor y = run_graph(g, in).at("y");
        REQUIRE(y.shape() == Shape{batch, 2, 2, 2});
        // The first two channels of every sample, by index arithmetic.
        for (std::int64_t i = 0; i < y.numel(); ++i) {
            const std::int64_t n = i / 8, rest = i % 8;
            CHECK(y.data<float>()[i] == in.at("x").data<float>()[n * 16 + rest]);
        }
    }
}

TEST_CASE("realworld: x.view(x.size(0), -1) gets the constant target [0, -1]", "[passes][realworld]") {
    Graph g = flatten_view_graph();
    CHECK(fold_symbolic_shapes(g) == 1);  // the Reshape's target; the batch itself never folds
    eliminate_dead_nodes(g);
    CHECK(count_ops(g, "Shape") == 0);
    REQUIRE(g.nodes.back().op_type == "Reshape");
    CHECK(g.initializer(g.nodes.back().inputs[1])->to_int64s() == std::vector<std::int64_t>{0, -1});
    for (std::int64_t batch : {1, 4}) {
        const auto in = batch_of({batch, 2, 3}, 3);
        const Tensor y = run_graph(g, in).at("y");
        REQUIRE(y.shape() == Shape{batch, 6});
        for (std::int64_t i = 0; i < y.numel(); ++i)
            CHECK(y.data<float>()[i] == std::max(0.0f, in.at("x").data<float>()[i]));
    }
}

TEST_CASE("realworld: a value that depends on the batch is not folded", "[passes][realworld]") {
    // Expand(c, [batch, 3]): the result really has batch rows.
    Graph g;
    g.inputs = {static_input("x", {-1, 3})};
    g.initializers["c"] = Tensor::from_vector<float>({1, 3}, {1, 2, 3});
    g.initializers["index0"] = Tensor::scalar<std::int64_t>(0);
    g.initializers["axes0"] = i64s({0});
    g.initializers["three"] = i64s({3});
    g.nodes = {make_node("shape", "Shape", {"x"}, {"s"}), make_node("gather", "Gather", {"s", "index0"}, {"n"}),
               make_node("unsq", "Unsqueeze", {"n", "axes0"}, {"n1"}),
               make_node("concat", "Concat", {"n1", "three"}, {"target"}),
               make_node("expand", "Expand", {"c", "target"}, {"e"}), make_node("add", "Add", {"x", "e"}, {"y"})};
    g.nodes[3].attributes["axis"] = std::int64_t{0};
    g.outputs = {output("y")};
    CHECK(fold_symbolic_shapes(g) == 0);
    CHECK(g.nodes.size() == 6);
    const auto in = batch_of({4, 3}, 9);
    const Tensor y = run_graph(g, in).at("y");
    REQUIRE(y.shape() == Shape{4, 3});
    for (std::int64_t i = 0; i < 12; ++i) CHECK(y.data<float>()[i] == in.at("x").data<float>()[i] + float(1 + i % 3));
}

TEST_CASE("realworld: the probe records ranks with the batch left symbolic", "[passes][realworld]") {
    Graph g = flatten_view_graph();
    fold_symbolic_shapes(g);
    const ValueInfo& r = g.value_info.at("r");
    REQUIRE(r.shape.size() == 3);
    CHECK_FALSE(r.shape[0].known());
    CHECK(r.shape[1].value == 2);
    CHECK(r.shape[2].value == 3);
}

TEST_CASE("realworld: ReduceMean over H and W becomes GlobalAveragePool", "[passes][realworld]") {
    for (bool keepdims : {false, true})
        for (bool axes_as_input : {false, true}) {
            INFO("keepdims " << keepdims << ", axes as input (opset 18) " << axes_as_input);
            Graph g = spatial_mean_graph(keepdims, axes_as_input);
            fold_symbolic_shapes(g);  // records the rank the rewrite needs
            CHECK(canonicalize_reduce_mean(g) == 1);
            eliminate_dead_nodes(g);
            CHECK(count_ops(g, "ReduceMean") == 0);
            CHECK(count_ops(g, "GlobalAveragePool") == 1);
            CHECK(count_ops(g, "Flatten") == (keepdims ? 0 : 1));
            const auto in = batch_of({2, 3, 4, 5}, 11);
            const Tensor y = run_graph(g, in).at("y");
            CHECK(y.shape() == (keepdims ? Shape{2, 3, 1, 1} : Shape{2, 3}));
            const auto want = spatial_mean(in.at("x"));
            for (std::size_t i = 0; i < want.size(); ++i) CHECK(y.data<float>()[i] == Approx(want[i]).margin(1e-6));
        }
}

TEST_CASE("realworld: other ReduceMeans are left alone", "[passes][realworld]") {
    Graph g = spatial_mean_graph(true, false);
    g.nodes[0].attributes["axes"] = std::vector<std::int64_t>{1, 2};  // not the spatial pair
    fold_symbolic_shapes(g);
    CHECK(canonicalize_reduce_mean(g) == 0);
    Graph unknown_rank = spatial_mean_graph(true, false);
    unknown_rank.inputs[0].has_shape = false;  // rank unknown: no rewrite
    unknown_rank.inputs[0].shape.clear();
    CHECK(canonicalize_reduce_mean(unknown_rank) == 0);
}

TEST_CASE("realworld: the standard pipeline folds a dynamic-batch chunk", "[passes][realworld]") {
    Graph g = chunk_graph();
    run_standard_passes(g);
    CHECK(count_ops(g, "Shape") == 0);
    CHECK(count_ops(g, "Slice") == 1);
}

namespace {

// torch.nn.LayerNorm(4) as exported below opset 17; `square` is "Pow" or "Mul".
Graph decomposed_layer_norm(const std::string& square) {
    Graph g;
    g.inputs = {static_input("x", {-1, 3, 4})};
    g.initializers["two"] = Tensor::scalar<float>(2.0f);
    g.initializers["eps"] = Tensor::scalar<float>(1e-5f);
    g.initializers["gamma"] = Tensor::from_vector<float>({4}, {1.0f, 0.5f, -2.0f, 3.0f});
    g.initializers["beta"] = Tensor::from_vector<float>({4}, {0.0f, 1.0f, 0.25f, -1.0f});
    g.nodes = {make_node("mean", "ReduceMean", {"x"}, {"m"}), make_node("sub", "Sub", {"x", "m"}, {"d"}),
               make_node("sq", square, square == "Pow" ? std::vector<std::string>{"d", "two"} : std::vector<std::string>{"d", "d"}, {"p"}),
               make_node("var", "ReduceMean", {"p"}, {"v"}), make_node("addeps", "Add", {"v", "eps"}, {"ve"}),
               make_node("sqrt", "Sqrt", {"ve"}, {"s"}), make_node("div", "Div", {"d", "s"}, {"n"}),
               make_node("mul", "Mul", {"n", "gamma"}, {"yg"}), make_node("add", "Add", {"yg", "beta"}, {"y"})};
    g.nodes[0].attributes["axes"] = std::vector<std::int64_t>{-1};
    g.nodes[3].attributes["axes"] = std::vector<std::int64_t>{-1};
    g.outputs = {output("y")};
    return g;
}

}  // namespace

TEST_CASE("realworld: a decomposed LayerNorm becomes one LayerNormalization", "[passes][realworld]") {
    for (const std::string square : {"Pow", "Mul"}) {
        INFO("square via " << square);
        Graph g = decomposed_layer_norm(square);
        CHECK(fuse_layer_norm(g) == 1);
        REQUIRE(g.nodes.size() == 1);
        CHECK(g.nodes[0].op_type == "LayerNormalization");
        CHECK(g.nodes[0].attr_int("axis", 0) == -1);
        const auto in = batch_of({2, 3, 4}, 5);
        const Tensor y = run_graph(g, in).at("y");
        REQUIRE(y.shape() == Shape{2, 3, 4});
        // (x - mean) / sqrt(var + eps) * gamma + beta over the last axis, by definition.
        const float gamma[4] = {1.0f, 0.5f, -2.0f, 3.0f}, beta[4] = {0.0f, 1.0f, 0.25f, -1.0f};
        const float* x = in.at("x").data<float>();
        for (int row = 0; row < 6; ++row) {
            double mean = 0, var = 0;
            for (int i = 0; i < 4; ++i) mean += x[row * 4 + i] / 4.0;
            for (int i = 0; i < 4; ++i) var += (x[row * 4 + i] - mean) * (x[row * 4 + i] - mean) / 4.0;
            for (int i = 0; i < 4; ++i) {
                const double want = (x[row * 4 + i] - mean) / std::sqrt(var + 1e-5) * gamma[i] + beta[i];
                CHECK(y.data<float>()[row * 4 + i] == Approx(want).margin(1e-5));
            }
        }
    }
}

TEST_CASE("realworld: a LayerNorm whose pieces are read elsewhere is not fused", "[passes][realworld]") {
    Graph g = decomposed_layer_norm("Pow");
    g.outputs.push_back(output("v"));  // the variance is also a graph output
    CHECK(fuse_layer_norm(g) == 0);
    Graph over_channels = decomposed_layer_norm("Pow");
    over_channels.nodes[0].attributes["axes"] = std::vector<std::int64_t>{1};  // not trailing
    over_channels.nodes[3].attributes["axes"] = std::vector<std::int64_t>{1};
    CHECK(fuse_layer_norm(over_channels) == 0);
}

TEST_CASE("realworld: LayerNormalization returns only its declared output", "[ops][realworld]") {
    // Host layers expect one result per declared output, not Mean/InvStdDev too.
    Node ln = make_node("ln", "LayerNormalization", {"x", "gamma"}, {"y"});
    const Tensor x = random_tensor({2, 4}, 3), gamma = Tensor::from_vector<float>({4}, {1, 1, 1, 1});
    CHECK(run_node(ln, {&x, &gamma}, 17).size() == 1);
}

namespace {

// nn.Linear(3, 2) on [batch, 4, 3] (MatMul + Add), plus a second Linear on
// the same input, as q/k/v projections share theirs.
Graph linear_3d_graph() {
    Graph g;
    g.inputs = {static_input("x", {-1, 4, 3})};
    g.initializers["w"] = Tensor::from_vector<float>({3, 2}, {1, -1, 0.5f, 2, -3, 0.25f});
    g.initializers["b"] = Tensor::from_vector<float>({2}, {0.5f, -4});
    g.initializers["w2"] = Tensor::from_vector<float>({3, 2}, {2, 0, 0, 1, 1, 1});
    g.initializers["b2"] = Tensor::from_vector<float>({1, 1, 2}, {1, 2});
    g.nodes = {make_node("mm", "MatMul", {"x", "w"}, {"p"}), make_node("add", "Add", {"b", "p"}, {"y"}),
               make_node("mm2", "MatMul", {"x", "w2"}, {"p2"}), make_node("add2", "Add", {"p2", "b2"}, {"y2"})};
    g.outputs = {output("y"), output("y2")};
    return g;
}

}  // namespace

TEST_CASE("realworld: MatMul + constant bias on a 3-D input becomes a Gemm", "[passes][realworld]") {
    Graph g = linear_3d_graph();
    fold_symbolic_shapes(g);  // X's rank and static trailing dims
    CHECK(fuse_matmul_bias(g) == 2);
    CHECK(count_ops(g, "MatMul") == 0);
    CHECK(count_ops(g, "Add") == 0);
    CHECK(count_ops(g, "Gemm") == 2);
    const auto in = batch_of({2, 4, 3}, 13);
    const auto out = run_graph(g, in);
    const float* x = in.at("x").data<float>();
    const float w[3][2] = {{1, -1}, {0.5f, 2}, {-3, 0.25f}}, b[2] = {0.5f, -4};
    const float w2[3][2] = {{2, 0}, {0, 1}, {1, 1}}, b2[2] = {1, 2};
    REQUIRE(out.at("y").shape() == Shape{2, 4, 2});
    REQUIRE(out.at("y2").shape() == Shape{2, 4, 2});
    for (int row = 0; row < 8; ++row)
        for (int j = 0; j < 2; ++j) {
            float want = b[j], want2 = b2[j];
            for (int k = 0; k < 3; ++k) {
                want += x[row * 3 + k] * w[k][j];
                want2 += x[row * 3 + k] * w2[k][j];
            }
            CHECK(out.at("y").data<float>()[row * 2 + j] == Approx(want).margin(1e-5));
            CHECK(out.at("y2").data<float>()[row * 2 + j] == Approx(want2).margin(1e-5));
        }
}

TEST_CASE("realworld: MatMul + Add stays when the addend is not a per-column bias", "[passes][realworld]") {
    Graph g = linear_3d_graph();
    g.initializers["b"] = Tensor::from_vector<float>({4, 1}, {1, 2, 3, 4});  // varies along rows
    fold_symbolic_shapes(g);
    CHECK(fuse_matmul_bias(g) == 1);  // only the second Linear
    CHECK(count_ops(g, "MatMul") == 1);
}

TEST_CASE("realworld: symbolic H and W are probed with sizes real layers accept", "[passes][realworld]") {
    // A fully convolutional head: MaxPool 5x5 needs at least 5 pixels, and
    // the channel count read through Shape is constant for any H, W.
    Graph g;
    g.inputs = {static_input("x", {-1, 2, -1, -1})};
    g.initializers["index1"] = Tensor::scalar<std::int64_t>(1);
    g.nodes = {make_node("pool", "MaxPool", {"x"}, {"p"}), make_node("shape", "Shape", {"p"}, {"s"}),
               make_node("gather", "Gather", {"s", "index1"}, {"c"}), make_node("cast", "Cast", {"c"}, {"cf"}),
               make_node("mul", "Mul", {"p", "cf"}, {"y"})};
    g.nodes[0].attributes["kernel_shape"] = std::vector<std::int64_t>{5, 5};
    g.nodes[3].attributes["to"] = std::int64_t{1};
    g.outputs = {output("y")};
    CHECK(fold_symbolic_shapes(g) == 2);  // Gather and Cast: the channel count 2
    CHECK(g.initializer("cf")->to_floats() == std::vector<float>{2.0f});
    const ValueInfo& p = g.value_info.at("p");
    REQUIRE(p.shape.size() == 4);
    CHECK(p.shape[1].value == 2);
    CHECK_FALSE(p.shape[2].known());
}

TEST_CASE("realworld: Resize to [batch, C, 8, 8] gets constant scales", "[passes][realworld]") {
    // F.interpolate(x, size=(8, 8)) on a dynamic batch: sizes = Concat(Shape(x)[0:2], [8, 8]).
    Graph g;
    g.inputs = {static_input("x", {-1, 2, 2, 4})};
    g.initializers["start"] = i64s({0});
    g.initializers["end"] = i64s({2});
    g.initializers["hw"] = i64s({8, 8});
    g.nodes = {make_node("shape", "Shape", {"x"}, {"s"}), make_node("slice", "Slice", {"s", "start", "end"}, {"nc"}),
               make_node("concat", "Concat", {"nc", "hw"}, {"sizes"}),
               make_node("resize", "Resize", {"x", "", "", "sizes"}, {"y"})};
    g.nodes[2].attributes["axis"] = std::int64_t{0};
    g.outputs = {output("y")};
    const auto in = batch_of({3, 2, 2, 4}, 17);
    const Tensor before = run_graph(g, in).at("y");
    CHECK(fold_symbolic_shapes(g) == 1);
    eliminate_dead_nodes(g);
    REQUIRE(g.nodes.size() == 1);
    CHECK(g.initializer(g.nodes[0].inputs[2])->to_floats() == std::vector<float>{1, 1, 4, 2});
    const Tensor after = run_graph(g, in).at("y");
    REQUIRE(after.shape() == Shape{3, 2, 8, 8});
    // ONNX defaults (nearest, half_pixel, round_prefer_floor) with integer
    // scales 4 and 2: output (i, j) reads input (i / 4, j / 2).
    for (std::int64_t c = 0; c < 6; ++c)
        for (std::int64_t i = 0; i < 8; ++i)
            for (std::int64_t j = 0; j < 8; ++j)
                CHECK(after.data<float>()[(c * 8 + i) * 8 + j] == in.at("x").data<float>()[(c * 2 + i / 4) * 4 + j / 2]);
    CHECK(std::memcmp(before.raw(), after.raw(), before.byte_size()) == 0);
}
