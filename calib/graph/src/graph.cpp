// Graph IR look-ups, node attribute getters and user-input validation.
#include "bitnpu/graph/graph.hpp"

#include <climits>
#include <cstdint>
#include <utility>

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

namespace {

bool is_integer(DType t) {
    return t == DType::i8 || t == DType::u8 || t == DType::i16 || t == DType::i32 || t == DType::i64 ||
           t == DType::boolean;
}

// Every value of an integer/bool tensor as int64 (exact).
std::vector<std::int64_t> integer_values(const Tensor& t) {
    if (t.dtype() == DType::boolean) {
        std::vector<std::int64_t> out(static_cast<std::size_t>(t.numel()));
        for (std::size_t i = 0; i < out.size(); ++i) out[i] = t.data<bool>()[i] ? 1 : 0;
        return out;
    }
    return t.to_int64s();
}

std::pair<std::int64_t, std::int64_t> integer_range(DType t) {
    switch (t) {
        case DType::i8: return {INT8_MIN, INT8_MAX};
        case DType::u8: return {0, UINT8_MAX};
        case DType::i16: return {INT16_MIN, INT16_MAX};
        case DType::i32: return {INT32_MIN, INT32_MAX};
        case DType::boolean: return {0, 1};
        default: return {INT64_MIN, INT64_MAX};
    }
}

}  // namespace

Tensor as_input_dtype(Tensor given, DType want, const std::string& name, const std::string& origin,
                      std::string& note) {
    note.clear();
    const DType have = given.dtype();
    if (have == want) return given;
    const std::string what = "input '" + name + "' (" + origin + ")";
    const std::string types = std::string(to_string(have)) + " data for the " + std::string(to_string(want)) + " input";
    if (want == DType::f32 && have == DType::f64) {
        note = what + ": float64 values rounded to float32, the model input's type";
        return given.cast(DType::f32);
    }
    if (is_integer(have) && (want == DType::f32 || is_integer(want))) {
        const std::vector<std::int64_t> values = integer_values(given);
        const auto [lo, hi] = want == DType::f32 ? std::pair<std::int64_t, std::int64_t>{-(1 << 24), 1 << 24}
                                                 : integer_range(want);
        for (std::size_t i = 0; i < values.size(); ++i)
            if (values[i] < lo || values[i] > hi)
                throw UserError(what + ": " + types + ": element " + std::to_string(i) + " = " +
                                std::to_string(values[i]) + " does not convert exactly; give " +
                                std::string(to_string(want)) + " data");
        note = what + ": " + std::string(to_string(have)) + " values converted to " + std::string(to_string(want)) +
               " (exactly), the model input's type";
        return given.cast(want);
    }
    throw UserError(what + ": " + types + " is not converted (it could change the values); give " +
                    std::string(to_string(want)) + " data");
}

}  // namespace bitnpu::calib
