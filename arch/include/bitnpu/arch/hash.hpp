// Content hashes that identify inputs (an arch file, a model) in CTables and
// reports. SHA-256 (FIPS 180-4), so the value can be checked with sha256sum.
#pragma once

#include <string>
#include <string_view>

namespace bitnpu::arch {

// Lower-case hex SHA-256 of the bytes (64 characters).
std::string sha256_hex(std::string_view bytes);

}  // namespace bitnpu::arch
