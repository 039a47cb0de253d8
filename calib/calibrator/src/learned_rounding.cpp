// AdaRound of one MAC layer (learned_rounding.hpp).
#include "learned_rounding.hpp"

#include <algorithm>

#include "bitnpu/quant/adaround.hpp"
#include "bitnpu/sim/parallel.hpp"
#include "input_moments.hpp"

namespace bitnpu::calib {

std::vector<bool> learned_rounding(const sim::MacLayer& layer, const LoweredWeights& nearest, const Tensor& weight,
                                   const Tensor& x, const sim::QTensor& x_q, int threads) {
    const sim::FloatTensor x_hat = sim::dequantize_tensor(x_q);
    const CrossMoments m = cross_moments(layer, x, x_hat.data.data(), threads);
    if (m.k == 0) return {};
    const std::int64_t rows = nearest.shape.at(0) / m.groups;
    std::vector<std::int32_t> integers(nearest.quantized.size());
    // Grouped (depthwise) layers: one small problem per group, a task each;
    // otherwise one problem whose row blocks share the workers.
    const bool grouped = m.groups > 1;
    sim::parallel_for(m.groups, grouped ? threads : 1, [&](std::int64_t g) {
        AdaRoundProblem p;
        p.weight = weight.data<float>() + g * rows * m.k;
        p.rows = rows;
        p.k = m.k;
        for (std::int64_t r = 0; r < rows; ++r)
            p.quant.push_back(channel_quant(nearest.params, static_cast<std::size_t>(g * rows + r)));
        p.h_qq = m.qq(g);
        p.h_fq = m.fq(g);
        const AdaRoundResult a = adaround(p, AdaRoundOptions{}, grouped ? 1 : threads);
        std::copy(a.integers.begin(), a.integers.end(), integers.begin() + g * rows * m.k);
    }, sim::Schedule::dynamic);
    std::vector<bool> flags(integers.size());
    for (std::size_t k = 0; k < integers.size(); ++k) flags[k] = integers[k] != nearest.quantized[k];
    if (std::find(flags.begin(), flags.end(), true) == flags.end()) return {};
    return flags;
}

}  // namespace bitnpu::calib
