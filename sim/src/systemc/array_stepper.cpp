// The per-cycle state machines of the engines (array_stepper.hpp). Each
// row of a systolic array is the column range its items occupy: the range
// grows by one column a cycle while items still enter the row and shrinks
// from the left once the last item has entered, so a cycle costs O(live rows).
#include "bitnpu/sim/systemc/array_stepper.hpp"

#include <algorithm>

namespace bitnpu::sim::systemc {

SystolicWavefront::SystolicWavefront(std::int64_t rows, std::int64_t cols, std::int64_t used_rows,
                                     std::int64_t used_cols, std::int64_t items)
    : rows_(rows), cols_(cols), used_rows_(used_rows), used_cols_(used_cols), items_(items),
      front_(static_cast<std::size_t>(std::max<std::int64_t>(rows, 0)), -1) {
    if (rows <= 0 || cols <= 0 || items <= 0) first_live_row_ = rows_;   // nothing flows
}

SystolicWavefront::Cycle SystolicWavefront::step() {
    Cycle c;
    if (done()) return c;
    if (started_rows_ < rows_) ++started_rows_;   // the skew releases one more row a cycle
    std::int64_t full_rows = 0;
    const std::int64_t live_end = started_rows_;
    for (std::int64_t i = first_live_row_; i < live_end; ++i) {
        const std::int64_t front = ++front_[static_cast<std::size_t>(i)];  // item 0 moves one column right
        const std::int64_t tail = front - (items_ - 1);                     // where the row's last item is
        const std::int64_t lo = std::max<std::int64_t>(tail, 0), hi = std::min(front, cols_ - 1);
        if (lo <= hi) {
            c.busy += hi - lo + 1;
            if (i < used_rows_) c.useful += std::max<std::int64_t>(0, std::min(hi, used_cols_ - 1) - lo + 1);
            full_rows += lo == 0 && hi == cols_ - 1;
            if (i == rows_ - 1 && hi == cols_ - 1) c.last_pe_busy = true;
        }
        if (i == 0) c.streams_ended = tail > 0;
        if (tail == cols_ - 1) ++c.rows_finished;   // the last item is at the last column: the row is final
    }
    if (first_live_row_ > 0) c.streams_ended = true;
    c.all_busy = full_rows == rows_;
    // Rows finish in order (row i is one cycle behind row i - 1).
    while (first_live_row_ < started_rows_ &&
           front_[static_cast<std::size_t>(first_live_row_)] - (items_ - 1) >= cols_ - 1)
        ++first_live_row_;
    return c;
}

SystolicTileStepper::SystolicTileStepper(const SystolicTileSpec& spec)
    : spec_(spec), wave_(spec.rows, spec.cols, spec.used_rows, spec.used_cols, spec.items),
      load_left_(std::max<std::int64_t>(spec.weight_load_cycles, 0)) {}

CycleActivity SystolicTileStepper::step() {
    CycleActivity a;
    if (load_left_ > 0) {   // weight-stationary: one weight row enters the array a cycle
        --load_left_;
        a.phase = ArrayPhase::fill;
        return a;
    }
    const bool leaving = leaving_next_;   // sums that passed the last PE last cycle leave the array now
    leaving_next_ = false;
    a.phase = ArrayPhase::drain;
    if (!wave_.done()) {
        const SystolicWavefront::Cycle c = wave_.step();
        a.active_pes = c.useful;
        a.phase = c.streams_ended ? ArrayPhase::drain : c.all_busy ? ArrayPhase::steady : ArrayPhase::fill;
        if (spec_.outputs == MacOutputs::array_rows) a.outputs_ready += c.rows_finished;
        if (spec_.exit_cycle)
            leaving_next_ = c.last_pe_busy;
        else if (spec_.outputs == MacOutputs::streamed_items && c.last_pe_busy)
            ++a.outputs_ready;
    }
    if (leaving && spec_.outputs == MacOutputs::streamed_items) ++a.outputs_ready;
    return a;
}

LaneTileStepper::LaneTileStepper(const LaneTileSpec& spec) : spec_(spec), remaining_(std::max<std::int64_t>(spec.elements, 0)) {}

CycleActivity LaneTileStepper::step() {
    CycleActivity a;
    if (done()) return a;
    const std::int64_t beat = std::min(spec_.lanes, remaining_);   // lanes with an output in this beat
    a.active_pes = beat;
    if (++op_in_beat_ >= spec_.ops_per_element) {   // every lane has read its whole window
        op_in_beat_ = 0;
        remaining_ -= beat;
        a.outputs_ready = 1;
    }
    return a;
}

std::unique_ptr<TileStepper> make_stepper(const TileSpec& spec) {
    if (const auto* s = std::get_if<SystolicTileSpec>(&spec)) return std::make_unique<SystolicTileStepper>(*s);
    return std::make_unique<LaneTileStepper>(std::get<LaneTileSpec>(spec));
}

}  // namespace bitnpu::sim::systemc
