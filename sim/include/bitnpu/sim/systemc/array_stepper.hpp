// One tile on one engine, advanced a clock cycle at a time. The SystemC
// array process (npu_top.cpp) calls step() once a cycle until done(): how
// many cycles a tile takes is how many steps its operands need to flow
// through the array, not a formula. Plain C++ (no SystemC) so the stepping
// can be tested on its own (docs/timing.md "MAC arrays", "Vector engines").
//
// * MAC arrays: a systolic wavefront over the R x C array, one process per
//   array (never one per PE): each row is a range of busy columns, so a
//   cycle costs O(R). Output-stationary tiles stream K operand pairs;
//   weight-stationary tiles load R weight rows, then stream M input rows.
// * Vector engines: L lanes, one element per lane per cycle, a window of
//   `ops` elements per output.
#pragma once

#include <cstdint>
#include <memory>
#include <variant>
#include <vector>

namespace bitnpu::sim::systemc {

// Where a cycle of array time goes (docs/timing.md): `fill` until every PE
// has work (and the weight load of weight-stationary tiles), `steady` while
// every PE works, `drain` once the operand streams have ended (PE(0,0) has
// seen its last operand) until the last result has left the array.
enum class ArrayPhase : std::uint8_t { fill, steady, drain };

// What one cycle of an engine did.
struct CycleActivity {
    ArrayPhase phase = ArrayPhase::steady;
    std::int64_t active_pes = 0;     // PEs (lanes) doing useful work: a MAC (element op) on real data
    std::int64_t outputs_ready = 0;  // output rows (vector beats) handed to the output pipeline this cycle
};

// Operands streamed through the rows of an R x C array with the systolic
// skew: item k enters row i in cycle i + k and moves one column a cycle,
// so PE(i, j) works on item t - i - j in cycle t (if 0 <= t - i - j < items).
// Only PEs of the first used_rows x used_cols carry real data; the others
// compute on zeros (bubbles) but the wavefront still crosses the whole array.
class SystolicWavefront {
public:
    struct Cycle {
        std::int64_t busy = 0;         // PEs holding an item (bubbles included)
        std::int64_t useful = 0;       // busy PEs inside used_rows x used_cols
        bool all_busy = false;         // every PE of the array holds an item
        bool streams_ended = false;    // PE(0,0) has seen its last item
        std::int64_t rows_finished = 0;  // rows whose last item left the last column this cycle
        bool last_pe_busy = false;     // PE(R-1, C-1) works on an item this cycle
    };

    SystolicWavefront(std::int64_t rows, std::int64_t cols, std::int64_t used_rows, std::int64_t used_cols,
                      std::int64_t items);
    Cycle step();   // advance one cycle
    bool done() const { return first_live_row_ == rows_; }

private:
    std::int64_t rows_, cols_, used_rows_, used_cols_, items_;
    std::vector<std::int64_t> front_;   // per row: the column item 0 has reached (grows one a cycle)
    std::int64_t started_rows_ = 0;     // rows the skew has released (row i starts in cycle i)
    std::int64_t first_live_row_ = 0;   // rows above it have finished (rows finish in order)
};

// What a MAC tile hands to the accumulator/requant pipeline.
enum class MacOutputs : std::uint8_t {
    none,            // partial sums stay in the accumulators (weight-stationary, not the last K block)
    array_rows,      // output-stationary: each PE row's accumulators, as soon as the row has finished
    streamed_items,  // weight-stationary: each input row's finished sums, as they leave the array
};

struct SystolicTileSpec {
    std::int64_t rows = 0, cols = 0;            // the array
    std::int64_t used_rows = 0, used_cols = 0;  // PEs that hold real data
    std::int64_t items = 0;                     // streamed through every row: K (OS) or M (WS)
    std::int64_t weight_load_cycles = 0;        // WS: one weight row a cycle before the stream
    bool exit_cycle = false;                    // WS: sums leave the last row one cycle after its last PE
    MacOutputs outputs = MacOutputs::none;
};

struct LaneTileSpec {
    std::int64_t lanes = 1;
    std::int64_t elements = 0;         // outputs of the tile
    std::int64_t ops_per_element = 1;  // cycles a lane spends on one output (pool window size)
};

using TileSpec = std::variant<SystolicTileSpec, LaneTileSpec>;

class TileStepper {
public:
    virtual ~TileStepper() = default;
    virtual CycleActivity step() = 0;
    virtual bool done() const = 0;
};

class SystolicTileStepper final : public TileStepper {
public:
    explicit SystolicTileStepper(const SystolicTileSpec& spec);
    CycleActivity step() override;
    bool done() const override { return load_left_ == 0 && wave_.done() && !leaving_next_; }

private:
    SystolicTileSpec spec_;
    SystolicWavefront wave_;
    std::int64_t load_left_;
    bool leaving_next_ = false;   // an item's sums leave the last row in the next cycle
};

class LaneTileStepper final : public TileStepper {
public:
    explicit LaneTileStepper(const LaneTileSpec& spec);
    CycleActivity step() override;
    bool done() const override { return remaining_ == 0; }

private:
    LaneTileSpec spec_;
    std::int64_t remaining_;      // outputs not yet finished
    std::int64_t op_in_beat_ = 0; // cycles spent on the current beat (lanes outputs at once)
};

std::unique_ptr<TileStepper> make_stepper(const TileSpec& spec);

}  // namespace bitnpu::sim::systemc
