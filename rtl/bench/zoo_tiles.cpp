#include "zoo_tiles.hpp"

#include <map>
#include <memory>
#include <ostream>
#include <set>

#include "bitnpu/arch/load.hpp"
#include "bitnpu/compile/program.hpp"
#include "bitnpu/ctable/ctable.hpp"
#include "bitnpu/graph/onnx_import.hpp"
#include "bitnpu/frontend/passes.hpp"
#include "bitnpu/frontend/tensor_io.hpp"
#include "bitnpu/errors.hpp"
#include "cosim_run.hpp"
#include "layer_tiles.hpp"
#include "tile_sim.hpp"

namespace bitnpu::rtl {
namespace {

// The first `count` images of a batch-first float tensor.
calib::Tensor first_images(const std::string& path, int count) {
    const calib::Tensor all = calib::load_npy(path).cast(calib::DType::f32);
    if (all.rank() < 1 || all.dim(0) < 1) throw UserError(path + ": expected a batch of inputs");
    if (count < 1 || count > all.dim(0))
        throw UserError(path + " has " + std::to_string(all.dim(0)) + " inputs; asked for " + std::to_string(count));
    calib::Shape shape = all.shape();
    shape[0] = count;
    std::vector<float> values(all.data<float>(), all.data<float>() + all.numel() / all.dim(0) * count);
    return calib::Tensor::from_vector<float>(shape, values);
}

// The functional model's integer input and output of every MAC node.
struct MacTensors {
    std::map<int, sim::QTensor> by_id;
};

MacTensors run_functional(const sim::QuantGraph& graph, const calib::Tensor& images) {
    std::set<int> wanted;
    for (const sim::QuantNode& node : graph.nodes)
        if (std::holds_alternative<sim::MacLayer>(node.params)) {
            wanted.insert(node.inputs.at(0));
            wanted.insert(node.outputs.at(0));
        }
    MacTensors kept;
    const sim::TensorObserver keep = [&](const sim::QuantNode*, int id, const sim::QTensor& value) {
        if (wanted.count(id)) kept.by_id[id] = value;
    };
    const sim::FloatTensor input{images.shape(),
                                 std::vector<float>(images.data<float>(), images.data<float>() + images.numel())};
    sim::GraphRunner(graph).run({input}, {}, keep);
    return kept;
}

// Tile indices to run: all, or `limit` spread evenly (first and last included).
std::vector<std::uint64_t> pick_tiles(std::uint64_t total, std::uint64_t limit) {
    std::vector<std::uint64_t> picked;
    if (limit == 0 || limit >= total) {
        for (std::uint64_t t = 0; t < total; ++t) picked.push_back(t);
        return picked;
    }
    for (std::uint64_t n = 0; n < limit; ++n)
        picked.push_back(limit == 1 ? 0 : n * (total - 1) / (limit - 1));
    return picked;
}

class ZooRunner {
public:
    ZooRunner(const ZooOptions& o, std::ostream& out) : o_(o), out_(out) {}

    ZooLayerReport run_layer(const arch::ArchSpec& arch, const sim::QuantNode& node, const MacTensors& t) {
        const auto& layer = std::get<sim::MacLayer>(node.params);
        ZooLayerReport r;
        r.node = node.name;
        r.op = node.op_type;
        r.engine = node.engine;
        const arch::EngineSpec* engine = arch.find_engine(node.engine);
        if (!engine || engine->kind != arch::EngineKind::mac_array) {
            r.skipped = "engine '" + node.engine + "' is not a mac_array engine";
            return r;
        }
        TileConfig config;
        try {
            config = tile_config_for(*engine, arch::Precision{layer.weight_type, layer.input_type});
            r.variant = find_variant(config).name;
        } catch (const UserError& e) {
            r.skipped = e.what();
            return r;
        }
        if (const std::string why = rtl_limitation(layer, config); !why.empty()) {
            r.skipped = why;
            return r;
        }
        const sim::QTensor& x = t.by_id.at(node.inputs.at(0));
        const sim::QTensor& y = t.by_id.at(node.outputs.at(0));
        const LayerTiling tiling = tiling_for(layer, y, config.params.rows, config.params.cols);
        r.k = tiling.k;
        r.groups = tiling.groups;
        r.pixels = tiling.pixels;
        r.channels = tiling.channels_per_group * tiling.groups;
        r.tiles_total = tiling.count();
        TileSim& sim = sim_for(r.variant, config);
        for (std::uint64_t index : pick_tiles(tiling.count(), o_.tiles_per_layer))
            check_tile(config, sim, cut_tile(config, layer, x, y, tiling, index), r);
        return r;
    }

private:
    TileSim& sim_for(const std::string& variant, const TileConfig& config) {
        auto it = sims_.find(variant);
        if (it == sims_.end()) {
            const TileVariant& v = find_variant(config);
            it = sims_.emplace(variant, o_.make_sim ? o_.make_sim(v, config) : v.make(config)).first;
        }
        return *it->second;
    }

    void check_tile(const TileConfig& c, TileSim& sim, const LayerTile& tile, ZooLayerReport& r) {
        const TileResult got = sim.run(tile.vector);
        ++r.tiles_run;
        r.rtl_cycles += got.cycles;
        const int beats = c.params.bnn ? (tile.vector.k + c.params.chunk - 1) / c.params.chunk : tile.vector.k;
        if (got.cycles != tile_latency(c.params, beats)) ++r.latency_errors;
        const int cols = c.params.cols;
        for (std::size_t e = 0; e < tile.expected.size(); ++e) {
            if (!tile.valid[e]) continue;
            ++r.outputs;
            if (got.complete && got.y[e] == tile.expected[e]) continue;
            if (reported_++ < o_.max_reported) {
                const int i = int(e) / cols, j = int(e) % cols;
                out_ << "mismatch in layer " << r.node << " (" << tile.where << ") at tile output (" << i << ", " << j
                     << "): functional model " << tile.expected[e] << ", RTL "
                     << (got.complete ? std::to_string(got.y[e]) : std::string("no output")) << "\n"
                     << describe_output(c, tile.vector, i, j);
            }
            ++r.mismatches;
        }
    }

    const ZooOptions& o_;
    std::ostream& out_;
    std::map<std::string, std::unique_ptr<TileSim>> sims_;
    int reported_ = 0;
};

}  // namespace

ZooReport run_zoo(const ZooOptions& o, std::ostream& out) {
    const arch::ArchSpec arch = arch::load_arch(o.arch_path);
    calib::Graph graph = calib::load_onnx(o.model_path);
    calib::run_standard_passes(graph);
    const calib::CTable table = calib::read_ctable(o.ctable_path);
    const calib::Tensor images = first_images(o.images_path, o.images);
    const calib::Program program = calib::build_program(graph, arch, table, images.shape());
    if (program.qgraph.inputs.size() != 1) throw UserError(o.model_path + ": zoo tiles need a model with one input");
    const MacTensors tensors = run_functional(program.qgraph, images);
    out << "zoo tiles: " << o.model_path << " on " << arch.name << ", " << o.images << " image(s) of "
        << o.images_path << "\n";

    ZooRunner runner(o, out);
    ZooReport report;
    for (const sim::QuantNode& node : program.qgraph.nodes) {
        if (!std::holds_alternative<sim::MacLayer>(node.params)) continue;
        ZooLayerReport r = runner.run_layer(arch, node, tensors);
        report.tiles += r.tiles_run;
        report.outputs += r.outputs;
        report.mismatches += r.mismatches;
        report.latency_errors += r.latency_errors;
        report.rtl_cycles += r.rtl_cycles;
        report.skipped_layers += r.skipped.empty() ? 0 : 1;
        report.layers.push_back(std::move(r));
    }
    return report;
}

void print_zoo_report(const ZooReport& report, std::ostream& out) {
    for (const ZooLayerReport& l : report.layers) {
        out << "  " << l.node << " (" << l.op << ", engine " << l.engine << "): ";
        if (!l.skipped.empty()) {
            out << "skipped: " << l.skipped << "\n";
            continue;
        }
        out << "variant " << l.variant << ", K=" << l.k << ", groups=" << l.groups << ", " << l.pixels
            << " pixels x " << l.channels << " channels, tiles " << l.tiles_run << "/" << l.tiles_total << ", outputs "
            << l.outputs << ", mismatches " << l.mismatches << "\n";
    }
    out << "MAC layers: " << report.layers.size() << " (" << report.skipped_layers << " skipped)\n"
        << "tiles checked: " << report.tiles << ", outputs compared: " << report.outputs << "\n"
        << "mismatches: " << report.mismatches << "\n"
        << "latency errors: " << report.latency_errors << "\n"
        << "RTL cycles: " << report.rtl_cycles << "\n";
}

}  // namespace bitnpu::rtl
