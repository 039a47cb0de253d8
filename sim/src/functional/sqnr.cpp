#include <algorithm>
#include <cmath>
#include <limits>

#include "bitnpu/sim/datapath/quantize.hpp"
#include "bitnpu/sim/functional/graph.hpp"

namespace bitnpu::sim {

void SqnrSums::add(const float* ref, const float* test, std::size_t n) {
    auto one = [&](std::size_t lane, float r_, float t_) {
        const double r = r_, e = r - static_cast<double>(t_);
        signal[lane] += r * r;
        noise[lane] += e * e;
    };
    std::size_t i = 0;
    for (; i < n && count % kLanes != 0; ++i, ++count) one(count % kLanes, ref[i], test[i]);
    // Whole groups: lane j takes element j of each (the loop vectorizes
    // across lanes; each lane still adds its elements one by one, in order).
    for (; i + kLanes <= n; i += kLanes, count += kLanes)
        for (std::size_t j = 0; j < kLanes; ++j) one(j, ref[i + j], test[i + j]);
    for (; i < n; ++i, ++count) one(count % kLanes, ref[i], test[i]);
}

void SqnrSums::add_quantized(const float* ref, const std::int32_t* q, std::size_t n, float scale,
                             std::int64_t zero_point) {
    constexpr std::size_t kBlock = 1024;
    float block[kBlock];
    for (std::size_t b = 0; b < n; b += kBlock) {
        const std::size_t m = std::min(kBlock, n - b);
        for (std::size_t i = 0; i < m; ++i) block[i] = dequantize(q[b + i], scale, zero_point);
        add(ref + b, block, m);
    }
}

double SqnrSums::db() const {
    double s = 0.0, e = 0.0;
    for (std::size_t j = 0; j < kLanes; ++j) {
        s += signal[j];
        e += noise[j];
    }
    if (e == 0.0) return std::numeric_limits<double>::infinity();
    if (s == 0.0) return -std::numeric_limits<double>::infinity();
    return 10.0 * std::log10(s / e);
}

double sqnr_db(const float* ref, const float* test, std::size_t n) {
    SqnrSums sums;
    sums.add(ref, test, n);
    return sums.db();
}

double sqnr_db(const float* ref, const QTensor& test) {
    SqnrSums sums;
    for_each_channel_run(test.shape, test.quant, [&](std::int64_t begin, std::int64_t end, std::int64_t c) {
        sums.add_quantized(ref + begin, test.values.data() + begin, static_cast<std::size_t>(end - begin),
                           test.quant.scale(c), test.quant.zero_point(c));
    });
    return sums.db();
}

}  // namespace bitnpu::sim
