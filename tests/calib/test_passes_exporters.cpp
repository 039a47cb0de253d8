// The passes for exporter patterns: div_by_constant_to_mul,
// sub_constant_to_add, the activation fusions (HardSigmoid, HardSwish, Gelu,
// Mish, Swish), fold_affine_into_linear, concat_zeros_to_pad and fuse_pad.
// Each test runs the graph through the FP32 executor before and after the
// pass: a fusion keeps the function (relative 1e-5: the fused kernel rounds
// once where the pattern rounds at every node) and removes the pattern.
#include <catch2/catch.hpp>

#include "bitnpu/fp32/shape_inference.hpp"
#include "bitnpu/frontend/passes.hpp"
#include "test_passes_util.hpp"

using namespace bitnpu::calib;
using namespace bitnpu::test;

namespace {

Tensor scalar(float v) { return Tensor::from_vector<float>({}, {v}); }

// A graph reading x [1, 4, 5, 5] and writing y.
Graph graph_on_x() {
    Graph g;
    g.inputs = {static_input("x", {1, 4, 5, 5})};
    g.outputs = {output("y")};
    return g;
}

std::map<std::string, Tensor> x_input(float lo = -6.0f, float hi = 6.0f) {
    return {{"x", random_tensor({1, 4, 5, 5}, 11, lo, hi)}};
}

// Runs pass on g, checks that it changed `expected` matches, that the
// outputs are unchanged and that op `fused` appears `fused_count` times.
template <class Pass>
void check_pass(Graph& g, Pass pass, int expected, const std::string& fused, int fused_count,
                const std::map<std::string, Tensor>& in) {
    const auto before = run_graph(g, in);
    CHECK(pass(g) == expected);
    CHECK(count_ops(g, fused) == fused_count);
    check_same_outputs(before, run_graph(g, in));
}

}  // namespace

TEST_CASE("div_by_constant_to_mul and sub_constant_to_add rewrite constant arithmetic", "[passes]") {
    Graph g = graph_on_x();
    g.initializers["c"] = scalar(4.0f);
    g.initializers["d"] = scalar(0.5f);
    g.nodes = {make_node("div", "Div", {"x", "c"}, {"a"}), make_node("sub", "Sub", {"a", "d"}, {"b"}),
               make_node("div2", "Div", {"c", "b"}, {"y"})};  // c / b: not a division by a constant
    const auto in = x_input();
    const auto before = run_graph(g, in);
    CHECK(div_by_constant_to_mul(g) == 1);
    CHECK(sub_constant_to_add(g) == 1);
    CHECK(count_ops(g, "Mul") == 1);
    CHECK(count_ops(g, "Add") == 1);
    CHECK(count_ops(g, "Div") == 1);
    CHECK(g.initializer(g.nodes[0].inputs[1])->to_floats() == std::vector<float>{0.25f});
    CHECK(g.initializer(g.nodes[1].inputs[1])->to_floats() == std::vector<float>{-0.5f});
    check_same_outputs(before, run_graph(g, in));
}

TEST_CASE("div_by_constant_to_mul leaves a divisor with a zero alone", "[passes]") {
    Graph g = graph_on_x();
    g.initializers["c"] = Tensor::from_vector<float>({4, 1, 1}, {1.0f, 0.0f, 2.0f, 3.0f});
    g.nodes = {make_node("div", "Div", {"x", "c"}, {"y"})};
    CHECK(div_by_constant_to_mul(g) == 0);
    CHECK(g.nodes[0].op_type == "Div");
}

TEST_CASE("fuse_hard_sigmoid and fuse_hard_swish fuse x * relu6(x + 3) / 6", "[passes]") {
    Graph g = graph_on_x();
    g.opset = 13;
    g.initializers["three"] = scalar(3.0f);
    g.initializers["zero"] = scalar(0.0f);
    g.initializers["six"] = scalar(6.0f);
    SECTION("Clip with constant bounds, Div by 6 after the product") {
        g.nodes = {make_node("add", "Add", {"x", "three"}, {"u"}), make_node("clip", "Clip", {"u", "zero", "six"}, {"r"}),
                   make_node("mul", "Mul", {"x", "r"}, {"p"}), make_node("div", "Div", {"p", "six"}, {"y"})};
        check_pass(g, fuse_hard_swish, 1, "HardSwish", 1, x_input());
        CHECK(g.nodes.size() == 1);
    }
    SECTION("Min(Max(x + 3, 0), 6) * (1/6), then x * that: hard sigmoid first, then hard swish") {
        g.initializers["sixth"] = scalar(1.0f / 6.0f);
        g.nodes = {make_node("add", "Add", {"x", "three"}, {"u"}), make_node("max", "Max", {"u", "zero"}, {"m"}),
                   make_node("min", "Min", {"m", "six"}, {"r"}), make_node("mul", "Mul", {"r", "sixth"}, {"h"}),
                   make_node("mul2", "Mul", {"x", "h"}, {"y"})};
        check_pass(g, fuse_hard_sigmoid, 1, "HardSigmoid", 1, x_input());
        check_pass(g, fuse_hard_swish, 1, "HardSwish", 1, x_input());
        CHECK(g.nodes.size() == 1);
    }
    SECTION("a hard sigmoid whose x + 3 is read elsewhere is left alone") {
        g.nodes = {make_node("add", "Add", {"x", "three"}, {"u"}), make_node("clip", "Clip", {"u", "zero", "six"}, {"r"}),
                   make_node("div", "Div", {"r", "six"}, {"h"}), make_node("mul", "Mul", {"h", "u"}, {"y"})};
        check_pass(g, fuse_hard_sigmoid, 0, "HardSigmoid", 0, x_input());
    }
}

TEST_CASE("fuse_gelu fuses the erf and the tanh forms", "[passes]") {
    Graph g = graph_on_x();
    g.initializers["half"] = scalar(0.5f);
    g.initializers["one"] = scalar(1.0f);
    SECTION("0.5 * x * (1 + erf(x / sqrt 2))") {
        g.initializers["sqrt2"] = scalar(1.4142135f);
        g.nodes = {make_node("div", "Div", {"x", "sqrt2"}, {"a"}), make_node("erf", "Erf", {"a"}, {"e"}),
                   make_node("add", "Add", {"e", "one"}, {"b"}), make_node("mul", "Mul", {"x", "b"}, {"c"}),
                   make_node("mul2", "Mul", {"c", "half"}, {"y"})};
        check_pass(g, fuse_gelu, 1, "Gelu", 1, x_input());
        CHECK(g.nodes.size() == 1);
        CHECK(g.nodes[0].attr_string("approximate", "none") == "none");
    }
    SECTION("0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))") {
        g.initializers["three"] = scalar(3.0f);
        g.initializers["k"] = scalar(0.044715f);
        g.initializers["c"] = scalar(0.7978846f);
        g.nodes = {make_node("pow", "Pow", {"x", "three"}, {"x3"}), make_node("mk", "Mul", {"x3", "k"}, {"kx3"}),
                   make_node("sum", "Add", {"x", "kx3"}, {"s"}), make_node("mc", "Mul", {"s", "c"}, {"t"}),
                   make_node("tanh", "Tanh", {"t"}, {"th"}), make_node("add", "Add", {"th", "one"}, {"b"}),
                   make_node("mh", "Mul", {"x", "half"}, {"hx"}), make_node("mul", "Mul", {"hx", "b"}, {"y"})};
        check_pass(g, fuse_gelu, 1, "Gelu", 1, x_input(-4.0f, 4.0f));
        CHECK(g.nodes.size() == 1);
        CHECK(g.nodes[0].attr_string("approximate", "none") == "tanh");
    }
}

TEST_CASE("fuse_mish and fuse_swish", "[passes]") {
    Graph g = graph_on_x();
    SECTION("x * tanh(softplus(x))") {
        g.nodes = {make_node("sp", "Softplus", {"x"}, {"s"}), make_node("tanh", "Tanh", {"s"}, {"t"}),
                   make_node("mul", "Mul", {"t", "x"}, {"y"})};
        check_pass(g, fuse_mish, 1, "Mish", 1, x_input());
        CHECK(g.nodes.size() == 1);
    }
    SECTION("x * sigmoid(x), either way round") {
        g.nodes = {make_node("sig", "Sigmoid", {"x"}, {"s"}), make_node("mul", "Mul", {"s", "x"}, {"y"})};
        check_pass(g, fuse_swish, 1, "Swish", 1, x_input());
        REQUIRE(g.nodes.size() == 1);
        CHECK(g.nodes[0].domain.empty());
    }
    SECTION("a sigmoid also read elsewhere is not fused") {
        g.outputs.push_back(output("s"));
        g.nodes = {make_node("sig", "Sigmoid", {"x"}, {"s"}), make_node("mul", "Mul", {"x", "s"}, {"y"})};
        check_pass(g, fuse_swish, 0, "Swish", 0, x_input());
    }
}

TEST_CASE("fold_affine_into_linear folds per-channel Mul and Add after a Conv", "[passes]") {
    Graph g = graph_on_x();
    g.initializers["w"] = random_tensor({3, 4, 3, 3}, 12);
    g.initializers["b"] = random_tensor({3}, 13);
    g.initializers["s"] = Tensor::from_vector<float>({1, 3, 1, 1}, {0.5f, -2.0f, 1.25f});
    g.initializers["t"] = Tensor::from_vector<float>({3, 1, 1}, {0.1f, 0.2f, -0.3f});
    g.nodes = {make_node("conv", "Conv", {"x", "w", "b"}, {"c"}), make_node("mul", "Mul", {"c", "s"}, {"m"}),
               make_node("add", "Add", {"m", "t"}, {"y"})};
    check_pass(g, fold_affine_into_linear, 2, "Conv", 1, x_input());
    CHECK(g.nodes.size() == 1);
    CHECK(g.initializer("w")->to_floats() == random_tensor({3, 4, 3, 3}, 12).to_floats());  // the model's own untouched

    SECTION("a constant that varies along H is not per channel") {
        Graph h = graph_on_x();
        h.initializers["w"] = random_tensor({3, 4, 1, 1}, 12);
        h.initializers["s"] = random_tensor({1, 1, 5, 1}, 14);
        h.nodes = {make_node("conv", "Conv", {"x", "w"}, {"c"}), make_node("mul", "Mul", {"c", "s"}, {"y"})};
        check_pass(h, fold_affine_into_linear, 0, "Mul", 1, x_input());
    }
}

TEST_CASE("concat_zeros_to_pad turns channel padding into a Pad of zeros", "[passes]") {
    Graph g = graph_on_x();
    g.initializers["z"] = Tensor(DType::f32, {1, 2, 5, 5});
    g.nodes = {make_node("relu", "Relu", {"x"}, {"r"}), make_node("cat", "Concat", {"r", "z"}, {"y"})};
    g.nodes[1].attributes["axis"] = std::int64_t{1};
    check_pass(g, concat_zeros_to_pad, 1, "Pad", 1, x_input());
    CHECK(count_ops(g, "Concat") == 0);

    SECTION("a constant that is not all zeros stays a Concat operand") {
        Graph h = graph_on_x();
        h.initializers["z"] = random_tensor({1, 2, 5, 5}, 15);
        h.nodes = {make_node("cat", "Concat", {"x", "z"}, {"y"})};
        h.nodes[0].attributes["axis"] = std::int64_t{1};
        check_pass(h, concat_zeros_to_pad, 0, "Concat", 1, x_input());
    }
}

TEST_CASE("fuse_pad moves a zero Pad into the Conv or MaxPool that reads it", "[passes]") {
    Graph g = graph_on_x();
    g.initializers["pads"] = Tensor::from_vector<std::int64_t>({8}, {0, 0, 1, 1, 0, 0, 1, 1});
    SECTION("Conv") {
        g.initializers["w"] = random_tensor({3, 4, 3, 3}, 16);
        g.nodes = {make_node("pad", "Pad", {"x", "pads"}, {"p"}), make_node("conv", "Conv", {"p", "w"}, {"y"})};
        g.nodes[1].attributes["strides"] = std::vector<std::int64_t>{2, 2};
        check_pass(g, fuse_pad, 1, "Pad", 0, x_input());
        CHECK(g.nodes[0].attr_ints("pads") == std::vector<std::int64_t>{1, 1, 1, 1});
    }
    SECTION("MaxPool after a Relu (the zeros never win)") {
        g.nodes = {make_node("relu", "Relu", {"x"}, {"r"}), make_node("pad", "Pad", {"r", "pads"}, {"p"}),
                   make_node("pool", "MaxPool", {"p"}, {"y"})};
        g.nodes[2].attributes["kernel_shape"] = std::vector<std::int64_t>{3, 3};
        check_pass(g, fuse_pad, 1, "Pad", 0, x_input());
    }
    SECTION("MaxPool of a signed input keeps its Pad (a zero could win a window)") {
        g.nodes = {make_node("pad", "Pad", {"x", "pads"}, {"p"}), make_node("pool", "MaxPool", {"p"}, {"y"})};
        g.nodes[1].attributes["kernel_shape"] = std::vector<std::int64_t>{3, 3};
        check_pass(g, fuse_pad, 0, "Pad", 1, x_input());
    }
}

TEST_CASE("run_standard_passes fuses an exported hard swish after a Conv to one HardSwish", "[passes]") {
    Graph g = graph_on_x();
    g.initializers["w"] = random_tensor({4, 4, 3, 3}, 17);
    g.initializers["three"] = scalar(3.0f);
    g.initializers["six"] = scalar(6.0f);
    Node clip = make_node("clip", "Clip", {"u"}, {"r"});
    g.opset = 9;
    clip.attributes["min"] = 0.0f;
    clip.attributes["max"] = 6.0f;
    Node conv = make_node("conv", "Conv", {"x", "w"}, {"c"});
    conv.attributes["pads"] = std::vector<std::int64_t>{1, 1, 1, 1};
    g.nodes = {conv, make_node("add", "Add", {"c", "three"}, {"u"}), clip, make_node("mul", "Mul", {"c", "r"}, {"p"}),
               make_node("div", "Div", {"p", "six"}, {"y"})};
    const auto in = x_input();
    const auto before = run_graph(g, in);
    run_standard_passes(g);
    CHECK(count_ops(g, "HardSwish") == 1);
    CHECK(g.nodes.size() == 2);
    check_same_outputs(before, run_graph(g, in));
}

TEST_CASE("split_conv_at_channel_slices gives each sliced channel range its own Conv", "[passes]") {
    Graph g = graph_on_x();
    g.outputs = {output("a"), output("b")};
    g.initializers["w"] = random_tensor({6, 4, 3, 3}, 18);
    g.initializers["bias"] = random_tensor({6}, 19);
    g.initializers["sizes"] = Tensor::from_vector<std::int64_t>({4}, {1, 6, 10, 10});
    g.initializers["s0"] = Tensor::from_vector<std::int64_t>({1}, {1});
    g.initializers["e0"] = Tensor::from_vector<std::int64_t>({1}, {2});
    g.initializers["s1"] = Tensor::from_vector<std::int64_t>({4}, {0, 0, 0, 3});
    g.initializers["e1"] = Tensor::from_vector<std::int64_t>({4}, {1000, 1000, 1000, 5});
    g.initializers["ax0"] = Tensor::from_vector<std::int64_t>({1}, {1});
    g.initializers["ax1"] = Tensor::from_vector<std::int64_t>({4}, {0, 2, 3, -3});
    Node conv = make_node("conv", "Conv", {"x", "w", "bias"}, {"c"});
    conv.attributes["pads"] = std::vector<std::int64_t>{1, 1, 1, 1};
    Node resize = make_node("up", "Resize", {"c", "", "", "sizes"}, {"r"});
    resize.attributes["mode"] = std::string("linear");
    g.nodes = {conv, make_node("relu", "Relu", {"c"}, {"cr"}), resize,
               make_node("slice0", "Slice", {"r", "s0", "e0", "ax0"}, {"a"}),
               make_node("slice1", "Slice", {"r", "s1", "e1", "ax1"}, {"b"})};
    g.nodes.erase(g.nodes.begin() + 1);   // (no Relu: the Resize reads the Conv directly)
    infer_shapes(g, {{"x", {1, 4, 5, 5}}});
    const auto in = x_input();
    const auto before = run_graph(g, in);
    CHECK(split_conv_at_channel_slices(g) == 1);
    CHECK(count_ops(g, "Conv") == 2);
    CHECK(count_ops(g, "Slice") == 0);
    CHECK(count_ops(g, "Resize") == 2);
    check_same_outputs(before, run_graph(g, in));   // float rounding only (GEMM blocking)

    SECTION("a Conv also read whole is left alone") {
        Graph h = graph_on_x();
        h.initializers = g.initializers;
        h.initializers["s0"] = Tensor::from_vector<std::int64_t>({1}, {1});
        h.nodes = {make_node("conv", "Conv", {"x", "w"}, {"c"}), make_node("relu", "Relu", {"c"}, {"y"}),
                   make_node("slice0", "Slice", {"c", "s0", "e0", "ax0"}, {"a"})};
        h.outputs = {output("y"), output("a")};
        infer_shapes(h, {{"x", {1, 4, 5, 5}}});
        CHECK(split_conv_at_channel_slices(h) == 0);
    }
}

TEST_CASE("conv_transpose_to_conv keeps the function of every geometry", "[passes]") {
    struct Case {
        std::int64_t k, s, p, op, group;
    };
    const Case cases[] = {{4, 2, 1, 0, 1}, {2, 2, 0, 0, 1}, {3, 2, 1, 1, 1}, {3, 1, 1, 0, 1}, {4, 2, 1, 0, 2},
                          {3, 3, 0, 2, 1}};
    for (const Case& c : cases) {
        INFO("k " << c.k << " s " << c.s << " p " << c.p << " op " << c.op << " group " << c.group);
        Graph g = graph_on_x();
        g.initializers["w"] = random_tensor({4, 6 / c.group, c.k, c.k}, 22);
        g.initializers["b"] = random_tensor({6}, 23);
        Node ct = make_node("deconv", "ConvTranspose", {"x", "w", "b"}, {"y"});
        ct.attributes["strides"] = std::vector<std::int64_t>{c.s, c.s};
        ct.attributes["pads"] = std::vector<std::int64_t>{c.p, c.p, c.p, c.p};
        ct.attributes["output_padding"] = std::vector<std::int64_t>{c.op, c.op};
        ct.attributes["group"] = c.group;
        g.nodes = {ct};
        infer_shapes(g, {{"x", {1, 4, 5, 5}}});
        const auto in = x_input();
        const auto before = run_graph(g, in);
        CHECK(conv_transpose_to_conv(g) == 1);
        CHECK(count_ops(g, "ConvTranspose") == 0);
        CHECK(count_ops(g, "Conv") == 1);
        check_same_outputs(before, run_graph(g, in));
    }
}
