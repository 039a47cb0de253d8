#include "bitnpu/arch/utf8.hpp"

#include <fmt/format.h>

#include <cstddef>

#include "bitnpu/errors.hpp"

namespace bitnpu::arch {

namespace {

// Length of the well-formed UTF-8 sequence at text[i], 0 if there is none
// (the table of well-formed byte sequences, Unicode 15 section 3.9).
std::size_t sequence_length(const std::string& text, std::size_t i) {
    const auto byte = [&](std::size_t k) { return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0u; };
    const unsigned b0 = byte(0);
    if (b0 < 0x80) return 1;
    const auto cont = [&](std::size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
        return byte(k) >= lo && byte(k) <= hi;
    };
    if (b0 >= 0xC2 && b0 <= 0xDF) return cont(1) ? 2 : 0;
    if (b0 >= 0xE0 && b0 <= 0xEF) {
        const unsigned lo = b0 == 0xE0 ? 0xA0 : 0x80, hi = b0 == 0xED ? 0x9F : 0xBF;  // overlong / surrogates
        return cont(1, lo, hi) && cont(2) ? 3 : 0;
    }
    if (b0 >= 0xF0 && b0 <= 0xF4) {
        const unsigned lo = b0 == 0xF0 ? 0x90 : 0x80, hi = b0 == 0xF4 ? 0x8F : 0xBF;  // overlong / > U+10FFFF
        return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
    }
    return 0;
}

}  // namespace

void check_utf8(const std::string& text, const std::string& origin) {
    int line = 1, column = 1;
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n = sequence_length(text, i);
        if (n == 0)
            throw UserError(fmt::format("{}:{}:{}: byte 0x{:02X} is not valid UTF-8 (the file must be UTF-8 text)",
                                        origin, line, column, static_cast<unsigned char>(text[i])));
        if (text[i] == '\n') {
            ++line;
            column = 0;
        }
        ++column;
        i += n;
    }
}

}  // namespace bitnpu::arch
