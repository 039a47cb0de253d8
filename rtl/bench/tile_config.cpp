#include "tile_config.hpp"

#include <algorithm>
#include <sstream>
#include <tuple>

#include "bitnpu/errors.hpp"

namespace bitnpu::rtl {
namespace {

using arch::ValueType;

auto as_tuple(const TileParams& p) {
    return std::tie(p.rows, p.cols, p.bnn, p.a_bits, p.a_signed, p.w_bits, p.w_signed, p.chunk,
                    p.acc_bits, p.saturate, p.bias_post, p.rq_kind, p.mult_bits, p.shift_bits,
                    p.allow_left, p.rounding, p.y_bits);
}

bool is_mac_operand(ValueType t) {
    return t == ValueType::int8 || t == ValueType::uint8 || t == ValueType::int4 ||
           t == ValueType::uint4;
}

[[noreturn]] void unsupported(const arch::EngineSpec& e, const std::string& what) {
    throw UserError("engine '" + e.name + "': the RTL (rtl/npu_tile.sv) does not implement " + what);
}

// The precision entry of the engine the variant implements.
arch::Precision pick_precision(const arch::EngineSpec& e, const std::optional<arch::ValueType>& activation) {
    if (e.precisions.empty() || !e.precisions.front().weight)
        unsupported(e, "an engine without a weight precision");
    if (!activation) return e.precisions.front();
    for (const arch::Precision& p : e.precisions)
        if (p.activation == *activation && p.weight) return p;
    throw UserError("engine '" + e.name + "' lists no precision with activation " +
                    std::string(arch::to_string(*activation)));
}

void map_operands(const arch::EngineSpec& e, const arch::Precision& precision, TileConfig& c) {
    c.activation = precision.activation;
    c.weight = *precision.weight;
    TileParams& p = c.params;
    if (c.activation == ValueType::int1 && c.weight == ValueType::int1) {
        p.bnn = 1;
        p.a_bits = p.w_bits = 1;
        p.a_signed = p.w_signed = 1;
        return;
    }
    if (!is_mac_operand(c.activation) || !is_mac_operand(c.weight))
        unsupported(e, "the precision " + std::string(arch::to_string(c.weight)) + " x " +
                           std::string(arch::to_string(c.activation)) +
                           " (supported: int8/uint8/int4/uint4 pairs and int1 x int1)");
    p.a_bits = arch::bit_width(c.activation);
    p.a_signed = arch::is_signed(c.activation) ? 1 : 0;
    p.w_bits = arch::bit_width(c.weight);
    p.w_signed = arch::is_signed(c.weight) ? 1 : 0;
}

void map_requant(const arch::EngineSpec& e, TileParams& p) {
    const arch::RequantSpec& r = e.requant;
    if (r.kind != arch::RequantKind::shifter && r.kind != arch::RequantKind::multiplier)
        unsupported(e, "requant kind '" + std::string(arch::to_string(r.kind)) +
                           "' (supported: shifter, multiplier)");
    p.rq_kind = static_cast<int>(r.kind);
    p.mult_bits = r.kind == arch::RequantKind::multiplier ? r.multiplier_bits : 1;
    p.shift_bits = r.shift_bits;
    p.allow_left = (r.kind == arch::RequantKind::shifter && r.allow_left_shift) ? 1 : 0;
    p.rounding = static_cast<int>(r.rounding);
    if (p.shift_bits < 1 || p.shift_bits > 6) unsupported(e, "shift_bits outside 1..6");
    if (p.mult_bits > 31) unsupported(e, "multiplier_bits above 31");
}

}  // namespace

bool TileParams::operator==(const TileParams& o) const { return as_tuple(*this) == as_tuple(o); }

namespace {

TileConfig make_config(const arch::EngineSpec& e, const arch::Precision& precision, int rows, int cols) {
    if (e.kind != arch::EngineKind::mac_array) unsupported(e, "non-mac_array engines");
    TileConfig c;
    c.engine = e.name;
    c.restricted_range = e.restricted_range;
    c.activation_zero_point = e.zero_point.activation;
    c.bias_bits = e.bias.bits;
    c.per_channel = e.requant.per_channel;
    c.accumulator = e.accumulator;
    c.requant = e.requant;
    TileParams& p = c.params;
    p.rows = rows > 0 ? rows : e.array.rows;
    p.cols = cols > 0 ? cols : e.array.cols;
    if (p.rows < 1 || p.cols < 1 || p.rows > 64 || p.cols > 64)
        unsupported(e, "an array shape outside 1..64 x 1..64");
    p.acc_bits = e.accumulator.bits;
    if (p.acc_bits > 48) unsupported(e, "accumulators wider than 48 bits");
    p.saturate = e.accumulator.overflow == arch::Overflow::saturate ? 1 : 0;
    p.bias_post = e.bias.stage == arch::BiasStage::post ? 1 : 0;
    map_operands(e, precision, c);
    map_requant(e, p);
    return c;
}

int parse_dim(const std::string& text, const std::string& what) {
    std::size_t used = 0;
    int v = 0;
    try {
        v = std::stoi(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || v < 1) throw UserError("bad array size '" + what + "' (want ROWSxCOLS, e.g. 4x4)");
    return v;
}

}  // namespace

EngineSelector parse_engine_selector(const std::string& text) {
    EngineSelector s;
    std::stringstream in(text);
    std::string item;
    std::getline(in, s.engine, ',');
    while (std::getline(in, item, ',')) {
        const auto eq = item.find('=');
        const std::string key = item.substr(0, eq), value = eq == std::string::npos ? "" : item.substr(eq + 1);
        if (key == "activation") {
            s.options.activation = arch::parse_value_type(value);
            if (!s.options.activation) throw UserError("unknown activation type '" + value + "' in '" + text + "'");
        } else if (key == "array") {
            const auto x = value.find('x');
            if (x == std::string::npos) throw UserError("bad array size '" + value + "' (want ROWSxCOLS, e.g. 4x4)");
            s.options.rows = parse_dim(value.substr(0, x), value);
            s.options.cols = parse_dim(value.substr(x + 1), value);
        } else {
            throw UserError("unknown variant option '" + item + "' in '" + text +
                            "' (known: activation=TYPE, array=ROWSxCOLS)");
        }
    }
    return s;
}

TileConfig tile_config_for(const arch::EngineSpec& e, const VariantOptions& options) {
    if (e.kind != arch::EngineKind::mac_array) unsupported(e, "non-mac_array engines");
    return make_config(e, pick_precision(e, options.activation), options.rows, options.cols);
}

TileConfig tile_config_for(const arch::EngineSpec& e, const arch::Precision& precision) {
    if (e.kind != arch::EngineKind::mac_array) unsupported(e, "non-mac_array engines");
    if (std::find(e.precisions.begin(), e.precisions.end(), precision) == e.precisions.end())
        throw UserError("engine '" + e.name + "' does not list the precision " +
                        std::string(precision.weight ? arch::to_string(*precision.weight) : "?") + " x " +
                        std::string(arch::to_string(precision.activation)));
    return make_config(e, precision, 0, 0);
}

const arch::EngineSpec& select_engine(const arch::ArchSpec& a, const std::string& name) {
    if (!name.empty()) {
        if (const arch::EngineSpec* e = a.find_engine(name)) return *e;
        std::string known;
        for (const auto& e : a.engines) known += (known.empty() ? "" : ", ") + e.name;
        throw UserError("arch '" + a.name + "' has no engine '" + name + "' (engines: " + known + ")");
    }
    auto it = std::find_if(a.engines.begin(), a.engines.end(),
                           [](const arch::EngineSpec& e) { return e.kind == arch::EngineKind::mac_array; });
    if (it == a.engines.end()) throw UserError("arch '" + a.name + "' has no mac_array engine");
    return *it;
}

std::vector<std::string> verilator_parameters(const TileParams& p) {
    const std::pair<const char*, int> values[] = {
        {"ROWS", p.rows},         {"COLS", p.cols},         {"BNN", p.bnn},
        {"A_BITS", p.a_bits},     {"A_SIGNED", p.a_signed}, {"W_BITS", p.w_bits},
        {"W_SIGNED", p.w_signed}, {"CHUNK", p.chunk},
        {"ACC_BITS", p.acc_bits}, {"SATURATE", p.saturate}, {"BIAS_POST", p.bias_post},
        {"RQ_KIND", p.rq_kind},
        {"MULT_BITS", p.mult_bits}, {"SHIFT_BITS", p.shift_bits}, {"ALLOW_LEFT", p.allow_left},
        {"ROUNDING", p.rounding}, {"Y_BITS", p.y_bits}};
    std::vector<std::string> out;
    for (const auto& [name, value] : values) out.push_back("-G" + std::string(name) + "=" + std::to_string(value));
    return out;
}

std::string describe(const TileParams& p) {
    std::string s;
    for (const std::string& g : verilator_parameters(p)) s += (s.empty() ? "" : " ") + g.substr(2);
    return s;
}

}  // namespace bitnpu::rtl
