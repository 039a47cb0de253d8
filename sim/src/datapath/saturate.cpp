#include "bitnpu/sim/datapath/saturate.hpp"

namespace bitnpu::sim {

std::int64_t saturate_to(__int128 x, arch::ValueType t, bool restricted) {
    if (t == arch::ValueType::int1) return x >= 0 ? 1 : -1;
    const arch::ValueRange range = arch::value_range(t, restricted);
    return clamp(x, range.min, range.max);
}

}  // namespace bitnpu::sim
