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
//
// kld_divergence() below is that definition, bin by bin: O(i) with i logs per
// threshold, O(bins^2) logs in all. KldTable computes the same number in
// O(nq) per threshold from prefix sums over the histogram (derivation at
// KldTable::divergence); tests check the two agree to 1e-9 relative.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <optional>

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

}  // namespace

// Divergence of keeping bins [0, i) with nq quantized bins.
double kld_divergence(const std::vector<double>& hist, std::size_t i, std::size_t nq) {
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

KldTable::KldTable(std::vector<double> hist) : hist_(std::move(hist)) {
    const std::size_t n = hist_.size();
    mass_.assign(n + 1, 0.0);
    nonzero_.assign(n + 1, 0.0);
    h_log_h_.assign(n + 1, 0.0);
    log_h_.assign(n + 1, 0.0);
    for (auto& v : inverse_powers_) v.assign(n + 1, 0.0);
    for (std::size_t k = 0; k < n; ++k) {
        const double h = hist_[k];
        mass_[k + 1] = mass_[k] + h;
        nonzero_[k + 1] = nonzero_[k] + (h != 0.0);
        const double lh = h != 0.0 ? std::log(h) : 0.0;
        h_log_h_[k + 1] = h_log_h_[k] + h * lh;
        log_h_[k + 1] = log_h_[k] + lh;
        double inv = 1.0;
        for (std::size_t m = 0; m < kSeriesTerms; ++m) {
            inv = h != 0.0 ? inv / h : 0.0;
            inverse_powers_[m][k + 1] = inverse_powers_[m][k] + inv;
        }
        if (h != 0.0) nonzero_bins_.push_back(k);
    }
}

// Sum over the non-empty bins k < end of (h_k - e) log(h_k - e), for 0 <= e
// <= kSeriesMaxEps. Taylor series in e around h (h >= 1 counts, so e / h <=
// 1/100): (h - e) log(h - e) = h log h - e (log h + 1)
//   + sum_{n >= 2} e^n / (n (n - 1) h^(n - 1)),
// each power sum a prefix sum; the terms past e^(kSeriesTerms + 1) add less
// than 1e-17 per bin. Larger e happens only when more than 100 bins are empty per
// non-empty one: then the few non-empty bins are summed directly.
double KldTable::sum_shifted_entropy(std::size_t end, double e) const {
    if (e > kSeriesMaxEps) {
        double total = 0.0;
        for (std::size_t k : nonzero_bins_) {
            if (k >= end) break;
            total += (hist_[k] - e) * std::log(hist_[k] - e);
        }
        return total;
    }
    double total = h_log_h_[end] - e * (log_h_[end] + nonzero_[end]);
    double e_power = e;
    for (std::size_t m = 0; m < kSeriesTerms; ++m) {
        e_power *= e;   // e^(m + 2)
        const double n = static_cast<double>(m + 2);
        total += e_power / (n * (n - 1.0)) * inverse_powers_[m][end];
    }
    return total;
}

// kld_divergence(hist, i, nq) regrouped. With P the bins where p != 0 (nz of
// them, z = i - nz), smoothing gives p'_k = p_k - e_p on P and eps elsewhere
// (e_p = eps z / nz); likewise q'_k = q_j - e_q on the bins of quantized bin
// j where q is non-zero (q_j = its mass / its P-bins) and eps elsewhere. Both
// sums are unchanged by smoothing (sp = sum p, sq = sum q), so
//   KL = sum_k p'_k/sp log((p'_k/sp) / (q'_k/sq))
//      = log(sq/sp) + (1/sp) [sum_P p'_k log p'_k - sum_j log(q'_j) S_j - log(eps) S_0]
// where S_j is the p'-mass on quantized bin j's P-bins, S_0 that on P-bins
// whose q is 0, and the eps log eps terms of the bins outside P cancel.
//
// For one merge width b = i / nq, quantized bins 0 .. nq-2 are the same for
// every i in [b nq, (b + 1) nq): [j b, (j + 1) b). Only the last one, [(nq -
// 1) b, i), and the smoothing shifts e_p, e_q move with i. A non-last group
// with P-bins (ne_j > 0) has mass_j > 0, so it adds mass_j to sq and nothing
// to q's zeros, and with m_j = mass_j / ne_j its cross term expands as
//   (mass_j - ne_j e_p) log(m_j - e_q)
//     = (mass_j - ne_j e_p) (log m_j - sum_{k >= 1} (e_q / m_j)^k / k),
// so Block keeps sum mass_j log m_j, sum ne_j log m_j, sum mass_j m_j^-k and
// sum ne_j m_j^-k, and a divergence costs O(kSeriesTerms), not O(nq) logs.
// The series is used while e_q / m_j <= kSeriesMaxEps (the terms past
// kSeriesTerms add less than 1e-15 of the group's mass); otherwise the
// groups are summed directly.
KldTable::Block KldTable::block(std::size_t merged, std::size_t nq) const {
    Block blk;
    blk.merged = merged;
    blk.mass = mass_[(nq - 1) * merged];
    for (std::size_t j = 0; j + 1 < nq; ++j) {
        const double mass = mass_[(j + 1) * merged] - mass_[j * merged];
        const double ne = nonzero_[(j + 1) * merged] - nonzero_[j * merged];
        if (ne == 0.0) continue;
        const double m = mass / ne, log_m = std::log(m);
        blk.min_m = std::min(blk.min_m, m);
        blk.mass_log_m += mass * log_m;
        blk.ne_log_m += ne * log_m;
        double inv = 1.0;
        for (std::size_t k = 0; k < kSeriesTerms; ++k) {
            inv /= m;
            blk.mass_inv_m[k] += mass * inv;
            blk.ne_inv_m[k] += ne * inv;
        }
    }
    return blk;
}

double KldTable::divergence(std::size_t i, std::size_t nq) const { return divergence(i, nq, block(i / nq, nq)); }

std::vector<double> KldTable::divergences(std::size_t nq) const {
    std::vector<double> out;
    std::optional<Block> blk;
    for (std::size_t i = nq; i <= hist_.size(); ++i) {
        if (!blk || blk->merged != i / nq) blk = block(i / nq, nq);
        out.push_back(divergence(i, nq, *blk));
    }
    return out;
}

double KldTable::divergence(std::size_t i, std::size_t nq, const Block& blk) const {
    const std::size_t n = hist_.size();
    const double tail = mass_[n] - mass_[i];
    const double p_last = hist_[i - 1] + tail;   // outliers folded into the last bin
    const double nz_body = nonzero_[i - 1];
    const double nz = nz_body + (p_last != 0.0);
    const double z = static_cast<double>(i) - nz;
    if (nz == 0.0) return std::numeric_limits<double>::infinity();
    const double e_p = kSmoothingEps * z / nz;

    // The last quantized bin: its mass (outliers not folded), its P-bins and
    // the p'-mass on them. Its q is 0 when its only P-mass is folded outliers.
    const std::size_t start = (nq - 1) * blk.merged;
    const double last_mass = mass_[i] - mass_[start];
    const double last_ne = nonzero_[i - 1] - nonzero_[start] + (p_last != 0.0);
    const double last_p_mass = last_mass + tail - last_ne * e_p;
    const bool last_zero_q = last_ne != 0.0 && last_mass == 0.0;
    const double sq = blk.mass + (last_ne != 0.0 ? last_mass : 0.0);
    const double q_zero = z + (last_zero_q ? last_ne : 0.0);
    const double s_zero = last_zero_q ? last_p_mass : 0.0;
    const double q_nonzero = static_cast<double>(i) - q_zero;
    if (q_nonzero == 0.0) return std::numeric_limits<double>::infinity();
    const double e_q = kSmoothingEps * q_zero / q_nonzero;
    const double sp = mass_[n];

    double p_entropy = sum_shifted_entropy(i - 1, e_p);
    if (p_last != 0.0) p_entropy += (p_last - e_p) * std::log(p_last - e_p);
    double cross = std::log(kSmoothingEps) * s_zero;
    if (last_ne != 0.0 && last_mass != 0.0) cross += std::log(last_mass / last_ne - e_q) * last_p_mass;
    if (e_q <= kSeriesMaxEps * blk.min_m) {
        cross += blk.mass_log_m - e_p * blk.ne_log_m;
        double e_power = 1.0;
        for (std::size_t k = 0; k < kSeriesTerms; ++k) {
            e_power *= e_q;   // e_q^(k + 1)
            cross -= e_power / static_cast<double>(k + 1) * (blk.mass_inv_m[k] - e_p * blk.ne_inv_m[k]);
        }
    } else {
        for (std::size_t j = 0; j + 1 < nq; ++j) {
            const double mass = mass_[(j + 1) * blk.merged] - mass_[j * blk.merged];
            const double ne = nonzero_[(j + 1) * blk.merged] - nonzero_[j * blk.merged];
            if (ne != 0.0) cross += std::log(mass / ne - e_q) * (mass - ne * e_p);
        }
    }
    return std::log(sq / sp) + (p_entropy - cross) / sp;
}

namespace {

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
    const std::vector<double> divergence = KldTable(hist).divergences(nq);   // [i - nq]
    for (std::size_t i = nq; i <= hist.size(); ++i) {
        const double d = divergence[i - nq];
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
