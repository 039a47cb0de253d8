// ONNX import: hand-built ModelProtos serialized to temp files.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <set>

#include "bitnpu/arch/hash.hpp"
#include "bitnpu/fp32/executor.hpp"
#include "bitnpu/graph/onnx_import.hpp"
#include "onnx_model_builder.hpp"

using namespace bitnpu::calib;
using bitnpu::UserError;
using bitnpu::test::ModelBuilder;
using bitnpu::test::TempFile;
using Catch::Matchers::Contains;

namespace {

Graph load(const ModelBuilder& b) {
    TempFile f(".onnx");
    b.save(f);
    return load_onnx(f.path());
}

// x[1,4] -> Relu -> y: the smallest valid model.
ModelBuilder relu_model() {
    ModelBuilder b;
    b.input("x", {1, 4});
    b.node("Relu", {"x"}, {"y"}, "relu");
    b.output("y");
    return b;
}

std::string error_of(const ModelBuilder& b) {
    try {
        load(b);
    } catch (const UserError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("import: minimal model converts inputs, outputs, nodes and opset", "[import]") {
    ModelBuilder b(11);
    b.input("x", {-1, 3, 8, 8});
    b.node("Relu", {"x"}, {"y"}, "relu");
    b.output("y");
    const Graph g = load(b);
    REQUIRE(g.inputs.size() == 1);
    CHECK(g.inputs[0].name == "x");
    CHECK(g.inputs[0].dtype == DType::f32);
    REQUIRE(g.inputs[0].shape.size() == 4);
    CHECK_FALSE(g.inputs[0].shape[0].known());  // dynamic batch
    CHECK(g.inputs[0].shape[0].param == "batch");
    CHECK(g.inputs[0].shape[1].value == 3);
    CHECK(g.opset == 11);
    REQUIRE(g.nodes.size() == 1);
    CHECK(g.nodes[0].op_type == "Relu");
    CHECK(g.outputs.at(0).name == "y");
}

TEST_CASE("import: content hash is arch's SHA-256 of the file bytes", "[import]") {
    ModelBuilder b = relu_model();
    const Graph g = load(b);
    CHECK(g.content_hash == bitnpu::arch::sha256_hex(b.bytes()));
    CHECK(g.content_hash.size() == 64);
    b.model.set_producer_name("another-exporter");  // any byte changes the identity
    CHECK(load(b).content_hash != g.content_hash);
}

TEST_CASE("import: Constant nodes become initializers", "[import]") {
    ModelBuilder b;
    b.input("x", {2});
    b.constant("c", ModelBuilder::f32_tensor("", {2}, {1.5f, -2.0f}));
    auto& scalar = b.node("Constant", {}, {"s"});
    ModelBuilder::attr_float(scalar, "value_float", 0.25f);
    auto& ints = b.node("Constant", {}, {"i"});
    ModelBuilder::attr_ints(ints, "value_ints", {3, 4, 5});
    b.node("Add", {"x", "c"}, {"y"}, "add");
    b.output("y");
    const Graph g = load(b);
    REQUIRE(g.nodes.size() == 1);
    CHECK(g.nodes[0].op_type == "Add");
    REQUIRE(g.is_initializer("c"));
    CHECK(g.initializer("c")->to_floats() == std::vector<float>{1.5f, -2.0f});
    CHECK(g.initializer("s")->rank() == 0);
    CHECK(g.initializer("s")->to_floats() == std::vector<float>{0.25f});
    CHECK(g.initializer("i")->dtype() == DType::i64);
    CHECK(g.initializer("i")->to_int64s() == std::vector<std::int64_t>{3, 4, 5});
}

TEST_CASE("import: fp16 and bf16 initializers widen exactly to f32", "[import]") {
    ModelBuilder b = relu_model();
    onnx::TensorProto h;
    h.set_name("h");
    h.set_data_type(onnx::TensorProto::FLOAT16);
    h.add_dims(5);
    // 1.0, -2.0, smallest subnormal 2^-24, largest 65504, +inf (IEEE binary16 bit patterns).
    const std::uint16_t bits[] = {0x3C00, 0xC000, 0x0001, 0x7BFF, 0x7C00};
    h.set_raw_data(std::string(reinterpret_cast<const char*>(bits), sizeof bits));
    *b.graph().add_initializer() = h;
    onnx::TensorProto typed = h;  // same values through the int32_data field
    typed.set_name("h_typed");
    typed.clear_raw_data();
    for (auto v : bits) typed.add_int32_data(v);
    *b.graph().add_initializer() = typed;
    onnx::TensorProto bf;
    bf.set_name("bf");
    bf.set_data_type(onnx::TensorProto::BFLOAT16);
    bf.add_dims(2);
    for (int v : {0x3F80, 0xC0A0}) bf.add_int32_data(v);  // 1.0, -5.0
    *b.graph().add_initializer() = bf;
    const Graph g = load(b);
    for (const char* name : {"h", "h_typed"}) {
        const auto v = g.initializer(name)->to_floats();
        CHECK(g.initializer(name)->dtype() == DType::f32);
        CHECK(v[0] == 1.0f);
        CHECK(v[1] == -2.0f);
        CHECK(v[2] == std::ldexp(1.0f, -24));
        CHECK(v[3] == 65504.0f);
        CHECK(std::isinf(v[4]));
    }
    CHECK(g.initializer("bf")->to_floats() == std::vector<float>{1.0f, -5.0f});
}

TEST_CASE("import: integer, double and bool initializers, raw and typed", "[import]") {
    ModelBuilder b = relu_model();
    b.init_i64("i64", {3}, {-1, 0, 1LL << 40});
    onnx::TensorProto i8;
    i8.set_name("i8");
    i8.set_data_type(onnx::TensorProto::INT8);
    i8.add_dims(2);
    i8.set_raw_data(std::string("\x80\x7f", 2));
    *b.graph().add_initializer() = i8;
    onnx::TensorProto u8 = i8;
    u8.set_name("u8");
    u8.set_data_type(onnx::TensorProto::UINT8);
    *b.graph().add_initializer() = u8;
    onnx::TensorProto i32;
    i32.set_name("i32");
    i32.set_data_type(onnx::TensorProto::INT32);
    i32.add_dims(2);
    i32.add_int32_data(-7);
    i32.add_int32_data(100000);
    *b.graph().add_initializer() = i32;
    onnx::TensorProto f64;
    f64.set_name("f64");
    f64.set_data_type(onnx::TensorProto::DOUBLE);
    f64.add_dims(1);
    f64.add_double_data(0.1);
    *b.graph().add_initializer() = f64;
    onnx::TensorProto bl;
    bl.set_name("bool");
    bl.set_data_type(onnx::TensorProto::BOOL);
    bl.add_dims(3);
    bl.set_raw_data(std::string("\x01\x00\x01", 3));
    *b.graph().add_initializer() = bl;
    const Graph g = load(b);
    CHECK(g.initializer("i64")->to_int64s() == std::vector<std::int64_t>{-1, 0, 1LL << 40});
    CHECK(g.initializer("i8")->dtype() == DType::i8);
    CHECK(g.initializer("i8")->to_int64s() == std::vector<std::int64_t>{-128, 127});
    CHECK(g.initializer("u8")->to_int64s() == std::vector<std::int64_t>{128, 127});
    CHECK(g.initializer("i32")->dtype() == DType::i32);
    CHECK(g.initializer("i32")->to_int64s() == std::vector<std::int64_t>{-7, 100000});
    CHECK(g.initializer("f64")->data<double>()[0] == 0.1);
    CHECK(g.initializer("bool")->dtype() == DType::boolean);
    CHECK(g.initializer("bool")->to_int64s() == std::vector<std::int64_t>{1, 0, 1});
}

TEST_CASE("import: raw_data with the wrong size is an error", "[import]") {
    ModelBuilder b = relu_model();
    onnx::TensorProto t;
    t.set_name("w");
    t.set_data_type(onnx::TensorProto::FLOAT);
    t.add_dims(4);
    t.set_raw_data(std::string(12, '\0'));
    *b.graph().add_initializer() = t;
    CHECK_THAT(error_of(b), Contains("'w'") && Contains("raw_data has 12 bytes"));
}

TEST_CASE("import: external data gives a clear error", "[import]") {
    ModelBuilder b = relu_model();
    onnx::TensorProto t;
    t.set_name("big_weight");
    t.set_data_type(onnx::TensorProto::FLOAT);
    t.add_dims(4);
    t.set_data_location(onnx::TensorProto::EXTERNAL);
    auto* e = t.add_external_data();
    e->set_key("location");
    e->set_value("weights.bin");
    *b.graph().add_initializer() = t;
    CHECK_THAT(error_of(b), Contains("big_weight") && Contains("external"));
}

TEST_CASE("import: graph inputs that are initializers are not real inputs", "[import]") {
    ModelBuilder b;
    b.input("x", {1, 2});
    b.input("w", {2});  // IR < 4 style: initializers also listed as inputs
    b.init_f32("w", {2}, {1.0f, 2.0f});
    b.init_f32("unused", {1}, {9.0f});
    b.node("Mul", {"x", "w"}, {"y"});
    b.output("y");
    const Graph g = load(b);
    REQUIRE(g.inputs.size() == 1);
    CHECK(g.inputs[0].name == "x");
    CHECK(g.is_initializer("w"));
    CHECK(g.is_initializer("unused"));  // kept by import; eliminate_dead_nodes drops it
}

TEST_CASE("import: nodes are sorted topologically", "[import]") {
    ModelBuilder b;
    b.input("x", {4});
    b.node("Neg", {"a"}, {"y"}, "second");  // listed before its producer
    b.node("Relu", {"x"}, {"a"}, "first");
    b.output("y");
    const Graph g = load(b);
    REQUIRE(g.nodes.size() == 2);
    CHECK(g.nodes[0].name == "first");
    CHECK(g.nodes[1].name == "second");
    CHECK(g.producer_of("a") == &g.nodes[0]);
}

TEST_CASE("import: a cycle is reported with a node on it", "[import]") {
    ModelBuilder b;
    b.input("x", {4});
    b.node("Add", {"x", "c"}, {"a"}, "add_a");
    b.node("Relu", {"a"}, {"c"}, "relu_c");
    b.node("Neg", {"a"}, {"y"}, "out");
    b.output("y");
    const std::string msg = error_of(b);
    CHECK_THAT(msg, Contains("cycle"));
    CHECK((msg.find("add_a") != std::string::npos || msg.find("relu_c") != std::string::npos));
}

TEST_CASE("import: dangling inputs and duplicate producers are errors", "[import]") {
    ModelBuilder b;
    b.input("x", {4});
    b.node("Add", {"x", "nowhere"}, {"y"}, "add");
    b.output("y");
    CHECK_THAT(error_of(b), Contains("'add'") && Contains("'nowhere'"));
    ModelBuilder d;
    d.input("x", {4});
    d.node("Relu", {"x"}, {"y"}, "r1");
    d.node("Neg", {"x"}, {"y"}, "r2");
    d.output("y");
    CHECK_THAT(error_of(d), Contains("produced twice"));
}

TEST_CASE("import: unsupported op names node, op, domain, opset and the supported ops", "[import]") {
    ModelBuilder b(17);
    b.input("x", {4});
    b.node("FancyOp", {"x"}, {"y"}, "my_fancy_node").set_domain("com.example");
    b.output("y");
    const std::string msg = error_of(b);
    CHECK_THAT(msg, Contains("my_fancy_node") && Contains("FancyOp") && Contains("com.example") &&
                        Contains("opset 17") && Contains("Supported ops") && Contains("Conv"));
}

TEST_CASE("import: Resize with an unsupported mode is rejected at import", "[import]") {
    ModelBuilder b;
    b.input("x", {1, 1, 2, 2});
    b.init_f32("scales", {4}, {1, 1, 2, 2});
    auto& n = b.node("Resize", {"x", "", "scales"}, {"y"}, "upsample_cubic");
    ModelBuilder::attr_string(n, "mode", "cubic");
    b.output("y");
    CHECK_THAT(error_of(b), Contains("upsample_cubic") && Contains("cubic"));
}

TEST_CASE("import: missing, empty, non-protobuf and truncated files", "[import]") {
    CHECK_THROWS_WITH(load_onnx("/nonexistent/dir/model.onnx"), Contains("cannot open") && Contains("model.onnx"));
    TempFile empty(".onnx");
    empty.write("");
    CHECK_THROWS_AS(load_onnx(empty.path()), UserError);
    TempFile text(".onnx");
    text.write("this is definitely not a protobuf model\n");
    CHECK_THROWS_AS(load_onnx(text.path()), UserError);
    // A real model cut in the middle of its bytes.
    ModelBuilder b = relu_model();
    b.init_f32("w", {64}, std::vector<float>(64, 1.0f));
    const std::string bytes = b.bytes();
    TempFile cut(".onnx");
    cut.write(bytes.substr(0, bytes.size() / 2));
    CHECK_THROWS_AS(load_onnx(cut.path()), UserError);
}

TEST_CASE("import: model without a default-domain opset is an error", "[import]") {
    ModelBuilder b = relu_model();
    b.model.clear_opset_import();
    CHECK_THAT(error_of(b), Contains("opset"));
}

TEST_CASE("import: load_tensor_proto reads ONNX test data files", "[import]") {
    TempFile f(".pb");
    f.write(ModelBuilder::f32_tensor("x", {2, 2}, {1, 2, 3, 4}).SerializeAsString());
    const Tensor t = load_tensor_proto(f.path());
    CHECK(t.shape() == Shape{2, 2});
    CHECK(t.to_floats() == std::vector<float>{1, 2, 3, 4});
    TempFile bad(".pb");
    bad.write("\xff\xff\xff");
    CHECK_THROWS_AS(load_tensor_proto(bad.path()), UserError);
}

TEST_CASE("import: node attributes of every kind", "[import]") {
    ModelBuilder b;
    b.input("x", {1, 1, 4, 4});
    b.init_f32("w", {1, 1, 3, 3}, std::vector<float>(9, 1.0f));
    auto& conv = b.node("Conv", {"x", "w"}, {"y"}, "conv");
    ModelBuilder::attr_ints(conv, "pads", {1, 1, 1, 1});
    ModelBuilder::attr_int(conv, "group", 1);
    ModelBuilder::attr_string(conv, "auto_pad", "NOTSET");
    b.output("y");
    const Graph g = load(b);
    const Node& n = g.nodes.at(0);
    CHECK(n.attr_ints("pads") == std::vector<std::int64_t>{1, 1, 1, 1});
    CHECK(n.attr_int("group", 7) == 1);
    CHECK(n.attr_int("missing", 7) == 7);
    CHECK(n.attr_string("auto_pad", "") == "NOTSET");
    CHECK_THROWS_AS(n.attr_string("group", ""), UserError);
}

TEST_CASE("import: a huge declared shape with little data fails without allocating", "[import]") {
    ModelBuilder b = relu_model();
    onnx::TensorProto t;
    t.set_name("liar");
    t.set_data_type(onnx::TensorProto::FLOAT);
    t.add_dims(1LL << 40);
    t.add_dims(1LL << 20);
    t.set_raw_data(std::string(16, '\0'));
    *b.graph().add_initializer() = t;
    CHECK_THAT(error_of(b), Contains("'liar'") && Contains("needs more data"));
}

TEST_CASE("import: a node ONNX's checker rejects is a located error, even when nothing reads it", "[import]") {
    SECTION("an attribute of the wrong type") {
        ModelBuilder b;
        b.input("x", {1, 4});
        auto& n = b.node("Softmax", {"x"}, {"y"}, "soft");
        ModelBuilder::attr_float(n, "axis", 1.5f);
        b.output("y");
        CHECK_THAT(error_of(b), Contains("node 'soft' (Softmax): malformed Softmax node") && Contains("axis"));
    }
    SECTION("an attribute the op does not have, on a dead node") {
        ModelBuilder b;
        b.input("x", {1, 4});
        b.node("Relu", {"x"}, {"y"}, "used");
        auto& dead = b.node("Relu", {"x"}, {"unused"}, "dead");
        ModelBuilder::attr_int(dead, "alpha", 3);
        b.output("y");
        CHECK_THAT(error_of(b), Contains("node 'dead' (Relu)") && Contains("Unrecognized attribute: alpha"));
    }
    SECTION("more outputs than the schema allows") {
        ModelBuilder b;
        b.input("x", {1, 4});
        b.node("Relu", {"x"}, {"y", "z"}, "two_outputs");
        b.output("y");
        CHECK_THAT(error_of(b), Contains("node 'two_outputs' (Relu)") && Contains("malformed"));
    }
}

TEST_CASE("import: a newer opset or IR version than the importer knows is a warning, not silence", "[import]") {
    ModelBuilder b(1000);
    b.model.set_ir_version(99);
    b.input("x", {1, 4});
    b.node("Relu", {"x"}, {"y"}, "r");
    b.output("y");
    const Graph g = load(b);
    REQUIRE(g.import_warnings.size() == 2);
    CHECK_THAT(g.import_warnings[0], Contains("IR version 99") && Contains("up to 8"));
    CHECK_THAT(g.import_warnings[1], Contains("opset 1000") && Contains("opsets up to"));

    ModelBuilder current(13);
    current.input("x", {1, 4});
    current.node("Relu", {"x"}, {"y"}, "r");
    current.output("y");
    CHECK(load(current).import_warnings.empty());
}

TEST_CASE("import: an opset newer than ONNX's library is not checked against older schemas", "[import]") {
    // Opset 18 moved ReduceMean's axes from an attribute to an input; the
    // library's opset-17 schema would call the second input malformed.
    ModelBuilder b(18);
    b.input("x", {1, 2, 3, 3});
    b.init_i64("axes", {2}, {2, 3});
    b.node("ReduceMean", {"x", "axes"}, {"y"}, "mean");
    b.output("y");
    const Graph g = load(b);
    CHECK(g.nodes.size() == 1);
    REQUIRE(g.import_warnings.size() == 1);
    CHECK_THAT(g.import_warnings[0], Contains("opset 18") && Contains("not checked"));
}

namespace {

// x[1,4], c[1] (bool) -> If(c): then y = x * 2 (a Constant inside the
// branch), else y = x + one (a branch initializer) -> y.
ModelBuilder if_model() {
    ModelBuilder b;
    b.input("x", {1, 4});
    b.input("c", {1}, onnx::TensorProto::BOOL);
    auto& node = b.node("If", {"c"}, {"y"}, "branch");
    auto* then_attr = node.add_attribute();
    then_attr->set_name("then_branch");
    then_attr->set_type(onnx::AttributeProto::GRAPH);
    onnx::GraphProto& then_g = *then_attr->mutable_g();
    then_g.set_name("then");
    auto* two = then_g.add_node();
    two->set_op_type("Constant");
    two->add_output("two");
    auto* value = two->add_attribute();
    value->set_name("value");
    value->set_type(onnx::AttributeProto::TENSOR);
    *value->mutable_t() = ModelBuilder::f32_tensor("two", {}, {2.0f});
    auto* mul = then_g.add_node();
    mul->set_op_type("Mul");
    mul->set_name("mul");
    mul->add_input("x");
    mul->add_input("two");
    mul->add_output("t");
    ModelBuilder::set_type(*then_g.add_output(), onnx::TensorProto::FLOAT, {1, 4});
    then_g.mutable_output(0)->set_name("t");

    auto* else_attr = node.add_attribute();
    else_attr->set_name("else_branch");
    else_attr->set_type(onnx::AttributeProto::GRAPH);
    onnx::GraphProto& else_g = *else_attr->mutable_g();
    else_g.set_name("else");
    *else_g.add_initializer() = ModelBuilder::f32_tensor("one", {1}, {1.0f});
    auto* add = else_g.add_node();
    add->set_op_type("Add");
    add->set_name("add");
    add->add_input("x");
    add->add_input("one");
    add->add_output("t");  // the same local name as the then branch's output
    ModelBuilder::set_type(*else_g.add_output(), onnx::TensorProto::FLOAT, {1, 4});
    else_g.mutable_output(0)->set_name("t");
    b.output("y");
    return b;
}

}  // namespace

TEST_CASE("import: an If runs as both branches and a select, with the If's values for either condition", "[import]") {
    const Graph g = load(if_model());
    std::set<std::string> ops;
    for (const Node& n : g.nodes) ops.insert(n.op_type);
    CHECK(ops == std::set<std::string>{"Mul", "Add", "Reshape", "Where"});
    CHECK(g.producer_of("y")->op_type == "Where");
    const Executor exec(g, ExecutorOptions{1});
    const Tensor x = Tensor::from_vector<float>({1, 4}, {-1.5f, 0.0f, 2.0f, 3.25f});
    for (const bool c : {true, false}) {
        Tensor cond(DType::boolean, {1});
        cond.data<bool>()[0] = c;
        const Tensor y = exec.run({{"x", x}, {"c", cond}}).at("y");
        REQUIRE(y.shape() == Shape{1, 4});
        for (int i = 0; i < 4; ++i) {
            const float xi = x.data<float>()[i];
            CHECK(y.data<float>()[i] == (c ? xi * 2.0f : xi + 1.0f));
        }
    }
}

TEST_CASE("import: an If whose branches declare different output shapes is refused, naming the node", "[import]") {
    ModelBuilder b = if_model();
    auto* else_g = b.graph().mutable_node(0)->mutable_attribute(1)->mutable_g();
    ModelBuilder::set_type(*else_g->mutable_output(0), onnx::TensorProto::FLOAT, {});
    else_g->mutable_output(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(4);
    CHECK_THAT(error_of(b), Contains("node 'branch' (If)") && Contains("different shapes"));
}

TEST_CASE("import: Loop and Scan (subgraph attributes other than If's) are refused, naming the node", "[import]") {
    ModelBuilder b;
    b.input("x", {1, 4});
    auto& node = b.node("Scan", {"x"}, {"y"}, "scan");
    auto* body = node.add_attribute();
    body->set_name("body");
    body->set_type(onnx::AttributeProto::GRAPH);
    body->mutable_g()->set_name("body");
    b.output("y");
    CHECK_THAT(error_of(b), Contains("'scan'") && Contains("Scan"));
}

TEST_CASE("as_input_dtype: one rule for data of another type than the model input's", "[import][inputs]") {
    std::string note;
    // float64 -> float32: rounded, with a note.
    const Tensor f64 = Tensor::from_vector<double>({3}, {0.1, -2.5, 1e10});
    const Tensor a = as_input_dtype(f64, DType::f32, "x", "d.npy", note);
    CHECK(a.dtype() == DType::f32);
    CHECK(a.data<float>()[0] == 0.1f);
    CHECK_THAT(note, Contains("input 'x' (d.npy)") && Contains("float64 values rounded to float32"));
    // Integers -> float32 when exact.
    const Tensor u8 = Tensor::from_vector<std::uint8_t>({2}, {0, 255});
    CHECK(as_input_dtype(u8, DType::f32, "x", "d.npy", note).data<float>()[1] == 255.0f);
    CHECK_THAT(note, Contains("uint8 values converted to float32 (exactly)"));
    const Tensor big = Tensor::from_vector<std::int64_t>({2}, {1, (std::int64_t{1} << 24) + 1});
    CHECK_THROWS_WITH(as_input_dtype(big, DType::f32, "x", "d.npy", note),
                      Contains("element 1 = 16777217 does not convert exactly"));
    // Integers -> another integer type when every value fits.
    const Tensor i64 = Tensor::from_vector<std::int64_t>({2}, {-3, 7});
    CHECK(as_input_dtype(i64, DType::i8, "ids", "d.npy", note).data<std::int8_t>()[0] == -3);
    const Tensor wide = Tensor::from_vector<std::int64_t>({1}, {300});
    CHECK_THROWS_WITH(as_input_dtype(wide, DType::u8, "ids", "d.npy", note), Contains("element 0 = 300"));
    // Floats for an integer input are refused.
    const Tensor f32 = Tensor::from_vector<float>({1}, {1.0f});
    CHECK_THROWS_WITH(as_input_dtype(f32, DType::i64, "ids", "d.npy", note),
                      Contains("float32 data for the int64 input is not converted"));
    // The same type: unchanged, no note.
    CHECK(as_input_dtype(f32, DType::f32, "x", "d.npy", note).data<float>()[0] == 1.0f);
    CHECK(note.empty());
}
