// Graph IR look-ups, node attribute getters and user-input validation.
#include "bitnpu/graph/graph.hpp"

#include "bitnpu/errors.hpp"

namespace bitnpu::calib {

namespace {

[[noreturn]] void wrong_attr_type(const Node& node, const std::string& key, const char* wanted) {
    throw UserError("node '" + node.name + "' (" + node.op_type + "): attribute '" + key + "' is not " + wanted);
}

}  // namespace

std::int64_t Node::attr_int(const std::string& key, std::int64_t fallback) const {
    auto it = attributes.find(key);
    if (it == attributes.end()) return fallback;
    if (auto* v = std::get_if<std::int64_t>(&it->second)) return *v;
    wrong_attr_type(*this, key, "an integer");
}

float Node::attr_float(const std::string& key, float fallback) const {
    auto it = attributes.find(key);
    if (it == attributes.end()) return fallback;
    if (auto* v = std::get_if<float>(&it->second)) return *v;
    // Some exporters write integral float attributes as ints; accept them.
    if (auto* v = std::get_if<std::int64_t>(&it->second)) return static_cast<float>(*v);
    wrong_attr_type(*this, key, "a float");
}

std::string Node::attr_string(const std::string& key, const std::string& fallback) const {
    auto it = attributes.find(key);
    if (it == attributes.end()) return fallback;
    if (auto* v = std::get_if<std::string>(&it->second)) return *v;
    wrong_attr_type(*this, key, "a string");
}

std::vector<std::int64_t> Node::attr_ints(const std::string& key, const std::vector<std::int64_t>& fallback) const {
    auto it = attributes.find(key);
    if (it == attributes.end()) return fallback;
    if (auto* v = std::get_if<std::vector<std::int64_t>>(&it->second)) return *v;
    if (auto* v = std::get_if<std::int64_t>(&it->second)) return {*v};
    wrong_attr_type(*this, key, "a list of integers");
}

std::vector<float> Node::attr_floats(const std::string& key, const std::vector<float>& fallback) const {
    auto it = attributes.find(key);
    if (it == attributes.end()) return fallback;
    if (auto* v = std::get_if<std::vector<float>>(&it->second)) return *v;
    if (auto* v = std::get_if<float>(&it->second)) return {*v};
    if (auto* v = std::get_if<std::vector<std::int64_t>>(&it->second))
        return std::vector<float>(v->begin(), v->end());
    wrong_attr_type(*this, key, "a list of floats");
}

const Tensor* Graph::initializer(const std::string& value) const {
    auto it = initializers.find(value);
    return it == initializers.end() ? nullptr : &it->second;
}

const Node* Graph::producer_of(const std::string& value) const {
    if (value.empty()) return nullptr;
    for (const Node& n : nodes)
        for (const std::string& out : n.outputs)
            if (out == value) return &n;
    return nullptr;
}

std::vector<const Node*> Graph::consumers_of(const std::string& value) const {
    std::vector<const Node*> result;
    if (value.empty()) return result;
    for (const Node& n : nodes) {
        for (const std::string& in : n.inputs) {
            if (in == value) {
                result.push_back(&n);
                break;  // a node using the value twice is one consumer
            }
        }
    }
    return result;
}

std::string dims_to_string(const std::vector<Dim>& dims) {
    std::string out = "[";
    for (std::size_t i = 0; i < dims.size(); ++i) {
        if (i) out += ", ";
        if (dims[i].known())
            out += std::to_string(dims[i].value);
        else
            out += dims[i].param.empty() ? "?" : dims[i].param;
    }
    return out + "]";
}

namespace {

void check_one_input(const ValueInfo& expected, const Tensor& given, bool many_batches) {
    const std::string& name = expected.name;
    if (given.dtype() != expected.dtype)
        throw UserError("input '" + name + "': expected dtype " + std::string(to_string(expected.dtype)) +
                        ", got " + std::string(to_string(given.dtype())));
    if (!expected.has_shape) return;
    const Shape& shape = given.shape();
    if (shape.size() != expected.shape.size())
        throw UserError("input '" + name + "': expected rank " + std::to_string(expected.shape.size()) + " " +
                        dims_to_string(expected.shape) + ", got rank " + std::to_string(shape.size()) + " " +
                        shape_to_string(shape));
    for (std::size_t i = 0; i < shape.size(); ++i) {
        const Dim& d = expected.shape[i];
        const bool whole_batches = many_batches && i == 0 && d.known() && d.value > 0 && shape[i] > 0 &&
                                   shape[i] % d.value == 0;
        if (d.known() && d.value != shape[i] && !whole_batches)
            throw UserError("input '" + name + "': dimension " + std::to_string(i) + " must be " +
                            std::to_string(d.value) + " (expected shape " + dims_to_string(expected.shape) +
                            "), got shape " + shape_to_string(shape));
    }
}

std::string input_names(const Graph& graph) {
    std::string names;
    for (const ValueInfo& in : graph.inputs) names += (names.empty() ? "" : ", ") + in.name;
    return names.empty() ? "(none)" : names;
}

}  // namespace

void check_inputs(const Graph& graph, const std::map<std::string, Tensor>& inputs, bool many_batches) {
    for (const auto& [name, tensor] : inputs) {
        bool known = false;
        for (const ValueInfo& in : graph.inputs) known = known || in.name == name;
        if (!known)
            throw UserError("input '" + name + "' is not an input of the model; model inputs: " +
                            input_names(graph));
    }
    for (const ValueInfo& expected : graph.inputs) {
        auto it = inputs.find(expected.name);
        if (it == inputs.end())
            throw UserError("model input '" + expected.name + "' " + dims_to_string(expected.shape) +
                            " was not given");
        check_one_input(expected, it->second, many_batches);
    }
}

}  // namespace bitnpu::calib
