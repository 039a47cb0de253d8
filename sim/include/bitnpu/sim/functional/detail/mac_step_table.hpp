// Internals of the fast MAC kernel (mac_fast.hpp): the finish of a channel as
// a step function, and the per-layer cache of those tables. Nothing outside
// sim/ needs this header: the kernel (run_mac_layer) and the accumulator
// finisher (mac_accumulators.hpp) use the tables internally, and the bits
// never depend on whether a table was used.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "bitnpu/sim/functional/mac_fast.hpp"
#include "bitnpu/sim/functional/mac_layer.hpp"

namespace bitnpu::sim {

// ---- The finish as a step function ----
//
// With a saturating accumulator, steps 3-6 of one channel map the exact sum
// s of its products to the output: y = h(s) = mac_finish_with(ch,
// mac_accumulate_exact(ch, s)). With a wrapping one the table takes the
// accumulator value instead (wrap is not monotone): h(acc) = mac_finish_with(acc).
// Where every rule of the chain is non-decreasing (finish_is_monotone) h is a
// non-decreasing step function, described exactly by its thresholds
// T[i] = min{ x : h(x) >= base + i }: h(x) = base + i for the i with
// T[i] <= x < T[i+1]. The thresholds are found by evaluating h itself, i.e.
// by the datapath functions (no rule is restated), so a lookup gives the
// datapath's bits without its 128-bit arithmetic per output element.
struct MacStepTable {
    bool sum_domain = true;                // x = exact sum (saturate) or accumulator value (wrap)
    std::int64_t domain_min = 0, domain_max = 0;
    std::int64_t base = 0;                 // h(domain_min)
    std::int64_t levels = 0;               // h(domain_max) - base + 1
    // T[0] = domain_min, T[i] for level base + i (i < levels), T[levels] =
    // INT64_MAX (a sentinel above the domain, so T[i + 1] always exists).
    std::vector<std::int64_t> thresholds;
    double origin = 0.0, levels_per_unit = 0.0;   // first guess: i ~ (x - origin) * levels_per_unit
};
// True when h is non-decreasing on its domain: every rounding mode, saturation,
// clamp and the int1 sign are; the multiplier needs M >= 0, float32 a finite
// scale >= 0, gemmlowp M >= 0 and no int32 wrap in its left shift.
bool finish_is_monotone(const MacChannel& ch);
// Builds the table for channel ch; false when h is not monotone (or not
// shown to be), has more than max_levels levels, or the domain is too wide.
// Exact sums must lie in [-2^61, 2^61] (the caller checks K * max|p|).
bool build_step_table(const MacChannel& ch, std::int64_t max_levels, MacStepTable& table);
// Whether a table for channel ch is worth building to finish `outputs`
// elements (the rule the MAC kernel's table cache follows).
bool step_table_pays(const MacChannel& ch, std::int64_t outputs);
constexpr std::int64_t kStepTableSumLimit = std::int64_t{1} << 61;
// The first guess of the level index of x, in [0, levels - 1] (any guess is
// correct after step_lookup's search; a good one needs no search step).
inline std::int64_t step_guess(const MacStepTable& t, std::int64_t x) {
    double g = (static_cast<double>(x) - t.origin) * t.levels_per_unit;
    const double last = static_cast<double>(t.levels - 1);
    g = g < 0.0 ? 0.0 : g;
    g = g > last ? last : g;
    return static_cast<std::int64_t>(g);
}
// True when level index i is the one of x: T[i] <= x < T[i + 1].
inline bool step_matches(const MacStepTable& t, std::int64_t i, std::int64_t x) {
    const std::int64_t* T = t.thresholds.data();
    return T[i] <= x && x < T[i + 1];
}
// h(x) for x in the table's domain.
inline std::int64_t step_lookup(const MacStepTable& t, std::int64_t x) {
    const std::int64_t* T = t.thresholds.data();
    std::int64_t i = step_guess(t, x);
    while (x < T[i]) --i;          // stops at 0: T[0] = domain_min <= x
    while (x >= T[i + 1]) ++i;     // stops at levels - 1: T[levels] = INT64_MAX > x
    return t.base + i;
}

// step_lookup of x[0..n) into out[0..n) (out must not alias x). A first,
// branch-free pass takes every element's guess (it vectorizes, with gathers
// of T[i], T[i + 1]); only elements whose guess missed their interval are
// then searched.
template <class S>
void step_lookup_all(const MacStepTable& t, const S* x, std::int64_t n, std::int32_t* out) {
    std::int64_t missed = 0;
    for (std::int64_t p = 0; p < n; ++p) {
        const auto v = static_cast<std::int64_t>(x[p]);
        const std::int64_t i = step_guess(t, v);
        out[p] = static_cast<std::int32_t>(t.base + i);
        missed += !step_matches(t, i, v);
    }
    if (missed == 0) return;
    for (std::int64_t p = 0; p < n; ++p) {
        const auto v = static_cast<std::int64_t>(x[p]);
        if (!step_matches(t, out[p] - t.base, v)) out[p] = static_cast<std::int32_t>(step_lookup(t, v));
    }
}

// ---- The per-layer cache of a PreparedMacLayer ----

// Step tables of a prepared layer, one slot per output channel. A slot is
// built once (call_once) and then only read; `channel` is what it was built
// for, so a layer whose registers changed after preparing is finished
// directly instead of by a stale table.
struct MacStepTableCache {
    struct Slot {
        std::once_flag once;
        std::atomic<int> state{0};   // 0 not built, 1 table ready, 2 no table (not monotone, too many levels)
        std::atomic<std::int64_t> direct{0};   // outputs finished without a table so far
        MacChannel channel;
        MacStepTable table;
    };
    std::unique_ptr<Slot[]> slots;
    explicit MacStepTableCache(std::int64_t channels) : slots(new Slot[static_cast<std::size_t>(channels)]) {}
};

// Channel oc's step table (ch = mac_channel(layer, oc)), or nullptr for the
// direct finish. The table is built once the channel has finished enough
// outputs (`outputs` now, plus earlier runs of this prepared layer) to pay for
// it, about two evaluations of the finish per level; which path runs never
// changes the bits, only the time. The caller checks that its exact sums lie
// within +-kStepTableSumLimit.
const MacStepTable* cached_step_table(const PreparedMacLayer& prepared, std::int64_t oc, const MacChannel& ch,
                                      std::int64_t outputs);

}  // namespace bitnpu::sim
