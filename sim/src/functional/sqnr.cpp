#include <cmath>
#include <limits>

#include "bitnpu/sim/datapath/quantize.hpp"
#include "bitnpu/sim/functional/graph.hpp"

namespace bitnpu::sim {

double SqnrSums::db() const {
    if (noise == 0.0) return std::numeric_limits<double>::infinity();
    if (signal == 0.0) return -std::numeric_limits<double>::infinity();
    return 10.0 * std::log10(signal / noise);
}

double sqnr_db(const float* ref, const float* test, std::size_t n) {
    SqnrSums sums;
    for (std::size_t i = 0; i < n; ++i) sums.add(ref[i], test[i]);
    return sums.db();
}

double sqnr_db(const float* ref, const QTensor& test) {
    SqnrSums sums;
    const std::int32_t* q = test.values.data();
    for_each_channel_run(test.shape, test.quant, [&](std::int64_t begin, std::int64_t end, std::int64_t c) {
        const float scale = test.quant.scale(c);
        const std::int64_t zero_point = test.quant.zero_point(c);
        for (std::int64_t i = begin; i < end; ++i) sums.add(ref[i], dequantize(q[i], scale, zero_point));
    });
    return sums.db();
}

}  // namespace bitnpu::sim
