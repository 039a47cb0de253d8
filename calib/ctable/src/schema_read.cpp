// Text -> CTable. YAML and JSON both go through yaml-cpp (JSON is YAML 1.2
// flow syntax), so every error can name the line. Mirror of schema_write.cpp.
#include <algorithm>

#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include "bitnpu/arch/utf8.hpp"
#include "bitnpu/ctable/ctable.hpp"
#include "bitnpu/errors.hpp"
#include "numbers.hpp"

namespace bitnpu::calib {

namespace {

using ctable_detail::parse_double;
using ctable_detail::parse_float;
using ctable_detail::parse_int;
using ctable_detail::decode_bits;

class Reader {
public:
    explicit Reader(std::string origin) : origin_(std::move(origin)) {}

    [[noreturn]] void fail(const YAML::Node& at, const std::string& path, const std::string& what) const {
        const YAML::Mark m = at.Mark();
        if (m.is_null()) throw UserError(fmt::format("{}: {}: {}", origin_, path, what));
        throw UserError(fmt::format("{}:{}:{}: {}: {}", origin_, m.line + 1, m.column + 1, path, what));
    }

    // The map at `path`, rejecting keys outside `allowed` (typos should not pass silently).
    void expect_map(const YAML::Node& n, const std::string& path, std::initializer_list<const char*> allowed) const {
        if (!n.IsMap()) fail(n, path, "expected a mapping");
        for (const auto& kv : n) {
            const std::string key = kv.first.Scalar();
            bool ok = false;
            for (const char* a : allowed) ok = ok || key == a;
            if (!ok) {
                std::vector<std::string> names(allowed.begin(), allowed.end());
                fail(kv.first, path, fmt::format("unknown field '{}' (expected one of: {})", key, fmt::join(names, ", ")));
            }
        }
    }

    YAML::Node required(const YAML::Node& map, const char* key, const std::string& path) const {
        const YAML::Node n = map[key];
        if (!n) fail(map, path, fmt::format("missing required field '{}'", key));
        return n;
    }

    std::string scalar(const YAML::Node& n, const std::string& path) const {
        if (!n.IsScalar()) fail(n, path, "expected a single value");
        return n.Scalar();
    }
    std::string text(const YAML::Node& n, const std::string& path) const { return scalar(n, path); }
    std::int64_t integer(const YAML::Node& n, const std::string& path) const {
        const auto v = parse_int(scalar(n, path));
        if (!v) fail(n, path, fmt::format("'{}' is not an integer", n.Scalar()));
        return *v;
    }
    int small_int(const YAML::Node& n, const std::string& path) const {
        const std::int64_t v = integer(n, path);
        if (v < -(1LL << 30) || v > (1LL << 30)) fail(n, path, fmt::format("{} is out of range", v));
        return static_cast<int>(v);
    }
    float real32(const YAML::Node& n, const std::string& path) const {
        const auto v = parse_float(scalar(n, path));
        if (!v) fail(n, path, fmt::format("'{}' is not a number", n.Scalar()));
        return *v;
    }
    double real64(const YAML::Node& n, const std::string& path) const {
        const auto v = parse_double(scalar(n, path));
        if (!v) fail(n, path, fmt::format("'{}' is not a number", n.Scalar()));
        return *v;
    }
    bool boolean(const YAML::Node& n, const std::string& path) const {
        const std::string s = scalar(n, path);
        if (s == "true") return true;
        if (s == "false") return false;
        fail(n, path, fmt::format("'{}' is not true or false", s));
    }

    template <class T, class Parse>
    T named(const YAML::Node& n, const std::string& path, Parse parse, const char* what) const {
        const std::string s = scalar(n, path);
        const auto v = parse(s);
        if (!v) fail(n, path, fmt::format("'{}' is not a {}", s, what));
        return *v;
    }
    arch::ValueType value_type(const YAML::Node& n, const std::string& path) const {
        return named<arch::ValueType>(n, path, [](const std::string& s) { return arch::parse_value_type(s); },
                                      "value type (int1, uint1, int2, int4, uint4, int8, uint8, int16)");
    }

    // A scalar or a list of them, as a vector.
    template <class F>
    auto one_or_many(const YAML::Node& n, const std::string& path, F read) const {
        std::vector<decltype(read(n, path))> out;
        if (n.IsSequence()) {
            for (std::size_t i = 0; i < n.size(); ++i) out.push_back(read(n[i], fmt::format("{}[{}]", path, i)));
        } else {
            out.push_back(read(n, path));
        }
        return out;
    }
    template <class F>
    auto list(const YAML::Node& n, const std::string& path, F read) const {
        if (!n.IsSequence()) fail(n, path, "expected a list");
        return one_or_many(n, path, read);
    }

    const std::string& origin() const { return origin_; }

private:
    std::string origin_;
};

#define BITNPU_READER_FN(method) [&r](const YAML::Node& n, const std::string& p) { return r.method(n, p); }

void read_model(const Reader& r, const YAML::Node& n, CTableModel& m) {
    r.expect_map(n, "model", {"name", "path", "hash"});
    if (n["name"]) m.name = r.text(n["name"], "model.name");
    if (n["path"]) m.path = r.text(n["path"], "model.path");
    if (n["hash"]) m.hash = r.text(n["hash"], "model.hash");
}

void read_arch(const Reader& r, const YAML::Node& n, CTableArch& a) {
    r.expect_map(n, "arch", {"name", "hash"});
    if (n["name"]) a.name = r.text(n["name"], "arch.name");
    if (n["hash"]) a.hash = r.text(n["hash"], "arch.hash");
}

void read_settings(const Reader& r, const YAML::Node& n, CTableSettings& s) {
    r.expect_map(n, "calibration", {"policy", "samples", "seed", "flags"});
    if (n["policy"]) s.policy = r.text(n["policy"], "calibration.policy");
    if (n["samples"]) s.samples = r.integer(n["samples"], "calibration.samples");
    if (n["seed"]) s.seed = static_cast<std::uint64_t>(r.integer(n["seed"], "calibration.seed"));
    if (const YAML::Node f = n["flags"]) {
        if (!f.IsMap()) r.fail(f, "calibration.flags", "expected a mapping");
        for (const auto& kv : f) {
            const std::string key = kv.first.Scalar();
            s.flags[key] = r.text(kv.second, "calibration.flags." + key);
        }
    }
}

CTableTensor read_tensor(const Reader& r, const YAML::Node& n, const std::string& path) {
    r.expect_map(n, path, {"type", "restricted", "scale", "zero_point", "axis", "exponent", "policy", "sqnr_db"});
    CTableTensor t;
    t.type = r.value_type(r.required(n, "type", path), path + ".type");
    if (n["restricted"]) t.restricted = r.boolean(n["restricted"], path + ".restricted");
    t.scale = r.one_or_many(r.required(n, "scale", path), path + ".scale", BITNPU_READER_FN(real32));
    if (n["zero_point"]) t.zero_point = r.one_or_many(n["zero_point"], path + ".zero_point", BITNPU_READER_FN(integer));
    else t.zero_point.assign(t.scale.size(), 0);
    if (n["axis"]) t.axis = r.small_int(n["axis"], path + ".axis");
    if (n["exponent"]) t.exponent = r.one_or_many(n["exponent"], path + ".exponent", BITNPU_READER_FN(small_int));
    if (n["policy"]) t.policy = r.text(n["policy"], path + ".policy");
    if (n["sqnr_db"]) t.sqnr_db = r.real64(n["sqnr_db"], path + ".sqnr_db");
    return t;
}

std::vector<CTableRequant> read_requant(const Reader& r, const YAML::Node& n, const std::string& path) {
    r.expect_map(n, path, {"kind", "rounding", "dst_bits", "channels"});
    CTableRequant base;
    base.kind = r.named<arch::RequantKind>(r.required(n, "kind", path), path + ".kind",
                                           [](const std::string& s) { return arch::parse_requant_kind(s); },
                                           "requant kind (shifter, multiplier, gemmlowp, float32)");
    base.rounding = r.named<arch::RoundingMode>(r.required(n, "rounding", path), path + ".rounding",
                                                [](const std::string& s) { return arch::parse_rounding_mode(s); },
                                                "rounding mode (floor, trunc, half_up, half_away, half_even)");
    if (n["dst_bits"]) base.dst_bits = r.small_int(n["dst_bits"], path + ".dst_bits");
    const YAML::Node channels = r.required(n, "channels", path);
    if (!channels.IsSequence()) r.fail(channels, path + ".channels", "expected a list");
    std::vector<CTableRequant> out;
    for (std::size_t i = 0; i < channels.size(); ++i) {
        const std::string p = fmt::format("{}.channels[{}]", path, i);
        const YAML::Node c = channels[i];
        r.expect_map(c, p, {"multiplier", "shift", "float_scale", "ideal", "realized"});
        CTableRequant q = base;
        if (c["multiplier"]) q.multiplier = r.integer(c["multiplier"], p + ".multiplier");
        if (c["shift"]) q.shift = r.small_int(c["shift"], p + ".shift");
        if (c["float_scale"]) q.float_scale = r.real32(c["float_scale"], p + ".float_scale");
        if (c["ideal"]) q.ideal = r.real64(c["ideal"], p + ".ideal");
        if (c["realized"]) q.realized = r.real64(c["realized"], p + ".realized");
        out.push_back(q);
    }
    return out;
}

std::vector<bool> read_rounding(const Reader& r, const YAML::Node& n, const std::string& path) {
    r.expect_map(n, path, {"weights", "flipped", "mask"});
    const std::int64_t weights = r.integer(r.required(n, "weights", path), path + ".weights");
    if (weights < 0 || weights > (std::int64_t{1} << 40)) r.fail(n["weights"], path + ".weights", "out of range");
    const YAML::Node mask = r.required(n, "mask", path);
    const auto flags = decode_bits(r.text(mask, path + ".mask"), static_cast<std::size_t>(weights));
    if (!flags)
        r.fail(mask, path + ".mask",
               fmt::format("not the base64 bitmask of {} weights ({} bytes, unused bits 0)", weights, (weights + 7) / 8));
    const auto flipped = static_cast<std::int64_t>(std::count(flags->begin(), flags->end(), true));
    if (n["flipped"] && r.integer(n["flipped"], path + ".flipped") != flipped)
        r.fail(n["flipped"], path + ".flipped", fmt::format("the mask flips {} weights", flipped));
    return *flags;
}

CTableLayer read_layer(const Reader& r, const YAML::Node& n, const std::string& path) {
    r.expect_map(n, path, {"node", "op", "engine", "precision", "inputs", "outputs", "weight", "bias_bits", "bias",
                           "requant", "clamp", "output_zero_point", "lut", "sqnr_db"});
    CTableLayer l;
    l.node = r.text(r.required(n, "node", path), path + ".node");
    if (n["op"]) l.op = r.text(n["op"], path + ".op");
    if (n["engine"]) l.engine = r.text(n["engine"], path + ".engine");
    if (const YAML::Node p = n["precision"]) {
        r.expect_map(p, path + ".precision", {"weight", "activation"});
        if (p["weight"]) l.precision.weight = r.value_type(p["weight"], path + ".precision.weight");
        l.precision.activation = r.value_type(r.required(p, "activation", path + ".precision"), path + ".precision.activation");
    }
    if (n["inputs"]) l.inputs = r.list(n["inputs"], path + ".inputs", BITNPU_READER_FN(text));
    if (n["outputs"]) l.outputs = r.list(n["outputs"], path + ".outputs", BITNPU_READER_FN(text));
    if (const YAML::Node w = n["weight"]) {
        r.expect_map(w, path + ".weight", {"granularity", "scale", "rounding"});
        l.weight_granularity = r.text(r.required(w, "granularity", path + ".weight"), path + ".weight.granularity");
        if (w["scale"]) l.weight_scale = r.one_or_many(w["scale"], path + ".weight.scale", BITNPU_READER_FN(real32));
        if (w["rounding"]) l.weight_rounding = read_rounding(r, w["rounding"], path + ".weight.rounding");
    }
    if (n["bias_bits"]) l.bias_bits = r.small_int(n["bias_bits"], path + ".bias_bits");
    if (n["bias"]) l.bias = r.list(n["bias"], path + ".bias", BITNPU_READER_FN(integer));
    if (n["requant"]) l.requant = read_requant(r, n["requant"], path + ".requant");
    if (const YAML::Node c = n["clamp"]) {
        const auto v = r.list(c, path + ".clamp", BITNPU_READER_FN(integer));
        if (v.size() != 2) r.fail(c, path + ".clamp", "expected [lo, hi]");
        l.clamp_lo = v[0];
        l.clamp_hi = v[1];
    }
    if (n["output_zero_point"]) l.output_zero_point = r.integer(n["output_zero_point"], path + ".output_zero_point");
    if (n["lut"]) l.lut = r.list(n["lut"], path + ".lut", BITNPU_READER_FN(integer));
    if (n["sqnr_db"]) l.sqnr_db = r.real64(n["sqnr_db"], path + ".sqnr_db");
    return l;
}

CTable read_document(const Reader& r, const YAML::Node& root) {
    if (!root || root.IsNull()) throw UserError(r.origin() + ": empty CTable");
    if (!root.IsMap()) r.fail(root, "(top level)", "expected a mapping with bitnpu_ctable, tensors, ...");
    CTable t;
    const YAML::Node version = root["bitnpu_ctable"];
    if (!version) r.fail(root, "(top level)", "missing 'bitnpu_ctable: 1' (is this a bitnpu CTable?)");
    t.version = static_cast<int>(r.integer(version, "bitnpu_ctable"));
    if (t.version != kCTableVersion)
        r.fail(version, "bitnpu_ctable", fmt::format("schema version {} is not supported (this bitnpu reads version {})",
                                                     t.version, kCTableVersion));
    r.expect_map(root, "(top level)", {"bitnpu_ctable", "model", "arch", "calibration", "tensors", "layers"});
    if (root["model"]) read_model(r, root["model"], t.model);
    if (root["arch"]) read_arch(r, root["arch"], t.arch);
    if (root["calibration"]) read_settings(r, root["calibration"], t.settings);
    const YAML::Node tensors = r.required(root, "tensors", "(top level)");
    if (!tensors.IsMap()) r.fail(tensors, "tensors", "expected a mapping from tensor name to parameters");
    for (const auto& kv : tensors) {
        const std::string name = kv.first.Scalar();
        if (t.tensors.count(name)) r.fail(kv.first, "tensors", fmt::format("tensor '{}' appears twice", name));
        t.tensors.emplace(name, read_tensor(r, kv.second, "tensors." + name));
    }
    if (const YAML::Node layers = root["layers"]) {
        if (!layers.IsSequence()) r.fail(layers, "layers", "expected a list");
        for (std::size_t i = 0; i < layers.size(); ++i)
            t.layers.push_back(read_layer(r, layers[i], fmt::format("layers[{}]", i)));
    }
    if (const std::string problem = ctable_problem(t); !problem.empty()) throw UserError(r.origin() + ": " + problem);
    return t;
}

}  // namespace

CTable parse_ctable(const std::string& text, const std::string& origin) {
    const Reader reader(origin);
    // Layer and tensor names reach JSON writers, which reject non-UTF-8 bytes.
    arch::check_utf8(text, origin);
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        throw UserError(fmt::format("{}:{}:{}: malformed CTable: {}", origin, e.mark.line + 1, e.mark.column + 1, e.msg));
    }
    return read_document(reader, root);
}

}  // namespace bitnpu::calib
