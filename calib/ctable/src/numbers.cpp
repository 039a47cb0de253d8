// Shortest round-trip number formatting (fmt) and strict parsing (from_chars).
#include "numbers.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace bitnpu::calib::ctable_detail {

namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// fmt's "{}" is the shortest round-trip repr; make sure it looks like a float.
std::string float_looking(std::string s) {
    if (s.find_first_of(".n") != std::string::npos) return s;  // has '.', or inf/nan
    const auto e = s.find('e');
    if (e == std::string::npos) return s + ".0";
    return s.insert(e, ".0");
}

std::string non_finite(double v) {
    if (std::isnan(v)) return ".nan";
    return v > 0 ? ".inf" : "-.inf";
}

std::optional<double> parse_special(const std::string& s) {
    std::string t = lower(s);
    if (!t.empty() && t[0] == '+') t.erase(0, 1);
    bool negative = false;
    if (!t.empty() && t[0] == '-') { negative = true; t.erase(0, 1); }
    if (!t.empty() && t[0] == '.') t.erase(0, 1);
    if (t == "inf" || t == "infinity") return negative ? -HUGE_VAL : HUGE_VAL;
    if (t == "nan" && !negative) return std::nan("");
    return std::nullopt;
}

template <class T>
std::optional<T> parse_number(const std::string& s) {
    if (s.empty()) return std::nullopt;
    const char* first = s.data();
    if (*first == '+' && s.size() > 1 && s[1] != '-') ++first;
    T v{};
    const auto [end, ec] = std::from_chars(first, s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

}  // namespace

std::string format_float(float v) {
    if (!std::isfinite(v)) return non_finite(v);
    return float_looking(fmt::format("{}", v));
}

std::string format_double(double v) {
    if (!std::isfinite(v)) return non_finite(v);
    return float_looking(fmt::format("{}", v));
}

double float_for_json(float v) {
    const std::string shortest = fmt::format("{}", v);
    const auto d = parse_number<double>(shortest);
    if (d && static_cast<float>(*d) == v) return *d;
    return static_cast<double>(v);
}

std::optional<double> parse_double(const std::string& s) {
    if (auto special = parse_special(s)) return special;
    return parse_number<double>(s);
}

std::optional<float> parse_float(const std::string& s) {
    if (auto special = parse_special(s)) return static_cast<float>(*special);
    return parse_number<float>(s);
}

std::optional<std::int64_t> parse_int(const std::string& s) { return parse_number<std::int64_t>(s); }

bool needs_quotes(const std::string& s) {
    if (s.empty() || std::isspace(static_cast<unsigned char>(s.front())) ||
        std::isspace(static_cast<unsigned char>(s.back())))
        return true;
    if (parse_double(s) || parse_int(s)) return true;
    static const std::array<const char*, 11> reserved = {"true", "false", "yes", "no",   "on", "off",
                                                         "null", "~",     "y",   "n",    "<<"};
    const std::string t = lower(s);
    return std::find(reserved.begin(), reserved.end(), t) != reserved.end();
}

}  // namespace bitnpu::calib::ctable_detail
