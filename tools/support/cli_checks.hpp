// Validators for whole-number options, shared by every CLI: plain messages
// ("--threads: must be a whole number, got 'abc'") instead of CLI11's
// NonNegativeNumber range text (a 300-digit double), and values that do not
// fit an int64 reported as such instead of being clamped by the conversion.
#pragma once

#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdint>
#include <limits>
#include <string>

namespace bitnpu::cli {

// Accepts a decimal integer in [min, max].
inline CLI::Validator whole_number(std::int64_t min, std::int64_t max = std::numeric_limits<std::int64_t>::max()) {
    auto check = [min, max](std::string& text) -> std::string {
        std::int64_t value = 0;
        const char* end = text.data() + text.size();
        const auto [ptr, ec] = std::from_chars(text.data(), end, value);
        if (ec == std::errc::result_out_of_range) return "'" + text + "' is too large";
        if (ec != std::errc() || ptr != end || text.empty()) return "must be a whole number, got '" + text + "'";
        if (value < min) return "must be at least " + std::to_string(min) + ", got " + text;
        if (value > max) return "must be at most " + std::to_string(max) + ", got " + text;
        return {};
    };
    return CLI::Validator(check, "INT>=" + std::to_string(min), "whole_number");
}

// At least 1 / at least 0, bounded by the option's type (int options).
inline CLI::Validator positive_int() { return whole_number(1, std::numeric_limits<int>::max()); }
inline CLI::Validator non_negative_int() { return whole_number(0, std::numeric_limits<int>::max()); }
inline CLI::Validator positive_int64() { return whole_number(1); }

}  // namespace bitnpu::cli
