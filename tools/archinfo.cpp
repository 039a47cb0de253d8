// archinfo: validate an architecture YAML file and print what follows from
// it (ranges, product widths, the longest safe dot product, requant limits).
//   archinfo FILE.yaml [--json]
// Exit 0 when the file is valid, 2 with "error: ..." when it is not.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>

#include "bitnpu/arch/derived.hpp"
#include "bitnpu/arch/load.hpp"
#include "cli_main.hpp"

using namespace bitnpu::arch;
using json = nlohmann::ordered_json;

namespace {

std::string range_text(ValueRange r) { return fmt::format("[{}, {}]", r.min, r.max); }

std::string k_text(std::int64_t k) {
    return k == std::numeric_limits<std::int64_t>::max() ? "unbounded" : std::to_string(k);
}

std::string precision_text(const Precision& p) {
    return p.weight ? fmt::format("{} x {}", to_string(*p.weight), to_string(p.activation))
                    : std::string(to_string(p.activation));
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
    return out;
}

std::string requant_text(const RequantSpec& r, const RequantLimits& l) {
    std::string regs;
    switch (r.kind) {
        case RequantKind::shifter:
            regs = fmt::format("shift {}..{} ({} bits{})", l.shift_min, l.shift_max, r.shift_bits,
                               r.allow_left_shift ? ", left shifts allowed" : "");
            break;
        case RequantKind::multiplier:
            regs = fmt::format("M 0..{} ({} bits), shift {}..{} ({} bits)", l.multiplier_max, r.multiplier_bits,
                               l.shift_min, l.shift_max, r.shift_bits);
            break;
        case RequantKind::gemmlowp:
            regs = fmt::format("M 0..{} (Q31), TFLite shift {}..{}", l.multiplier_max, l.shift_min, l.shift_max);
            break;
        case RequantKind::float32: regs = "fp32 scale"; break;
    }
    return fmt::format("{}: {}, {}, {}; m' in [{:.6g}, {:.6g}]", to_string(r.kind), regs, to_string(r.rounding),
                       r.per_channel ? "per-channel" : "per-tensor", l.realized_min, l.realized_max);
}

void print_engine(const EngineSpec& e, const EngineFacts& f) {
    const std::string shape = e.kind == EngineKind::mac_array
                                  ? fmt::format("{}x{} {}", e.array.rows, e.array.cols, to_string(e.dataflow))
                                  : fmt::format("{} lanes", e.lanes);
    fmt::print("\nengine {} ({}, {})\n", e.name, to_string(e.kind), shape);
    fmt::print("  ops          {}\n", join(e.ops));
    fmt::print("  accumulator  {}-bit {} {}\n", e.accumulator.bits, to_string(e.accumulator.overflow),
               range_text(f.accumulator));
    if (e.kind == EngineKind::mac_array) {
        fmt::print("  bias         {}-bit {} {}\n", e.bias.bits, to_string(e.bias.stage), range_text(f.bias));
    }
    fmt::print("  requant      {}\n", requant_text(e.requant, f.requant));
    fmt::print("  zero-points  activation {}, weight {}; restricted range {}\n", e.zero_point.activation ? "yes" : "no",
               e.zero_point.weight ? "yes" : "no", e.restricted_range ? "yes" : "no");
    if (e.lut) fmt::print("  lut          {} entries\n", e.lut->entries);
    fmt::print("  {:<14} {:<16} {:<16} {:<22} {:>4} {:>11} {:>11}\n", "precision", "activation", "weight",
               "product", "bits", "max K", "max K -bias");
    for (const PrecisionFacts& p : f.precisions) {
        fmt::print("  {:<14} {:<16} {:<16} {:<22} {:>4} {:>11} {:>11}\n", precision_text(p.precision),
                   range_text(p.activation_operand), p.precision.weight ? range_text(p.weight_operand) : "-",
                   range_text(p.product), p.product_bits, k_text(p.max_safe_k), k_text(p.max_safe_k_without_bias));
    }
}

void print_text(const ArchSpec& spec) {
    fmt::print("{} ({})\n", spec.name, spec.source_path);
    if (!spec.description.empty()) fmt::print("  {}\n", spec.description);
    fmt::print("  sha256 {}\n", spec.content_hash);
    fmt::print("  clock {} MHz, SRAM {} KiB, DRAM {} B/cycle\n", spec.clock_mhz, spec.memory.sram_kib,
               spec.memory.dram_bytes_per_cycle);
    for (const EngineSpec& e : spec.engines) print_engine(e, derive_engine_facts(e));
    fmt::print("\nmapping");
    if (spec.op_mapping.empty()) fmt::print(" (none: first engine listing the op)");
    for (const auto& [op, engine] : spec.op_mapping) fmt::print(" {}->{}", op, engine);
    fmt::print("\n");
    if (!spec.node_mapping.empty()) {
        fmt::print("node_mapping");
        for (const auto& [node, engine] : spec.node_mapping) fmt::print(" {}->{}", node, engine);
        fmt::print("\n");
    }
    fmt::print("host fallback {}\n", !spec.host.enabled ? "disabled"
                                     : spec.host.ops.empty() ? "enabled for any op"
                                                             : "enabled for " + join(spec.host.ops));
    fmt::print("(activation/weight columns are operand ranges after zero-point subtraction; max K counts the\n"
               " worst-case bias, max K -bias does not; see docs/arch.md \"Derived facts\")\n");
}

json range_json(ValueRange r) { return json::array({r.min, r.max}); }

json engine_json(const EngineSpec& e, const EngineFacts& f) {
    json j = {{"name", e.name}, {"kind", to_string(e.kind)}, {"ops", e.ops}};
    if (e.kind == EngineKind::mac_array) {
        j["array"] = {{"rows", e.array.rows}, {"cols", e.array.cols}};
        j["dataflow"] = to_string(e.dataflow);
        j["bias"] = {{"bits", e.bias.bits}, {"stage", to_string(e.bias.stage)}, {"range", range_json(f.bias)}};
    } else {
        j["lanes"] = e.lanes;
    }
    j["accumulator"] = {{"bits", e.accumulator.bits},
                        {"overflow", to_string(e.accumulator.overflow)},
                        {"range", range_json(f.accumulator)}};
    const RequantLimits& l = f.requant;
    j["requant"] = {{"kind", to_string(e.requant.kind)},
                    {"rounding", to_string(e.requant.rounding)},
                    {"per_channel", e.requant.per_channel},
                    {"realized_min", l.realized_min},
                    {"realized_max", l.realized_max}};
    if (l.has_registers) {
        j["requant"]["multiplier"] = json::array({l.multiplier_min, l.multiplier_max});
        j["requant"]["shift"] = json::array({l.shift_min, l.shift_max});
        j["requant"]["shift_convention"] = l.shift_is_exponent ? "tflite_exponent" : "right_shift";
    }
    j["zero_point"] = {{"activation", e.zero_point.activation}, {"weight", e.zero_point.weight}};
    j["restricted_range"] = e.restricted_range;
    if (e.lut) j["lut_entries"] = e.lut->entries;
    j["precisions"] = json::array();
    for (const PrecisionFacts& p : f.precisions) {
        json pj = {{"activation", to_string(p.precision.activation)},
                   {"activation_range", range_json(p.activation)},
                   {"activation_operand", range_json(p.activation_operand)},
                   {"product", range_json(p.product)},
                   {"product_bits", p.product_bits},
                   {"max_safe_k", p.max_safe_k},
                   {"max_safe_k_without_bias", p.max_safe_k_without_bias}};
        if (p.precision.weight) {
            pj["weight"] = to_string(*p.precision.weight);
            pj["weight_range"] = range_json(p.weight);
            pj["weight_operand"] = range_json(p.weight_operand);
        }
        j["precisions"].push_back(pj);
    }
    return j;
}

json arch_json(const ArchSpec& spec) {
    json j = {{"name", spec.name},
              {"description", spec.description},
              {"source_path", spec.source_path},
              {"sha256", spec.content_hash},
              {"clock_mhz", spec.clock_mhz},
              {"memory", {{"sram_kib", spec.memory.sram_kib}, {"dram_bytes_per_cycle", spec.memory.dram_bytes_per_cycle}}},
              {"mapping", spec.op_mapping},
              {"node_mapping", spec.node_mapping},
              {"host", {{"enabled", spec.host.enabled}, {"ops", spec.host.ops}}}};
    j["engines"] = json::array();
    for (const EngineSpec& e : spec.engines) j["engines"].push_back(engine_json(e, derive_engine_facts(e)));
    return j;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Validate a bitnpu architecture file and print its derived facts (docs/arch.md)."};
    std::string file;
    bool as_json = false;
    app.add_option("file", file, "architecture YAML file")->required();
    app.add_flag("--json", as_json, "print JSON instead of a table");
    return bitnpu::cli::run_cli(app, argc, argv, [&] {
        const ArchSpec spec = load_arch(file);
        if (as_json) {
            std::cout << arch_json(spec).dump(2) << "\n";
        } else {
            print_text(spec);
        }
        return 0;
    });
}
