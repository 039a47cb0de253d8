// fold_batchnorm and fuse_activation, plus the standard pipeline.
#include <catch2/catch.hpp>

#include <limits>
#include <tuple>

#include "bitnpu/frontend/passes.hpp"
#include "test_passes_util.hpp"

using namespace bitnpu::calib;
using namespace bitnpu::test;

namespace {

Tensor f32s(Shape shape, std::vector<float> v) { return Tensor::from_vector<float>(std::move(shape), v); }

// BatchNormalization node reading x and the four parameter initializers.
Node add_bn(Graph& g, const std::string& name, const std::string& x, const std::string& y, std::vector<float> gamma,
            std::vector<float> beta, std::vector<float> mean, std::vector<float> var, float eps) {
    const auto c = static_cast<std::int64_t>(gamma.size());
    g.initializers[name + ".g"] = f32s({c}, gamma);
    g.initializers[name + ".b"] = f32s({c}, beta);
    g.initializers[name + ".m"] = f32s({c}, mean);
    g.initializers[name + ".v"] = f32s({c}, var);
    Node bn = make_node(name, "BatchNormalization", {x, name + ".g", name + ".b", name + ".m", name + ".v"}, {y});
    bn.attributes["epsilon"] = eps;
    return bn;
}

}  // namespace

TEST_CASE("fold_batchnorm: Conv weights and bias match hand-computed values", "[passes]") {
    Graph g;
    g.inputs = {static_input("x", {1, 1, 2, 2})};
    g.initializers["w"] = f32s({2, 1, 1, 1}, {2.0f, 3.0f});
    g.initializers["bias"] = f32s({2}, {1.0f, -1.0f});
    g.nodes = {make_node("conv", "Conv", {"x", "w", "bias"}, {"c"})};
    // scale = gamma / sqrt(var + eps) = [1/2, 2/1.25] = [0.5, 1.6]; shift = beta - mean * scale = [0, -3.2].
    g.nodes.push_back(add_bn(g, "bn", "c", "y", {1.0f, 2.0f}, {0.5f, 0.0f}, {1.0f, 2.0f}, {3.0f, 0.5625f}, 1.0f));
    g.outputs = {output("y")};
    const std::map<std::string, Tensor> in{{"x", random_tensor({1, 1, 2, 2}, 3)}};
    const auto before = run_graph(g, in);
    CHECK(fold_batchnorm(g) == 1);
    REQUIRE(g.nodes.size() == 1);
    const Node& conv = g.nodes[0];
    CHECK(conv.outputs[0] == "y");
    const auto w = g.initializer(conv.inputs[1])->to_floats();
    const auto b = g.initializer(conv.inputs[2])->to_floats();
    CHECK(w[0] == Approx(1.0f));
    CHECK(w[1] == Approx(4.8f));
    CHECK(b[0] == Approx(0.5f));               // 1 * 0.5 + 0
    CHECK(b[1] == Approx(-1.6f - 3.2f));       // -1 * 1.6 - 3.2
    CHECK(g.initializer("w")->to_floats() == std::vector<float>{2.0f, 3.0f});  // original untouched
    check_same_outputs(before, run_graph(g, in));
}

TEST_CASE("fold_batchnorm: bias-less Conv, grouped ConvTranspose and Gemm fold", "[passes]") {
    const std::vector<float> gamma{1.5f, -0.5f, 2.0f, 0.25f}, beta{0.1f, 0.2f, -0.3f, 0.4f},
        mean{0.2f, -0.1f, 0.05f, 0.3f}, var{0.9f, 1.1f, 0.4f, 2.0f};
    SECTION("Conv without bias") {
        Graph g;
        g.inputs = {static_input("x", {1, 3, 5, 5})};
        g.initializers["w"] = random_tensor({4, 3, 3, 3}, 4);
        g.nodes = {make_node("conv", "Conv", {"x", "w"}, {"c"})};
        g.nodes.push_back(add_bn(g, "bn", "c", "y", gamma, beta, mean, var, 1e-5f));
        g.outputs = {output("y")};
        const std::map<std::string, Tensor> in{{"x", random_tensor({1, 3, 5, 5}, 5)}};
        const auto before = run_graph(g, in);
        CHECK(fold_batchnorm(g) == 1);
        CHECK(g.nodes.size() == 1);
        check_same_outputs(before, run_graph(g, in));
    }
    SECTION("ConvTranspose with group 2") {
        Graph g;
        g.inputs = {static_input("x", {1, 4, 3, 3})};
        g.initializers["w"] = random_tensor({4, 2, 2, 2}, 6);  // [C_in, C_out/group, kH, kW]
        g.nodes = {make_node("deconv", "ConvTranspose", {"x", "w"}, {"c"})};
        g.nodes[0].attributes["group"] = std::int64_t{2};
        g.nodes.push_back(add_bn(g, "bn", "c", "y", gamma, beta, mean, var, 1e-5f));
        g.outputs = {output("y")};
        const std::map<std::string, Tensor> in{{"x", random_tensor({1, 4, 3, 3}, 7)}};
        const auto before = run_graph(g, in);
        CHECK(fold_batchnorm(g) == 1);
        CHECK(g.nodes.size() == 1);
        check_same_outputs(before, run_graph(g, in));
    }
    SECTION("Gemm with transB and beta") {
        Graph g;
        g.inputs = {static_input("x", {3, 5})};
        g.initializers["w"] = random_tensor({4, 5}, 8);
        g.initializers["c"] = random_tensor({4}, 9);
        g.nodes = {make_node("fc", "Gemm", {"x", "w", "c"}, {"f"})};
        g.nodes[0].attributes["transB"] = std::int64_t{1};
        g.nodes[0].attributes["beta"] = 0.5f;
        g.nodes[0].attributes["alpha"] = 2.0f;
        g.nodes.push_back(add_bn(g, "bn", "f", "y", gamma, beta, mean, var, 1e-5f));
        g.outputs = {output("y")};
        const std::map<std::string, Tensor> in{{"x", random_tensor({3, 5}, 10)}};
        const auto before = run_graph(g, in);
        CHECK(fold_batchnorm(g) == 1);
        CHECK(g.nodes.size() == 1);
        check_same_outputs(before, run_graph(g, in));
    }
}

TEST_CASE("fold_batchnorm: BN without a foldable producer becomes ChannelAffine", "[passes]") {
    Graph g;
    g.inputs = {static_input("x", {1, 2, 2, 2})};
    g.initializers["w"] = random_tensor({2, 2, 1, 1}, 11);
    g.nodes = {make_node("conv", "Conv", {"x", "w"}, {"c"}), make_node("side", "Relu", {"c"}, {"r"})};
    g.nodes.push_back(add_bn(g, "bn_shared", "c", "y", {2.0f, 1.0f}, {1.0f, 0.0f}, {0.0f, 1.0f}, {3.0f, 0.0f}, 1.0f));
    g.nodes.push_back(add_bn(g, "bn_input", "x", "z", {1.0f, 1.0f}, {0.0f, 0.0f}, {0.0f, 0.0f}, {1.0f, 1.0f}, 0.0f));
    g.outputs = {output("y"), output("r"), output("z")};
    const std::map<std::string, Tensor> in{{"x", random_tensor({1, 2, 2, 2}, 12)}};
    const auto before = run_graph(g, in);
    CHECK(fold_batchnorm(g) == 2);
    CHECK(count_ops(g, "BatchNormalization") == 0);
    CHECK(count_ops(g, kChannelAffine) == 2);  // conv output has two consumers; x has no producer
    for (const Node& n : g.nodes)
        if (n.op_type == kChannelAffine) {
            CHECK(n.domain == kDomain);
            if (n.name == "bn_shared") {
                // scale = [2 / sqrt(4), 1 / sqrt(1)] = [1, 1]; shift = [1 - 0, 0 - 1] = [1, -1].
                CHECK(g.initializer(n.inputs[1])->to_floats() == std::vector<float>{1.0f, 1.0f});
                CHECK(g.initializer(n.inputs[2])->to_floats() == std::vector<float>{1.0f, -1.0f});
            }
        }
    check_same_outputs(before, run_graph(g, in));
}

TEST_CASE("channel_affine_to_conv: a 4-D ChannelAffine becomes a depthwise 1x1 Conv, a 2-D or 3-D one a reshaped one",
          "[passes]") {
    Graph g;
    g.inputs = {static_input("x", {2, 3, 4, 5}), static_input("v", {2, 3}), static_input("s", {2, 3, 7}),
                static_input("u", {2, 3, 2, 2, 2})};
    for (const auto& [name, in, out] : {std::tuple{"bn4", "x", "y"}, {"bn2", "v", "w"}, {"bn3", "s", "t"}, {"bn5", "u", "z"}})
        g.nodes.push_back(add_bn(g, name, in, out, {2.0f, 1.0f, 0.5f}, {1.0f, 0.0f, -1.0f}, {0.5f, 1.0f, 0.0f},
                                 {3.0f, 0.5f, 1.0f}, 1e-3f));
    g.outputs = {output("y"), output("w"), output("t"), output("z")};
    const std::map<std::string, Tensor> in{{"x", random_tensor({2, 3, 4, 5}, 21)},
                                           {"v", random_tensor({2, 3}, 22)},
                                           {"s", random_tensor({2, 3, 7}, 23)},
                                           {"u", random_tensor({2, 3, 2, 2, 2}, 24)}};
    const auto before = run_graph(g, in);
    CHECK(fold_batchnorm(g) == 4);
    CHECK(channel_affine_to_conv(g) == 3);   // the 5-D value keeps its ChannelAffine
    CHECK(count_ops(g, kChannelAffine) == 1);
    REQUIRE(count_ops(g, "Conv") == 3);
    CHECK(count_ops(g, "Reshape") == 4);      // around bn2 and bn3
    for (const Node& n : g.nodes)
        if (n.op_type == "Conv") {
            CHECK(n.attr_int("group", 1) == 3);
            CHECK(g.initializer(n.inputs[1])->shape() == Shape{3, 1, 1, 1});
        }
    // The outputs keep their names (readers unchanged), in topological order.
    CHECK(g.nodes.back().outputs.at(0) == "z");
    // Same values: the Conv computes x * scale + bias per channel (fp32
    // rounding of one multiply and one add either way).
    check_same_outputs(before, run_graph(g, in));
}

TEST_CASE("conv1d_to_conv2d: a 1-D Conv becomes the equal 2-D Conv between Reshapes", "[passes]") {
    Graph g;
    g.inputs = {static_input("x", {2, 4, 11})};
    g.initializers["w"] = random_tensor({6, 2, 3}, 31);
    g.initializers["b"] = random_tensor({6}, 32);
    g.nodes = {make_node("c1", "Conv", {"x", "w", "b"}, {"y"})};
    g.nodes[0].attributes["strides"] = std::vector<std::int64_t>{2};
    g.nodes[0].attributes["pads"] = std::vector<std::int64_t>{2, 1};
    g.nodes[0].attributes["dilations"] = std::vector<std::int64_t>{2};
    g.nodes[0].attributes["group"] = std::int64_t{2};
    g.nodes[0].attributes[fused::kActivation] = std::string("Relu");
    g.outputs = {output("y")};
    const std::map<std::string, Tensor> in{{"x", random_tensor({2, 4, 11}, 33)}};
    const auto before = run_graph(g, in);
    CHECK(conv1d_to_conv2d(g) == 1);
    REQUIRE(g.nodes.size() == 3);
    CHECK(g.nodes[0].op_type == "Reshape");
    const Node& conv = g.nodes[1];
    CHECK(conv.op_type == "Conv");
    CHECK(g.initializer(conv.inputs[1])->shape() == Shape{6, 2, 1, 3});
    CHECK(conv.attr_ints("strides") == std::vector<std::int64_t>{1, 2});
    CHECK(conv.attr_ints("pads") == std::vector<std::int64_t>{0, 2, 0, 1});
    CHECK(conv.attr_ints("dilations") == std::vector<std::int64_t>{1, 2});
    CHECK(conv.attr_string(fused::kActivation, "") == "Relu");
    CHECK(g.nodes[2].op_type == "Reshape");
    CHECK(g.nodes[2].outputs.at(0) == "y");
    CHECK(conv1d_to_conv2d(g) == 0);   // 2-D convolutions are left alone
    check_same_outputs(before, run_graph(g, in));
}

TEST_CASE("fuse_activation: Relu and Clip fuse into Conv/Gemm/MatMul, LeakyRelu stays a node", "[passes]") {
    Graph g;
    g.opset = 13;
    g.inputs = {static_input("x", {2, 4})};
    g.initializers["w1"] = random_tensor({4, 4}, 13);
    g.initializers["w2"] = random_tensor({4, 4}, 14);
    g.initializers["w3"] = random_tensor({4, 4}, 15);
    g.initializers["lo"] = Tensor::scalar<float>(-0.2f);
    g.initializers["hi"] = Tensor::scalar<float>(0.3f);
    g.nodes = {make_node("mm", "MatMul", {"x", "w1"}, {"a"}), make_node("relu", "Relu", {"a"}, {"ar"}),
               make_node("fc", "Gemm", {"ar", "w2"}, {"b"}), make_node("clip", "Clip", {"b", "lo", "hi"}, {"bc"}),
               make_node("mm2", "MatMul", {"bc", "w3"}, {"c"}), make_node("leaky", "LeakyRelu", {"c"}, {"y"})};
    g.nodes[5].attributes["alpha"] = 0.2f;
    g.outputs = {output("y")};
    const std::map<std::string, Tensor> in{{"x", random_tensor({2, 4}, 16)}};
    const auto before = run_graph(g, in);
    CHECK(fuse_activation(g) == 2);
    REQUIRE(g.nodes.size() == 4);
    CHECK(g.nodes[0].attr_string(fused::kActivation, "") == "Relu");
    CHECK(g.nodes[0].outputs[0] == "ar");
    CHECK(g.nodes[1].attr_string(fused::kActivation, "") == "Clip");
    CHECK(g.nodes[1].attr_float(fused::kClipMin, 0) == -0.2f);
    CHECK(g.nodes[1].attr_float(fused::kClipMax, 0) == 0.3f);
    CHECK(!g.nodes[2].has_attr(fused::kActivation));
    CHECK(g.nodes[3].op_type == "LeakyRelu");
    CHECK(g.nodes[3].outputs[0] == "y");
    check_same_outputs(before, run_graph(g, in));
}

TEST_CASE("fuse_activation: opset-6 Clip attributes; shared outputs are not fused", "[passes]") {
    Graph g;
    g.opset = 9;
    g.inputs = {static_input("x", {1, 1, 3, 3})};
    g.initializers["w"] = random_tensor({1, 1, 1, 1}, 17);
    g.nodes = {make_node("conv", "Conv", {"x", "w"}, {"c"}), make_node("relu6", "Clip", {"c"}, {"y"}),
               make_node("conv2", "Conv", {"x", "w"}, {"d"}), make_node("relu", "Relu", {"d"}, {"z"})};
    g.nodes[1].attributes["min"] = 0.0f;
    g.nodes[1].attributes["max"] = 6.0f;
    g.outputs = {output("y"), output("z"), output("d")};  // d is read twice: relu and the graph output
    CHECK(fuse_activation(g) == 1);
    CHECK(g.nodes[0].attr_float(fused::kClipMax, 0) == 6.0f);
    CHECK(count_ops(g, "Relu") == 1);
}

TEST_CASE("run_standard_passes: Conv-BN-Relu-Identity-Dropout network keeps its results", "[passes]") {
    Graph g;
    g.inputs = {static_input("x", {1, 3, 6, 6})};
    g.initializers["w"] = random_tensor({4, 3, 3, 3}, 20);
    g.initializers["b"] = random_tensor({4}, 21);
    g.initializers["shape"] = Tensor::from_vector<std::int64_t>({2}, {1, -1});
    g.initializers["fc"] = random_tensor({64, 5}, 22);
    g.initializers["orphan"] = Tensor(DType::f32, {7});
    g.nodes = {make_node("conv", "Conv", {"x", "w", "b"}, {"c"})};
    g.nodes.push_back(add_bn(g, "bn", "c", "n", {1.2f, 0.8f, 1.0f, 0.5f}, {0.1f, -0.1f, 0.0f, 0.2f},
                             {0.0f, 0.1f, -0.1f, 0.2f}, {1.0f, 0.5f, 2.0f, 0.3f}, 1e-5f));
    g.nodes.push_back(make_node("relu", "Relu", {"n"}, {"r"}));
    g.nodes.push_back(make_node("id", "Identity", {"r"}, {"i"}));
    g.nodes.push_back(make_node("drop", "Dropout", {"i"}, {"d"}));
    g.nodes.push_back(make_node("flat", "Reshape", {"d", "shape"}, {"f"}));
    g.nodes.push_back(make_node("mm", "MatMul", {"f", "fc"}, {"y"}));
    g.nodes.push_back(make_node("dead", "Neg", {"c"}, {"unused"}));
    g.outputs = {output("y")};
    const std::map<std::string, Tensor> in{{"x", random_tensor({1, 3, 6, 6}, 23)}};
    const auto before = run_graph(g, in);
    run_standard_passes(g);
    CHECK(g.nodes.size() == 3);  // Conv(+BN+Relu), Reshape, MatMul
    CHECK(count_ops(g, "Conv") == 1);
    CHECK(g.nodes[0].attr_string(fused::kActivation, "") == "Relu");
    CHECK_FALSE(g.is_initializer("orphan"));
    check_same_outputs(before, run_graph(g, in), 1e-4f);
}
