// Shortest round-trip number formatting (fmt) and strict parsing (from_chars).
#include "numbers.hpp"

#include <algorithm>
#include <array>
#include <cstring>
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

namespace {
constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}  // namespace

std::string encode_bits(const std::vector<bool>& flags) {
    std::vector<unsigned char> bytes((flags.size() + 7) / 8, 0);
    for (std::size_t i = 0; i < flags.size(); ++i)
        if (flags[i]) bytes[i / 8] = static_cast<unsigned char>(bytes[i / 8] | (1u << (i % 8)));
    std::string out;
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
        std::uint32_t v = 0;
        for (std::size_t j = 0; j < 3; ++j) v = v << 8 | (j < n ? bytes[i + j] : 0u);
        for (std::size_t j = 0; j < 4; ++j) out += j <= n ? kBase64[(v >> (18 - 6 * j)) & 63u] : '=';
    }
    return out;
}

std::optional<std::vector<bool>> decode_bits(const std::string& text, std::size_t count) {
    if (text.size() % 4 != 0) return std::nullopt;
    std::vector<unsigned char> bytes;
    for (std::size_t i = 0; i < text.size(); i += 4) {
        std::uint32_t v = 0;
        std::size_t pad = 0;
        for (std::size_t j = 0; j < 4; ++j) {
            const char c = text[i + j];
            const char* at = c == '=' ? nullptr : std::strchr(kBase64, c);
            if (c == '=' && (i + 4 == text.size()) && j >= 2) ++pad;
            else if (!at || c == '\0' || pad > 0) return std::nullopt;
            v = v << 6 | (at ? static_cast<std::uint32_t>(at - kBase64) : 0u);
        }
        for (std::size_t j = 0; j < 3 - pad; ++j) bytes.push_back(static_cast<unsigned char>(v >> (16 - 8 * j)));
    }
    if (bytes.size() != (count + 7) / 8) return std::nullopt;
    std::vector<bool> flags(count);
    for (std::size_t i = 0; i < bytes.size() * 8; ++i) {
        const bool set = (bytes[i / 8] >> (i % 8)) & 1u;
        if (i < count) flags[i] = set;
        else if (set) return std::nullopt;
    }
    return flags;
}

}  // namespace bitnpu::calib::ctable_detail
