// The kld policy: TensorRT's entropy calibration (Migacz, "8-bit Inference
// with TensorRT", GTC 2017), following the MXNet / ONNX Runtime reference
// code step by step:
//   for i in [nq, used]:                 (nq: quantized bins, used: last non-empty bin + 1)
//     P = bins[0 .. i), the mass of bins[i ..) folded into P[i-1]
//     Q = bins[0 .. i) merged into nq groups of i / nq bins (the last group
//         takes the remainder), each group's mass spread evenly over the
//         group's bins that are non-empty in P; empty bins of P stay empty in Q
//     smooth P and Q (eps = 1e-4 moved onto empty bins), normalize both
//     divergence[i] = KL(P || Q)
//   threshold = i * bin_width for the smallest divergence: the upper EDGE of
//   the last bin kept (not its center), as TensorRT and MXNet return.
// One departure, taken from NVIDIA's pytorch-quantization: the bin holding 0
// is given the count of its neighbour first. After ReLU half the mass can sit
// exactly at 0; that spike dominates KL(P || Q) and drives the threshold far
// too low (about 1.5 sigma for a rectified Gaussian instead of about 4).
#include <algorithm>
#include <cmath>
#include <limits>

#include "policy_util.hpp"

namespace bitnpu::calib::policy_detail {

namespace {

constexpr double kSmoothingEps = 1e-4;

// MXNet's _smooth_distribution: give empty bins eps, taken evenly from the
// others. Returns false when every bin is empty.
bool smooth(std::vector<double>& d) {
    std::size_t zeros = 0;
    for (double v : d) zeros += (v == 0.0);
    const std::size_t nonzeros = d.size() - zeros;
    if (nonzeros == 0) return false;
    const double eps1 = kSmoothingEps * static_cast<double>(zeros) / static_cast<double>(nonzeros);
    for (double& v : d) v += (v == 0.0) ? kSmoothingEps : -eps1;
    return true;
}

// KL(P || Q) after normalizing both (scipy.stats.entropy).
double kl_divergence(const std::vector<double>& p, const std::vector<double>& q) {
    double sp = 0.0, sq = 0.0;
    for (std::size_t k = 0; k < p.size(); ++k) { sp += p[k]; sq += q[k]; }
    double kl = 0.0;
    for (std::size_t k = 0; k < p.size(); ++k) {
        const double pk = p[k] / sp, qk = q[k] / sq;
        if (pk > 0.0) kl += pk * std::log(pk / qk);
    }
    return kl;
}

// Divergence of keeping bins [0, i) with nq quantized bins.
double divergence(const std::vector<double>& hist, std::size_t i, std::size_t nq) {
    std::vector<double> p(hist.begin(), hist.begin() + static_cast<std::ptrdiff_t>(i));
    for (std::size_t k = i; k < hist.size(); ++k) p[i - 1] += hist[k];

    const std::size_t merged = i / nq;
    std::vector<double> q(i, 0.0);
    for (std::size_t j = 0; j < nq; ++j) {
        const std::size_t start = j * merged;
        const std::size_t stop = (j == nq - 1) ? i : start + merged;
        double mass = 0.0;
        std::size_t nonempty = 0;
        for (std::size_t k = start; k < stop; ++k) {
            mass += hist[k];  // the sliced histogram, outliers not folded (as the reference code)
            nonempty += (p[k] != 0.0);
        }
        if (nonempty == 0) continue;
        for (std::size_t k = start; k < stop; ++k)
            if (p[k] != 0.0) q[k] = mass / static_cast<double>(nonempty);
    }
    if (!smooth(p) || !smooth(q)) return std::numeric_limits<double>::infinity();
    return kl_divergence(p, q);
}

// The one-sided histogram a symmetric KLD reads, starting at the bin of 0:
// |x| for signed grids; for unsigned grids x, with negative mass (which
// clips to 0) folded into the first bin.
std::vector<double> one_sided(const Histogram& h) {
    std::vector<double> out;
    const auto& c = h.counts();
    double negative = 0.0;
    for (int i = 0; i < h.num_bins(); ++i) {
        const double n = static_cast<double>(c[static_cast<std::size_t>(i)]);
        if (i < h.zero_bin()) negative += n;
        else out.push_back(n);
    }
    out.at(0) += negative;
    if (out.size() > 1) out[0] = out[1];  // neutralize the spike at 0 (file comment)
    while (!out.empty() && out.back() == 0.0) out.pop_back();  // keep [0, used)
    return out;
}

// The entropy threshold for a one-sided histogram; limit when no clipping can help.
double kld_threshold(const Histogram& h, std::size_t nq, double limit) {
    if (h.bin_width() == 0.0 || limit == 0.0) return limit;
    const std::vector<double> hist = one_sided(h);
    if (hist.size() <= nq) return limit;  // every bin gets its own level
    double best = std::numeric_limits<double>::infinity();
    std::size_t best_i = hist.size();
    for (std::size_t i = nq; i <= hist.size(); ++i) {
        const double d = divergence(hist, i, nq);
        if (d < best) { best = d; best_i = i; }
    }
    return std::min(static_cast<double>(best_i) * h.bin_width(), limit);
}

class KldPolicy final : public Policy {
public:
    std::string name() const override { return "kld"; }
    ClipRange choose(const TensorStats& stats, const QuantGrid& grid, ScaleMode mode) const override {
        require_histograms(stats, "kld");
        if (mode == ScaleMode::symmetric || grid.binary) {
            // nq: the levels on one side, 0 included (128 for int8, as TensorRT).
            const auto nq = static_cast<std::size_t>(grid.binary ? 2 : grid.qmax + 1);
            const double t = kld_threshold(symmetric_histogram(stats, grid), nq, symmetric_limit(stats, grid));
            return symmetric_range(t, grid);
        }
        // Asymmetric: KLD is a symmetric method; its |x| threshold with half
        // the levels clips each side of the observed range.
        const auto nq = static_cast<std::size_t>(std::max<std::int64_t>(grid.levels() / 2, 2));
        const double t = kld_threshold(stats.abs_hist, nq, stats.abs_max());
        const ClipRange seen = observed_range(stats);
        return {std::max(seen.lo, -t), std::min(seen.hi, t)};
    }
};

}  // namespace

std::unique_ptr<Policy> make_kld_policy() { return std::make_unique<KldPolicy>(); }

}  // namespace bitnpu::calib::policy_detail
