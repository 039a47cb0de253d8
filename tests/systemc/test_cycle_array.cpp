// The clocked array and lane steppers against a brute-force enumeration of
// every PE in every cycle: PE(i, j) of a systolic array works on item
// t - i - j in cycle t (docs/timing.md "MAC arrays"), written out here
// independently of the row-range bookkeeping the model uses.
#include <catch2/catch.hpp>

#include <random>

#include "bitnpu/sim/systemc/array_stepper.hpp"

using namespace bitnpu::sim::systemc;

namespace {

struct Brute {
    std::int64_t rows, cols, used_rows, used_cols, items;
    // Useful PEs in stream cycle t: inside the used block and on an item.
    std::int64_t useful(std::int64_t t) const {
        std::int64_t n = 0;
        for (std::int64_t i = 0; i < used_rows; ++i)
            for (std::int64_t j = 0; j < used_cols; ++j) n += t - i - j >= 0 && t - i - j < items;
        return n;
    }
    bool all_busy(std::int64_t t) const {
        for (std::int64_t i = 0; i < rows; ++i)
            for (std::int64_t j = 0; j < cols; ++j)
                if (!(t - i - j >= 0 && t - i - j < items)) return false;
        return true;
    }
};

struct Run {
    std::vector<CycleActivity> cycles;
    std::vector<std::int64_t> handoffs;   // cycle of each output row handed to the pipeline
};

Run run(TileStepper& s) {
    Run r;
    for (std::int64_t t = 0; !s.done(); ++t) {
        REQUIRE(t < 1000000);
        r.cycles.push_back(s.step());
        for (std::int64_t k = 0; k < r.cycles.back().outputs_ready; ++k) r.handoffs.push_back(t);
    }
    return r;
}

std::int64_t count_phase(const Run& r, ArrayPhase p) {
    std::int64_t n = 0;
    for (const CycleActivity& a : r.cycles) n += a.phase == p;
    return n;
}

std::int64_t active_sum(const Run& r) {
    std::int64_t n = 0;
    for (const CycleActivity& a : r.cycles) n += a.active_pes;
    return n;
}

}  // namespace

TEST_CASE("array: an output-stationary tile steps K + R + C - 2 cycles, PE by PE as the skew says", "[systemc][array]") {
    std::mt19937 rng(21);
    auto pick = [&](std::int64_t lo, std::int64_t hi) { return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng); };
    for (int n = 0; n < 300; ++n) {
        const std::int64_t R = pick(1, 12), C = pick(1, 12), K = pick(1, 40);
        const Brute b{R, C, pick(1, R), pick(1, C), K};
        CAPTURE(R, C, K, b.used_rows, b.used_cols);
        SystolicTileStepper s(SystolicTileSpec{R, C, b.used_rows, b.used_cols, K, 0, false, MacOutputs::array_rows});
        const Run r = run(s);
        // The emergent count equals the closed form.
        CHECK(static_cast<std::int64_t>(r.cycles.size()) == K + R + C - 2);
        bool per_cycle_ok = true;
        for (std::size_t t = 0; t < r.cycles.size(); ++t) {
            const auto tt = static_cast<std::int64_t>(t);
            per_cycle_ok &= r.cycles[t].active_pes == b.useful(tt);
            const ArrayPhase expected = tt >= K ? ArrayPhase::drain : b.all_busy(tt) ? ArrayPhase::steady : ArrayPhase::fill;
            per_cycle_ok &= r.cycles[t].phase == expected;
        }
        CHECK(per_cycle_ok);
        CHECK(active_sum(r) == b.used_rows * b.used_cols * K);   // one MAC per useful PE-cycle
        // Row i is final once item K-1 has passed PE(i, C-1): cycle K-1 + i + C-1.
        REQUIRE(static_cast<std::int64_t>(r.handoffs.size()) == R);
        for (std::int64_t i = 0; i < R; ++i) CHECK(r.handoffs[static_cast<std::size_t>(i)] == K - 1 + i + C - 1);
        CHECK(count_phase(r, ArrayPhase::drain) == R + C - 2);
        CHECK(count_phase(r, ArrayPhase::fill) == std::min(K, R + C - 2));
        CHECK(count_phase(r, ArrayPhase::steady) == std::max<std::int64_t>(0, K - (R + C - 2)));
    }
}

TEST_CASE("array: a weight-stationary tile loads R rows, streams M and takes R + M + R + C - 1 cycles", "[systemc][array]") {
    std::mt19937 rng(22);
    auto pick = [&](std::int64_t lo, std::int64_t hi) { return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng); };
    for (int n = 0; n < 300; ++n) {
        const std::int64_t R = pick(1, 12), C = pick(1, 12), M = pick(1, 50);
        const Brute b{R, C, pick(1, R), pick(1, C), M};
        const bool last_k = n % 2 == 0;
        CAPTURE(R, C, M, b.used_rows, b.used_cols, last_k);
        SystolicTileStepper s(SystolicTileSpec{R, C, b.used_rows, b.used_cols, M, R, true,
                                               last_k ? MacOutputs::streamed_items : MacOutputs::none});
        const Run r = run(s);
        CHECK(static_cast<std::int64_t>(r.cycles.size()) == R + M + R + C - 1);
        bool per_cycle_ok = true;
        for (std::size_t t = 0; t < r.cycles.size(); ++t) {
            const auto tt = static_cast<std::int64_t>(t);
            const std::int64_t stream = tt - R;   // cycles after the weight load
            per_cycle_ok &= r.cycles[t].active_pes == (stream < 0 ? 0 : b.useful(stream));
            const ArrayPhase expected = stream < 0 ? ArrayPhase::fill
                                        : stream >= M ? ArrayPhase::drain
                                        : b.all_busy(stream) ? ArrayPhase::steady : ArrayPhase::fill;
            per_cycle_ok &= r.cycles[t].phase == expected;
        }
        CHECK(per_cycle_ok);
        CHECK(active_sum(r) == b.used_rows * b.used_cols * M);
        if (last_k) {
            // Input row m passes PE(R-1, C-1) in stream cycle m + R-1 + C-1 and leaves the array one cycle later.
            REQUIRE(static_cast<std::int64_t>(r.handoffs.size()) == M);
            for (std::int64_t m = 0; m < M; ++m) CHECK(r.handoffs[static_cast<std::size_t>(m)] == R + m + R + C - 1);
        } else {
            CHECK(r.handoffs.empty());
        }
    }
}

TEST_CASE("array: vector lanes take one element a lane a cycle, a window of ops per output", "[systemc][array]") {
    for (std::int64_t lanes : {1, 3, 16})
        for (std::int64_t elements : {1, 15, 16, 17, 100})
            for (std::int64_t ops : {1, 4, 9}) {
                CAPTURE(lanes, elements, ops);
                LaneTileStepper s(LaneTileSpec{lanes, elements, ops});
                const Run r = run(s);
                const std::int64_t beats = (elements + lanes - 1) / lanes;
                CHECK(static_cast<std::int64_t>(r.cycles.size()) == beats * ops);
                CHECK(active_sum(r) == elements * ops);
                REQUIRE(static_cast<std::int64_t>(r.handoffs.size()) == beats);
                for (std::int64_t k = 0; k < beats; ++k) CHECK(r.handoffs[static_cast<std::size_t>(k)] == (k + 1) * ops - 1);
            }
}
