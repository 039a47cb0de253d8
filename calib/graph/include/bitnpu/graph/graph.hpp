// The graph IR: bitnpu's working copy of an ONNX model. The importer builds
// it, graph passes rewrite it, the FP32 executor runs it. The model file on
// disk is never changed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "bitnpu/graph/tensor.hpp"

namespace bitnpu::calib {

using AttributeValue = std::variant<std::int64_t, float, std::string, std::vector<std::int64_t>,
                                    std::vector<float>, std::vector<std::string>, Tensor>;

// A dimension is either known (value >= 0) or symbolic (param names it, e.g. "batch").
struct Dim {
    std::int64_t value = -1;
    std::string param;
    bool known() const { return value >= 0; }
};

struct ValueInfo {
    std::string name;
    DType dtype = DType::f32;
    std::vector<Dim> shape;
    bool has_shape = false;
};

struct Node {
    std::string name;
    std::string op_type;
    std::string domain;                 // "" for the default ONNX domain, "bitnpu" for ours
    std::vector<std::string> inputs;    // "" marks an omitted optional input
    std::vector<std::string> outputs;
    std::map<std::string, AttributeValue> attributes;

    bool has_attr(const std::string& key) const { return attributes.count(key) != 0; }
    std::int64_t attr_int(const std::string& key, std::int64_t fallback) const;
    float attr_float(const std::string& key, float fallback) const;
    std::string attr_string(const std::string& key, const std::string& fallback) const;
    std::vector<std::int64_t> attr_ints(const std::string& key, const std::vector<std::int64_t>& fallback = {}) const;
    std::vector<float> attr_floats(const std::string& key, const std::vector<float>& fallback = {}) const;
};

// Attributes graph passes attach to Conv/Gemm/MatMul when they fuse the
// following activation (fuse_activation pass). The executor and the
// bit-accurate simulator both honour them.
namespace fused {
inline constexpr const char* kActivation = "bitnpu.activation";  // "Relu", "Clip", "LeakyRelu"
inline constexpr const char* kClipMin = "bitnpu.clip_min";       // float, Clip only
inline constexpr const char* kClipMax = "bitnpu.clip_max";       // float, Clip only
inline constexpr const char* kAlpha = "bitnpu.alpha";            // float, LeakyRelu only
}  // namespace fused

// Our own ops (domain "bitnpu"):
//   ChannelAffine(X, scale[C], bias[C]) -> Y = X * scale[c] + bias[c] over axis 1
//     (a BatchNormalization with no Conv/Gemm before it, after folding).
inline constexpr const char* kDomain = "bitnpu";
inline constexpr const char* kChannelAffine = "ChannelAffine";

struct Graph {
    std::string name;
    std::string producer;
    std::int64_t opset = 13;                   // default-domain opset version
    std::vector<ValueInfo> inputs;             // graph inputs that are not initializers
    std::vector<ValueInfo> outputs;
    std::vector<Node> nodes;                   // kept in topological order
    std::map<std::string, Tensor> initializers;
    std::map<std::string, ValueInfo> value_info;  // known types/shapes of intermediate values
    std::string source_path;
    std::string content_hash;                  // identity of the model file (CTables record it)
    std::map<std::string, std::string> metadata;   // the model's metadata_props (npuexport writes bitnpu.*)
    std::vector<std::string> import_warnings;      // what load_onnx noticed but accepted (a newer opset/IR)

    const Tensor* initializer(const std::string& name) const;
    bool is_initializer(const std::string& name) const { return initializers.count(name) != 0; }
    // The node producing a value, or nullptr for graph inputs and initializers.
    const Node* producer_of(const std::string& value) const;
    std::vector<const Node*> consumers_of(const std::string& value) const;
};

// Checks user-supplied inputs against the graph's inputs: every name must be
// a graph input, every graph input must be given, dtypes must match and
// ranks/known dimensions must agree (symbolic dims accept any size).
// Throws UserError describing the first mismatch.
// many_batches: data for a model with a fixed batch may hold any whole
// number of batches (it is fed in model-sized chunks, batching.hpp).
void check_inputs(const Graph& graph, const std::map<std::string, Tensor>& inputs, bool many_batches = false);

// The one rule every CLI applies to input data of another dtype than the
// model input `name` declares (`want`): float64 is rounded to float32;
// integers and bools become float32 when every value is exact in it (|v| <=
// 2^24); integers become another integer type when every value is in its
// range. Each conversion sets `note` (for the CLI to print). Anything else
// (floats for an integer input, values a conversion would change) is a
// UserError naming the input and `origin` (the file).
Tensor as_input_dtype(Tensor given, DType want, const std::string& name, const std::string& origin,
                      std::string& note);

// Reorders graph.nodes so every node comes after the producers of its inputs
// (stable: independent nodes keep their order). Throws UserError naming a
// node on the cycle if there is one.
void sort_topologically(Graph& graph);
// Checks every node input and graph output is a graph input, an initializer
// or some node's output, and that no value is produced twice (UserError).
void check_dataflow(const Graph& graph);

// "[batch, 3, 224, 224]" style rendering of a ValueInfo shape (for messages).
std::string dims_to_string(const std::vector<Dim>& dims);

}  // namespace bitnpu::calib
