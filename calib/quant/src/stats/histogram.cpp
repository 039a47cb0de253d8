// The re-binnable histogram (statistics.hpp): power-of-two bin width on a
// zero-anchored grid, doubled by merging bin pairs when the data outgrows it.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "bitnpu/quant/statistics.hpp"

namespace bitnpu::calib {

namespace {

// floor(k / r) for r = 2^n > 0 (C++17 integer division truncates).
std::int64_t floor_div(std::int64_t k, std::int64_t r) {
    std::int64_t q = k / r;
    if ((k % r != 0) && (k < 0)) --q;
    return q;
}

// floor(t) for |t| < 2^63, without a libm call (the binning loop's hot spot).
std::int64_t floor_to_int(double t) {
    const auto k = static_cast<std::int64_t>(t);  // truncates toward zero
    return k - static_cast<std::int64_t>(t < static_cast<double>(k));
}

// Global bin of x at width w. x / w is exact for a power-of-two w.
std::int64_t bin_of(double x, double w) { return floor_to_int(x / w); }

// The power of two nearest above v (v > 0), computed exactly with frexp.
double pow2_ceil(double v) {
    int e = 0;
    const double m = std::frexp(v, &e);  // v = m * 2^e, m in [0.5, 1)
    return m == 0.5 ? std::ldexp(1.0, e - 1) : std::ldexp(1.0, e);
}

}  // namespace

Histogram::Histogram(int num_bins) {
    if (num_bins < 2) throw std::invalid_argument("Histogram: need at least 2 bins");
    counts_.assign(static_cast<std::size_t>(num_bins), 0);
}

bool Histogram::fits(double lo, double hi, double width) const {
    if (width == 0.0) return lo == 0.0 && hi == 0.0;
    return bin_of(hi, width) - bin_of(lo, width) + 1 <= num_bins();
}

// Smallest power-of-two width (never below the current one) that holds
// [lo, hi]; lo <= 0 <= hi. Because fits() is monotone in the width, this is
// the same width binning everything at once would choose.
void Histogram::grow_to_fit(double lo, double hi) {
    if (lo == 0.0 && hi == 0.0) return;
    double w = width_;
    if (w == 0.0) {
        w = pow2_ceil((hi - lo) / num_bins());
        while (fits(lo, hi, w / 2)) w /= 2;
    }
    while (!fits(lo, hi, w)) w *= 2;
    const std::int64_t first = bin_of(lo, w);
    if (w != width_ || first != first_) rebin(w, first);
}

// Moves the counts to a grid of width new_width (a power-of-two multiple of
// the current width) whose window starts at global bin new_first.
void Histogram::rebin(double new_width, std::int64_t new_first) {
    std::vector<std::uint64_t> moved(counts_.size(), 0);
    const std::int64_t ratio = width_ == 0.0 ? 0 : static_cast<std::int64_t>(new_width / width_);
    for (std::size_t i = 0; i < counts_.size(); ++i) {
        if (counts_[i] == 0) continue;
        const std::int64_t k = first_ + static_cast<std::int64_t>(i);
        const std::int64_t nk = ratio == 0 ? 0 : floor_div(k, ratio);  // width 0: only zeros so far
        moved.at(static_cast<std::size_t>(nk - new_first)) += counts_[i];
    }
    counts_ = std::move(moved);
    width_ = new_width;
    first_ = new_first;
}

void Histogram::add(const float* values, std::size_t n, double lo, double hi, bool absolute) {
    seen_lo_ = std::min({seen_lo_, lo, 0.0});
    seen_hi_ = std::max({seen_hi_, hi, 0.0});
    grow_to_fit(seen_lo_, seen_hi_);
    const double inv_w = width_ == 0.0 ? 0.0 : 1.0 / width_;  // exact: width is a power of two
    const auto bins = static_cast<std::uint64_t>(num_bins());
    // Global bin minus the window start; unsigned, so a negative index wraps
    // to a huge value and fails the range check.
    auto index = [&](double x) {
        return static_cast<std::uint64_t>(floor_to_int((absolute ? std::fabs(x) : x) * inv_w) - first_);
    };
    auto outside = [] { throw std::logic_error("Histogram::add: value outside the declared batch range"); };
    // Blocks of kBlock values: the bin indices in a branch-free loop the
    // compiler vectorizes, then the increments into four interleaved
    // sub-histograms (long runs of one bin, such as the zeros after a ReLU,
    // would otherwise chain every increment on the one before it).
    constexpr std::size_t kWays = 4;
    constexpr std::size_t kBlock = 256;
    std::vector<std::uint64_t> sub(kWays * bins, 0);
    std::uint64_t index_block[kBlock];
    std::uint64_t added = 0;
    std::size_t i = 0;
    for (; i + kBlock <= n; i += kBlock) {
        const float* v = values + i;
        std::uint32_t non_finite = 0;   // x - x is NaN exactly for NaN and +-Inf
        for (std::size_t k = 0; k < kBlock; ++k) non_finite += static_cast<std::uint32_t>(v[k] - v[k] != 0.0f);
        if (non_finite != 0) break;   // the rest takes the checking loop
        std::uint64_t worst = 0;
        for (std::size_t k = 0; k < kBlock; ++k) {
            index_block[k] = index(v[k]);
            worst = std::max(worst, index_block[k]);
        }
        if (worst >= bins) outside();
        for (std::size_t k = 0; k < kBlock; k += kWays)
            for (std::size_t w = 0; w < kWays; ++w) ++sub[w * bins + index_block[k + w]];
        added += kBlock;
    }
    for (; i < n; ++i) {
        if (!std::isfinite(values[i])) continue;
        const std::uint64_t idx = index(values[i]);
        if (idx >= bins) outside();
        ++sub[idx];
        ++added;
    }
    for (std::size_t b = 0; b < bins; ++b)
        for (std::size_t k = 0; k < kWays; ++k) counts_[b] += sub[k * bins + b];
    total_ += added;
}

void Histogram::add(const std::vector<double>& values) {
    std::vector<float> f(values.begin(), values.end());
    double lo = 0.0, hi = 0.0;
    for (float v : f) {
        if (!std::isfinite(v)) continue;
        lo = std::min(lo, static_cast<double>(v));
        hi = std::max(hi, static_cast<double>(v));
    }
    add(f.data(), f.size(), lo, hi);
}

Histogram Histogram::from_state(State s) {
    std::uint64_t sum = 0;
    for (std::uint64_t c : s.counts) sum += c;
    if (sum != s.total || s.counts.empty() || !(s.width >= 0.0) || s.first > 0)
        throw std::invalid_argument("Histogram::from_state: inconsistent state");
    Histogram h(static_cast<int>(s.counts.size()));
    h.counts_ = std::move(s.counts);
    h.width_ = s.width;
    h.first_ = s.first;
    h.total_ = s.total;
    h.seen_lo_ = s.seen_lo;
    h.seen_hi_ = s.seen_hi;
    return h;
}

void Histogram::merge(const Histogram& other) {
    if (other.num_bins() != num_bins()) throw std::invalid_argument("Histogram::merge: bin counts differ");
    const double lo = std::min(seen_lo_, other.seen_lo_);
    const double hi = std::max(seen_hi_, other.seen_hi_);
    if (other.width_ > width_) {
        // Start from the other's (smallest fitting) width; fits() is monotone.
        double w = other.width_;
        while (!fits(lo, hi, w)) w *= 2;
        rebin(w, bin_of(lo, w));
    }
    seen_lo_ = lo;
    seen_hi_ = hi;
    grow_to_fit(lo, hi);
    const std::int64_t ratio = other.width_ == 0.0 ? 0 : static_cast<std::int64_t>(width_ / other.width_);
    for (std::size_t i = 0; i < other.counts_.size(); ++i) {
        if (other.counts_[i] == 0) continue;
        const std::int64_t k = other.first_ + static_cast<std::int64_t>(i);
        const std::int64_t nk = ratio == 0 ? 0 : floor_div(k, ratio);
        counts_.at(static_cast<std::size_t>(nk - first_)) += other.counts_[i];
    }
    total_ += other.total_;
}

}  // namespace bitnpu::calib
