#include "parse.hpp"

#include <limits>

#include "yaml_load.hpp"
#include "yaml_reader.hpp"

namespace bitnpu::arch::detail {

namespace {

const std::vector<std::string> kTopKeys = {"name",    "description", "clock_mhz",    "memory",      "energy",
                                           "engines", "mapping",     "node_mapping", "host"};
const std::vector<std::string> kEngineKeys = {"name",     "kind",       "array",       "lanes",
                                              "dataflow", "ops",        "precisions",  "accumulator",
                                              "bias",     "requant",    "zero_point",  "restricted_range",
                                              "lut",      "constant_operands"};
const std::vector<std::string> kRequantKeys = {"kind",             "multiplier_bits", "shift_bits",
                                               "allow_left_shift", "rounding",        "per_channel"};

// Widths, counts and sizes are stored as int; anything beyond that is a typo
// (the validator reports the real allowed range for values that fit).
int narrow(const ParseContext& ctx, const YAML::Node& node, const std::string& path, std::int64_t value) {
    if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
        ctx.fail_at(node, path, std::to_string(value) + " is far outside any allowed range");
    }
    return static_cast<int>(value);
}

std::optional<int> small_integer(const ParseContext& ctx, const MapReader& map, const std::string& key) {
    if (auto node = map.get(key)) {
        return narrow(ctx, *node, map.path_of(key), read_integer(ctx, *node, map.path_of(key)));
    }
    return std::nullopt;
}

int required_small_integer(const ParseContext& ctx, const MapReader& map, const std::string& key,
                           const std::string& why = "") {
    const YAML::Node node = map.require(key, why);
    return narrow(ctx, node, map.path_of(key), read_integer(ctx, node, map.path_of(key)));
}

std::string item_path(const std::string& list_path, std::size_t index) {
    return list_path + "[" + std::to_string(index) + "]";
}

// A list of op type names, each recorded as "path[i]".
std::vector<std::string> read_op_list(ParseContext& ctx, const YAML::Node& node, const std::string& path) {
    require_sequence(ctx, node, path);
    std::vector<std::string> ops;
    for (std::size_t i = 0; i < node.size(); ++i) {
        const std::string p = item_path(path, i);
        ctx.sources.record(p, location_of(node[i]), location_of(node[i]));
        ops.push_back(read_string(ctx, node[i], p));
    }
    return ops;
}

ValueType read_value_type(const ParseContext& ctx, const YAML::Node& node, const std::string& path) {
    return *parse_value_type(read_choice(ctx, node, path, "a value type", value_type_names()));
}

Precision read_precision(ParseContext& ctx, const YAML::Node& node, const std::string& path, EngineKind kind) {
    MapReader map(ctx, node, path, {"weight", "activation"});
    if (kind == EngineKind::vector) {
        map.forbid("weight", "a vector engine has no weights; give only the activation type");
    }
    Precision p;
    p.activation = read_value_type(ctx, map.require("activation"), map.path_of("activation"));
    if (auto w = map.get("weight")) {
        p.weight = read_value_type(ctx, *w, map.path_of("weight"));
    } else if (kind == EngineKind::mac_array) {
        map.require("weight", "a mac_array multiplies weights by activations");
    }
    return p;
}

std::vector<Precision> read_precisions(ParseContext& ctx, const YAML::Node& node, const std::string& path,
                                       EngineKind kind) {
    require_sequence(ctx, node, path);
    std::vector<Precision> out;
    for (std::size_t i = 0; i < node.size(); ++i) {
        const std::string p = item_path(path, i);
        ctx.sources.record(p, location_of(node[i]), location_of(node[i]));
        out.push_back(read_precision(ctx, node[i], p, kind));
    }
    return out;
}

AccumulatorSpec read_accumulator(ParseContext& ctx, const YAML::Node& node, const std::string& path) {
    MapReader map(ctx, node, path, {"bits", "overflow"});
    AccumulatorSpec acc;
    if (auto bits = small_integer(ctx, map, "bits")) acc.bits = *bits;
    if (auto o = map.choice("overflow", "an overflow behaviour", overflow_names())) acc.overflow = *parse_overflow(*o);
    return acc;
}

BiasSpec read_bias(ParseContext& ctx, const YAML::Node& node, const std::string& path, int accumulator_bits) {
    MapReader map(ctx, node, path, {"bits", "stage"});
    BiasSpec bias;
    bias.bits = small_integer(ctx, map, "bits").value_or(accumulator_bits);
    if (auto s = map.choice("stage", "a bias stage", bias_stage_names())) bias.stage = *parse_bias_stage(*s);
    return bias;
}

// Which keys each requant kind has; a key of another kind gets a message
// saying why it does not apply instead of a silent default.
void forbid_foreign_requant_keys(const MapReader& map, RequantKind kind) {
    if (kind != RequantKind::shifter) {
        map.forbid("allow_left_shift", "only a shifter can shift left; " + std::string(to_string(kind)) +
                                           " shifts are right shifts");
    }
    switch (kind) {
        case RequantKind::shifter:
            map.forbid("multiplier_bits",
                       "a shifter multiplies by powers of two only and has no multiplier register "
                       "(use kind: multiplier for M * 2^-shift)");
            break;
        case RequantKind::multiplier: break;
        case RequantKind::gemmlowp:
            map.forbid("shift_bits", "gemmlowp's shift is TFLite's exponent in -31..30; it has no shift_bits");
            break;
        case RequantKind::float32:
            map.forbid("multiplier_bits", "float32 requant multiplies by an fp32 scale; it has no multiplier_bits");
            map.forbid("shift_bits", "float32 requant multiplies by an fp32 scale; it has no shift register");
            break;
    }
}

RoundingMode default_rounding(RequantKind kind) {
    switch (kind) {
        case RequantKind::gemmlowp: return RoundingMode::half_away;   // what TFLite's RoundingDivideByPOT does
        case RequantKind::float32: return RoundingMode::half_even;    // numerics.md "float32": round_half_even of the fp32 product
        case RequantKind::shifter:
        case RequantKind::multiplier: break;
    }
    return RoundingMode::half_up;
}

RequantSpec read_requant(ParseContext& ctx, const YAML::Node& node, const std::string& path) {
    MapReader map(ctx, node, path, kRequantKeys);
    RequantSpec r;
    r.kind = *parse_requant_kind(
        read_choice(ctx, map.require("kind"), map.path_of("kind"), "a requant kind", requant_kind_names()));
    forbid_foreign_requant_keys(map, r.kind);
    const bool has_multiplier = r.kind == RequantKind::multiplier || r.kind == RequantKind::gemmlowp;
    const bool has_shift = r.kind == RequantKind::multiplier || r.kind == RequantKind::shifter;
    r.multiplier_bits = has_multiplier ? (r.kind == RequantKind::gemmlowp ? 32 : 16) : 0;
    r.shift_bits = has_shift ? 5 : 0;
    if (auto bits = small_integer(ctx, map, "multiplier_bits")) r.multiplier_bits = *bits;
    if (auto bits = small_integer(ctx, map, "shift_bits")) r.shift_bits = *bits;
    r.allow_left_shift = map.boolean("allow_left_shift").value_or(false);
    r.rounding = default_rounding(r.kind);
    if (auto m = map.choice("rounding", "a rounding mode", rounding_mode_names())) r.rounding = *parse_rounding_mode(*m);
    r.per_channel = map.boolean("per_channel").value_or(false);
    return r;
}

RequantSpec default_requant() {
    RequantSpec r;
    r.kind = RequantKind::multiplier;
    return r;
}

EngineKind read_engine_kind(const ParseContext& ctx, const MapReader& map) {
    const YAML::Node node = map.require("kind", "mac_array or vector");
    if (node.IsScalar() && node.Scalar() == "host") {
        ctx.fail_at(node, map.path_of("kind"),
                    "'host' is not an engine kind; the host fallback is the top-level 'host:' section");
    }
    return *parse_engine_kind(read_choice(ctx, node, map.path_of("kind"), "an engine kind", {"mac_array", "vector"}));
}

void forbid_foreign_engine_keys(const MapReader& map, EngineKind kind) {
    if (kind == EngineKind::mac_array) {
        map.forbid("lanes", "a mac_array is sized by array: {rows, cols}; lanes belong to vector engines");
        map.forbid("lut", "lookup tables belong to vector engines");
    } else {
        map.forbid("array", "a vector engine has no MAC array; size it with lanes");
        map.forbid("dataflow", "a vector engine has no MAC array, so no dataflow");
        map.forbid("bias", "a vector engine has no bias input");
    }
}

void read_shape(ParseContext& ctx, const MapReader& map, EngineSpec& e) {
    if (e.kind == EngineKind::mac_array) {
        MapReader array(ctx, map.require("array", "{rows, cols} of the MAC array"), map.path_of("array"),
                        {"rows", "cols"});
        e.array.rows = required_small_integer(ctx, array, "rows");
        e.array.cols = required_small_integer(ctx, array, "cols");
        if (auto d = map.choice("dataflow", "a dataflow", dataflow_names())) e.dataflow = *parse_dataflow(*d);
    } else {
        e.lanes = required_small_integer(ctx, map, "lanes", "how many elements the vector unit handles per cycle");
    }
}

EngineSpec read_engine(ParseContext& ctx, const YAML::Node& node, const std::string& path) {
    MapReader map(ctx, node, path, kEngineKeys);
    EngineSpec e;
    e.name = read_string(ctx, map.require("name"), map.path_of("name"));
    e.kind = read_engine_kind(ctx, map);
    forbid_foreign_engine_keys(map, e.kind);
    read_shape(ctx, map, e);

    if (auto ops = map.get("ops")) {
        e.ops = read_op_list(ctx, *ops, map.path_of("ops"));
    } else if (e.kind == EngineKind::mac_array) {
        e.ops = default_mac_ops();
    } else {
        map.require("ops", "the op types this vector engine executes");
    }
    e.precisions = read_precisions(ctx, map.require("precisions"), map.path_of("precisions"), e.kind);
    if (auto acc = map.get("accumulator")) e.accumulator = read_accumulator(ctx, *acc, map.path_of("accumulator"));
    e.bias.bits = e.accumulator.bits;
    if (auto bias = map.get("bias")) e.bias = read_bias(ctx, *bias, map.path_of("bias"), e.accumulator.bits);
    e.requant = default_requant();
    if (auto r = map.get("requant")) e.requant = read_requant(ctx, *r, map.path_of("requant"));
    if (auto zp = map.get("zero_point")) {
        MapReader z(ctx, *zp, map.path_of("zero_point"), {"activation", "weight"});
        if (e.kind == EngineKind::vector) z.forbid("weight", "a vector engine has no weights");
        e.zero_point.activation = z.boolean("activation").value_or(false);
        e.zero_point.weight = z.boolean("weight").value_or(false);
    }
    e.restricted_range = map.boolean("restricted_range").value_or(false);
    if (auto constants = map.get("constant_operands")) {
        if (e.kind != EngineKind::vector)
            ctx.fail_at(*constants, map.path_of("constant_operands"),
                        "applies to vector engines (a mac_array's constants are its weights and biases)");
        e.constant_operands = map.boolean("constant_operands").value_or(true);
    }
    if (auto lut = map.get("lut")) {
        MapReader l(ctx, *lut, map.path_of("lut"), {"entries"});
        e.lut = LutSpec{};
        if (auto entries = small_integer(ctx, l, "entries")) e.lut->entries = *entries;
    }
    return e;
}

std::vector<EngineSpec> read_engines(ParseContext& ctx, const YAML::Node& node, const std::string& path) {
    require_sequence(ctx, node, path);
    std::vector<EngineSpec> engines;
    for (std::size_t i = 0; i < node.size(); ++i) {
        const std::string p = item_path(path, i);
        ctx.sources.record(p, location_of(node[i]), location_of(node[i]));
        engines.push_back(read_engine(ctx, node[i], p));
    }
    return engines;
}

std::map<std::string, std::string> read_name_map(ParseContext& ctx, const YAML::Node& node, const std::string& path) {
    MapReader map(ctx, node, path, MapReader::AnyKeys{});
    std::map<std::string, std::string> out;
    for (const std::string& key : map.keys()) out[key] = *map.string(key);
    return out;
}

MemorySpec read_memory(ParseContext& ctx, const YAML::Node& node, const std::string& path) {
    MapReader map(ctx, node, path, {"sram_kib", "dram_bytes_per_cycle"});
    MemorySpec m;
    if (auto kib = map.integer("sram_kib")) m.sram_kib = *kib;
    if (auto bw = map.number("dram_bytes_per_cycle")) m.dram_bytes_per_cycle = *bw;
    return m;
}

EnergySpec read_energy(ParseContext& ctx, const YAML::Node& node, const std::string& path) {
    MapReader map(ctx, node, path,
                  {"scale", "area_scale", "mult_8b_pj", "add_32b_pj", "fp32_mult_pj", "lut_pj", "sram_pj_per_byte",
                   "sram_reference_kib", "dram_pj_per_byte", "mult_8b_um2", "add_32b_um2", "register_bit_um2"});
    EnergySpec e;
    const std::pair<const char*, double*> fields[] = {
        {"scale", &e.scale},
        {"area_scale", &e.area_scale},
        {"mult_8b_pj", &e.mult_8b_pj},
        {"add_32b_pj", &e.add_32b_pj},
        {"fp32_mult_pj", &e.fp32_mult_pj},
        {"lut_pj", &e.lut_pj},
        {"sram_pj_per_byte", &e.sram_pj_per_byte},
        {"sram_reference_kib", &e.sram_reference_kib},
        {"dram_pj_per_byte", &e.dram_pj_per_byte},
        {"mult_8b_um2", &e.mult_8b_um2},
        {"add_32b_um2", &e.add_32b_um2},
        {"register_bit_um2", &e.register_bit_um2}};
    for (const auto& [key, field] : fields)
        if (auto v = map.number(key)) *field = *v;
    return e;
}

HostSpec read_host(ParseContext& ctx, const YAML::Node& node, const std::string& path) {
    MapReader map(ctx, node, path, {"enabled", "ops"});
    HostSpec host;
    host.enabled = map.boolean("enabled").value_or(false);
    if (auto ops = map.get("ops")) host.ops = read_op_list(ctx, *ops, map.path_of("ops"));
    return host;
}

}  // namespace

const std::vector<std::string>& default_mac_ops() {
    static const std::vector<std::string> ops = {"Conv", "Gemm", "MatMul"};
    return ops;
}

ParsedArch parse_document(const std::string& yaml_text, const std::string& origin) {
    ParseContext ctx{origin, {}};
    const YAML::Node root = load_one_document(yaml_text, origin);
    MapReader top(ctx, root, "", kTopKeys);

    ArchSpec spec;
    spec.name = read_string(ctx, top.require("name"), "name");
    spec.description = top.string("description").value_or("");
    if (auto clock = top.number("clock_mhz")) spec.clock_mhz = *clock;
    if (auto memory = top.get("memory")) spec.memory = read_memory(ctx, *memory, "memory");
    if (auto energy = top.get("energy")) spec.energy = read_energy(ctx, *energy, "energy");
    spec.engines = read_engines(ctx, top.require("engines", "a list of at least one engine"), "engines");
    if (auto m = top.get("mapping")) spec.op_mapping = read_name_map(ctx, *m, "mapping");
    if (auto m = top.get("node_mapping")) spec.node_mapping = read_name_map(ctx, *m, "node_mapping");
    if (auto h = top.get("host")) spec.host = read_host(ctx, *h, "host");
    spec.source_path = origin;
    return ParsedArch{std::move(spec), std::move(ctx.sources)};
}

}  // namespace bitnpu::arch::detail
