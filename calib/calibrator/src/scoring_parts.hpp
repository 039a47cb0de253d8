// The part of a MAC layer's output the search scores output candidates on
// (private to the calibrator). Scoring a candidate finishes its accumulators
// and sums the error against FP32, once per candidate and twice more for the
// bias correction: on M-LSD's 160x160 maps this was a third of the search.
// Above a size, a spread-out part of the output ranks the candidates as well
// (the issue's "score candidates on a small slice and only finish the
// winner"): the winner is then finished, and its SQNR taken, in full.
#pragma once

#include <cstdint>
#include <vector>

namespace bitnpu::calib {

// Values [offset, offset + count) of run `run` of a MAC layer's accumulators
// (sim::AccumulatorFinisher's runs: conv planes of one channel, gemm single
// values; run k is channel k % channels).
struct ScoringPart {
    std::int64_t run = 0, offset = 0, count = 0;
};

// At most about this many values are scored per candidate. An output of at
// most twice as many is scored whole.
constexpr std::int64_t kScoringValues = std::int64_t{1} << 20;
// Planes are scored in pieces of this many consecutive values.
constexpr std::int64_t kScoringPiece = 256;

// The parts scored, in output order. Whole runs when runs * run_length <= 2 *
// max_values. Otherwise:
// - planes (run_length > 1) are cut into pieces of kScoringPiece values and
//   every s-th piece of the output is kept, s coprime with pieces-per-plane x
//   channels, so the kept pieces cycle through every (channel, position in
//   the plane) pair as they go through the samples;
// - single values (run_length 1, a Gemm's [rows, channels]) keep every s-th
//   row whole, every channel of it.
std::vector<ScoringPart> scoring_parts(std::int64_t runs, std::int64_t run_length, std::int64_t channels,
                                       std::int64_t max_values = kScoringValues);

// Whether the parts cover every value of the output.
bool scores_everything(const std::vector<ScoringPart>& parts, std::int64_t runs, std::int64_t run_length);

}  // namespace bitnpu::calib
