// Number <-> text for the CTable: shortest round-trip decimal, locale-free,
// and text any YAML reader (1.1 or 1.2) resolves to the same kind of number.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bitnpu::calib::ctable_detail {

// Shortest decimal that reads back as exactly this value, always with a '.'
// or exponent so YAML readers see a float ("1.0", "2.5e-07"); non-finite:
// ".inf", "-.inf", ".nan".
std::string format_float(float v);
std::string format_double(double v);
// A double whose shortest decimal reads back (as float) to exactly v, for
// JSON writers that store numbers as double: the float's shortest decimal
// when that round-trips, else the exact widened value.
double float_for_json(float v);

// Strict parsers: the whole text must be the number. Accept "inf", ".inf",
// "+.inf", "-inf", "-.inf", "nan", ".nan" (any case) for floats.
std::optional<double> parse_double(const std::string& s);
std::optional<float> parse_float(const std::string& s);
std::optional<std::int64_t> parse_int(const std::string& s);

// True when a YAML reader would not read s back as a string (a number, bool,
// null, empty, or a leading/trailing space): such strings are double-quoted.
bool needs_quotes(const std::string& s);

// Flags <-> base64 (RFC 4648, padded) of their bitmask: flag i is bit i % 8
// (least significant first) of byte i / 8; the last byte's unused bits are 0.
std::string encode_bits(const std::vector<bool>& flags);
// The flags of a mask of `count` flags; nullopt when the text is not base64,
// holds other than ceil(count / 8) bytes or sets an unused bit.
std::optional<std::vector<bool>> decode_bits(const std::string& text, std::size_t count);

}  // namespace bitnpu::calib::ctable_detail
