// QDQ import (calib/importer, docs/export.md "Importing QDQ models"): the
// Q/DQ nodes of a hand-built QDQ model become the CTable they state and the
// graph under them is the float model; what cannot be read is a UserError
// naming the node; a model npuexport wrote imports back to its CTable.
#include <catch2/catch.hpp>

#include <cmath>

#include "bitnpu/errors.hpp"
#include "bitnpu/graph/onnx_import.hpp"
#include "bitnpu/importer/qdq.hpp"
#include "onnx_model_builder.hpp"

namespace {

using namespace bitnpu;
using bitnpu::test::ModelBuilder;
using bitnpu::test::TempFile;
constexpr int kU8 = onnx::TensorProto::UINT8, kI8 = onnx::TensorProto::INT8, kI32 = onnx::TensorProto::INT32;

// x -> Q/DQ (uint8, s 0.02, z 128) -> Conv (int8 weights per channel, int32
// bias) -> Relu -> Q/DQ (uint8, s 0.05, z 0) -> y
ModelBuilder qdq_conv() {
    ModelBuilder b;
    b.input("x", {-1, 1, 4, 4});
    b.init_f32("x_scale", {}, {0.02f});
    b.init_int("x_zero", {}, {128}, kU8);
    b.node("QuantizeLinear", {"x", "x_scale", "x_zero"}, {"x_q"}, "x_quantize");
    b.node("DequantizeLinear", {"x_q", "x_scale", "x_zero"}, {"x_dq"}, "x_dequantize");
    b.init_int("w_q", {2, 1, 1, 1}, {100, -50}, kI8);
    b.init_f32("w_scale", {2}, {0.01f, 0.002f});
    b.init_int("w_zero", {2}, {0, 0}, kI8);
    auto& dw = b.node("DequantizeLinear", {"w_q", "w_scale", "w_zero"}, {"w"}, "w_dequantize");
    ModelBuilder::attr_int(dw, "axis", 0);
    b.init_int("b_q", {2}, {1000, -300}, kI32);
    b.init_f32("b_scale", {2}, {0.0002f, 0.00004f});
    b.init_int("b_zero", {2}, {0, 0}, kI32);
    auto& db = b.node("DequantizeLinear", {"b_q", "b_scale", "b_zero"}, {"bias"}, "b_dequantize");
    ModelBuilder::attr_int(db, "axis", 0);
    b.node("Conv", {"x_dq", "w", "bias"}, {"c"}, "conv");
    b.node("Relu", {"c"}, {"r"}, "relu");
    b.init_f32("r_scale", {}, {0.05f});
    b.init_int("r_zero", {}, {0}, kU8);
    b.node("QuantizeLinear", {"r", "r_scale", "r_zero"}, {"r_q"}, "r_quantize");
    b.node("DequantizeLinear", {"r_q", "r_scale", "r_zero"}, {"y"}, "r_dequantize");
    b.output("y");
    return b;
}

calib::Graph load(const ModelBuilder& b) {
    TempFile file(".onnx");
    b.save(file);
    return calib::load_onnx(file.path());
}

void require_refused(const ModelBuilder& b, const std::string& says) {
    calib::Graph g = load(b);
    try {
        calib::strip_qdq(g);
        FAIL("accepted; expected: " << says);
    } catch (const UserError& e) {
        INFO(e.what());
        CHECK(std::string(e.what()).find(says) != std::string::npos);
    }
}

}  // namespace

TEST_CASE("qdq import: Q/DQ pairs become the CTable, the graph under them the float model", "[qdq][import]") {
    calib::Graph g = load(qdq_conv());
    REQUIRE(calib::has_qdq(g));
    const calib::QdqImport imp = calib::strip_qdq(g);
    CHECK_FALSE(calib::has_qdq(g));
    CHECK(imp.activation_pairs == 2);
    CHECK(imp.constants == 2);
    REQUIRE(g.nodes.size() == 2);
    CHECK(g.nodes[0].op_type == "Conv");
    CHECK(g.nodes[0].inputs[0] == "x");
    CHECK(g.nodes[1].op_type == "Relu");
    CHECK(g.nodes[1].outputs[0] == "y");   // the graph output keeps its name

    const calib::CTableTensor* x = imp.table.find_tensor("x");
    REQUIRE(x);
    CHECK(x->type == arch::ValueType::uint8);
    CHECK(x->scale == std::vector<float>{0.02f});
    CHECK(x->zero_point == std::vector<std::int64_t>{128});
    const calib::CTableTensor* y = imp.table.find_tensor("y");
    REQUIRE(y);
    CHECK(y->scale == std::vector<float>{0.05f});
    const calib::CTableLayer* conv = imp.table.find_layer("conv");
    REQUIRE(conv);
    CHECK(conv->weight_granularity == "per_channel");
    CHECK(conv->weight_scale == std::vector<float>{0.01f, 0.002f});
    // The constants are what DequantizeLinear denotes: fp32((q - z) * s).
    const calib::Tensor* w = g.initializer("w");
    REQUIRE(w);
    CHECK(w->data<float>()[0] == 100.0f * 0.01f);
    CHECK(w->data<float>()[1] == -50.0f * 0.002f);
    CHECK(g.initializer("bias")->data<float>()[1] == -300.0f * 0.00004f);
    CHECK_FALSE(g.initializer("w_q"));   // the integers are gone
}

TEST_CASE("qdq import: what cannot be read is refused, naming the node", "[qdq][import][errors]") {
    SECTION("a scale computed at run time") {
        ModelBuilder b = qdq_conv();
        b.input("s", {});
        b.graph().mutable_node(0)->set_input(1, "s");
        require_refused(b, "node 'x_quantize' (QuantizeLinear): the scale 's' is computed at run time");
    }
    SECTION("a QuantizeLinear feeding an integer op") {
        ModelBuilder b = qdq_conv();
        b.node("Relu", {"x_q"}, {"x_relu"}, "int_relu");
        b.output("x_relu", kU8);
        require_refused(b, "node 'x_quantize' (QuantizeLinear): its output feeds node 'int_relu' (Relu), not a "
                           "DequantizeLinear");
    }
    SECTION("a pair whose two nodes disagree") {
        ModelBuilder b = qdq_conv();
        b.init_f32("other_scale", {}, {0.03f});
        b.graph().mutable_node(1)->set_input(1, "other_scale");
        require_refused(b, "node 'x_dequantize' (DequantizeLinear) dequantizes it with");
    }
    SECTION("one tensor quantized two different ways") {
        ModelBuilder b = qdq_conv();
        b.init_f32("x_scale2", {}, {0.04f});
        b.node("QuantizeLinear", {"x", "x_scale2", "x_zero"}, {"x_q2"}, "x_quantize_again");
        b.node("DequantizeLinear", {"x_q2", "x_scale2", "x_zero"}, {"x_dq2"}, "x_dequantize_again");
        b.node("Relu", {"x_dq2"}, {"x2"}, "relu2");
        b.output("x2");
        require_refused(b, "tensor 'x' is quantized twice, differently");
    }
    SECTION("an integer graph input") {
        ModelBuilder b;
        b.input("xq", {1, 4}, kU8);
        b.init_f32("s", {}, {0.1f});
        b.init_int("z", {}, {0}, kU8);
        b.node("DequantizeLinear", {"xq", "s", "z"}, {"x"}, "dq");
        b.node("Relu", {"x"}, {"y"}, "relu");
        b.output("y");
        require_refused(b, "node 'dq' (DequantizeLinear) reads 'xq', an integer graph input");
    }
}

TEST_CASE("qdq import: a QOperator model is refused at load, naming the node", "[qdq][import][errors]") {
    ModelBuilder b;
    b.input("x", {1, 1, 2, 2}, kU8);
    b.node("QLinearConv", {"x"}, {"y"}, "qconv");
    b.output("y", kU8);
    TempFile file(".onnx");
    b.save(file);
    try {
        calib::load_onnx(file.path());
        FAIL("accepted");
    } catch (const UserError& e) {
        INFO(e.what());
        CHECK(std::string(e.what()).find("node 'qconv' (QLinearConv)") != std::string::npos);
        CHECK(std::string(e.what()).find("QDQ") != std::string::npos);
    }
}
