// The requant unit (rtl/requant.sv) in every rounding mode against
// sim::requantize + sim::add_zero_point_and_clamp: every tie at every
// shift, the accumulator extremes, and random registers.
#include <catch2/catch.hpp>

#include <iterator>
#include <memory>
#include <random>

#include "Vrequant_multiplier.h"
#include "Vrequant_shifter.h"
#include "bitnpu/sim/datapath/requant.hpp"
#include "verilated.h"

namespace {

using bitnpu::arch::RequantKind;
using bitnpu::arch::RoundingMode;

// The rounding mode of each lane of requant_all_modes (its MODES[m]).
constexpr RoundingMode kLaneModes[] = {RoundingMode::floor, RoundingMode::trunc, RoundingMode::half_up,
                                       RoundingMode::half_away, RoundingMode::half_even};

struct Sample {
    std::int64_t acc, mult;
    int shift;
    std::int64_t zy, lo, hi;
};

std::int64_t sext(std::uint64_t v, int bits) { return std::int64_t(v << (64 - bits)) >> (64 - bits); }

template <typename Model>
class Harness {
public:
    Harness(RequantKind kind, int acc_bits, int mult_bits, int shift_bits)
        : kind_(kind), acc_bits_(acc_bits), mult_bits_(mult_bits), shift_bits_(shift_bits) {
        top_ = std::make_unique<Model>(&ctx_, "requant");
    }
    // Returns the number of (sample, mode) pairs that differ from the golden model.
    int check(const Sample& s) {
        top_->in_valid = 1;
        top_->acc = std::uint64_t(s.acc) & mask(acc_bits_);
        top_->mult = std::uint64_t(s.mult) & mask(mult_bits_);
        top_->shift = std::uint64_t(std::int64_t(s.shift)) & mask(shift_bits_ + 1);
        top_->zy = std::uint64_t(s.zy) & 0xffff;
        top_->lo = std::uint64_t(s.lo) & 0xffff;
        top_->hi = std::uint64_t(s.hi) & 0xffff;
        tick();
        tick();
        int bad = 0;
        for (int m = 0; m < int(std::size(kLaneModes)); ++m) {
            bitnpu::sim::RequantRegisters r;
            r.kind = kind_;
            r.rounding = kLaneModes[m];
            r.multiplier = kind_ == RequantKind::multiplier ? s.mult : 1;
            r.shift = s.shift;
            r.dst_bits = acc_bits_;
            const std::int64_t want =
                bitnpu::sim::add_zero_point_and_clamp(bitnpu::sim::requantize(s.acc, r), s.zy, s.lo, s.hi);
            // y is 80 bits (VlWide<3>); 16-bit fields never straddle a 32-bit word.
            const std::int64_t got = sext((top_->y[16 * m / 32] >> (16 * m % 32)) & 0xffffu, 16);
            if (got != want) {
                ++bad;
                UNSCOPED_INFO("mode " << bitnpu::arch::to_string(kLaneModes[m]) << " acc=" << s.acc << " M=" << s.mult << " shift=" << s.shift
                                      << " zy=" << s.zy << " [" << s.lo << "," << s.hi << "]: want " << want
                                      << " got " << got);
            }
        }
        return bad;
    }
    std::int64_t acc_min() const { return -(std::int64_t(1) << (acc_bits_ - 1)); }
    std::int64_t acc_max() const { return (std::int64_t(1) << (acc_bits_ - 1)) - 1; }

private:
    static std::uint64_t mask(int bits) { return bits >= 64 ? ~0ull : (1ull << bits) - 1; }
    void tick() {
        top_->clk = 0;
        top_->eval();
        top_->clk = 1;
        top_->eval();
    }
    VerilatedContext ctx_;
    std::unique_ptr<Model> top_;
    RequantKind kind_;
    int acc_bits_, mult_bits_, shift_bits_;
};

template <typename Model>
int run_all(Harness<Model>& h, int min_shift, int max_shift, std::int64_t max_mult) {
    int bad = 0;
    // Every tie x = t * 2^(n-1), t odd, at every right shift, both signs.
    for (int n = 1; n <= max_shift; ++n)
        for (std::int64_t t = -41; t <= 41; t += 2) {
            const std::int64_t acc = t * (std::int64_t(1) << (n - 1));
            if (acc < h.acc_min() || acc > h.acc_max()) continue;
            bad += h.check({acc, 1, n, 0, -32768, 32767});
        }
    // Extremes at every legal shift, full-range multiplier.
    for (int n = min_shift; n <= max_shift; ++n)
        for (std::int64_t acc : {h.acc_min(), h.acc_min() + 1, std::int64_t(-1), std::int64_t(0), std::int64_t(1), h.acc_max()})
            for (std::int64_t m : {std::int64_t(1), max_mult})
                bad += h.check({acc, m, n, 0, -32768, 32767});
    std::mt19937_64 rng(42);
    auto uniform = [&](std::int64_t lo, std::int64_t hi) { return lo + std::int64_t(rng() % std::uint64_t(hi - lo + 1)); };
    for (int i = 0; i < 20000 && bad < 20; ++i) {
        const std::int64_t lo = uniform(-200, 100);
        bad += h.check({uniform(h.acc_min(), h.acc_max()), uniform(0, max_mult), int(uniform(min_shift, max_shift)),
                        uniform(-128, 127), lo, uniform(lo, 200)});
    }
    return bad;
}

}  // namespace

TEST_CASE("requant multiplier (24-bit acc, 16-bit M, 5-bit shift) in all five rounding modes") {
    Harness<Vrequant_multiplier> h(RequantKind::multiplier, 24, 16, 5);
    CHECK(run_all(h, 0, 31, 65535) == 0);
}

TEST_CASE("requant shifter with left shifts (20-bit acc, 4-bit shift) in all five rounding modes") {
    Harness<Vrequant_shifter> h(RequantKind::shifter, 20, 1, 4);
    CHECK(run_all(h, -15, 15, 1) == 0);
}
