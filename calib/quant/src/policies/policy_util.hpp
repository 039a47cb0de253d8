// Helpers the policies share (private to calib/quant/src/policies).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "bitnpu/quant/policies.hpp"

namespace bitnpu::calib::policy_detail {

// The non-empty bins of a histogram, centers and counts (in bin order): every
// error evaluation treats a bin's mass as sitting at its center. Two arrays,
// so the error loops vectorize.
struct BinMasses {
    std::vector<double> center;
    std::vector<double> count;
    std::size_t size() const { return center.size(); }
};
BinMasses nonempty_bins(const Histogram& h);

// Throws std::invalid_argument when stats hold no finite value.
void require_values(const TensorStats& stats, const char* policy);
// require_values, and the histograms were collected (StatsOptions::histograms).
void require_histograms(const TensorStats& stats, const char* policy);

// The observed range widened to include 0.
ClipRange observed_range(const TensorStats& stats);

// The histogram a symmetric policy reads for this grid (docs/policies.md):
// |x| for signed grids, x (negatives clip to 0) for unsigned grids.
const Histogram& symmetric_histogram(const TensorStats& stats, const QuantGrid& grid);
// The largest useful symmetric threshold: max|x| (signed grid) or max(max, 0).
double symmetric_limit(const TensorStats& stats, const QuantGrid& grid);
// {-T, T} for signed grids, {0, T} for unsigned grids.
ClipRange symmetric_range(double threshold, const QuantGrid& grid);

// The value below which `fraction` of the histogram's mass lies, linearly
// interpolated inside the bin where the cumulative count crosses it.
double quantile(const Histogram& h, double fraction);

// Sum over bins of count * |center - Q(center)|^power with Q the quantizer
// derive_quant builds for `range` (clipping and rounding error together),
// accumulated in 8 interleaved partial sums.
double quantization_error(const BinMasses& bins, const ClipRange& range, const QuantGrid& grid,
                          ScaleMode mode, int power);

// The range minimizing quantization_error, by coarse-to-fine grid search
// (docs/policies.md). power 1: l1, power 2: l2.
ClipRange minimize_error(const TensorStats& stats, const QuantGrid& grid, ScaleMode mode, int power);

// KLD (kld.cpp). The divergence KL(P || Q) of keeping the one-sided
// histogram's bins [0, i) with nq quantized bins, by definition, bin by bin.
double kld_divergence(const std::vector<double>& hist, std::size_t i, std::size_t nq);
// The same divergence in O(nq) per threshold from prefix sums over the
// histogram (the entropy search evaluates every i in [nq, bins]).
class KldTable {
public:
    explicit KldTable(std::vector<double> hist);
    double divergence(std::size_t i, std::size_t nq) const;   // nq <= i <= bins
    // divergence(i, nq) for every i in [nq, bins], each merge width's sums
    // computed once (element i - nq).
    std::vector<double> divergences(std::size_t nq) const;

private:
    static constexpr std::size_t kSeriesTerms = 6;      // terms of the Taylor series in e
    static constexpr double kSeriesMaxEps = 1e-2;
    // Sums over quantized bins 0 .. nq-2 of one merge width (kld.cpp).
    struct Block {
        std::size_t merged = 0;
        double mass = 0.0, mass_log_m = 0.0, ne_log_m = 0.0;
        std::array<double, kSeriesTerms> mass_inv_m{}, ne_inv_m{};   // [k]: m_j^-(k+1) weighted
        double min_m = std::numeric_limits<double>::infinity();
    };
    Block block(std::size_t merged, std::size_t nq) const;
    double divergence(std::size_t i, std::size_t nq, const Block& blk) const;
    double sum_shifted_entropy(std::size_t end, double e) const;

    std::vector<double> hist_;
    std::vector<double> mass_, nonzero_, h_log_h_, log_h_;       // prefix sums: [k] over bins [0, k)
    std::array<std::vector<double>, kSeriesTerms> inverse_powers_;   // [m][k]: sum of h^-(m+1)
    std::vector<std::size_t> nonzero_bins_;
};

// One constructor per policy file (registry.cpp maps PolicyKind to them).
std::unique_ptr<Policy> make_max_policy();
std::unique_ptr<Policy> make_percentile_policy(double percentile);
std::unique_ptr<Policy> make_kld_policy();
std::unique_ptr<Policy> make_l1_policy();
std::unique_ptr<Policy> make_l2_policy();

}  // namespace bitnpu::calib::policy_detail
