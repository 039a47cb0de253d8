#include "bitnpu/sim/datapath/lut.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "bitnpu/sim/datapath/quantize.hpp"
#include "bitnpu/sim/datapath/saturate.hpp"

namespace bitnpu::sim {
namespace {

void check_scale(float s, const char* which) {
    if (!(std::isfinite(s) && s > 0.0f)) {
        throw std::domain_error(std::string("build_lut: ") + which + " scale " + std::to_string(s) +
                                " must be positive and finite");
    }
}

}  // namespace

std::vector<std::int64_t> build_lut(const std::function<double(double)>& f, const LutQuant& in,
                                    const LutQuant& out) {
    check_scale(in.scale, "input");
    check_scale(out.scale, "output");
    const arch::ValueRange range = arch::value_range(in.type);
    std::vector<std::int64_t> table;
    table.reserve(std::size_t(range.max - range.min + 1));
    for (std::int64_t q = range.min; q <= range.max; ++q) {
        const double x = double(in.scale) * double(q - in.zero_point);
        const double y = f(x);
        if (std::isnan(y)) {
            throw std::domain_error("build_lut: the function returned NaN at x = " + std::to_string(x) +
                                    " (input code " + std::to_string(q) + ")");
        }
        const __int128 shifted = __int128(round_half_even(y / double(out.scale))) + out.zero_point;
        table.push_back(saturate_to(shifted, out.type));
    }
    return table;
}

}  // namespace bitnpu::sim
