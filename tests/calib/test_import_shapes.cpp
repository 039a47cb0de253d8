// Shape inference (calib/shape_inference.hpp) on imported models.
#include <catch2/catch.hpp>

#include "bitnpu/graph/onnx_import.hpp"
#include "bitnpu/frontend/passes.hpp"
#include "bitnpu/fp32/shape_inference.hpp"
#include "onnx_model_builder.hpp"

using namespace bitnpu::calib;
using bitnpu::test::ModelBuilder;
using bitnpu::test::TempFile;

namespace {

Graph load(const ModelBuilder& b) {
    TempFile f(".onnx");
    b.save(f);
    return load_onnx(f.path());
}

Shape shape_of(const Graph& g, const std::string& value) {
    Shape s;
    REQUIRE(static_shape(g, value, s));
    return s;
}

// x[batch, 3, 8, 8] -> Conv(4, 3x3, stride 2, pad 1) -> Relu -> Flatten via
// Reshape(Concat(Shape(x)[0:1], [-1])) -> Gemm(10).
ModelBuilder cnn() {
    ModelBuilder b(13);
    b.input("x", {-1, 3, 8, 8});
    b.init_f32("w", {4, 3, 3, 3}, std::vector<float>(108, 0.01f));
    b.init_f32("fc", {10, 64}, std::vector<float>(640, 0.01f));
    b.init_i64("minus1", {1}, {-1});
    auto& conv = b.node("Conv", {"x", "w"}, {"c"}, "conv");
    ModelBuilder::attr_ints(conv, "strides", {2, 2});
    ModelBuilder::attr_ints(conv, "pads", {1, 1, 1, 1});
    b.node("Relu", {"c"}, {"r"}, "relu");
    b.node("Shape", {"r"}, {"s"}, "shape");
    auto& slice = b.node("Gather", {"s", "zero"}, {"n"}, "batch");
    (void)slice;
    b.init_i64("zero", {1}, {0});
    auto& cat = b.node("Concat", {"n", "minus1"}, {"target"}, "cat");
    ModelBuilder::attr_int(cat, "axis", 0);
    b.node("Reshape", {"r", "target"}, {"flat"}, "flatten");
    auto& gemm = b.node("Gemm", {"flat", "fc"}, {"y"}, "fc");
    ModelBuilder::attr_int(gemm, "transB", 1);
    b.output("y");
    return b;
}

}  // namespace

TEST_CASE("shape inference: concrete shapes for a dynamic-batch CNN", "[import][shapes]") {
    Graph g = load(cnn());
    infer_shapes(g, {{"x", {2, 3, 8, 8}}});
    CHECK(shape_of(g, "c") == Shape{2, 4, 4, 4});
    CHECK(shape_of(g, "r") == Shape{2, 4, 4, 4});
    CHECK(shape_of(g, "target") == Shape{2});
    CHECK(shape_of(g, "flat") == Shape{2, 64});  // needs the Shape->Gather->Concat values
    CHECK(shape_of(g, "y") == Shape{2, 10});
    CHECK(g.value_info.at("s").dtype == DType::i64);
    // Another batch size gives other shapes: nothing is cached in the graph's dims.
    infer_shapes(g, {{"x", {5, 3, 8, 8}}});
    CHECK(shape_of(g, "y") == Shape{5, 10});
}

TEST_CASE("shape inference: bitnpu ops and fused attributes after the passes", "[import][shapes]") {
    ModelBuilder b(13);
    b.input("x", {1, 2, 4, 4});
    b.init_f32("w", {2, 2, 1, 1}, {1, 0, 0, 1});
    for (const char* p : {"g", "bb", "m", "v"}) b.init_f32(p, {2}, {1.0f, 1.0f});
    b.node("Conv", {"x", "w"}, {"c"}, "conv");
    b.node("Relu", {"c"}, {"r"}, "relu");
    b.node("BatchNormalization", {"x", "g", "bb", "m", "v"}, {"n"}, "bn_on_input");
    b.node("Add", {"r", "n"}, {"y"}, "add");
    b.output("y");
    Graph g = load(b);
    run_standard_passes(g);
    // The BN on the input has no producer to fold into: it becomes a
    // ChannelAffine, and on this 4-D value the depthwise 1x1 Conv it is.
    bool has_depthwise = false;
    for (const Node& n : g.nodes)
        has_depthwise = has_depthwise || (n.name == "bn_on_input" && n.op_type == "Conv" && n.attr_int("group", 1) == 2);
    REQUIRE(has_depthwise);
    infer_shapes(g, {{"x", {1, 2, 4, 4}}});
    CHECK(shape_of(g, "n") == Shape{1, 2, 4, 4});
    CHECK(shape_of(g, "r") == Shape{1, 2, 4, 4});
    CHECK(shape_of(g, "y") == Shape{1, 2, 4, 4});
}

TEST_CASE("shape inference: NHWC model starting with Transpose", "[import][shapes]") {
    ModelBuilder b(13);
    b.input("x", {-1, 6, 6, 3});
    b.init_f32("w", {2, 3, 3, 3}, std::vector<float>(54, 0.5f));
    auto& t = b.node("Transpose", {"x"}, {"nchw"}, "to_nchw");
    ModelBuilder::attr_ints(t, "perm", {0, 3, 1, 2});
    b.node("Conv", {"nchw", "w"}, {"y"}, "conv");
    b.output("y");
    Graph g = load(b);
    infer_shapes(g, {{"x", {1, 6, 6, 3}}});
    CHECK(shape_of(g, "nchw") == Shape{1, 3, 6, 6});
    CHECK(shape_of(g, "y") == Shape{1, 2, 4, 4});
}

TEST_CASE("shape inference: ONNX's own inference covers ops the executor lacks", "[import][shapes]") {
    // Built directly in the IR (the importer would reject LRN): only ONNX's
    // schema-based inference can know LRN keeps its input shape.
    Graph g;
    ValueInfo x;
    x.name = "x";
    x.has_shape = true;
    x.shape = {Dim{-1, "N"}, Dim{3, ""}, Dim{5, ""}, Dim{5, ""}};
    g.inputs = {x};
    Node lrn;
    lrn.name = "lrn";
    lrn.op_type = "LRN";
    lrn.inputs = {"x"};
    lrn.outputs = {"y"};
    lrn.attributes["size"] = std::int64_t{3};
    g.nodes = {lrn};
    ValueInfo y;
    y.name = "y";
    g.outputs = {y};
    infer_shapes(g, {{"x", {4, 3, 5, 5}}});
    CHECK(shape_of(g, "y") == Shape{4, 3, 5, 5});
}
