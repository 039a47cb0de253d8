// Tiling of a vector-engine layer: the output is cut into tiles of
// lanes * kVectorTileElementsPerLane elements, which the lane process steps
// through one element per lane per cycle, ops_per_element cycles an output
// (docs/timing.md "Vector engines"). Every output element comes from the
// functional per-element helper of its op, so results equal run_*_layer bit
// for bit.
#include <algorithm>
#include <memory>

#include "bitnpu/errors.hpp"
#include "bitnpu/sim/functional/broadcast.hpp"
#include "bitnpu/sim/systemc/tile_plan.hpp"

namespace bitnpu::sim::systemc {

namespace {

// What the tiler needs to know of one op: output shape and type, cost per
// output element, and a function computing output elements [e0, e1).
struct VectorOp {
    Shape shape;
    arch::ValueType out_type = arch::ValueType::int8;
    std::int64_t ops_per_element = 1;
    std::function<void(QTensor& y, std::int64_t e0, std::int64_t e1)> compute;
};

template <class Fn>
VectorOp binary(const QTensor& a, const QTensor& b, arch::ValueType out_type, Fn element) {
    VectorOp op;
    op.shape = broadcast_shape(a.shape, b.shape);
    op.out_type = out_type;
    auto ia = std::make_shared<std::vector<std::int64_t>>(broadcast_indices(a.shape, op.shape));
    auto ib = std::make_shared<std::vector<std::int64_t>>(broadcast_indices(b.shape, op.shape));
    op.compute = [&a, &b, ia, ib, element](QTensor& y, std::int64_t e0, std::int64_t e1) {
        for (std::int64_t e = e0; e < e1; ++e)
            y.values[static_cast<std::size_t>(e)] = static_cast<std::int32_t>(
                element(a.values[static_cast<std::size_t>((*ia)[e])], b.values[static_cast<std::size_t>((*ib)[e])]));
    };
    return op;
}

// Pooling: the windows of one plane, computed once, shared by every plane.
template <class Fn>
VectorOp pooling(const PoolGeometry& geometry, const QTensor& x, arch::ValueType out_type, Fn window_value) {
    if (x.shape.size() != 4) throw UserError("pooling needs an NCHW input");
    VectorOp op;
    op.shape = pool_output_shape(geometry, x.shape);
    op.out_type = out_type;
    auto windows = std::make_shared<std::vector<PoolWindow>>();
    for (std::int64_t oy = 0; oy < op.shape[2]; ++oy)
        for (std::int64_t ox = 0; ox < op.shape[3]; ++ox) windows->push_back(pool_window(geometry, x.shape, oy, ox));
    std::int64_t widest = 1;
    for (const PoolWindow& w : *windows) widest = std::max(widest, w.padded_count);
    op.ops_per_element = widest;
    const std::int64_t plane_in = x.shape[2] * x.shape[3], plane_out = static_cast<std::int64_t>(windows->size());
    op.compute = [&x, windows, plane_in, plane_out, window_value](QTensor& y, std::int64_t e0, std::int64_t e1) {
        for (std::int64_t e = e0; e < e1; ++e) {
            const std::int32_t* plane = x.values.data() + (e / plane_out) * plane_in;
            y.values[static_cast<std::size_t>(e)] =
                static_cast<std::int32_t>(window_value(plane, (*windows)[static_cast<std::size_t>(e % plane_out)]));
        }
    };
    return op;
}

VectorOp concat_op(const ConcatLayer& layer, const std::vector<const QTensor*>& inputs) {
    const ConcatGeometry g = concat_geometry(layer, inputs);
    VectorOp op;
    op.shape = g.out_shape;
    op.out_type = layer.output_type;
    const std::int64_t inner = g.inner;
    const int axis = g.axis;
    // Output element e lies in outer block e / out_block at offset r; the
    // inputs' blocks follow each other inside it.
    const std::int64_t out_block = op.shape[static_cast<std::size_t>(axis)] * inner;
    op.compute = [&layer, inputs, inner, axis, out_block](QTensor& y, std::int64_t e0, std::int64_t e1) {
        for (std::int64_t e = e0; e < e1; ++e) {
            const std::int64_t o = e / out_block;
            std::int64_t r = e % out_block;
            std::size_t i = 0;
            for (;; ++i) {
                const std::int64_t block = inputs[i]->shape[static_cast<std::size_t>(axis)] * inner;
                if (r < block) {
                    y.values[static_cast<std::size_t>(e)] = static_cast<std::int32_t>(concat_output_element(
                        layer, i, inputs[i]->values[static_cast<std::size_t>(o * block + r)]));
                    break;
                }
                r -= block;
            }
        }
    };
    return op;
}

VectorOp requantize_op(const RequantizeLayer& layer, const QTensor& x) {
    const bool per_channel = check_requantize_layer(layer, x.shape);
    VectorOp op;
    op.shape = x.shape;
    op.out_type = layer.output_type;
    op.compute = [&layer, &x, per_channel](QTensor& y, std::int64_t e0, std::int64_t e1) {
        for (std::int64_t e = e0; e < e1; ++e) {
            const std::int64_t c = per_channel ? channel_of(x.shape, layer.axis, e) : 0;
            y.values[static_cast<std::size_t>(e)] =
                static_cast<std::int32_t>(requantize_output_element(layer, c, x.values[static_cast<std::size_t>(e)]));
        }
    };
    return op;
}

VectorOp make_op(const LayerParams& params, const std::vector<const QTensor*>& in) {
    if (const auto* l = std::get_if<AddLayer>(&params))
        return binary(*in[0], *in[1], l->output_type, [l](std::int64_t a, std::int64_t b) { return add_output_element(*l, a, b); });
    if (const auto* l = std::get_if<MulLayer>(&params))
        return binary(*in[0], *in[1], l->output_type, [l](std::int64_t a, std::int64_t b) { return mul_output_element(*l, a, b); });
    if (const auto* l = std::get_if<MaxPoolLayer>(&params)) {
        for (std::int64_t oy = 0, oh = pool_output_shape(l->geometry, in[0]->shape)[2]; oy < oh; ++oy)
            for (std::int64_t ox = 0, ow = pool_output_shape(l->geometry, in[0]->shape)[3]; ox < ow; ++ox)
                if (pool_window(l->geometry, in[0]->shape, oy, ox).offsets.empty())
                    throw UserError("a MaxPool window lies entirely in the padding");
        return pooling(l->geometry, *in[0], in[0]->quant.type, [](const std::int32_t* plane, const PoolWindow& w) {
            std::int32_t m = plane[w.offsets[0]];   // MaxPool is exact: no datapath step to share
            for (std::int64_t off : w.offsets) m = std::max(m, plane[off]);
            return static_cast<std::int64_t>(m);
        });
    }
    if (const auto* l = std::get_if<AvgPoolLayer>(&params))
        return pooling(l->geometry, *in[0], l->output_type, [l](const std::int32_t* plane, const PoolWindow& w) {
            std::int32_t values[1024];
            std::vector<std::int32_t> big;
            std::int32_t* v = values;
            if (w.offsets.size() > 1024) {
                big.resize(w.offsets.size());
                v = big.data();
            }
            for (std::size_t i = 0; i < w.offsets.size(); ++i) v[i] = plane[w.offsets[i]];
            const auto valid = static_cast<std::int64_t>(w.offsets.size());
            return avg_pool_output_element(*l, v, valid, l->count_include_pad ? w.padded_count : valid);
        });
    if (const auto* l = std::get_if<ConcatLayer>(&params)) return concat_op(*l, in);
    if (const auto* l = std::get_if<ResizeLayer>(&params)) {
        VectorOp op;
        op.shape = resize_output_shape(*l, in[0]->shape);
        op.out_type = in[0]->quant.type;
        const QTensor* x = in[0];
        op.compute = [l, x](QTensor& y, std::int64_t e0, std::int64_t e1) {
            for (std::int64_t e = e0; e < e1; ++e)
                y.values[static_cast<std::size_t>(e)] = static_cast<std::int32_t>(resize_output_element(*l, *x, e));
        };
        return op;
    }
    if (const auto* l = std::get_if<LutLayer>(&params)) {
        VectorOp op;
        op.shape = in[0]->shape;
        op.out_type = l->output_type;
        const QTensor* x = in[0];
        op.compute = [l, x](QTensor& y, std::int64_t e0, std::int64_t e1) {
            for (std::int64_t e = e0; e < e1; ++e)
                y.values[static_cast<std::size_t>(e)] =
                    static_cast<std::int32_t>(lut_output_element(*l, x->values[static_cast<std::size_t>(e)]));
        };
        return op;
    }
    if (const auto* l = std::get_if<RequantizeLayer>(&params)) return requantize_op(*l, *in[0]);
    throw UserError("this layer does not run on a vector engine");
}

}  // namespace

LayerPlan plan_vector_layer(const LayerParams& params, const arch::EngineSpec& engine,
                            const std::vector<const QTensor*>& inputs, QTensor& y, std::int64_t sram_bytes) {
    if (engine.kind != arch::EngineKind::vector || engine.lanes <= 0)
        throw UserError("engine '" + engine.name + "' is not a vector engine with lanes");
    auto op = std::make_shared<VectorOp>(make_op(params, inputs));
    y = QTensor(op->shape, per_tensor(op->out_type, 1.0f, 0));
    const std::int64_t E = y.size(), lanes = engine.lanes, chunk = lanes * kVectorTileElementsPerLane;
    LayerPlan plan;
    plan.pes = lanes;
    QTensor* out = &y;
    for (std::int64_t e0 = 0; e0 < E; e0 += chunk) {
        const std::int64_t e1 = std::min(E, e0 + chunk), n = e1 - e0;
        Tile t;
        t.work = LaneTileSpec{lanes, n, op->ops_per_element};
        for (const QTensor* x : inputs)
            t.load_bytes += packed_bytes((x->size() * n + E - 1) / E, x->quant.type);
        t.store_bytes = packed_bytes(n, op->out_type);
        t.compute = [op, out, e0, e1] { op->compute(*out, e0, e1); };
        plan.tile_footprint_bytes = std::max(plan.tile_footprint_bytes, t.load_bytes + t.store_bytes);
        plan.tiles.push_back(std::move(t));
    }
    plan.pipeline_depth = kVectorPipelineDepth;
    plan.double_buffered = 2 * plan.tile_footprint_bytes <= sram_bytes;
    return plan;
}

}  // namespace bitnpu::sim::systemc
