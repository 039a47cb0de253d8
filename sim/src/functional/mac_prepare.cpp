// prepare_mac_layer (mac_fast.hpp): what the fast MAC kernel derives once
// from a layer's weights and reuses on every input.
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <vector>

#include "bitnpu/errors.hpp"
#include "bitnpu/sim/datapath/product.hpp"
#include "bitnpu/sim/functional/detail/mac_step_table.hpp"
#include "bitnpu/sim/functional/mac_fast.hpp"

namespace bitnpu::sim {

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
    prep.channel_max_abs_weight.assign(static_cast<std::size_t>(c_out), 0);
    prep.sq_weight_sum.assign(static_cast<std::size_t>(c_out), 0);
    for (std::size_t i = 0; i < layer.weights.size(); ++i) {
        const std::int64_t w = layer.weights[i] - layer.weight_zero_point;
        const std::size_t oc = i / static_cast<std::size_t>(std::max<std::int64_t>(K, 1));
        prep.weights_f[i] = static_cast<float>(w);   // exact: |w| < 2^24 for every type
        prep.weights_d[i] = static_cast<double>(w);
        prep.abs_weight_sum[oc] += static_cast<std::uint64_t>(std::llabs(w));
        prep.channel_max_abs_weight[oc] = std::max<std::int64_t>(prep.channel_max_abs_weight[oc], std::llabs(w));
        prep.sq_weight_sum[oc] += static_cast<std::uint64_t>(w * w);
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
