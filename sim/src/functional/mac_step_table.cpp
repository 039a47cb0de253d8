// The finish of a MAC channel as a step function (MacStepTable) and the
// per-layer table cache of the fast kernel (detail/mac_step_table.hpp).
#include "bitnpu/sim/functional/detail/mac_step_table.hpp"

#include <algorithm>
#include <climits>
#include <cmath>

#include "bitnpu/sim/datapath/saturate.hpp"

namespace bitnpu::sim {

bool finish_is_monotone(const MacChannel& ch) {
    const RequantRegisters& r = ch.registers;
    switch (r.kind) {
        case arch::RequantKind::shifter: return true;
        case arch::RequantKind::multiplier: return r.multiplier >= 0;
        case arch::RequantKind::float32: return std::isfinite(r.float_scale) && r.float_scale >= 0.0f;
        case arch::RequantKind::gemmlowp: {
            if (r.multiplier < 0 || r.multiplier > INT32_MAX || r.shift < -31 || r.shift > 31) return false;
            // The unit saturates acc to int32, then shifts left in int32 (wrapping).
            // No wrap for any accumulator value: monotone.
            const int left = r.shift > 0 ? r.shift : 0;
            const std::int64_t hi = std::min<std::int64_t>(signed_max(ch.accumulator.bits), INT32_MAX);
            const std::int64_t lo = std::max<std::int64_t>(signed_min(ch.accumulator.bits), INT32_MIN);
            return hi <= (std::int64_t{INT32_MAX} >> left) && lo >= -((std::int64_t{1} << 31) >> left);
        }
    }
    return false;
}

namespace {

// The channel's steps 3-6 as a function of the table's input.
std::int64_t step_function(const MacChannel& ch, bool sum_domain, std::int64_t x) {
    return mac_finish_with(ch, ch.registers, sum_domain ? mac_accumulate_exact(ch, x) : x);
}

// min{ x in (below, above] : h(x) >= v } given h(below) < v <= h(above),
// galloping from guess (any value; a good one costs two evaluations).
template <class H>
std::int64_t first_at_least(const H& h, std::int64_t v, std::int64_t below, std::int64_t above, std::int64_t guess) {
    const std::int64_t g = std::clamp(guess, below + 1, above);
    if (h(g) >= v) {
        above = g;
        for (std::int64_t step = 1; above - below > 1; step *= 2) {
            const std::int64_t c = above - std::min(step, above - below - 1);
            if (h(c) < v) {
                below = c;
                break;
            }
            above = c;
        }
    } else {
        below = g;
        for (std::int64_t step = 1; above - below > 1; step *= 2) {
            const std::int64_t c = below + std::min(step, above - below - 1);
            if (h(c) >= v) {
                above = c;
                break;
            }
            below = c;
        }
    }
    while (above - below > 1) {   // invariant: h(below) < v <= h(above)
        const std::int64_t mid = below + (above - below) / 2;
        (h(mid) >= v ? above : below) = mid;
    }
    return above;
}

}  // namespace

bool build_step_table(const MacChannel& ch, std::int64_t max_levels, MacStepTable& t) {
    if (!finish_is_monotone(ch)) return false;
    t.sum_domain = ch.accumulator.overflow == arch::Overflow::saturate;
    if (!t.sum_domain && ch.accumulator.bits > 62) return false;   // keep x differences within int64
    t.domain_min = t.sum_domain ? -kStepTableSumLimit : signed_min(ch.accumulator.bits);
    t.domain_max = t.sum_domain ? kStepTableSumLimit : signed_max(ch.accumulator.bits);
    const auto h = [&](std::int64_t x) { return step_function(ch, t.sum_domain, x); };
    t.base = h(t.domain_min);
    const std::int64_t top = h(t.domain_max);
    if (top < t.base || top - t.base >= max_levels) return false;
    const std::int64_t n = top - t.base + 1;
    t.levels = n;
    std::vector<std::int64_t>& T = t.thresholds;
    T.assign(static_cast<std::size_t>(n + 1), t.domain_min);
    T[static_cast<std::size_t>(n)] = INT64_MAX;
    std::int64_t width = 0;   // the last step's width: the next threshold's guess
    for (std::int64_t i = 1; i < n; ++i) {
        const auto k = static_cast<std::size_t>(i);
        // h(T[i-1] - 1) < base + i - 1 (T[i-1] is the first at that level), and h(domain_min) = base.
        const std::int64_t below = i == 1 ? t.domain_min : T[k - 1] - 1;
        const std::int64_t guess = i == 1 ? t.domain_min + (t.domain_max - t.domain_min) / 2 : T[k - 1] + width;
        T[k] = first_at_least(h, t.base + i, below, t.domain_max, guess);
        if (i >= 2) width = T[k] - T[k - 1];
    }
    // First guess of a lookup: linear between the first and last thresholds.
    if (n >= 3 && T[static_cast<std::size_t>(n - 1)] > T[1]) {
        const double span = static_cast<double>(T[static_cast<std::size_t>(n - 1)] - T[1]);
        t.levels_per_unit = static_cast<double>(n - 2) / span;
        t.origin = static_cast<double>(T[1]) - span / static_cast<double>(n - 2);
    } else {
        t.levels_per_unit = 0.0;
        t.origin = 0.0;
    }
    return true;
}

namespace {

bool same_finish(const MacChannel& a, const MacChannel& b) {
    const RequantRegisters &r = a.registers, &q = b.registers;
    return a.bias == b.bias && a.accumulator.bits == b.accumulator.bits &&
           a.accumulator.overflow == b.accumulator.overflow && a.bias_stage == b.bias_stage &&
           a.output_zero_point == b.output_zero_point && a.clamp_lo == b.clamp_lo && a.clamp_hi == b.clamp_hi &&
           a.binary_output == b.binary_output && r.kind == q.kind && r.rounding == q.rounding &&
           r.multiplier == q.multiplier && r.shift == q.shift && r.float_scale == q.float_scale &&
           r.dst_bits == q.dst_bits;
}

// Levels beyond which a table is not built (int16 outputs and wider).
constexpr std::int64_t kMaxStepLevels = 4096;

}  // namespace

// A table costs a few finish evaluations per level (first_at_least gallops
// from the previous step's width); a lookup is several times cheaper than a
// finish. Below about two outputs per level the direct finish wins.
bool step_table_pays(const MacChannel& ch, std::int64_t outputs) {
    const std::int64_t levels = ch.clamp_hi - ch.clamp_lo + 1;
    return levels <= kMaxStepLevels && outputs >= 2 * levels + 128;
}

const MacStepTable* cached_step_table(const PreparedMacLayer& prep, std::int64_t oc, const MacChannel& ch,
                                      std::int64_t outputs) {
    if (!prep.step_tables) return nullptr;
    MacStepTableCache::Slot& slot = prep.step_tables->slots[static_cast<std::size_t>(oc)];
    int state = slot.state.load(std::memory_order_acquire);
    if (state == 0) {
        if (!step_table_pays(ch, slot.direct.fetch_add(outputs, std::memory_order_relaxed) + outputs)) return nullptr;
        std::call_once(slot.once, [&] {
            slot.channel = ch;
            slot.state.store(build_step_table(ch, kMaxStepLevels, slot.table) ? 1 : 2, std::memory_order_release);
        });
        state = slot.state.load(std::memory_order_acquire);
    }
    return state == 1 && same_finish(slot.channel, ch) ? &slot.table : nullptr;
}

}  // namespace bitnpu::sim
