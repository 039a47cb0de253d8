// Lowering of vector-engine ops (numerics.md "Vector engine units"):
// Add/Sub with two multipliers and one shared shift, Mul, pooling, Concat,
// and lookup tables built from the executor's own FP32 kernel of the op.
#include <algorithm>
#include <cmath>

#include <map>

#include <fmt/format.h>

#include "bitnpu/fp32/executor.hpp"
#include "bitnpu/errors.hpp"
#include "bitnpu/sim/datapath/fp32_vector.hpp"
#include "bitnpu/sim/datapath/quantize.hpp"
#include "bitnpu/sim/datapath/requant.hpp"
#include "lower_ops.hpp"

namespace bitnpu::calib::lowering {
namespace {

// The vector unit's requant as an integer multiplier + shift. Units whose
// kind has no such registers (float32, gemmlowp) are modelled with a 16-bit
// multiplier and 6-bit shift for the elementwise ops (docs/calibrator.md).
arch::RequantSpec integer_requant(const arch::EngineSpec& e) {
    arch::RequantSpec spec = e.requant;
    if (spec.kind == arch::RequantKind::float32 || spec.kind == arch::RequantKind::gemmlowp) {
        spec.kind = arch::RequantKind::multiplier;
        spec.multiplier_bits = 16;
        spec.shift_bits = 6;
        if (e.requant.kind == arch::RequantKind::gemmlowp) spec.rounding = arch::RoundingMode::half_away;
    }
    return spec;
}

sim::RequantRegisters derive(const NodeContext& ctx, double m, double* realized = nullptr) {
    const arch::EngineSpec& e = *ctx.place.engine;
    try {
        const sim::DerivedRequant d = sim::derive_requant(m, e.requant, e.accumulator.bits);
        if (realized) *realized = d.realized;
        return d.registers;
    } catch (const std::domain_error& err) {
        throw UserError(fmt::format("node '{}' ({}): engine '{}' cannot realize multiplier {}: {}", ctx.node.name,
                                    ctx.node.op_type, e.name, m, err.what()));
    }
}

// An Add/Sub's two recorded units (M_a and M_b with one shared shift),
// checked against the vector unit's integer requant. On a shifter the
// multipliers are input barrel shifts: powers of two.
std::optional<std::vector<sim::RequantRegisters>> recorded_add_registers(const NodeContext& ctx,
                                                                         const arch::RequantSpec& spec) {
    const CTableLayer* recorded = ctx.recorded_layer();
    if (!recorded || recorded->requant.empty()) return std::nullopt;
    std::vector<CTableRequant> entries = recorded->requant;
    if (spec.kind == arch::RequantKind::shifter)
        for (std::size_t i = 0; i < entries.size(); ++i) {
            const std::int64_t m = entries[i].multiplier;
            if (m < 1 || m > (std::int64_t{1} << 62) || (m & (m - 1)) != 0)
                throw UserError(fmt::format("{}: requant.channels[{}]: multiplier {} is not a power of two (on a "
                                            "shifter it is an input barrel shift)",
                                            recorded_where(ctx), i, m));
            entries[i].multiplier = 1;   // checked as a shifter's registers below
        }
    std::vector<sim::RequantRegisters> regs =
        checked_registers(ctx, entries, spec, ctx.place.engine->accumulator.bits, 2);
    for (std::size_t i = 0; i < regs.size(); ++i) regs[i].multiplier = recorded->requant[i].multiplier;
    if (regs[0].shift != regs[1].shift)
        throw UserError(fmt::format("{}: requant.channels[0] and [1] have shifts {} and {}; the Add unit has one "
                                    "shared shift",
                                    recorded_where(ctx), regs[0].shift, regs[1].shift));
    return regs;
}

// An Add on an fp32 vector unit (numerics.md "fp32 vector units"): the two
// ratios s_a / s_y and s_b / s_y in fp32 (the CTable's two float_scale
// registers, in input order), the zero points folded into the unit's offset.
// The operands swap when the first input is the broadcast one.
sim::LayerParams lower_fp32_add(const NodeContext& ctx, CTableLayer& record) {
    const std::string& in_a = ctx.node.inputs[0];
    const std::string& in_b = ctx.node.inputs[1];
    const QuantParams& a = ctx.params(in_a);
    const QuantParams& b = ctx.params(in_b);
    const QuantParams& y = ctx.params(ctx.node.outputs[0]);
    const arch::EngineSpec& e = *ctx.place.engine;
    const Shape out = ctx.shape(ctx.node.outputs[0]);
    sim::AddLayer layer;
    layer.fp32_swapped = !out.empty() && ctx.shape(in_a) != out && ctx.shape(in_b) == out;
    const float sa = a.scales[0], sb = b.scales[0], sy = y.scales[0];
    const std::int64_t za = a.zero_points[0], zb = b.zero_points[0], zy = y.zero_points[0];
    // The ratios in input order: the registers as written, else fp32(s / s_y).
    float ratio_a = sa / sy, ratio_b = sb / sy;
    if (auto programmed = recorded_requant(ctx, e.requant, e.accumulator.bits, 2)) {
        ratio_a = programmed->at(0).float_scale;
        ratio_b = programmed->at(1).float_scale;
    }
    const sim::fp32_vector::AddUnit unit = layer.fp32_swapped
                                               ? sim::fp32_vector::add_unit_from_ratios(ratio_b, zb, ratio_a, za, zy)
                                               : sim::fp32_vector::add_unit_from_ratios(ratio_a, za, ratio_b, zb, zy);
    layer.fp32 = unit;
    layer.a_zero_point = za;
    layer.b_zero_point = zb;
    layer.accumulator = {e.accumulator.bits, e.accumulator.overflow};
    layer.output_type = y.type;
    layer.output_zero_point = zy;
    check_output_zero_point(ctx, y);
    const Clamp c = program_clamp(ctx, y, output_clamp(y, "", -INFINITY, INFINITY));
    layer.clamp_lo = c.lo;
    layer.clamp_hi = c.hi;
    const sim::RequantRegisters ra{arch::RequantKind::float32, e.requant.rounding, 1, 0, ratio_a, e.accumulator.bits};
    sim::RequantRegisters rb = ra;
    rb.float_scale = ratio_b;
    record.requant.push_back(record_requant(ra, double(sa) / sy, ratio_a));
    record.requant.push_back(record_requant(rb, double(sb) / sy, ratio_b));
    record.clamp_lo = c.lo;
    record.clamp_hi = c.hi;
    record.output_zero_point = zy;
    return layer;
}

// acc = (a - z_a) M_a + (b - z_b) M_b, y = round_shift(acc, sh): the larger
// ratio fixes the shared shift with the unit's own derivation, the smaller
// multiplier is rounded at that shift.
sim::LayerParams lower_add(const NodeContext& ctx, CTableLayer& record) {
    const QuantParams& a = ctx.params(ctx.node.inputs[0]);
    const QuantParams& b = ctx.params(ctx.node.inputs[1]);
    const QuantParams& y = ctx.params(ctx.node.outputs[0]);
    const arch::EngineSpec& e = *ctx.place.engine;
    const double m_a = static_cast<double>(a.scales[0]) / y.scales[0];
    const double m_b = static_cast<double>(b.scales[0]) / y.scales[0];
    const arch::RequantSpec spec = integer_requant(e);
    const bool a_larger = m_a >= m_b;
    const sim::DerivedRequant big = sim::derive_requant(std::max(m_a, m_b), spec, e.accumulator.bits);
    int shift = big.registers.shift;
    std::int64_t m_big = spec.kind == arch::RequantKind::shifter ? 1 : big.registers.multiplier;
    const double small = std::min(m_a, m_b);
    std::int64_t m_small = sim::round_half_even(std::ldexp(small, shift));
    if (spec.kind == arch::RequantKind::shifter) {
        // A shifter has no multiplier: both operands are scaled by powers of
        // two (an input barrel shift), so raise the shift until the smaller
        // ratio is a whole power of two.
        const int small_exp = static_cast<int>(std::lround(-std::log2(small)));
        if (small_exp > shift) {
            m_big = std::int64_t{1} << std::min(62, small_exp - shift);
            shift = small_exp;
        }
        m_small = sim::round_half_even(std::ldexp(small, shift));
    }
    sim::AddLayer layer;
    layer.subtract = ctx.node.op_type == "Sub";
    layer.a_zero_point = a.zero_points[0];
    layer.b_zero_point = b.zero_points[0];
    layer.a_multiplier = a_larger ? m_big : m_small;
    layer.b_multiplier = a_larger ? m_small : m_big;
    layer.shift = shift;
    if (auto programmed = recorded_add_registers(ctx, spec)) {
        layer.a_multiplier = programmed->at(0).multiplier;
        layer.b_multiplier = programmed->at(1).multiplier;
        layer.shift = shift = programmed->at(0).shift;
    }
    layer.rounding = spec.rounding;
    layer.accumulator = {e.accumulator.bits, e.accumulator.overflow};
    layer.output_type = y.type;
    layer.output_zero_point = y.zero_points[0];
    check_output_zero_point(ctx, y);
    const Clamp c = program_clamp(ctx, y, output_clamp(y, "", -INFINITY, INFINITY));
    layer.clamp_lo = c.lo;
    layer.clamp_hi = c.hi;
    sim::RequantRegisters ra{spec.kind, spec.rounding, layer.a_multiplier, shift, 1.0f, e.accumulator.bits};
    sim::RequantRegisters rb = ra;
    rb.multiplier = layer.b_multiplier;
    record.requant.push_back(record_requant(ra, m_a, std::ldexp(static_cast<double>(layer.a_multiplier), -shift)));
    record.requant.push_back(record_requant(rb, m_b, std::ldexp(static_cast<double>(layer.b_multiplier), -shift)));
    record.clamp_lo = c.lo;
    record.clamp_hi = c.hi;
    record.output_zero_point = layer.output_zero_point;
    return layer;
}

sim::LayerParams lower_mul(const NodeContext& ctx, CTableLayer& record) {
    const QuantParams& a = ctx.params(ctx.node.inputs[0]);
    const QuantParams& b = ctx.params(ctx.node.inputs[1]);
    const QuantParams& y = ctx.params(ctx.node.outputs[0]);
    const arch::EngineSpec& e = *ctx.place.engine;
    sim::MulLayer layer;
    layer.a_zero_point = a.zero_points[0];
    layer.b_zero_point = b.zero_points[0];
    layer.accumulator = {e.accumulator.bits, e.accumulator.overflow};
    const double m = static_cast<double>(a.scales[0]) * b.scales[0] / y.scales[0];
    double realized = 0;
    if (auto programmed = recorded_requant(ctx, e.requant, e.accumulator.bits, 1)) {
        layer.requant = programmed->at(0);
        realized = ctx.recorded_layer()->requant[0].realized;
    } else if (e.requant.kind == arch::RequantKind::float32) {
        // An fp32 vector unit: the ratio in fp32, in its order (numerics.md "fp32 vector units").
        const float ratio = sim::fp32_vector::mul_ratio(a.scales[0], b.scales[0], y.scales[0]);
        layer.requant = {arch::RequantKind::float32, e.requant.rounding, 1, 0, ratio, e.accumulator.bits};
        realized = ratio;
    } else {
        layer.requant = derive(ctx, m, &realized);
    }
    layer.output_type = y.type;
    layer.output_zero_point = y.zero_points[0];
    check_output_zero_point(ctx, y);
    const Clamp c = program_clamp(ctx, y, output_clamp(y, "", -INFINITY, INFINITY));
    layer.clamp_lo = c.lo;
    layer.clamp_hi = c.hi;
    record.requant.push_back(record_requant(layer.requant, m, realized));
    record.clamp_lo = c.lo;
    record.clamp_hi = c.hi;
    record.output_zero_point = layer.output_zero_point;
    return layer;
}

sim::PoolGeometry pool_geometry(const Node& n) {
    sim::PoolGeometry g;
    g.global = n.op_type == "GlobalAveragePool";
    if (g.global) return g;
    if (n.attr_string("auto_pad", "NOTSET") != "NOTSET")
        throw UserError(fmt::format("node '{}' ({}): auto_pad is not supported on the vector engine; export with "
                                    "explicit pads",
                                    n.name, n.op_type));
    const auto kernel = n.attr_ints("kernel_shape");
    if (kernel.size() != 2)
        throw UserError(fmt::format("node '{}' ({}): only 2-D pooling runs on the vector engine", n.name, n.op_type));
    const auto strides = n.attr_ints("strides", {1, 1});
    const auto pads = n.attr_ints("pads", {0, 0, 0, 0});
    const auto dilations = n.attr_ints("dilations", {1, 1});
    g.kernel_h = static_cast<int>(kernel[0]);
    g.kernel_w = static_cast<int>(kernel[1]);
    g.stride_h = static_cast<int>(strides.at(0));
    g.stride_w = static_cast<int>(strides.at(1));
    g.pad_top = static_cast<int>(pads.at(0));
    g.pad_left = static_cast<int>(pads.at(1));
    g.pad_bottom = static_cast<int>(pads.at(2));
    g.pad_right = static_cast<int>(pads.at(3));
    g.dilation_h = static_cast<int>(dilations.at(0));
    g.dilation_w = static_cast<int>(dilations.at(1));
    g.ceil_mode = n.attr_int("ceil_mode", 0) != 0;
    return g;
}

sim::LayerParams lower_avg_pool(const NodeContext& ctx, CTableLayer& record) {
    const QuantParams& x = ctx.params(ctx.node.inputs[0]);
    const QuantParams& y = ctx.params(ctx.node.outputs[0]);
    const arch::EngineSpec& e = *ctx.place.engine;
    sim::AvgPoolLayer layer;
    layer.geometry = pool_geometry(ctx.node);
    layer.count_include_pad = ctx.node.attr_int("count_include_pad", 0) != 0;
    layer.input_zero_point = x.zero_points[0];
    layer.accumulator = {e.accumulator.bits, e.accumulator.overflow};
    layer.output_type = y.type;
    layer.output_zero_point = y.zero_points[0];
    const Shape in = ctx.shape(ctx.node.inputs[0]);
    if (in.size() != 4)
        throw UserError(fmt::format("node '{}' ({}): the input shape must be known (got {})", ctx.node.name,
                                    ctx.node.op_type, shape_to_string(in)));
    // One unit per window size (element count), in increasing count.
    const std::vector<std::int64_t> counts = sim::window_counts(layer, in);
    const auto programmed = recorded_requant(ctx, e.requant, e.accumulator.bits, counts.size());
    for (std::size_t i = 0; i < counts.size(); ++i) {
        const std::int64_t count = counts[i];
        const double m = static_cast<double>(x.scales[0]) / (static_cast<double>(y.scales[0]) * count);
        double realized = 0;
        if (programmed) {
            layer.registers_by_count[count] = programmed->at(i);
        } else if (e.requant.kind == arch::RequantKind::float32) {
            // fp32 unit: the scale in fp32, in its order (numerics.md "fp32 vector units").
            const float scale = sim::fp32_vector::average_scale(x.scales[0], y.scales[0], count);
            layer.registers_by_count[count] = {arch::RequantKind::float32, e.requant.rounding, 1, 0, scale,
                                               e.accumulator.bits};
            realized = scale;
        } else {
            layer.registers_by_count[count] = derive(ctx, m, &realized);
        }
        if (programmed) realized = ctx.recorded_layer()->requant[i].realized;
        record.requant.push_back(record_requant(layer.registers_by_count[count], m, realized));
    }
    check_output_zero_point(ctx, y);
    const Clamp c = program_clamp(ctx, y, output_clamp(y, "", -INFINITY, INFINITY));
    layer.clamp_lo = c.lo;
    layer.clamp_hi = c.hi;
    record.clamp_lo = c.lo;
    record.clamp_hi = c.hi;
    record.output_zero_point = layer.output_zero_point;
    return layer;
}

bool same_quant(const QuantParams& a, const QuantParams& b) {
    return a.type == b.type && a.scales == b.scales && a.zero_points == b.zero_points;
}

sim::LayerParams lower_concat(const NodeContext& ctx, CTableLayer& record) {
    const QuantParams& y = ctx.params(ctx.node.outputs[0]);
    sim::ConcatLayer layer;
    layer.axis = static_cast<int>(ctx.node.attr_int("axis", 1));
    layer.output_type = y.type;
    layer.output_zero_point = y.zero_points[0];
    check_output_zero_point(ctx, y);
    const Clamp c = program_clamp(ctx, y, output_clamp(y, "", -INFINITY, INFINITY));
    layer.clamp_lo = c.lo;
    layer.clamp_hi = c.hi;
    // One unit per input whose quantization differs from the output's, in input order.
    std::size_t units = 0;
    for (const std::string& in : ctx.node.inputs) units += same_quant(ctx.params(in), y) ? 0 : 1;
    const auto programmed = recorded_requant(ctx, ctx.place.engine->requant, ctx.place.engine->accumulator.bits, units);
    for (const std::string& in : ctx.node.inputs) {
        const QuantParams& x = ctx.params(in);
        sim::ConcatInput input;
        input.zero_point = x.zero_points[0];
        if (!same_quant(x, y)) {
            const double m = static_cast<double>(x.scales[0]) / y.scales[0];
            double realized = 0;
            const std::size_t unit = record.requant.size();
            input.requant = programmed ? programmed->at(unit) : derive(ctx, m, &realized);
            if (programmed) realized = ctx.recorded_layer()->requant[unit].realized;
            // An fp32 unit rescales through the real value (numerics.md "fp32 vector units").
            if (ctx.place.engine->requant.kind == arch::RequantKind::float32)
                input.fp32 = sim::Fp32Rescale{x.scales[0], y.scales[0]};
            record.requant.push_back(record_requant(*input.requant, m, realized));
        }
        layer.inputs.push_back(input);
    }
    record.clamp_lo = c.lo;
    record.clamp_hi = c.hi;
    record.output_zero_point = layer.output_zero_point;
    return layer;
}

// A recorded lookup table: one entry per input code, each inside the output type.
std::vector<std::int64_t> recorded_table(const NodeContext& ctx, const std::vector<std::int64_t>& table,
                                         const QuantParams& x, const QuantParams& y) {
    const std::size_t codes = std::size_t{1} << arch::bit_width(x.type);
    if (table.size() != codes)
        throw UserError(fmt::format("{}: lut has {} entries; a {} input has {} codes", recorded_where(ctx),
                                    table.size(), arch::to_string(x.type), codes));
    const arch::ValueRange range = arch::value_range(y.type);
    for (std::size_t i = 0; i < table.size(); ++i)
        if (table[i] < range.min || table[i] > range.max)
            throw UserError(fmt::format("{}: lut[{}] = {} is outside the output type {} [{}, {}]", recorded_where(ctx),
                                        i, table[i], arch::to_string(y.type), range.min, range.max));
    return table;
}

// T[q] = f(s_x (q - z_x)) through the executor's FP32 kernel of the node, so
// the table computes exactly the op the FP32 reference computes.
sim::LayerParams lower_lut(const NodeContext& ctx, CTableLayer& record) {
    const QuantParams& x = ctx.params(ctx.node.inputs[0]);
    const QuantParams& y = ctx.params(ctx.node.outputs[0]);
    const arch::EngineSpec& e = *ctx.place.engine;
    const std::int64_t codes = std::int64_t{1} << arch::bit_width(x.type);
    if (!e.lut || e.lut->entries < codes)
        throw UserError(fmt::format("node '{}' ({}): engine '{}' needs a lookup table of {} entries for {} inputs",
                                    ctx.node.name, ctx.node.op_type, e.name, codes, arch::to_string(x.type)));
    std::vector<const Tensor*> constant_inputs(ctx.node.inputs.size(), nullptr);
    for (std::size_t i = 1; i < ctx.node.inputs.size(); ++i)
        if (!ctx.node.inputs[i].empty()) constant_inputs[i] = ctx.graph.initializer(ctx.node.inputs[i]);
    const Node& node = ctx.node;
    const std::int64_t opset = ctx.graph.opset;
    auto f = [&](double v) {
        const Tensor in = Tensor::from_vector<float>({1}, {static_cast<float>(v)});
        std::vector<const Tensor*> inputs = constant_inputs;
        inputs[0] = &in;
        return static_cast<double>(run_node(node, inputs, opset).at(0).data<float>()[0]);
    };
    const sim::LutQuant in{x.scales[0], x.zero_points[0], x.type};
    const sim::LutQuant out{y.scales[0], y.zero_points[0], y.type};
    sim::LutLayer layer = sim::make_lut_layer(f, in, out);
    if (const CTableLayer* recorded = ctx.recorded_layer(); recorded && !recorded->lut.empty())
        layer.table = recorded_table(ctx, recorded->lut, x, y);
    check_output_zero_point(ctx, y);
    record.output_zero_point = y.zero_points[0];
    record.lut = layer.table;
    return layer;
}

// Resize (linear): placement checked the mode and shapes (resize_on_vector).
// The scale of H and W is the scales input's when given (ONNX uses it
// as is in the coordinate formula), else output size / input size.
sim::LayerParams lower_resize(const NodeContext& ctx, CTableLayer& record) {
    const Node& node = ctx.node;
    const Shape in = ctx.shape(node.inputs[0]), out = ctx.shape(node.outputs[0]);
    if (in.size() != 4 || out.size() != 4)
        throw UserError(fmt::format("node '{}' (Resize): the input and output shapes must be static and 4-D", node.name));
    sim::ResizeLayer layer;
    static const std::map<std::string, sim::ResizeCoordinates> modes = {
        {"half_pixel", sim::ResizeCoordinates::half_pixel},
        {"pytorch_half_pixel", sim::ResizeCoordinates::pytorch_half_pixel},
        {"align_corners", sim::ResizeCoordinates::align_corners},
        {"asymmetric", sim::ResizeCoordinates::asymmetric}};
    layer.coordinates = modes.at(node.attr_string("coordinate_transformation_mode", "half_pixel"));
    layer.out_h = out[2];
    layer.out_w = out[3];
    layer.scale_h = double(out[2]) / double(in[2]);
    layer.scale_w = double(out[3]) / double(in[3]);
    const std::size_t scales_slot = ctx.graph.opset >= 11 ? 2 : 1;
    if (node.inputs.size() > scales_slot && !node.inputs[scales_slot].empty())
        if (const Tensor* scales = ctx.graph.initializer(node.inputs[scales_slot]); scales && scales->numel() == 4) {
            const std::vector<float> v = scales->to_floats();
            if (v[2] > 0 && v[3] > 0) {
                layer.scale_h = v[2];
                layer.scale_w = v[3];
            }
        }
    layer.rounding = ctx.place.engine->requant.rounding;   // the engine's rounding for the final shift
    if (ctx.place.engine->requant.kind == arch::RequantKind::float32) {   // numerics.md "fp32 vector units"
        layer.fp32_coordinates = true;
        layer.rounding = arch::RoundingMode::trunc;
    }
    record.output_zero_point = ctx.params(node.outputs[0]).zero_points[0];
    return layer;
}

}  // namespace

sim::LayerParams lower_vector(const NodeContext& ctx, CTableLayer& record) {
    const std::string& op = ctx.node.op_type;
    if (op == "Add" && ctx.place.engine->requant.kind == arch::RequantKind::float32) return lower_fp32_add(ctx, record);
    if (op == "Add" || op == "Sub") return lower_add(ctx, record);
    if (op == "Mul") return lower_mul(ctx, record);
    if (op == "MaxPool") {
        if (ctx.node.outputs.size() > 1 && !ctx.node.outputs[1].empty())
            throw UserError(fmt::format("node '{}' (MaxPool): the Indices output is not supported", ctx.node.name));
        return sim::MaxPoolLayer{pool_geometry(ctx.node)};
    }
    if (op == "AveragePool" || op == "GlobalAveragePool") return lower_avg_pool(ctx, record);
    if (op == "Concat") return lower_concat(ctx, record);
    if (op == "Resize") return lower_resize(ctx, record);
    if (is_lut_op(op)) return lower_lut(ctx, record);
    throw UserError(fmt::format("node '{}': op {} has no vector-engine lowering", ctx.node.name, op));
}

}  // namespace bitnpu::calib::lowering
