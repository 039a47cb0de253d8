// Builds small ONNX models in tests with the protobuf classes, so the
// importer is tested on real serialized files without committed binaries.
#pragma once

#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#ifndef ONNX_NAMESPACE
#define ONNX_NAMESPACE onnx
#endif
#include <onnx/onnx_pb.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace bitnpu::test {

// A file in the temp directory, removed when this object dies.
class TempFile {
public:
    explicit TempFile(const std::string& suffix) {
        static std::atomic<int> counter{0};
        path_ = (std::filesystem::temp_directory_path() /
                 ("bitnpu_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + suffix))
                    .string();
    }
    ~TempFile() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    const std::string& path() const { return path_; }
    void write(const std::string& bytes) const {
        std::ofstream out(path_, std::ios::binary);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }

private:
    std::string path_;
};

struct ModelBuilder {
    onnx::ModelProto model;

    explicit ModelBuilder(std::int64_t opset = 13) {
        model.set_ir_version(8);
        model.set_producer_name("bitnpu-test");
        auto* op = model.add_opset_import();
        op->set_domain("");
        op->set_version(opset);
        model.mutable_graph()->set_name("test");
    }
    onnx::GraphProto& graph() { return *model.mutable_graph(); }

    // dims: >= 0 known, -1 symbolic ("batch").
    static void set_type(onnx::ValueInfoProto& vi, int elem_type, const std::vector<std::int64_t>& dims) {
        auto* tt = vi.mutable_type()->mutable_tensor_type();
        tt->set_elem_type(elem_type);
        auto* shape = tt->mutable_shape();
        for (auto d : dims) {
            auto* dim = shape->add_dim();
            if (d >= 0)
                dim->set_dim_value(d);
            else
                dim->set_dim_param("batch");
        }
    }
    void input(const std::string& name, const std::vector<std::int64_t>& dims, int elem_type = onnx::TensorProto::FLOAT) {
        auto* vi = graph().add_input();
        vi->set_name(name);
        set_type(*vi, elem_type, dims);
    }
    void output(const std::string& name, int elem_type = onnx::TensorProto::FLOAT) {
        auto* vi = graph().add_output();
        vi->set_name(name);
        vi->mutable_type()->mutable_tensor_type()->set_elem_type(elem_type);
    }
    onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                          const std::vector<std::string>& outputs, const std::string& name = "") {
        auto* n = graph().add_node();
        n->set_op_type(op);
        n->set_name(name.empty() ? op + "_" + std::to_string(graph().node_size()) : name);
        for (const auto& i : inputs) n->add_input(i);
        for (const auto& o : outputs) n->add_output(o);
        return *n;
    }
    static void attr_int(onnx::NodeProto& n, const std::string& key, std::int64_t v) {
        auto* a = n.add_attribute();
        a->set_name(key);
        a->set_type(onnx::AttributeProto::INT);
        a->set_i(v);
    }
    static void attr_float(onnx::NodeProto& n, const std::string& key, float v) {
        auto* a = n.add_attribute();
        a->set_name(key);
        a->set_type(onnx::AttributeProto::FLOAT);
        a->set_f(v);
    }
    static void attr_string(onnx::NodeProto& n, const std::string& key, const std::string& v) {
        auto* a = n.add_attribute();
        a->set_name(key);
        a->set_type(onnx::AttributeProto::STRING);
        a->set_s(v);
    }
    static void attr_ints(onnx::NodeProto& n, const std::string& key, const std::vector<std::int64_t>& v) {
        auto* a = n.add_attribute();
        a->set_name(key);
        a->set_type(onnx::AttributeProto::INTS);
        for (auto x : v) a->add_ints(x);
    }
    static onnx::TensorProto f32_tensor(const std::string& name, const std::vector<std::int64_t>& dims,
                                        const std::vector<float>& values) {
        onnx::TensorProto t;
        t.set_name(name);
        t.set_data_type(onnx::TensorProto::FLOAT);
        for (auto d : dims) t.add_dims(d);
        for (float v : values) t.add_float_data(v);
        return t;
    }
    static onnx::TensorProto i64_tensor(const std::string& name, const std::vector<std::int64_t>& dims,
                                        const std::vector<std::int64_t>& values) {
        onnx::TensorProto t;
        t.set_name(name);
        t.set_data_type(onnx::TensorProto::INT64);
        for (auto d : dims) t.add_dims(d);
        for (auto v : values) t.add_int64_data(v);
        return t;
    }
    void init_f32(const std::string& name, const std::vector<std::int64_t>& dims, const std::vector<float>& values) {
        *graph().add_initializer() = f32_tensor(name, dims, values);
    }
    void init_i64(const std::string& name, const std::vector<std::int64_t>& dims, const std::vector<std::int64_t>& values) {
        *graph().add_initializer() = i64_tensor(name, dims, values);
    }
    // An integer initializer of an ONNX element type stored in int32_data
    // (INT8, UINT8, INT16, INT32).
    void init_int(const std::string& name, const std::vector<std::int64_t>& dims, const std::vector<std::int32_t>& values,
                  int elem_type) {
        onnx::TensorProto t;
        t.set_name(name);
        t.set_data_type(elem_type);
        for (auto d : dims) t.add_dims(d);
        for (auto v : values) t.add_int32_data(v);
        *graph().add_initializer() = t;
    }
    // A Constant node holding a tensor attribute.
    void constant(const std::string& output, const onnx::TensorProto& value) {
        auto& n = node("Constant", {}, {output});
        auto* a = n.add_attribute();
        a->set_name("value");
        a->set_type(onnx::AttributeProto::TENSOR);
        *a->mutable_t() = value;
    }
    std::string bytes() const { return model.SerializeAsString(); }
    void save(const TempFile& file) const { file.write(bytes()); }
};

}  // namespace bitnpu::test
