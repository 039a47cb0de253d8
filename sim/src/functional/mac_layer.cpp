// Parameters, geometry and the per-output-element steps of a MAC layer, the
// finish as a step function (MacStepTable) and the weight-side preparation.
#include "bitnpu/sim/functional/mac_layer.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>

#include "bitnpu/errors.hpp"
#include "bitnpu/sim/datapath/product.hpp"
#include "bitnpu/sim/datapath/quantize.hpp"
#include "bitnpu/sim/datapath/saturate.hpp"

namespace bitnpu::sim {

namespace {

std::string dims(const Shape& s) {
    std::string out = "[";
    for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
}

std::int64_t conv_out_dim(std::int64_t in, std::int64_t k, int stride, int pad0, int pad1, int dil) {
    const std::int64_t span = static_cast<std::int64_t>(dil) * (k - 1) + 1;
    const std::int64_t padded = in + pad0 + pad1;
    if (padded < span) return 0;
    return (padded - span) / stride + 1;
}

}  // namespace

std::int64_t quantize_bias(double b, double s_w, double s_x, int bias_bits) {
    return saturate_signed(round_half_even(b / (s_w * s_x)), bias_bits);
}

std::int64_t output_channels(const MacLayer& layer) {
    return layer.weight_shape.empty() ? 0 : layer.weight_shape[0];
}

std::int64_t reduction_length(const MacLayer& layer) {
    std::int64_t k = 1;
    for (std::size_t i = 1; i < layer.weight_shape.size(); ++i) k *= layer.weight_shape[i];
    return k;
}

std::int64_t group_of(const MacLayer& layer, std::int64_t oc) {
    if (layer.kind == MacKind::gemm) return 0;
    return oc / (output_channels(layer) / layer.geometry.groups);
}

void validate(const MacLayer& layer) {
    const std::size_t rank = layer.kind == MacKind::conv ? 4 : 2;
    if (layer.weight_shape.size() != rank)
        throw UserError("MAC layer weights must have rank " + std::to_string(rank) + ", got " +
                        dims(layer.weight_shape));
    for (std::int64_t d : layer.weight_shape)
        if (d < 1) throw UserError("MAC layer weight shape " + dims(layer.weight_shape) + " has an empty dimension");
    if (element_count(layer.weight_shape) != static_cast<std::int64_t>(layer.weights.size()))
        throw UserError("MAC layer has " + std::to_string(layer.weights.size()) +
                        " weight values for shape " + dims(layer.weight_shape));
    const std::int64_t c_out = output_channels(layer);
    if (!layer.bias.empty() && static_cast<std::int64_t>(layer.bias.size()) != c_out)
        throw UserError("MAC layer bias has " + std::to_string(layer.bias.size()) + " values for " +
                        std::to_string(c_out) + " output channels");
    if (layer.requant.size() != 1 && static_cast<std::int64_t>(layer.requant.size()) != c_out)
        throw UserError("MAC layer needs 1 or " + std::to_string(c_out) +
                        " requant register sets, got " + std::to_string(layer.requant.size()));
    if (layer.clamp_lo > layer.clamp_hi) throw UserError("MAC layer clamp range is empty");
    if (layer.kind == MacKind::conv) {
        const ConvGeometry& g = layer.geometry;
        if (g.groups < 1 || c_out % g.groups != 0)
            throw UserError("Conv groups (" + std::to_string(g.groups) + ") must divide C_out (" +
                            std::to_string(c_out) + ")");
        if (g.stride_h < 1 || g.stride_w < 1 || g.dilation_h < 1 || g.dilation_w < 1 || g.pad_top < 0 ||
            g.pad_left < 0 || g.pad_bottom < 0 || g.pad_right < 0)
            throw UserError("Conv strides and dilations must be >= 1 and pads >= 0");
    }
}

Shape mac_output_shape(const MacLayer& layer, const Shape& in) {
    const std::int64_t c_out = output_channels(layer);
    if (layer.kind == MacKind::gemm) {
        if (in.empty() || in.back() != layer.weight_shape[1])
            throw UserError("Gemm input " + dims(in) + " must end in K = " +
                            std::to_string(layer.weight_shape[1]));
        Shape out = in;
        out.back() = c_out;
        return out;
    }
    const ConvGeometry& g = layer.geometry;
    if (in.size() != 4 || in[1] != layer.weight_shape[1] * g.groups)
        throw UserError("Conv input " + dims(in) + " must be [N, " +
                        std::to_string(layer.weight_shape[1] * g.groups) + ", H, W]");
    return {in[0], c_out,
            conv_out_dim(in[2], layer.weight_shape[2], g.stride_h, g.pad_top, g.pad_bottom, g.dilation_h),
            conv_out_dim(in[3], layer.weight_shape[3], g.stride_w, g.pad_left, g.pad_right, g.dilation_w)};
}

void im2col_row(const MacLayer& layer, const QTensor& x, std::int64_t n, std::int64_t g, std::int64_t out_y,
                std::int64_t out_x, std::int32_t* row) {
    if (layer.kind == MacKind::gemm) {
        const std::int64_t k = layer.weight_shape[1];
        const std::int32_t* src = x.values.data() + n * k;
        for (std::int64_t i = 0; i < k; ++i) row[i] = src[i];
        return;
    }
    const ConvGeometry& geo = layer.geometry;
    const std::int64_t cg = layer.weight_shape[1], kh = layer.weight_shape[2], kw = layer.weight_shape[3];
    const std::int64_t c_in = x.shape[1], h = x.shape[2], w = x.shape[3];
    const auto pad = static_cast<std::int32_t>(layer.input_zero_point);
    std::int64_t k = 0;
    for (std::int64_t ci = 0; ci < cg; ++ci) {
        const std::int32_t* plane = x.values.data() + ((n * c_in) + g * cg + ci) * h * w;
        for (std::int64_t ky = 0; ky < kh; ++ky) {
            const std::int64_t iy = out_y * geo.stride_h - geo.pad_top + ky * geo.dilation_h;
            for (std::int64_t kx = 0; kx < kw; ++kx, ++k) {
                const std::int64_t ix = out_x * geo.stride_w - geo.pad_left + kx * geo.dilation_w;
                const bool inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
                row[k] = inside ? plane[iy * w + ix] : pad;
            }
        }
    }
}

std::int64_t mac_accumulate(const MacLayer& layer, std::int64_t oc, const std::int32_t* x_row) {
    const std::int64_t k_len = reduction_length(layer);
    const std::int32_t* w = layer.weights.data() + oc * k_len;
    const std::int64_t b = layer.bias.empty() ? 0 : layer.bias[static_cast<std::size_t>(oc)];
    const bool preload = layer.bias_stage == arch::BiasStage::preload;
    // Loading b_q into the accumulator register is itself an accumulate step
    // (it saturates or wraps a bias wider than the accumulator, as accumulate_all does).
    std::int64_t acc = preload ? accumulate(0, b, layer.accumulator) : 0;
    // The products in k order, then NUMERICS step 4 on them (accumulate_all:
    // ordered saturation, or wrap).
    thread_local std::vector<std::int64_t> products;
    products.resize(static_cast<std::size_t>(k_len));
    for (std::int64_t k = 0; k < k_len; ++k)
        products[static_cast<std::size_t>(k)] =
            product(w[k] - layer.weight_zero_point, x_row[k], layer.input_zero_point);
    acc = accumulate_all(acc, products.data(), products.size(), layer.accumulator);
    if (!preload) acc = accumulate(acc, b, layer.accumulator);
    return acc;
}

std::int64_t mac_output_element(const MacLayer& layer, std::int64_t oc, const std::int32_t* x_row) {
    return mac_finish(layer, oc, mac_accumulate(layer, oc, x_row));
}

bool finish_is_monotone(const MacChannel& ch) {
    const RequantRegisters& r = ch.registers;
    switch (r.kind) {
        case arch::RequantKind::shifter: return true;
        case arch::RequantKind::multiplier: return r.multiplier >= 0;
        case arch::RequantKind::float32: return std::isfinite(r.float_scale) && r.float_scale >= 0.0f;
        case arch::RequantKind::gemmlowp: {
            if (r.multiplier < 0 || r.multiplier > INT32_MAX || r.shift < -31 || r.shift > 31) return false;
            // The unit saturates acc to int32, then shifts left in int32 (wrapping).
            // No wrap for any accumulator value: monotone.
            const int left = r.shift > 0 ? r.shift : 0;
            const std::int64_t hi = std::min<std::int64_t>(signed_max(ch.accumulator.bits), INT32_MAX);
            const std::int64_t lo = std::max<std::int64_t>(signed_min(ch.accumulator.bits), INT32_MIN);
            return hi <= (std::int64_t{INT32_MAX} >> left) && lo >= -((std::int64_t{1} << 31) >> left);
        }
    }
    return false;
}

namespace {

// The channel's steps 3-6 as a function of the table's input.
std::int64_t step_function(const MacChannel& ch, bool sum_domain, std::int64_t x) {
    return mac_finish_with(ch, ch.registers, sum_domain ? mac_accumulate_exact(ch, x) : x);
}

// min{ x in (below, above] : h(x) >= v } given h(below) < v <= h(above),
// galloping from guess (any value; a good one costs two evaluations).
template <class H>
std::int64_t first_at_least(const H& h, std::int64_t v, std::int64_t below, std::int64_t above, std::int64_t guess) {
    const std::int64_t g = std::clamp(guess, below + 1, above);
    if (h(g) >= v) {
        above = g;
        for (std::int64_t step = 1; above - below > 1; step *= 2) {
            const std::int64_t c = above - std::min(step, above - below - 1);
            if (h(c) < v) {
                below = c;
                break;
            }
            above = c;
        }
    } else {
        below = g;
        for (std::int64_t step = 1; above - below > 1; step *= 2) {
            const std::int64_t c = below + std::min(step, above - below - 1);
            if (h(c) >= v) {
                above = c;
                break;
            }
            below = c;
        }
    }
    while (above - below > 1) {   // invariant: h(below) < v <= h(above)
        const std::int64_t mid = below + (above - below) / 2;
        (h(mid) >= v ? above : below) = mid;
    }
    return above;
}

}  // namespace

bool build_step_table(const MacChannel& ch, std::int64_t max_levels, MacStepTable& t) {
    if (!finish_is_monotone(ch)) return false;
    t.sum_domain = ch.accumulator.overflow == arch::Overflow::saturate;
    if (!t.sum_domain && ch.accumulator.bits > 62) return false;   // keep x differences within int64
    t.domain_min = t.sum_domain ? -kStepTableSumLimit : signed_min(ch.accumulator.bits);
    t.domain_max = t.sum_domain ? kStepTableSumLimit : signed_max(ch.accumulator.bits);
    const auto h = [&](std::int64_t x) { return step_function(ch, t.sum_domain, x); };
    t.base = h(t.domain_min);
    const std::int64_t top = h(t.domain_max);
    if (top < t.base || top - t.base >= max_levels) return false;
    const std::int64_t n = top - t.base + 1;
    t.levels = n;
    std::vector<std::int64_t>& T = t.thresholds;
    T.assign(static_cast<std::size_t>(n + 1), t.domain_min);
    T[static_cast<std::size_t>(n)] = INT64_MAX;
    std::int64_t width = 0;   // the last step's width: the next threshold's guess
    for (std::int64_t i = 1; i < n; ++i) {
        const auto k = static_cast<std::size_t>(i);
        // h(T[i-1] - 1) < base + i - 1 (T[i-1] is the first at that level), and h(domain_min) = base.
        const std::int64_t below = i == 1 ? t.domain_min : T[k - 1] - 1;
        const std::int64_t guess = i == 1 ? t.domain_min + (t.domain_max - t.domain_min) / 2 : T[k - 1] + width;
        T[k] = first_at_least(h, t.base + i, below, t.domain_max, guess);
        if (i >= 2) width = T[k] - T[k - 1];
    }
    // First guess of a lookup: linear between the first and last thresholds.
    if (n >= 3 && T[static_cast<std::size_t>(n - 1)] > T[1]) {
        const double span = static_cast<double>(T[static_cast<std::size_t>(n - 1)] - T[1]);
        t.levels_per_unit = static_cast<double>(n - 2) / span;
        t.origin = static_cast<double>(T[1]) - span / static_cast<double>(n - 2);
    } else {
        t.levels_per_unit = 0.0;
        t.origin = 0.0;
    }
    return true;
}

namespace {

bool same_finish(const MacChannel& a, const MacChannel& b) {
    const RequantRegisters &r = a.registers, &q = b.registers;
    return a.bias == b.bias && a.accumulator.bits == b.accumulator.bits &&
           a.accumulator.overflow == b.accumulator.overflow && a.bias_stage == b.bias_stage &&
           a.output_zero_point == b.output_zero_point && a.clamp_lo == b.clamp_lo && a.clamp_hi == b.clamp_hi &&
           a.binary_output == b.binary_output && r.kind == q.kind && r.rounding == q.rounding &&
           r.multiplier == q.multiplier && r.shift == q.shift && r.float_scale == q.float_scale &&
           r.dst_bits == q.dst_bits;
}

// Levels beyond which a table is not built (int16 outputs and wider).
constexpr std::int64_t kMaxStepLevels = 4096;

}  // namespace

// A table costs a few finish evaluations per level (first_at_least gallops
// from the previous step's width); a lookup is several times cheaper than a
// finish. Below about two outputs per level the direct finish wins.
bool step_table_pays(const MacChannel& ch, std::int64_t outputs) {
    const std::int64_t levels = ch.clamp_hi - ch.clamp_lo + 1;
    return levels <= kMaxStepLevels && outputs >= 2 * levels + 128;
}

const MacStepTable* cached_step_table(const PreparedMacLayer& prep, std::int64_t oc, const MacChannel& ch,
                                      std::int64_t outputs) {
    if (!prep.step_tables) return nullptr;
    MacStepTableCache::Slot& slot = prep.step_tables->slots[static_cast<std::size_t>(oc)];
    int state = slot.state.load(std::memory_order_acquire);
    if (state == 0) {
        if (!step_table_pays(ch, slot.direct.fetch_add(outputs, std::memory_order_relaxed) + outputs)) return nullptr;
        std::call_once(slot.once, [&] {
            slot.channel = ch;
            slot.state.store(build_step_table(ch, kMaxStepLevels, slot.table) ? 1 : 2, std::memory_order_release);
        });
        state = slot.state.load(std::memory_order_acquire);
    }
    return state == 1 && same_finish(slot.channel, ch) ? &slot.table : nullptr;
}

// Weight-side data: float/double copies of w - z_w, per-channel sum |w - z_w|,
// packed int1 bits and per-tap weight sums for the XNOR engine, an empty
// step-table cache.
PreparedMacLayer prepare_mac_layer(const MacLayer& layer) {
    validate(layer);
    PreparedMacLayer prep;
    prep.layer = &layer;
    prep.step_tables = std::make_shared<MacStepTableCache>(output_channels(layer));
    const std::int64_t c_out = output_channels(layer), K = reduction_length(layer);
    prep.weights_f.resize(layer.weights.size());
    prep.weights_d.resize(layer.weights.size());
    prep.abs_weight_sum.assign(static_cast<std::size_t>(c_out), 0);
    for (std::size_t i = 0; i < layer.weights.size(); ++i) {
        const std::int64_t w = layer.weights[i] - layer.weight_zero_point;
        prep.weights_f[i] = static_cast<float>(w);   // exact: |w| < 2^24 for every type
        prep.weights_d[i] = static_cast<double>(w);
        prep.abs_weight_sum[i / static_cast<std::size_t>(std::max<std::int64_t>(K, 1))] += static_cast<std::uint64_t>(std::llabs(w));
        prep.max_abs_weight = std::max<std::int64_t>(prep.max_abs_weight, std::llabs(w));
    }
    if (is_binary_layer(layer)) {
        prep.words = (K + 63) / 64;
        prep.weight_bits.assign(static_cast<std::size_t>(c_out * prep.words), 0);
        std::vector<std::int8_t> row(static_cast<std::size_t>(K));
        for (std::int64_t oc = 0; oc < c_out; ++oc) {
            for (std::int64_t k = 0; k < K; ++k) {
                const std::int32_t w = layer.weights[static_cast<std::size_t>(oc * K + k)];
                if (w != 1 && w != -1) throw UserError("int1 layer has a weight other than -1/+1");
                row[static_cast<std::size_t>(k)] = static_cast<std::int8_t>(w);
            }
            pack_binary(row.data(), static_cast<std::size_t>(K), prep.weight_bits.data() + oc * prep.words);
        }
        if (layer.kind == MacKind::conv) {
            const std::int64_t taps = layer.weight_shape[2] * layer.weight_shape[3];
            prep.tap_weight_sums.assign(static_cast<std::size_t>(c_out * taps), 0);
            for (std::size_t i = 0; i < layer.weights.size(); ++i) {
                const auto k = static_cast<std::int64_t>(i) % K;
                prep.tap_weight_sums[static_cast<std::size_t>((static_cast<std::int64_t>(i) / K) * taps + k % taps)] +=
                    layer.weights[i];
            }
        }
    }
    return prep;
}

}  // namespace bitnpu::sim
