// Tiling of a MAC layer on an R x C array (docs/timing.md "MAC arrays").
// The layer is a GEMM per group: M output pixels (rows) x K reduction x Ng
// output channels. Output-stationary arrays hold an R x C block of outputs
// and stream K; weight-stationary arrays hold an R x C block of weights
// (R of K, C of Ng) and stream the M rows through it.
#include <algorithm>
#include <cmath>
#include <memory>

#include "bitnpu/errors.hpp"
#include "bitnpu/sim/systemc/tile_plan.hpp"

namespace bitnpu::sim::systemc {

std::int64_t packed_bytes(std::int64_t elements, arch::ValueType t) {
    return (elements * arch::bit_width(t) + 7) / 8;
}

std::int64_t dma_cycles(std::int64_t bytes, double bytes_per_cycle) {
    if (bytes <= 0) return 0;
    return static_cast<std::int64_t>(std::ceil(static_cast<double>(bytes) / bytes_per_cycle));
}

namespace {

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// The GEMM view of a MAC layer and how to address its output.
struct MacGeometry {
    std::int64_t groups = 1, M = 0, K = 0, Ng = 0;   // per group
    std::int64_t batch = 1, out_h = 1, out_w = 1;     // conv: M = batch * out_h * out_w
    std::int64_t out_channels = 0;
    std::int64_t group_input_elements = 0;            // input values one group reads
};

MacGeometry mac_geometry(const MacLayer& layer, const QTensor& x, const Shape& y_shape) {
    MacGeometry g;
    g.K = reduction_length(layer);
    g.out_channels = output_channels(layer);
    if (layer.kind == MacKind::conv) {
        g.groups = layer.geometry.groups;
        g.batch = y_shape[0];
        g.out_h = y_shape[2];
        g.out_w = y_shape[3];
        g.M = g.batch * g.out_h * g.out_w;
        g.group_input_elements = x.size() / g.groups;
    } else {
        g.M = x.size() / g.K;
        g.group_input_elements = x.size();
    }
    g.Ng = g.out_channels / g.groups;
    return g;
}

// Computes outputs rows [m0, m1) x group channels [n0, n1) of group grp with
// the functional per-element helpers (im2col_row, mac_output_element).
void compute_block(const MacLayer& layer, const MacGeometry& g, const QTensor& x, QTensor& y, std::int64_t grp,
                   std::int64_t m0, std::int64_t m1, std::int64_t n0, std::int64_t n1) {
    std::vector<std::int32_t> row(static_cast<std::size_t>(g.K));
    const std::int64_t plane = g.out_h * g.out_w;
    for (std::int64_t m = m0; m < m1; ++m) {
        const std::int64_t n = m / plane, oy = (m % plane) / g.out_w, ox = m % g.out_w;
        if (layer.kind == MacKind::conv)
            im2col_row(layer, x, n, grp, oy, ox, row.data());
        else
            im2col_row(layer, x, m, 0, 0, 0, row.data());
        for (std::int64_t j = n0; j < n1; ++j) {
            const std::int64_t oc = grp * g.Ng + j;
            const std::int64_t index =
                layer.kind == MacKind::conv ? (n * g.out_channels + oc) * plane + oy * g.out_w + ox : m * g.out_channels + oc;
            y.values[static_cast<std::size_t>(index)] = static_cast<std::int32_t>(mac_output_element(layer, oc, row.data()));
        }
    }
}

}  // namespace

LayerPlan plan_mac_layer(const MacLayer& layer, const arch::EngineSpec& engine, const QTensor& x, QTensor& y,
                         std::int64_t sram_bytes) {
    validate(layer);
    if (engine.kind != arch::EngineKind::mac_array || engine.array.rows <= 0 || engine.array.cols <= 0)
        throw UserError("engine '" + engine.name + "' is not a MAC array: it cannot run a Conv/Gemm layer");
    y = QTensor(mac_output_shape(layer, x.shape), per_tensor(layer.output_type, 1.0f, layer.output_zero_point));
    auto geo = std::make_shared<MacGeometry>(mac_geometry(layer, x, y.shape));
    const MacGeometry& g = *geo;
    const std::int64_t R = engine.array.rows, C = engine.array.cols;
    const arch::ValueType in_t = layer.input_type, w_t = layer.weight_type, out_t = layer.output_type;

    LayerPlan plan;
    plan.macs = g.groups * g.M * g.K * g.Ng;
    plan.pes = R * C;
    QTensor* out = &y;
    const MacLayer* L = &layer;
    const QTensor* in = &x;
    if (engine.dataflow == arch::Dataflow::weight_stationary) {
        // Tile = R of K x C of Ng weights held in the array; all M rows stream through.
        for (std::int64_t grp = 0; grp < g.groups; ++grp)
            for (std::int64_t n0 = 0; n0 < g.Ng; n0 += C)
                for (std::int64_t k0 = 0; k0 < g.K; k0 += R) {
                    const std::int64_t n1 = std::min(g.Ng, n0 + C), k_len = std::min(g.K, k0 + R) - k0;
                    const bool last_k = k0 + R >= g.K;
                    Tile t;
                    // R weight rows load one a cycle; all M input rows stream through; the
                    // last K block's sums leave into the accumulators and on to requant.
                    t.work = SystolicTileSpec{R, C, k_len, n1 - n0, g.M, /*weight_load_cycles=*/R, /*exit_cycle=*/true,
                                              last_k ? MacOutputs::streamed_items : MacOutputs::none};
                    t.load_bytes = packed_bytes(k_len * (n1 - n0), w_t) +
                                   packed_bytes(ceil_div(g.group_input_elements * k_len, g.K), in_t);
                    if (last_k) {
                        t.store_bytes = packed_bytes(g.M * (n1 - n0), out_t);
                        t.compute = [L, geo, in, out, grp, n0, n1] { compute_block(*L, *geo, *in, *out, grp, 0, geo->M, n0, n1); };
                    }
                    plan.tiles.push_back(std::move(t));
                }
    } else {
        // Tile = R rows x C channels of outputs held in the array; K streams through.
        for (std::int64_t grp = 0; grp < g.groups; ++grp)
            for (std::int64_t m0 = 0; m0 < g.M; m0 += R)
                for (std::int64_t n0 = 0; n0 < g.Ng; n0 += C) {
                    const std::int64_t m1 = std::min(g.M, m0 + R), n1 = std::min(g.Ng, n0 + C);
                    Tile t;
                    // K operand pairs stream through; each PE row goes to requant once final.
                    t.work = SystolicTileSpec{R, C, m1 - m0, n1 - n0, g.K, 0, false, MacOutputs::array_rows};
                    t.load_bytes = packed_bytes(g.K * (n1 - n0), w_t);
                    if (n0 == 0)  // the rows' inputs stay in SRAM across the channel blocks
                        t.load_bytes += packed_bytes(ceil_div(g.group_input_elements * (m1 - m0), g.M), in_t);
                    t.store_bytes = packed_bytes((m1 - m0) * (n1 - n0), out_t);
                    t.compute = [L, geo, in, out, grp, m0, m1, n0, n1] { compute_block(*L, *geo, *in, *out, grp, m0, m1, n0, n1); };
                    plan.tiles.push_back(std::move(t));
                }
    }
    plan.pipeline_depth = kRequantPipelineDepth;
    for (const Tile& t : plan.tiles)
        plan.tile_footprint_bytes = std::max(plan.tile_footprint_bytes, t.load_bytes + t.store_bytes);
    plan.double_buffered = 2 * plan.tile_footprint_bytes <= sram_bytes;
    return plan;
}

}  // namespace bitnpu::sim::systemc
