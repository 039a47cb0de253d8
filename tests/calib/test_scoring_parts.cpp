// The part of a MAC layer's output the search scores candidates on
// (calibrator/src/scoring_parts.hpp): whole when small; otherwise about the
// budget, spread over every channel and every position of a plane.
#include <catch2/catch.hpp>

#include <set>
#include <utility>

#include "calibrator/src/scoring_parts.hpp"

using namespace bitnpu::calib;

namespace {

std::int64_t values(const std::vector<ScoringPart>& parts) {
    std::int64_t n = 0;
    for (const ScoringPart& p : parts) n += p.count;
    return n;
}

}  // namespace

TEST_CASE("scoring_parts: an output of at most twice the budget is scored whole", "[calibrator][scoring]") {
    const std::vector<ScoringPart> parts = scoring_parts(/*runs=*/6, /*run_length=*/10, /*channels=*/3, 30);
    REQUIRE(parts.size() == 6);
    for (std::int64_t k = 0; k < 6; ++k) {
        CHECK(parts[static_cast<std::size_t>(k)].run == k);
        CHECK(parts[static_cast<std::size_t>(k)].offset == 0);
        CHECK(parts[static_cast<std::size_t>(k)].count == 10);
    }
    CHECK(scores_everything(parts, 6, 10));
}

TEST_CASE("scoring_parts: planes are cut into pieces spread over every channel and plane position",
          "[calibrator][scoring]") {
    // 16 samples x 32 channels of 40x40 planes (1600 values: pieces of 256,
    // the last one 64), a budget of 20000 of the 819200 values.
    const std::int64_t samples = 16, channels = 32, plane = 1600, budget = 20000;
    const std::vector<ScoringPart> parts = scoring_parts(samples * channels, plane, channels, budget);
    CHECK_FALSE(scores_everything(parts, samples * channels, plane));
    CHECK(values(parts) <= 2 * budget);
    CHECK(values(parts) >= budget / 2);
    std::set<std::int64_t> seen_channels;
    std::set<std::pair<std::int64_t, std::int64_t>> seen_pairs;
    std::int64_t last = -1;
    for (const ScoringPart& p : parts) {
        REQUIRE(p.offset % kScoringPiece == 0);
        REQUIRE(p.count == std::min(kScoringPiece, plane - p.offset));
        REQUIRE(p.run * plane + p.offset > last);   // in output order, no overlap
        last = p.run * plane + p.offset;
        seen_channels.insert(p.run % channels);
        seen_pairs.insert({p.run % channels, p.offset});
    }
    CHECK(seen_channels.size() == static_cast<std::size_t>(channels));
    // 7 pieces per plane: (channel, piece) pairs cycle, 224 of them in all.
    CHECK(seen_pairs.size() == static_cast<std::size_t>(std::min<std::int64_t>(224, parts.size())));
}

TEST_CASE("scoring_parts: a Gemm's single values keep whole rows of every channel", "[calibrator][scoring]") {
    // [4096 rows, 64 channels], budget 16384: every 16th row.
    const std::vector<ScoringPart> parts = scoring_parts(4096 * 64, 1, 64, 16384);
    REQUIRE(parts.size() == 256 * 64);
    for (std::size_t k = 0; k < parts.size(); ++k) {
        CHECK(parts[k].count == 1);
        CHECK(parts[k].run == static_cast<std::int64_t>(k / 64 * 16 * 64 + k % 64));
    }
}

TEST_CASE("scoring_parts: bad shapes are rejected", "[calibrator][scoring]") {
    CHECK_THROWS_AS(scoring_parts(10, 4, 3), std::invalid_argument);   // runs not a multiple of channels
    CHECK_THROWS_AS(scoring_parts(10, 4, 0), std::invalid_argument);
}
