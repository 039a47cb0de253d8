// Parsing the `preprocess:` YAML section into a PreprocessSpec.
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <type_traits>

#include "bitnpu/frontend/preprocess.hpp"
#include "bitnpu/errors.hpp"
#include "file_util.hpp"

namespace bitnpu::calib {

namespace {

[[noreturn]] void fail(const std::string& what, const YAML::Node& node, const std::string& message) {
    const int line = node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
    throw UserError(what + (line > 0 ? ":" + std::to_string(line) : "") + ": " + message);
}

template <class T>
T scalar(const std::string& what, const std::string& key, const YAML::Node& node) {
    T value{};
    try {
        value = node.as<T>();
    } catch (const YAML::Exception&) {
        fail(what, node, "'" + key + "' has a value of the wrong type");
    }
    if constexpr (std::is_floating_point_v<T>) {
        if (!std::isfinite(value)) fail(what, node, "'" + key + "' must be a finite number, not '" + node.Scalar() + "'");
    }
    return value;
}

// [H, W] or a single size; single sizes go to `single`.
void size_pair(const std::string& what, const std::string& key, const YAML::Node& node, int& h, int& w,
               int* single) {
    if (node.IsScalar()) {
        const int v = scalar<int>(what, key, node);
        if (v <= 0) fail(what, node, "'" + key + "' must be positive");
        if (single)
            *single = v;
        else
            h = w = v;
        return;
    }
    if (!node.IsSequence() || node.size() != 2) fail(what, node, "'" + key + "' must be [height, width] or one integer");
    h = scalar<int>(what, key, node[0]);
    w = scalar<int>(what, key, node[1]);
    if (h <= 0 || w <= 0) fail(what, node, "'" + key + "' sizes must be positive");
}

std::vector<float> float_list(const std::string& what, const std::string& key, const YAML::Node& node) {
    if (node.IsScalar()) return {scalar<float>(what, key, node)};
    if (!node.IsSequence()) fail(what, node, "'" + key + "' must be a list of numbers");
    std::vector<float> v;
    for (const auto& item : node) v.push_back(scalar<float>(what, key, item));
    return v;
}

void set_key(PreprocessSpec& spec, const std::string& what, const std::string& key, const YAML::Node& value) {
    if (key == "resize") {
        size_pair(what, key, value, spec.resize_height, spec.resize_width, &spec.resize_short);
    } else if (key == "crop") {
        size_pair(what, key, value, spec.crop_height, spec.crop_width, nullptr);
    } else if (key == "layout") {
        const auto s = scalar<std::string>(what, key, value);
        if (s != "NCHW" && s != "NHWC") fail(what, value, "layout must be NCHW or NHWC, not '" + s + "'");
        spec.layout = s == "NCHW" ? Layout::NCHW : Layout::NHWC;
    } else if (key == "channels") {
        const auto s = scalar<std::string>(what, key, value);
        if (s == "RGB") spec.channels = ChannelOrder::RGB;
        else if (s == "BGR") spec.channels = ChannelOrder::BGR;
        else if (s == "GRAY" || s == "gray" || s == "L") spec.channels = ChannelOrder::Gray;
        else fail(what, value, "channels must be RGB, BGR or GRAY, not '" + s + "'");
    } else if (key == "scale") {
        spec.scale = scalar<float>(what, key, value);
    } else if (key == "offset") {
        spec.offset = scalar<float>(what, key, value);
    } else if (key == "mean") {
        spec.mean = float_list(what, key, value);
    } else if (key == "std") {
        spec.std = float_list(what, key, value);
        for (float s : spec.std)
            if (!(s > 0.0f)) fail(what, value, "std values must be positive");
    } else if (key == "dtype") {
        const auto s = scalar<std::string>(what, key, value);
        if (s != "float32" && s != "uint8") fail(what, value, "dtype must be float32 or uint8, not '" + s + "'");
        spec.dtype = s == "float32" ? DType::f32 : DType::u8;
    } else {
        fail(what, value, "unknown preprocess key '" + key +
                              "' (known: resize, crop, layout, channels, scale, offset, mean, std, dtype)");
    }
}

void check_channel_lists(PreprocessSpec& spec, const std::string& what) {
    const auto c = static_cast<std::size_t>(spec.channel_count());
    for (auto* list : {&spec.mean, &spec.std}) {
        if (list->size() == 1 && c > 1) list->assign(c, list->front());  // one value for every channel
        if (!list->empty() && list->size() != c)
            throw UserError(what + ": mean/std need " + std::to_string(c) + " values for " +
                            (c == 1 ? "GRAY" : "3-channel") + " images, got " + std::to_string(list->size()));
    }
}

}  // namespace

PreprocessSpec parse_preprocess_spec(const std::string& yaml_text, const std::string& what) {
    YAML::Node root;
    try {
        root = YAML::Load(yaml_text);
    } catch (const YAML::Exception& e) {
        throw UserError(what + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
    }
    YAML::Node section = root.IsMap() && root["preprocess"] ? root["preprocess"] : root;
    PreprocessSpec spec;
    if (section.IsNull()) return spec;
    if (!section.IsMap()) fail(what, section, "the preprocess spec must be a mapping of keys to values");
    for (const auto& kv : section) {
        if (!kv.first.IsScalar()) fail(what, kv.first, "preprocess keys must be plain names, not a list or mapping");
        set_key(spec, what, kv.first.Scalar(), kv.second);
    }
    check_channel_lists(spec, what);
    return spec;
}

PreprocessSpec load_preprocess_spec(const std::string& yaml_path) {
    return parse_preprocess_spec(io_util::read_file(yaml_path, "preprocess spec"), yaml_path);
}

}  // namespace bitnpu::calib
