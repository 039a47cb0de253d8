#include "bitnpu/sim/datapath/quantize.hpp"

#include "bitnpu/sim/datapath/saturate.hpp"

namespace bitnpu::sim {

std::int64_t quantize(float x, float scale, std::int64_t zero_point, std::int64_t qmin, std::int64_t qmax) {
    // volatile keeps the quotient an fp32 value even if a caller's flags would
    // let the compiler fuse or widen it.
    volatile float ratio = x / scale;
    const __int128 shifted = __int128(round_half_even(double(ratio))) + zero_point;
    return clamp(shifted, qmin, qmax);
}

float dequantize(std::int64_t q, float scale, std::int64_t zero_point) {
    const float centered = static_cast<float>(q - zero_point);
    volatile float value = centered * scale;
    return value;
}

}  // namespace bitnpu::sim
