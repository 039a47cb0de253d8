// Import features real exports rely on: weights in an external data file
// (onnx.save_model(..., save_as_external_data=True), Hugging Face/optimum).
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "bitnpu/fp32/executor.hpp"
#include "bitnpu/graph/onnx_import.hpp"
#include "onnx_model_builder.hpp"

using namespace bitnpu::calib;
using bitnpu::UserError;
using bitnpu::test::ModelBuilder;
using bitnpu::test::TempFile;
using Catch::Matchers::Contains;

namespace {

// A folder holding model.onnx (y = x + w, w[4] stored externally at
// `offset` in weights.bin) and weights.bin; removed with the TempFile.
struct ExternalModel {
    TempFile dir{"_dir"};
    std::string model_path;

    ExternalModel(const std::vector<float>& w, const std::string& location, std::int64_t offset, std::int64_t length) {
        std::filesystem::create_directory(dir.path());
        model_path = dir.path() + "/model.onnx";
        std::string blob(static_cast<std::size_t>(offset), 'z');  // junk before the tensor
        blob.append(reinterpret_cast<const char*>(w.data()), w.size() * sizeof(float));
        std::ofstream(dir.path() + "/weights.bin", std::ios::binary).write(blob.data(), std::streamsize(blob.size()));

        ModelBuilder b;
        b.input("x", {1, 4});
        b.node("Add", {"x", "w"}, {"y"}, "add");
        b.output("y");
        onnx::TensorProto t;
        t.set_name("w");
        t.set_data_type(onnx::TensorProto::FLOAT);
        t.add_dims(4);
        t.set_data_location(onnx::TensorProto::EXTERNAL);
        auto add_key = [&t](const std::string& k, const std::string& v) {
            auto* e = t.add_external_data();
            e->set_key(k);
            e->set_value(v);
        };
        add_key("location", location);
        add_key("offset", std::to_string(offset));
        if (length >= 0) add_key("length", std::to_string(length));
        *b.graph().add_initializer() = t;
        std::ofstream(model_path, std::ios::binary) << b.bytes();
    }
};

std::string load_error(const std::string& path) {
    try {
        load_onnx(path);
    } catch (const UserError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("realworld: initializers in an external data file load at their offset", "[import][realworld]") {
    const std::vector<float> w{0.5f, -1.0f, 2.0f, 8.0f};
    ExternalModel m(w, "weights.bin", 24, 16);
    const Graph g = load_onnx(m.model_path);
    REQUIRE(g.initializer("w"));
    const auto loaded = g.initializer("w")->to_floats();
    CHECK(loaded == w);
    const Tensor x = Tensor::from_vector<float>({1, 4}, {1, 2, 3, 4});
    const Tensor y = Executor(g, {1}).run({{"x", x}}).at("y");
    CHECK(y.to_floats() == std::vector<float>{1.5f, 1.0f, 5.0f, 12.0f});
}

TEST_CASE("realworld: external data without a length runs to the end of the file", "[import][realworld]") {
    ExternalModel m({1, 2, 3, 4}, "weights.bin", 0, -1);
    CHECK(load_onnx(m.model_path).initializer("w")->to_floats() == std::vector<float>{1, 2, 3, 4});
}

TEST_CASE("realworld: the model's identity covers its external weights", "[import][realworld]") {
    ExternalModel a({1, 2, 3, 4}, "weights.bin", 0, 16);
    ExternalModel b({1, 2, 3, 5}, "weights.bin", 0, 16);
    CHECK(load_onnx(a.model_path).content_hash != load_onnx(b.model_path).content_hash);
}

TEST_CASE("realworld: bad external data locations are clear errors", "[import][realworld]") {
    ExternalModel escaping({1, 2, 3, 4}, "../weights.bin", 0, 16);
    CHECK_THAT(load_error(escaping.model_path), Contains("'w'") && Contains("leaves the model's folder"));
    ExternalModel missing({1, 2, 3, 4}, "other.bin", 0, 16);
    CHECK_THAT(load_error(missing.model_path), Contains("'w'") && Contains("other.bin"));
    ExternalModel too_long({1, 2, 3, 4}, "weights.bin", 8, 32);  // the file holds 8 + 16 bytes
    CHECK_THAT(load_error(too_long.model_path), Contains("'w'") && Contains("beyond the end"));
}
