// Directed corner tiles for the co-simulation (declared in vector_gen.hpp).
#include <algorithm>
#include <random>

#include "vector_gen.hpp"

namespace bitnpu::rtl {
namespace {

struct Builder {
    const TileConfig& c;
    std::vector<TileVector> out;

    int rows() const { return c.params.rows; }
    int cols() const { return c.params.cols; }

    // A tile whose every activation is x and every weight w, with bias b.
    TileVector uniform_tile(int k, std::int64_t x, std::int64_t w, std::int64_t b, const std::string& label) const {
        TileVector v;
        v.k = k;
        v.a.assign(std::size_t(rows()) * k, x);
        v.w.assign(std::size_t(k) * cols(), w);
        v.bias.assign(cols(), b);
        v.requant.assign(cols(), requant_registers(c, 1, 0));
        const arch::ValueRange out_r = output_range(c);
        v.lo = out_r.min;
        v.hi = out_r.max;
        v.label = label;
        return v;
    }
    std::int64_t acc_max() const { return (std::int64_t(1) << (c.accumulator.bits - 1)) - 1; }
    std::int64_t acc_min() const { return -acc_max() - 1; }
    sim::ShiftRange shifts() const { return sim::legal_shift_range(c.requant); }
    std::int64_t mult_max() const {
        return c.requant.kind == arch::RequantKind::multiplier ? (std::int64_t(1) << c.requant.multiplier_bits) - 1 : 1;
    }
    // Spread the columns over a set of shifts so one tile covers many of them.
    void spread_shifts(TileVector& v, std::int64_t m) const {
        const sim::ShiftRange r = shifts();
        for (int j = 0; j < cols(); ++j) v.requant[j] = requant_registers(c, m, r.min + j % (r.max - r.min + 1));
    }
};

void extreme_products(Builder& b) {
    const arch::ValueRange ar = activation_range(b.c), wr = weight_range(b.c);
    const arch::ValueRange br = bias_range(b.c);
    const std::int64_t xs[] = {ar.min, ar.max}, ws[] = {wr.min, wr.max};
    for (std::int64_t x : xs)
        for (std::int64_t w : ws)
            for (std::int64_t bias : {br.min, std::int64_t(0), br.max}) {
                TileVector v = b.uniform_tile(b.c.params.bnn ? 300 : 600, x, w, bias, "extreme operands x="
                                              + std::to_string(x) + " w=" + std::to_string(w) + " bias=" + std::to_string(bias));
                b.spread_shifts(v, b.mult_max());
                b.out.push_back(v);
            }
}

// Saturate at one bound, then come back: the ordered rule matters here.
void saturation_crossings(Builder& b) {
    const arch::ValueRange ar = activation_range(b.c), wr = weight_range(b.c);
    const arch::ValueRange br = bias_range(b.c);
    for (int direction : {+1, -1}) {
        const int k = b.c.params.bnn ? 200 : 64;
        TileVector v = b.uniform_tile(k, ar.max, 0, direction > 0 ? br.max - 5 : br.min + 5,
                                      direction > 0 ? "saturate high then descend" : "saturate low then ascend");
        for (int kk = 0; kk < k; ++kk) {
            const bool first_half = kk < k / 2;
            const std::int64_t up = b.c.weight == arch::ValueType::int1 ? 1 : wr.max;
            const std::int64_t down = b.c.weight == arch::ValueType::int1 ? -1 : (wr.min < 0 ? wr.min : 0);
            for (int j = 0; j < b.cols(); ++j)
                v.w[kk * b.cols() + j] = (first_half == (direction > 0)) ? up : down;
        }
        b.spread_shifts(v, 1);
        b.out.push_back(v);
    }
}

// acc = bias_j + x_i with small |x|: at shift n every acc with the low n bits
// equal to 2^(n-1) is a tie, in both signs.
// (The int1 engine uses K = 0: acc = bias_j.)
void rounding_ties(Builder& b) {
    const arch::ValueRange ar = activation_range(b.c), wr = weight_range(b.c);
    const sim::ShiftRange r = b.shifts();
    for (int n = std::max(1, r.min); n <= std::min(r.max, 8); ++n) {
        for (std::int64_t m : {std::int64_t(1), std::min<std::int64_t>(3, b.mult_max())}) {
            TileVector v = b.uniform_tile(b.c.params.bnn ? 0 : 1, 0, std::clamp<std::int64_t>(1, wr.min, wr.max), 0,
                                          "rounding ties at shift " + std::to_string(n) + " M=" + std::to_string(m));
            for (int i = 0; i < b.rows() && v.k == 1; ++i) v.a[i] = std::clamp<std::int64_t>(i - b.rows() / 2, ar.min, ar.max);
            for (int j = 0; j < b.cols(); ++j) {
                const std::int64_t t = (j % 2 ? -1 : 1) * (2 * j + 1);
                v.bias[j] = t * (std::int64_t(1) << (n - 1));
                v.requant[j] = requant_registers(b.c, m, n);
            }
            v.zy = 0;
            b.out.push_back(v);
        }
    }
}

void zero_point_extremes(Builder& b) {
    if (!b.c.activation_zero_point || b.c.params.bnn) return;
    const arch::ValueRange ar = activation_range(b.c), wr = weight_range(b.c);
    const arch::ValueRange out = output_range(b.c);
    for (std::int64_t zx : {ar.min, ar.max})
        for (std::int64_t x : {ar.min, ar.max})
            for (std::int64_t zy : {out.min, out.max}) {
                TileVector v = b.uniform_tile(16, x, wr.min, 0, "zero-point extremes zx=" + std::to_string(zx) +
                                              " x=" + std::to_string(x) + " zy=" + std::to_string(zy));
                v.zx = zx;
                v.zy = zy;
                b.spread_shifts(v, b.mult_max());
                b.out.push_back(v);
            }
}

void clamp_corners(Builder& b) {
    const arch::ValueRange ar = activation_range(b.c), wr = weight_range(b.c);
    const arch::ValueRange out = output_range(b.c);
    TileVector v = b.uniform_tile(0, ar.max, wr.max, 0, "K = 0: outputs are the requantized bias");
    for (int j = 0; j < b.cols(); ++j) v.bias[j] = (j - b.cols() / 2) * 37;
    b.out.push_back(v);
    TileVector relu = b.uniform_tile(3, ar.max, wr.min, 1000, "ReLU clamp (lo = zy) and lo == hi");
    relu.lo = relu.zy;
    b.out.push_back(relu);
    relu.lo = relu.hi = (out.min + out.max) / 2;
    b.out.push_back(relu);
}

// Left shifts saturate to the accumulator width.
void left_shift_saturation(Builder& b) {
    const sim::ShiftRange r = b.shifts();
    if (r.min >= 0) return;
    for (std::int64_t bias : {b.acc_max(), b.acc_min(), std::int64_t(1), std::int64_t(-1), std::int64_t(12345)}) {
        TileVector v = b.uniform_tile(0, 0, 0, std::clamp(bias, bias_range(b.c).min, bias_range(b.c).max),
                                      "left shifts, bias " + std::to_string(bias));
        for (int j = 0; j < b.cols(); ++j) v.requant[j] = requant_registers(b.c, 1, std::max(r.min, -(j + 1)));
        v.lo = -32768;
        v.hi = 32767;
        b.out.push_back(v);
    }
}

// int1 PEs add a whole beat at once unless the accumulator is within CHUNK
// of a bound, where they walk the beat element by element. With a post-stage
// bias only the +-1 products can get there, so K must exceed the
// accumulator's range: climb (or fall) to CHUNK/2 short of the bound, hover
// there with mostly same-sign products in mixed beats (every beat crosses
// the bound and saturates part way), then leave the bound again -- or end
// there, so that the last, partial beat (K % CHUNK bits) is walked too.
void binary_walk_at_bounds(Builder& b) {
    if (!b.c.params.bnn) return;
    const int chunk = b.c.params.chunk;
    const int climb = int(b.acc_max()) - chunk / 2, hover = 12 * chunk + 7, leave = 3 * chunk;
    std::mt19937_64 rng(99);
    for (int direction : {+1, -1})
        for (bool leaves : {true, false}) {
            const int k = climb + hover + (leaves ? leave : 0);
            TileVector v = b.uniform_tile(k, 1, direction, 0,
                                          std::string("int1 walk at the ") + (direction > 0 ? "upper" : "lower") +
                                              " bound" + (leaves ? ", then away" : ", ending there"));
            for (int kk = climb; kk < climb + hover; ++kk) {
                for (int i = 0; i < b.rows(); ++i) v.a[std::size_t(i) * k + kk] = rng() % 4 == 0 ? -1 : 1;
                for (int j = 0; j < b.cols(); ++j)
                    v.w[std::size_t(kk) * b.cols() + j] = rng() % 5 == 0 ? -direction : direction;
            }
            for (int kk = climb + hover; kk < k; ++kk)
                for (int j = 0; j < b.cols(); ++j) v.w[std::size_t(kk) * b.cols() + j] = -direction;
            b.spread_shifts(v, 1);
            b.out.push_back(v);
        }
}

}  // namespace

std::vector<TileVector> directed_vectors(const TileConfig& config) {
    Builder b{config, {}};
    extreme_products(b);
    saturation_crossings(b);
    rounding_ties(b);
    zero_point_extremes(b);
    clamp_corners(b);
    left_shift_saturation(b);
    binary_walk_at_bounds(b);
    return b.out;
}

}  // namespace bitnpu::rtl
