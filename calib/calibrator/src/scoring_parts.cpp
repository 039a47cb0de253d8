// The part of a MAC layer's output the search scores candidates on
// (scoring_parts.hpp).
#include "scoring_parts.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace bitnpu::calib {

namespace {

// The smallest s >= want coprime with n.
std::int64_t coprime_at_least(std::int64_t want, std::int64_t n) {
    std::int64_t s = std::max<std::int64_t>(want, 1);
    while (std::gcd(s, n) != 1) ++s;
    return s;
}

std::vector<ScoringPart> whole_runs(std::int64_t runs, std::int64_t run_length) {
    std::vector<ScoringPart> parts;
    parts.reserve(static_cast<std::size_t>(runs));
    for (std::int64_t k = 0; k < runs; ++k) parts.push_back({k, 0, run_length});
    return parts;
}

std::vector<ScoringPart> every_sth_row(std::int64_t runs, std::int64_t channels, std::int64_t max_values) {
    const std::int64_t rows = runs / channels;
    const std::int64_t stride = std::max<std::int64_t>(1, runs / max_values);
    std::vector<ScoringPart> parts;
    for (std::int64_t r = 0; r < rows; r += stride)
        for (std::int64_t c = 0; c < channels; ++c) parts.push_back({r * channels + c, 0, 1});
    return parts;
}

std::vector<ScoringPart> every_sth_piece(std::int64_t runs, std::int64_t run_length, std::int64_t channels,
                                         std::int64_t max_values) {
    const std::int64_t per_run = (run_length + kScoringPiece - 1) / kScoringPiece;
    const std::int64_t pieces = runs * per_run;
    const std::int64_t stride = coprime_at_least(runs * run_length / max_values, per_run * channels);
    std::vector<ScoringPart> parts;
    for (std::int64_t id = 0; id < pieces; id += stride) {
        const std::int64_t run = id / per_run, offset = id % per_run * kScoringPiece;
        parts.push_back({run, offset, std::min(kScoringPiece, run_length - offset)});
    }
    return parts;
}

}  // namespace

std::vector<ScoringPart> scoring_parts(std::int64_t runs, std::int64_t run_length, std::int64_t channels,
                                       std::int64_t max_values) {
    if (runs < 0 || run_length < 0 || channels < 1 || runs % channels != 0 || max_values < 1)
        throw std::invalid_argument("scoring_parts: runs must be a multiple of channels >= 1");
    if (runs * run_length <= 2 * max_values) return whole_runs(runs, run_length);
    if (run_length == 1) return every_sth_row(runs, channels, max_values);
    return every_sth_piece(runs, run_length, channels, max_values);
}

bool scores_everything(const std::vector<ScoringPart>& parts, std::int64_t runs, std::int64_t run_length) {
    std::int64_t values = 0;
    for (const ScoringPart& p : parts) values += p.count;
    return values == runs * run_length;
}

}  // namespace bitnpu::calib
