#include "bitnpu/sim/datapath/gemmlowp.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace bitnpu::sim::gemmlowp {

void QuantizeMultiplier(double real_multiplier, std::int32_t* quantized_multiplier, int* shift) {
    if (real_multiplier == 0.0) {
        *quantized_multiplier = 0;
        *shift = 0;
        return;
    }
    if (!std::isfinite(real_multiplier)) {
        throw std::domain_error("QuantizeMultiplier: multiplier " + std::to_string(real_multiplier) +
                                " is not a finite number");
    }
    const double q = std::frexp(real_multiplier, shift);
    std::int64_t q_fixed = static_cast<std::int64_t>(std::round(q * double(std::int64_t(1) << 31)));
    if (q_fixed == (std::int64_t(1) << 31)) {
        // Rounding carried into bit 31: renormalize (TFLite does the same and
        // only for the positive case; a negative m can give q = INT32_MIN).
        q_fixed /= 2;
        ++*shift;
    }
    if (*shift < -31) {
        // All bits would be shifted out: TFLite flushes to zero.
        *shift = 0;
        q_fixed = 0;
    }
    *quantized_multiplier = static_cast<std::int32_t>(q_fixed);
}

}  // namespace bitnpu::sim::gemmlowp
