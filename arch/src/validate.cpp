#include "validate.hpp"

#include <cmath>
#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

#include "bitnpu/arch/derived.hpp"
#include "bitnpu/arch/lut_ops.hpp"
#include "known_ops.hpp"
#include "suggest.hpp"

namespace bitnpu::arch::detail {

namespace {

const std::vector<std::string> kMacOps = {"Conv", "ConvTranspose", "Gemm", "MatMul"};

constexpr int kMaxDimension = 65536;

bool contains(const std::vector<std::string>& list, const std::string& s) {
    return std::find(list.begin(), list.end(), s) != list.end();
}

bool is_identifier(const std::string& s) {
    if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    });
}

bool is_power_of_two(std::int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

std::string range_text(std::int64_t lo, std::int64_t hi) { return std::to_string(lo) + ".." + std::to_string(hi); }

std::string precision_text(const Precision& p) {
    if (!p.weight) return std::string(to_string(p.activation));
    return std::string(to_string(*p.weight)) + " x " + std::string(to_string(p.activation));
}

// "-100", "0.5": numbers as the user wrote them, not "-100.000000".
std::string number_text(double v) {
    std::ostringstream out;
    out << v;
    return out.str();
}

std::string item(const std::string& list, std::size_t i) { return list + "[" + std::to_string(i) + "]"; }

// Reports problems at the position the parser recorded for a field path.
class Checker {
public:
    Checker(const SourceMap& sources, const std::string& origin) : sources_(sources), origin_(origin) {}

    [[noreturn]] void fail(const std::string& path, const std::string& what) const {
        detail::fail(origin_, sources_.value_of(path), path, what);
    }
    // For problems with a key itself (an op named in mapping: ...).
    [[noreturn]] void fail_key(const std::string& path, const std::string& what) const {
        detail::fail(origin_, sources_.key_of(path), path, what);
    }
    void in_range(const std::string& path, std::int64_t value, std::int64_t lo, std::int64_t hi) const {
        if (value < lo || value > hi) fail(path, std::to_string(value) + " is outside " + range_text(lo, hi));
    }
    int line_of(const std::string& path) const { return sources_.value_of(path).line; }

private:
    const SourceMap& sources_;
    const std::string& origin_;
};

void check_op_list(const Checker& c, const std::vector<std::string>& ops, const std::string& path) {
    const std::vector<std::string> known = known_onnx_ops();
    std::set<std::string> seen;
    for (std::size_t i = 0; i < ops.size(); ++i) {
        if (!is_known_onnx_op(ops[i])) {
            c.fail(item(path, i), "'" + ops[i] + "' is not an ONNX op type" + did_you_mean(ops[i], known));
        }
        if (!seen.insert(ops[i]).second) c.fail(item(path, i), ops[i] + " is listed twice");
    }
}

void check_engine_ops(const Checker& c, const EngineSpec& e, const std::string& path) {
    const std::string ops_path = path + ".ops";
    if (e.ops.empty()) c.fail(ops_path, "an engine must run at least one op");
    check_op_list(c, e.ops, ops_path);
    for (std::size_t i = 0; i < e.ops.size(); ++i) {
        const std::string& op = e.ops[i];
        if (e.kind == EngineKind::mac_array && !is_mac_op(op)) {
            c.fail(item(ops_path, i), op + " is not a MAC op; a mac_array runs " + join(kMacOps) +
                                          " (put " + op + " on a vector engine)");
        }
        if (e.kind == EngineKind::vector && is_mac_op(op)) {
            c.fail(item(ops_path, i), op + " multiplies by weights; it needs a mac_array, not a vector engine");
        }
        if (e.kind == EngineKind::vector && needs_lut(op) && !e.lut) {
            c.fail(item(ops_path, i), op + " is evaluated through a lookup table, but the engine has none "
                                           "(add lut: {entries: 256})");
        }
    }
}

void check_shape(const Checker& c, const EngineSpec& e, const std::string& path) {
    if (e.kind == EngineKind::host) {
        c.fail(path + ".kind", "'host' is not an engine kind; the host fallback is the top-level 'host:' section");
    }
    if (e.kind == EngineKind::mac_array) {
        c.in_range(path + ".array.rows", e.array.rows, 1, kMaxDimension);
        c.in_range(path + ".array.cols", e.array.cols, 1, kMaxDimension);
        if (e.lut) c.fail(path + ".lut", "lookup tables belong to vector engines");
    } else {
        c.in_range(path + ".lanes", e.lanes, 1, kMaxDimension);
    }
}

void check_zero_points(const Checker& c, const EngineSpec& e, const std::string& path) {
    if (e.kind == EngineKind::vector && e.zero_point.weight) {
        c.fail(path + ".zero_point.weight", "a vector engine has no weights");
    }
    auto is_binary = [](ValueType t) { return t == ValueType::int1 || t == ValueType::uint1; };
    for (std::size_t k = 0; k < e.precisions.size(); ++k) {
        const Precision& p = e.precisions[k];
        if (e.zero_point.activation && is_binary(p.activation)) {
            c.fail(path + ".zero_point.activation",
                   "precisions[" + std::to_string(k) + "] has " + std::string(to_string(p.activation)) +
                       " activations, which cannot have a zero-point (binary values are computed by popcount)");
        }
        if (e.zero_point.weight && p.weight && is_binary(*p.weight)) {
            c.fail(path + ".zero_point.weight",
                   "precisions[" + std::to_string(k) + "] has " + std::string(to_string(*p.weight)) +
                       " weights, which cannot have a zero-point (binary values are computed by popcount)");
        }
    }
}

// Zero-points widen operands (x - z_x spans twice the type's range), which
// is often why a product no longer fits: say so.
std::string zero_point_note(const EngineSpec& e) {
    if (e.zero_point.activation && e.zero_point.weight) return " (with weight and activation zero-points)";
    if (e.zero_point.activation) return " (with activation zero-points)";
    if (e.zero_point.weight) return " (with weight zero-points)";
    return "";
}

void check_precisions(const Checker& c, const EngineSpec& e, const std::string& path) {
    const std::string list = path + ".precisions";
    if (e.precisions.empty()) c.fail(list, "an engine needs at least one precision");
    for (std::size_t k = 0; k < e.precisions.size(); ++k) {
        const Precision& p = e.precisions[k];
        const std::string at = item(list, k);
        if (e.kind == EngineKind::mac_array && !p.weight) c.fail(at + ".weight", "missing (a mac_array multiplies weights by activations)");
        if (e.kind == EngineKind::vector && p.weight) c.fail(at + ".weight", "a vector engine has no weights");
        for (std::size_t j = 0; j < k; ++j) {
            if (e.precisions[j] == p) c.fail(at, precision_text(p) + " is listed twice (also precisions[" + std::to_string(j) + "])");
        }
        const int needed = product_bits(e, p);
        if (needed > e.accumulator.bits) {
            c.fail(at, precision_text(p) + (e.kind == EngineKind::vector ? " operands need " : " products need ") +
                           std::to_string(needed) + " bits" + zero_point_note(e) + ", more than the " +
                           std::to_string(e.accumulator.bits) + "-bit accumulator holds");
        }
    }
}

void check_accumulator_and_bias(const Checker& c, const EngineSpec& e, const std::string& path) {
    c.in_range(path + ".accumulator.bits", e.accumulator.bits, 2, 64);
    if (e.kind != EngineKind::mac_array) return;
    c.in_range(path + ".bias.bits", e.bias.bits, 2, 64);
    if (e.bias.bits > e.accumulator.bits) {
        c.fail(path + ".bias.bits", std::to_string(e.bias.bits) + "-bit bias does not fit the " +
                                        std::to_string(e.accumulator.bits) + "-bit accumulator");
    }
}

void check_requant(const Checker& c, const EngineSpec& e, const std::string& path) {
    const RequantSpec& r = e.requant;
    const std::string at = path + ".requant";
    if (r.allow_left_shift && r.kind != RequantKind::shifter) {
        c.fail(at + ".allow_left_shift", "only a shifter can shift left");
    }
    switch (r.kind) {
        case RequantKind::multiplier:
            c.in_range(at + ".multiplier_bits", r.multiplier_bits, 1, 32);
            c.in_range(at + ".shift_bits", r.shift_bits, 1, 8);
            break;
        case RequantKind::shifter: c.in_range(at + ".shift_bits", r.shift_bits, 1, 8); break;
        case RequantKind::gemmlowp:
            if (r.multiplier_bits != 32) {
                c.fail(at + ".multiplier_bits", std::to_string(r.multiplier_bits) +
                                                    " contradicts gemmlowp, whose multipliers are Q31 (32 bits)");
            }
            if (r.rounding != RoundingMode::half_away) {
                c.fail(at + ".rounding", std::string(to_string(r.rounding)) +
                                             " contradicts gemmlowp, which rounds half away from zero "
                                             "(use half_away or omit rounding)");
            }
            if (e.accumulator.bits > 32) {
                c.fail(path + ".accumulator.bits", std::to_string(e.accumulator.bits) +
                                                       " bits do not fit gemmlowp's int32 arithmetic (at most 32)");
            }
            break;
        case RequantKind::float32:
            if (r.rounding != RoundingMode::half_even) {
                c.fail(at + ".rounding", std::string(to_string(r.rounding)) +
                                             " contradicts float32 requant, which rounds half to even "
                                             "(use half_even or omit rounding)");
            }
            break;
    }
}

void check_lut(const Checker& c, const EngineSpec& e, const std::string& path) {
    if (!e.lut) return;
    const std::string at = path + ".lut.entries";
    const int entries = e.lut->entries;
    if (!is_power_of_two(entries) || entries < 2 || entries > kMaxDimension) {
        c.fail(at, std::to_string(entries) + " is not a power of two in 2..65536");
    }
    for (const Precision& p : e.precisions) {
        const std::int64_t needed = std::int64_t{1} << bit_width(p.activation);
        if (entries < needed) {
            c.fail(at, std::to_string(entries) + " entries cannot index " + std::string(to_string(p.activation)) +
                           " activations (needs " + std::to_string(needed) + ")");
        }
    }
}

void check_engine(const Checker& c, const EngineSpec& e, const std::string& path) {
    if (!is_identifier(e.name)) {
        c.fail(path + ".name", "'" + e.name + "' is not a valid engine name (letters, digits, _ - .; not starting with a digit)");
    }
    check_shape(c, e, path);
    check_accumulator_and_bias(c, e, path);
    check_zero_points(c, e, path);
    check_precisions(c, e, path);
    check_requant(c, e, path);
    check_lut(c, e, path);
    check_engine_ops(c, e, path);
}

std::vector<std::string> engine_names(const ArchSpec& spec) {
    std::vector<std::string> names;
    for (const EngineSpec& e : spec.engines) names.push_back(e.name);
    return names;
}

void check_engine_reference(const Checker& c, const ArchSpec& spec, const std::string& path,
                            const std::string& engine) {
    if (!spec.find_engine(engine)) {
        c.fail(path, "no engine named '" + engine + "'" + did_you_mean(engine, engine_names(spec)) +
                         "; engines: " + join(engine_names(spec)));
    }
}

void check_mappings(const Checker& c, const ArchSpec& spec) {
    const std::vector<std::string> known = known_onnx_ops();
    for (const auto& [op, engine] : spec.op_mapping) {
        const std::string path = "mapping." + op;
        if (!is_known_onnx_op(op)) c.fail_key(path, "'" + op + "' is not an ONNX op type" + did_you_mean(op, known));
        check_engine_reference(c, spec, path, engine);
        if (!spec.find_engine(engine)->supports_op(op)) {
            c.fail(path, "engine '" + engine + "' does not run " + op + " (it is not in its ops list)");
        }
    }
    for (const auto& [node, engine] : spec.node_mapping) check_engine_reference(c, spec, "node_mapping." + node, engine);
    check_op_list(c, spec.host.ops, "host.ops");
}

void check_top_level(const Checker& c, const ArchSpec& spec) {
    if (spec.name.empty()) c.fail("name", "must not be empty");
    if (!(spec.clock_mhz > 0)) c.fail("clock_mhz", number_text(spec.clock_mhz) + " must be greater than 0");
    if (spec.memory.sram_kib < 1) c.fail("memory.sram_kib", std::to_string(spec.memory.sram_kib) + " must be at least 1");
    const EnergySpec& e = spec.energy;
    const std::pair<const char*, double> energies[] = {
        {"scale", e.scale}, {"area_scale", e.area_scale}, {"mult_8b_pj", e.mult_8b_pj}, {"add_32b_pj", e.add_32b_pj},
        {"fp32_mult_pj", e.fp32_mult_pj}, {"lut_pj", e.lut_pj}, {"sram_pj_per_byte", e.sram_pj_per_byte},
        {"sram_reference_kib", e.sram_reference_kib}, {"dram_pj_per_byte", e.dram_pj_per_byte},
        {"mult_8b_um2", e.mult_8b_um2}, {"add_32b_um2", e.add_32b_um2}, {"register_bit_um2", e.register_bit_um2}};
    for (const auto& [key, value] : energies)
        if (!(value >= 0.0) || !std::isfinite(value))
            c.fail(std::string("energy.") + key, number_text(value) + " must be a finite number >= 0");
    if (!(spec.memory.dram_bytes_per_cycle > 0)) {
        c.fail("memory.dram_bytes_per_cycle", number_text(spec.memory.dram_bytes_per_cycle) + " must be greater than 0");
    }
    if (spec.engines.empty()) c.fail("engines", "at least one engine is required");
}

}  // namespace

bool is_mac_op(const std::string& op) { return contains(kMacOps, op); }
// The lookup-table ops' table (bitnpu/arch/lut_ops.hpp), `needs_lut` column.
bool needs_lut(const std::string& op) {
    const LutOp* row = find_lut_op(op);
    return row != nullptr && row->needs_lut;
}

void validate(const ArchSpec& spec, const SourceMap& sources, const std::string& origin) {
    const Checker c(sources, origin);
    check_top_level(c, spec);
    for (std::size_t i = 0; i < spec.engines.size(); ++i) {
        const std::string path = item("engines", i);
        for (std::size_t j = 0; j < i; ++j) {
            if (spec.engines[j].name == spec.engines[i].name) {
                const int first_line = c.line_of(item("engines", j) + ".name");
                c.fail(path + ".name", "duplicate engine name '" + spec.engines[i].name + "' (first used by " +
                                           item("engines", j) +
                                           (first_line > 0 ? " at line " + std::to_string(first_line) : "") + ")");
            }
        }
        check_engine(c, spec.engines[i], path);
    }
    check_mappings(c, spec);
}

}  // namespace bitnpu::arch::detail
