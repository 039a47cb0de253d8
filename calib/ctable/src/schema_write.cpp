// CTable -> Doc: the field layout of the serialized CTable (docs/ctable.md).
// schema_read.cpp is its mirror image.
#include <algorithm>
#include <stdexcept>

#include "bitnpu/ctable/ctable.hpp"
#include "document.hpp"
#include "numbers.hpp"

namespace bitnpu::calib {

namespace ctable_detail {

namespace {

Doc name_of(std::string_view s) { return Doc::of_text(std::string(s)); }

template <class T, class F>
Doc flow_list(const std::vector<T>& values, F make) {
    Doc d = Doc::seq_of(true);
    for (const auto& v : values) d.push(make(v));
    return d;
}

Doc floats(const std::vector<float>& v) { return flow_list(v, [](float x) { return Doc::of_float(x); }); }
Doc ints(const std::vector<std::int64_t>& v) { return flow_list(v, [](std::int64_t x) { return Doc::of_int(x); }); }
Doc texts(const std::vector<std::string>& v) { return flow_list(v, [](const std::string& x) { return Doc::of_text(x); }); }

// Optional text fields are written only when set, so partial tables stay short.
void add_text(Doc& d, const char* key, const std::string& value) {
    if (!value.empty()) d.add(key, Doc::of_text(value));
}

Doc model_doc(const CTableModel& m) {
    Doc d = Doc::map_of();
    add_text(d, "name", m.name);
    add_text(d, "path", m.path);
    add_text(d, "hash", m.hash);
    return d;
}

Doc arch_doc(const CTableArch& a) {
    Doc d = Doc::map_of();
    add_text(d, "name", a.name);
    add_text(d, "hash", a.hash);
    return d;
}

Doc settings_doc(const CTableSettings& s) {
    Doc d = Doc::map_of();
    add_text(d, "policy", s.policy);
    d.add("samples", Doc::of_int(s.samples));
    d.add("seed", Doc::of_int(static_cast<std::int64_t>(s.seed)));
    if (!s.flags.empty()) {
        Doc flags = Doc::map_of();
        for (const auto& [k, v] : s.flags) flags.add(k, Doc::of_text(v));
        d.add("flags", std::move(flags));
    }
    return d;
}

Doc tensor_doc(const CTableTensor& t) {
    Doc d = Doc::map_of();
    d.add("type", name_of(arch::to_string(t.type)));
    d.add("restricted", Doc::of_bool(t.restricted));
    if (t.axis) {
        d.add("scale", floats(t.scale));
        d.add("zero_point", ints(t.zero_point));
        d.add("axis", Doc::of_int(*t.axis));
    } else {
        d.add("scale", Doc::of_float(t.scale.at(0)));
        d.add("zero_point", Doc::of_int(t.zero_point.at(0)));
    }
    if (!t.exponent.empty()) {
        if (t.axis) d.add("exponent", flow_list(t.exponent, [](int x) { return Doc::of_int(x); }));
        else d.add("exponent", Doc::of_int(t.exponent.at(0)));
    }
    add_text(d, "policy", t.policy);
    if (t.sqnr_db) d.add("sqnr_db", Doc::of_double(*t.sqnr_db));
    return d;
}

// One channel's registers: only the fields its unit kind uses.
Doc channel_doc(const CTableRequant& r) {
    Doc d = Doc::map_of(true);
    switch (r.kind) {
        case arch::RequantKind::shifter: d.add("shift", Doc::of_int(r.shift)); break;
        case arch::RequantKind::multiplier:
        case arch::RequantKind::gemmlowp:
            d.add("multiplier", Doc::of_int(r.multiplier));
            d.add("shift", Doc::of_int(r.shift));
            break;
        case arch::RequantKind::float32: d.add("float_scale", Doc::of_float(r.float_scale)); break;
    }
    d.add("ideal", Doc::of_double(r.ideal));
    d.add("realized", Doc::of_double(r.realized));
    return d;
}

Doc requant_doc(const std::vector<CTableRequant>& channels) {
    const CTableRequant& first = channels.front();
    Doc d = Doc::map_of();
    d.add("kind", name_of(arch::to_string(first.kind)));
    d.add("rounding", name_of(arch::to_string(first.rounding)));
    d.add("dst_bits", Doc::of_int(first.dst_bits));
    Doc list = Doc::seq_of();
    for (const auto& r : channels) list.push(channel_doc(r));
    d.add("channels", std::move(list));
    return d;
}

Doc rounding_doc(const std::vector<bool>& flags) {
    Doc d = Doc::map_of(true);
    d.add("weights", Doc::of_int(static_cast<std::int64_t>(flags.size())));
    d.add("flipped", Doc::of_int(static_cast<std::int64_t>(std::count(flags.begin(), flags.end(), true))));
    d.add("mask", Doc::of_text(encode_bits(flags)));
    return d;
}

Doc layer_doc(const CTableLayer& l) {
    Doc d = Doc::map_of();
    d.add("node", Doc::of_text(l.node));
    add_text(d, "op", l.op);
    add_text(d, "engine", l.engine);
    Doc precision = Doc::map_of(true);
    if (l.precision.weight) precision.add("weight", name_of(arch::to_string(*l.precision.weight)));
    precision.add("activation", name_of(arch::to_string(l.precision.activation)));
    d.add("precision", std::move(precision));
    if (!l.inputs.empty()) d.add("inputs", texts(l.inputs));
    if (!l.outputs.empty()) d.add("outputs", texts(l.outputs));
    if (!l.weight_granularity.empty()) {
        Doc w = Doc::map_of();
        w.add("granularity", Doc::of_text(l.weight_granularity));
        w.add("scale", floats(l.weight_scale));
        if (!l.weight_rounding.empty()) w.add("rounding", rounding_doc(l.weight_rounding));
        d.add("weight", std::move(w));
    }
    if (l.bias_bits) d.add("bias_bits", Doc::of_int(*l.bias_bits));
    if (!l.bias.empty()) d.add("bias", ints(l.bias));
    if (!l.requant.empty()) d.add("requant", requant_doc(l.requant));
    if (l.clamp_lo) d.add("clamp", ints({*l.clamp_lo, *l.clamp_hi}));
    if (l.output_zero_point) d.add("output_zero_point", Doc::of_int(*l.output_zero_point));
    if (!l.lut.empty()) d.add("lut", ints(l.lut));
    if (l.sqnr_db) d.add("sqnr_db", Doc::of_double(*l.sqnr_db));
    return d;
}

bool is_default(const CTableSettings& s) { return s.policy.empty() && s.samples == 0 && s.seed == 0 && s.flags.empty(); }

}  // namespace

Doc to_document(const CTable& table) {
    if (const std::string problem = ctable_problem(table); !problem.empty())
        throw std::invalid_argument("CTable: " + problem);
    Doc d = Doc::map_of();
    d.add("bitnpu_ctable", Doc::of_int(table.version));
    const Doc model = model_doc(table.model);
    if (!model.items.empty()) d.add("model", model);
    const Doc arch = arch_doc(table.arch);
    if (!arch.items.empty()) d.add("arch", arch);
    if (!is_default(table.settings)) d.add("calibration", settings_doc(table.settings));
    Doc tensors = Doc::map_of();
    for (const auto& [name, t] : table.tensors) tensors.add(name, tensor_doc(t));
    d.add("tensors", std::move(tensors));
    if (!table.layers.empty()) {
        Doc layers = Doc::seq_of();
        for (const auto& l : table.layers) layers.push(layer_doc(l));
        d.add("layers", std::move(layers));
    }
    return d;
}

}  // namespace ctable_detail

std::string to_yaml(const CTable& table) { return ctable_detail::emit_yaml(ctable_detail::to_document(table)); }
std::string to_json(const CTable& table) { return ctable_detail::emit_json(ctable_detail::to_document(table)); }

}  // namespace bitnpu::calib
