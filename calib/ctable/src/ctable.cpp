// CTable lookups and the consistency rules every table obeys.
#include "bitnpu/ctable/ctable.hpp"

#include <cmath>

#include <fmt/format.h>

#include "bitnpu/arch/derived.hpp"
#include "bitnpu/errors.hpp"

namespace bitnpu::calib {

const CTableTensor* CTable::find_tensor(const std::string& name) const {
    auto it = tensors.find(name);
    return it == tensors.end() ? nullptr : &it->second;
}

const CTableLayer* CTable::find_layer(const std::string& node) const {
    for (const auto& l : layers)
        if (l.node == node) return &l;
    return nullptr;
}

CTableFormat format_for_path(const std::string& path) {
    const std::string ext = ".json";
    if (path.size() >= ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0)
        return CTableFormat::json;
    return CTableFormat::yaml;
}

namespace {

std::string tensor_problem(const std::string& name, const CTableTensor& t) {
    const std::string where = "tensors." + name;
    if (name.empty()) return "tensors: a tensor has an empty name";
    if (t.scale.empty()) return where + ".scale: no scale";
    for (std::size_t c = 0; c < t.scale.size(); ++c)
        if (!(std::isfinite(t.scale[c]) && t.scale[c] > 0.0f))
            return fmt::format("{}.scale[{}]: {} is not a positive finite number", where, c, t.scale[c]);
    if (t.zero_point.size() != t.scale.size())
        return fmt::format("{}.zero_point: {} entries for {} scales", where, t.zero_point.size(), t.scale.size());
    if (!t.exponent.empty()) {
        if (t.exponent.size() != t.scale.size())
            return fmt::format("{}.exponent: {} entries for {} scales", where, t.exponent.size(), t.scale.size());
        for (std::size_t c = 0; c < t.scale.size(); ++c)
            if (static_cast<double>(t.scale[c]) != std::ldexp(1.0, -t.exponent[c]))
                return fmt::format("{}.exponent[{}]: scale {} is not 2^-{}", where, c, t.scale[c], t.exponent[c]);
    }
    if (t.scale.size() > 1 && !t.axis) return where + ".axis: several scales need the channel axis";
    if (t.axis && *t.axis < 0) return fmt::format("{}.axis: {} is negative", where, *t.axis);
    const arch::ValueRange r = arch::value_range(t.type, t.restricted);
    for (std::size_t c = 0; c < t.zero_point.size(); ++c)
        if (t.zero_point[c] < r.min || t.zero_point[c] > r.max)
            return fmt::format("{}.zero_point[{}]: {} is outside {} [{}, {}]", where, c, t.zero_point[c],
                               arch::to_string(t.type), r.min, r.max);
    return "";
}

std::string layer_problem(std::size_t index, const CTableLayer& l) {
    const std::string where = fmt::format("layers[{}]", index);
    if (l.node.empty()) return where + ".node: empty node name";
    if (!l.weight_granularity.empty() && l.weight_granularity != "per_tensor" && l.weight_granularity != "per_channel")
        return fmt::format("{}.weight.granularity: '{}' is not per_tensor or per_channel", where, l.weight_granularity);
    if (l.weight_granularity == "per_tensor" && l.weight_scale.size() > 1)
        return fmt::format("{}.weight.scale: {} scales for a per_tensor weight", where, l.weight_scale.size());
    if (l.weight_granularity.empty() && !l.weight_scale.empty())
        return where + ".weight: scales given without a granularity";
    if (!l.weight_rounding.empty() && l.weight_scale.empty())
        return where + ".weight.rounding: a rounding needs the weight scales it was chosen for";
    for (std::size_t c = 0; c < l.weight_scale.size(); ++c)
        if (!(std::isfinite(l.weight_scale[c]) && l.weight_scale[c] > 0.0f))
            return fmt::format("{}.weight.scale[{}]: {} is not a positive finite number", where, c, l.weight_scale[c]);
    if (l.bias_bits && *l.bias_bits >= 2 && *l.bias_bits <= 64) {
        const arch::ValueRange range = arch::signed_range(*l.bias_bits);
        for (std::size_t c = 0; c < l.bias.size(); ++c)
            if (l.bias[c] < range.min || l.bias[c] > range.max)
                return fmt::format("{}.bias[{}]: {} does not fit bias_bits {}", where, c, l.bias[c], *l.bias_bits);
    }
    for (const auto& r : l.requant) {
        const auto& r0 = l.requant.front();
        if (r.kind != r0.kind || r.rounding != r0.rounding || r.dst_bits != r0.dst_bits)
            return where + ".requant: channels differ in kind, rounding or dst_bits";
    }
    if (l.clamp_lo.has_value() != l.clamp_hi.has_value()) return where + ".clamp: give both lo and hi";
    if (l.clamp_lo && *l.clamp_lo > *l.clamp_hi)
        return fmt::format("{}.clamp: lo {} > hi {}", where, *l.clamp_lo, *l.clamp_hi);
    return "";
}

}  // namespace

std::string ctable_problem(const CTable& table) {
    if (table.version != kCTableVersion)
        return fmt::format("bitnpu_ctable: version {} is not supported (this bitnpu reads version {})", table.version,
                           kCTableVersion);
    for (const auto& [name, t] : table.tensors)
        if (auto p = tensor_problem(name, t); !p.empty()) return p;
    for (std::size_t i = 0; i < table.layers.size(); ++i)
        if (auto p = layer_problem(i, table.layers[i]); !p.empty()) return p;
    return "";
}

void check_made_for_model(const CTable& table, const std::string& origin, const std::string& model_path,
                          const std::string& model_hash) {
    if (table.model.hash.empty() || table.model.hash == model_hash) return;
    throw UserError(fmt::format("{}the CTable was made for model '{}' (hash {}), not for '{}' (hash {})",
                                origin.empty() ? "" : origin + ": ", table.model.name, table.model.hash, model_path,
                                model_hash));
}

void check_made_for_arch(const CTable& table, const arch::ArchSpec& arch) {
    if (table.arch.hash.empty() || table.arch.hash == arch.content_hash) return;
    throw UserError(fmt::format("the CTable was made for arch '{}' (hash {}), not for '{}' (hash {}); run calib "
                                "--ctable to refine it for this arch",
                                table.arch.name, table.arch.hash, arch.source_path, arch.content_hash));
}

}  // namespace bitnpu::calib
