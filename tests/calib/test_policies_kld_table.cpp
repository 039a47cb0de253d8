// The entropy search's O(nq) divergence (KldTable) against the bin-by-bin
// definition (kld_divergence) on dense, sparse, spiky and heavy-tailed
// one-sided histograms. Tolerance: 1e-9 relative (plus 1e-12 absolute near
// 0); the two sum the same terms in a different order, and the prefix sums
// of h log h reach about 1e9 while KL * total is about 1e3 or more, so about
// 1e-13 relative is lost to cancellation. The Taylor series of the smoothing
// shift is truncated below 1e-17 per bin.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "quant/src/policies/policy_util.hpp"

using namespace bitnpu::calib::policy_detail;

namespace {

void check_all_thresholds(const std::vector<double>& hist, std::size_t nq) {
    const KldTable table(hist);
    const std::vector<double> all = table.divergences(nq);
    REQUIRE(all.size() == hist.size() - nq + 1);
    for (std::size_t i = nq; i <= hist.size(); ++i) {
        // The one-pass sweep shares each merge width's sums: the same bits.
        const double single = table.divergence(i, nq);
        CHECK((all[i - nq] == single || (std::isnan(all[i - nq]) && std::isnan(single))));
        const double expected = kld_divergence(hist, i, nq);
        const double actual = table.divergence(i, nq);
        INFO("bins " << hist.size() << ", i " << i << ", nq " << nq);
        if (std::isnan(expected) || std::isinf(expected)) {
            CHECK((std::isnan(actual) || std::isinf(actual)));
            continue;
        }
        CHECK(std::abs(actual - expected) <= 1e-9 * std::abs(expected) + 1e-12);
    }
}

std::vector<double> gaussian_hist(std::size_t bins, double sigma_bins, std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> d(0.0, sigma_bins);
    std::vector<double> h(bins, 0.0);
    for (std::size_t k = 0; k < n; ++k) {
        const auto b = static_cast<std::size_t>(std::abs(d(rng)));
        if (b < bins) h[b] += 1.0;
    }
    while (!h.empty() && h.back() == 0.0) h.pop_back();
    return h;
}

}  // namespace

TEST_CASE("policies: KldTable equals the bin-by-bin divergence on dense histograms", "[policies][kld]") {
    check_all_thresholds(gaussian_hist(2048, 300.0, 1000000, 1), 128);
    check_all_thresholds(gaussian_hist(600, 150.0, 50000, 2), 128);
    check_all_thresholds(gaussian_hist(300, 60.0, 20000, 3), 8);   // int4: 8 levels a side
}

TEST_CASE("policies: KldTable equals the bin-by-bin divergence on sparse and spiky histograms", "[policies][kld]") {
    std::mt19937 rng(7);
    for (int trial = 0; trial < 6; ++trial) {
        std::vector<double> h(1000 + 300 * trial, 0.0);
        // Few occupied bins (many empty per occupied: the direct branch of
        // the smoothing shift), single counts, and one huge spike.
        std::uniform_int_distribution<std::size_t> where(0, h.size() - 1);
        for (int k = 0; k < 5 + 10 * trial; ++k) h[where(rng)] += 1.0;
        h[where(rng)] += 1e6;
        h.back() += 1.0;   // the last bin occupied (the histogram's used range)
        check_all_thresholds(h, 128);
    }
}

TEST_CASE("policies: KldTable's direct sum where e_q is too large for the series", "[policies][kld]") {
    // Over 100 empty bins per occupied one and single-count bins (m_j = 1)
    // beside spikes of ~1000: e_q > 1e-2 m_j, so the merged groups are summed
    // directly, and the spikes' terms carry most of the cross entropy.
    std::mt19937 rng(9);
    std::vector<double> h(2048, 0.0);
    std::uniform_int_distribution<std::size_t> where(0, h.size() - 1);
    std::uniform_int_distribution<int> size(500, 2000);
    for (int k = 0; k < 12; ++k) h[where(rng)] += size(rng);
    for (int k = 0; k < 5; ++k) h[where(rng)] += 1.0;
    h.back() += 1.0;
    check_all_thresholds(h, 128);
    check_all_thresholds(h, 8);
}

TEST_CASE("policies: KldTable handles a tail folded into an empty last bin", "[policies][kld]") {
    // Bins 200.. hold only far outliers: for i in (200, 1000) the last kept
    // bin is empty before folding, and its quantized bin has no mass of its
    // own (q stays 0 there, smoothed to eps).
    std::vector<double> h(1000, 0.0);
    for (std::size_t k = 0; k < 200; ++k) h[k] = 1000.0 - 4.0 * static_cast<double>(k);
    h[999] = 3.0;
    check_all_thresholds(h, 128);
}
