// IEEE binary16 and bfloat16 bit patterns widened to float (exact).
#pragma once

#include <cstdint>

namespace bitnpu::calib {

float half_to_float(std::uint16_t bits);
float bfloat16_to_float(std::uint16_t bits);

}  // namespace bitnpu::calib
