// Packing fields into Verilator port values of any width: ports up to 64
// bits are plain integers, wider ones VlWide<N> arrays of 32-bit words.
// Inputs must be written with their unused upper bits zero (Verilator
// assumes clean inputs), so every field is masked to its width.
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include "verilated.h"

namespace bitnpu::rtl {

class BitWords {
public:
    explicit BitWords(unsigned total_bits) : words_((total_bits + 31) / 32 + 1, 0) {}
    void clear() { std::fill(words_.begin(), words_.end(), 0u); }
    // Field [lsb, lsb + width) = value (two's complement, truncated to width <= 64).
    void put(unsigned lsb, unsigned width, std::uint64_t value) {
        if (width < 64) value &= (std::uint64_t(1) << width) - 1;
        for (unsigned done = 0; done < width;) {
            const unsigned bit = lsb + done, word = bit / 32, offset = bit % 32;
            const unsigned n = std::min(32 - offset, width - done);
            const std::uint32_t mask = n == 32 ? ~0u : ((1u << n) - 1) << offset;
            words_[word] = (words_[word] & ~mask) | ((std::uint32_t(value >> done) << offset) & mask);
            done += n;
        }
    }
    const std::vector<std::uint32_t>& words() const { return words_; }

private:
    std::vector<std::uint32_t> words_;
};

template <typename T, typename = std::enable_if_t<std::is_integral_v<T>>>
void assign_port(T& port, const BitWords& bits) {
    const auto& w = bits.words();
    port = T(std::uint64_t(w[0]) | (sizeof(T) > 4 ? std::uint64_t(w[1]) << 32 : 0));
}
template <std::size_t N>
void assign_port(VlWide<N>& port, const BitWords& bits) {
    for (std::size_t i = 0; i < N; ++i) port[i] = bits.words()[i];
}

// Field [lsb, lsb + width) of a port, sign-extended (width <= 64).
inline std::int64_t sign_extend(std::uint64_t v, unsigned width) {
    const unsigned s = 64 - width;
    return std::int64_t(v << s) >> s;
}
template <typename T, typename = std::enable_if_t<std::is_integral_v<T>>>
std::int64_t read_signed(const T& port, unsigned lsb, unsigned width) {
    return sign_extend(std::uint64_t(port) >> lsb, width);
}
template <std::size_t N>
std::int64_t read_signed(const VlWide<N>& port, unsigned lsb, unsigned width) {
    std::uint64_t v = 0;
    for (unsigned b = 0; b < width; ++b) {
        const unsigned bit = lsb + b;
        v |= std::uint64_t((port[bit / 32] >> (bit % 32)) & 1u) << b;
    }
    return sign_extend(v, width);
}

}  // namespace bitnpu::rtl
