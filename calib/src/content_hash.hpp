// FNV-1a 64-bit hash of a byte string, as 16 lower-case hex digits: the
// identity of a model file recorded in CTables. (arch/ hashes YAML files the
// same way; this copy exists because arch exposes no hash function yet.)
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace bitnpu::calib {

inline std::string fnv1a64_hex(std::string_view bytes) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : bytes) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

}  // namespace bitnpu::calib
