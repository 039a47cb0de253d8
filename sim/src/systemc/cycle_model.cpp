// The controller's view of a graph: for each node, find its engine, plan its
// tiles and run them on the SystemC model (npu_top.cpp); host and layout
// nodes run the functional model at zero cost (docs/timing.md).
#include "bitnpu/sim/systemc/cycle_model.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

#include "bitnpu/errors.hpp"
#include "bitnpu/sim/systemc/npu_top.hpp"

namespace bitnpu::sim::systemc {

namespace {

std::string where(const QuantNode& node) { return "node '" + node.name + "' (" + node.op_type + ")"; }

// Zero-cost nodes: data movement the host or the address generator does.
bool runs_off_engine(const QuantNode& node) {
    return std::holds_alternative<ReshapeLayer>(node.params) || std::holds_alternative<HostLayer>(node.params) ||
           node.engine == "host" || node.engine == "layout";
}

// The functional whole-layer functions, for nodes no engine times.
std::vector<QTensor> run_functional(const QuantNode& node, const std::vector<const QTensor*>& in,
                                    const std::vector<QuantParams>& out_quant) {
    const LayerParams& p = node.params;
    if (const auto* l = std::get_if<MacLayer>(&p)) return {run_mac_layer(*l, *in[0])};
    if (const auto* l = std::get_if<AddLayer>(&p)) return {run_add_layer(*l, *in[0], *in[1])};
    if (const auto* l = std::get_if<MulLayer>(&p)) return {run_mul_layer(*l, *in[0], *in[1])};
    if (const auto* l = std::get_if<MaxPoolLayer>(&p)) return {run_max_pool_layer(*l, *in[0])};
    if (const auto* l = std::get_if<AvgPoolLayer>(&p)) return {run_avg_pool_layer(*l, *in[0])};
    if (const auto* l = std::get_if<ConcatLayer>(&p)) return {run_concat_layer(*l, in)};
    if (const auto* l = std::get_if<LutLayer>(&p)) return {run_lut_layer(*l, *in[0])};
    if (const auto* l = std::get_if<RequantizeLayer>(&p)) return {run_requantize_layer(*l, *in[0])};
    if (const auto* l = std::get_if<ReshapeLayer>(&p)) return {run_reshape_layer(*l, *in[0])};
    if (const auto* l = std::get_if<ResizeLayer>(&p)) return {run_resize_layer(*l, *in[0])};
    return run_host_layer(std::get<HostLayer>(p), in, out_quant);
}

int engine_index(const arch::ArchSpec& arch, const QuantNode& node) {
    const arch::EngineSpec* spec =
        node.engine.empty() ? arch.engine_for(node.name, node.op_type) : arch.find_engine(node.engine);
    if (spec == nullptr)
        throw UserError(where(node) + " runs on engine '" + node.engine + "', which arch '" + arch.name +
                        "' does not define (engines must be named in the YAML, or 'host'/'layout')");
    return static_cast<int>(spec - arch.engines.data());
}

void write_vcd(const std::string& path, const arch::ArchSpec& arch, std::vector<TraceChange> changes) {
    std::ofstream out(path);
    if (!out) throw UserError("cannot write VCD file '" + path + "'");
    std::stable_sort(changes.begin(), changes.end(), [](const TraceChange& a, const TraceChange& b) { return a.cycle < b.cycle; });
    const int engines = static_cast<int>(arch.engines.size());
    auto id = [](int s) { return std::string(1, static_cast<char>('!' + s)); };
    auto vector_signal = [](int s) { return s == kTraceTile || s >= kTracePipelineBase; };
    out << "$comment bitnpu cycle model, arch " << arch.name << "; 1 time unit = 1 cycle at " << arch.clock_mhz
        << " MHz $end\n$timescale 1ns $end\n$scope module npu $end\n";
    out << "$var wire 1 " << id(kTraceDma) << " dma_active $end\n";
    out << "$var wire 32 " << id(kTraceTile) << " tile_index $end\n";
    for (int e = 0; e < engines; ++e) {
        const std::string& name = arch.engines[static_cast<std::size_t>(e)].name;
        out << "$var wire 1 " << id(kTraceEngineBase + e) << " " << name << "_busy $end\n";
        out << "$var wire 16 " << id(kTracePipelineBase + e) << " " << name << "_pipeline_rows $end\n";
    }
    out << "$upscope $end\n$enddefinitions $end\n#0\n0" << id(kTraceDma) << "\nb0 " << id(kTraceTile) << "\n";
    for (int e = 0; e < engines; ++e) out << "0" << id(kTraceEngineBase + e) << "\nb0 " << id(kTracePipelineBase + e) << "\n";
    std::int64_t t = 0;
    for (const TraceChange& c : changes) {
        if (c.cycle != t) out << "#" << (t = c.cycle) << "\n";
        if (vector_signal(c.signal)) {
            std::string bits;
            for (std::int64_t v = c.value; v > 0; v >>= 1) bits.insert(bits.begin(), static_cast<char>('0' + (v & 1)));
            out << "b" << (bits.empty() ? "0" : bits) << " " << id(c.signal) << "\n";
        } else {
            out << c.value << id(c.signal) << "\n";
        }
    }
}

// Plans one engine node and runs it on the SystemC model.
QTensor run_on_engine(const QuantNode& node, const arch::ArchSpec& arch, int engine,
                      const std::vector<const QTensor*>& in, LayerReport& report) {
    const arch::EngineSpec& spec = arch.engines[static_cast<std::size_t>(engine)];
    const std::int64_t sram = arch.memory.sram_kib * 1024;
    QTensor y;
    LayerPlan plan;
    if (const auto* mac = std::get_if<MacLayer>(&node.params))
        plan = plan_mac_layer(*mac, spec, *in[0], y, sram);
    else
        plan = plan_vector_layer(node.params, spec, in, y, sram);
    const LayerTiming timing = NpuTop::instance().run_layer(plan, engine, arch.memory.dram_bytes_per_cycle);
    report.cycles = timing.cycles;
    report.compute_cycles = timing.compute_cycles;
    report.stall_cycles = timing.cycles - timing.compute_cycles;
    report.dma_cycles = timing.dma_cycles;
    report.fill_cycles = timing.fill_cycles;
    report.steady_cycles = timing.steady_cycles;
    report.drain_cycles = timing.drain_cycles;
    report.pe_active_cycles = timing.pe_active_cycles;
    for (const Tile& t : plan.tiles) {
        report.dram_bytes_in += t.load_bytes;
        report.dram_bytes_out += t.store_bytes;
    }
    report.macs = plan.macs;
    report.tiles = static_cast<std::int64_t>(plan.tiles.size());
    report.pes = plan.pes;
    report.double_buffered = plan.double_buffered;
    if (plan.macs > 0 && timing.cycles > 0)
        report.mac_utilization = static_cast<double>(plan.macs) / (static_cast<double>(timing.cycles) * plan.pes);
    return y;
}

void add_totals(CycleReport& r, const arch::ArchSpec& arch) {
    double mac_capacity = 0;
    for (const LayerReport& l : r.layers) {
        r.cycles += l.cycles;
        r.compute_cycles += l.compute_cycles;
        r.stall_cycles += l.stall_cycles;
        r.dram_bytes_in += l.dram_bytes_in;
        r.dram_bytes_out += l.dram_bytes_out;
        r.macs += l.macs;
        r.fill_cycles += l.fill_cycles;
        r.steady_cycles += l.steady_cycles;
        r.drain_cycles += l.drain_cycles;
        r.pe_active_cycles += l.pe_active_cycles;
        if (l.macs > 0) mac_capacity += static_cast<double>(l.cycles) * l.pes;
    }
    r.mac_utilization = mac_capacity > 0 ? static_cast<double>(r.macs) / mac_capacity : 0.0;
    r.clock_mhz = arch.clock_mhz;
    r.latency_us = arch.clock_mhz > 0 ? static_cast<double>(r.cycles) / arch.clock_mhz : 0.0;
}

}  // namespace

CycleResult run_cycle_model(const QuantGraph& graph, const arch::ArchSpec& arch, const std::vector<QTensor>& inputs,
                            const CycleOptions& options) {
    validate(graph);
    if (arch.engines.size() > static_cast<std::size_t>(kMaxEngines))
        throw UserError("the cycle model supports at most " + std::to_string(kMaxEngines) + " engines, arch '" +
                        arch.name + "' has " + std::to_string(arch.engines.size()));
    if (!(arch.memory.dram_bytes_per_cycle > 0))
        throw UserError("arch '" + arch.name + "': memory.dram_bytes_per_cycle must be positive");
    std::vector<std::optional<QTensor>> values = graph_input_values(graph, inputs);
    const std::vector<int> last_use = last_uses(graph);
    NpuTop& top = NpuTop::instance();
    std::vector<TraceChange> trace;
    top.trace = options.vcd_path.empty() ? nullptr : &trace;
    top.trace_origin = top.now_cycles();

    CycleResult result;
    try {
        for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
            const QuantNode& node = graph.nodes[n];
            std::vector<const QTensor*> in;
            for (int id : node.inputs) in.push_back(&*values[static_cast<std::size_t>(id)]);
            std::vector<QuantParams> out_quant;
            for (int id : node.outputs) out_quant.push_back(graph.tensors[static_cast<std::size_t>(id)].quant);
            LayerReport report;
            report.name = node.name;
            report.op_type = node.op_type;
            std::vector<QTensor> produced;
            try {
                if (runs_off_engine(node)) {
                    report.engine = node.engine == "host" || std::holds_alternative<HostLayer>(node.params) ? "host" : "layout";
                    produced = run_functional(node, in, out_quant);
                } else {
                    const int engine = engine_index(arch, node);
                    report.engine = arch.engines[static_cast<std::size_t>(engine)].name;
                    produced.push_back(run_on_engine(node, arch, engine, in, report));
                }
            } catch (const UserError& e) {
                throw UserError(where(node) + ": " + e.what());
            }
            store_node_outputs(graph, n, produced, last_use, values);
            result.report.layers.push_back(std::move(report));
        }
    } catch (...) {
        top.trace = nullptr;
        throw;
    }
    top.trace = nullptr;
    for (int id : graph.outputs) result.raw_outputs.push_back(*values[static_cast<std::size_t>(id)]);
    add_totals(result.report, arch);
    if (!options.vcd_path.empty()) write_vcd(options.vcd_path, arch, std::move(trace));
    return result;
}

std::string format_report(const CycleReport& r) {
    std::ostringstream s;
    s << "layer                engine       cycles    compute      stall       fill      drain   bytes_in  bytes_out"
         "   util\n";
    auto line = [&](const std::string& name, const std::string& engine, const LayerReport& l, double util) {
        char buf[320];
        std::snprintf(buf, sizeof buf, "%-20.20s %-10.10s %10lld %10lld %10lld %10lld %10lld %10lld %10lld ",
                      name.c_str(), engine.c_str(), static_cast<long long>(l.cycles),
                      static_cast<long long>(l.compute_cycles), static_cast<long long>(l.stall_cycles),
                      static_cast<long long>(l.fill_cycles), static_cast<long long>(l.drain_cycles),
                      static_cast<long long>(l.dram_bytes_in), static_cast<long long>(l.dram_bytes_out));
        s << buf;
        if (util < 0) {
            s << "     -\n";
        } else {
            std::snprintf(buf, sizeof buf, "%5.1f%%\n", util * 100);
            s << buf;
        }
    };
    for (const LayerReport& l : r.layers) line(l.name, l.engine, l, l.macs > 0 ? l.mac_utilization : -1.0);
    LayerReport total;
    total.cycles = r.cycles;
    total.compute_cycles = r.compute_cycles;
    total.stall_cycles = r.stall_cycles;
    total.fill_cycles = r.fill_cycles;
    total.drain_cycles = r.drain_cycles;
    total.dram_bytes_in = r.dram_bytes_in;
    total.dram_bytes_out = r.dram_bytes_out;
    line("total", "", total, r.mac_utilization);
    s << "latency " << r.latency_us << " us at " << r.clock_mhz << " MHz\n";
    return s.str();
}

}  // namespace bitnpu::sim::systemc
