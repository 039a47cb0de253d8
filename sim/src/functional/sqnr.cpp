#include <cmath>
#include <limits>

#include "bitnpu/sim/functional/graph.hpp"

namespace bitnpu::sim {

double sqnr_db(const float* ref, const float* test, std::size_t n) {
    double signal = 0.0, noise = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const double r = ref[i], e = r - static_cast<double>(test[i]);
        signal += r * r;
        noise += e * e;
    }
    if (noise == 0.0) return std::numeric_limits<double>::infinity();
    if (signal == 0.0) return -std::numeric_limits<double>::infinity();
    return 10.0 * std::log10(signal / noise);
}

}  // namespace bitnpu::sim
