// Calibration statistics: what the FP32 executor's activations and the
// model's weights look like, summarized in memory that does not grow with the
// number of samples. Policies (policies.hpp) turn these into clipping ranges.
//
// docs/policies.md describes the histogram scheme; in short:
//   * Bins have a power-of-two width w and sit on a grid anchored at zero:
//     global bin k covers [k*w, (k+1)*w). The histogram keeps a window of
//     num_bins consecutive bins that always contains the bin of 0.
//   * w is the smallest power of two for which every value seen so far (and 0)
//     fits in the window. When a new batch does not fit, w doubles and bin
//     pairs (2j, 2j+1) merge into j. Because floor(x / 2w) == floor(floor(x / w) / 2)
//     exactly for power-of-two w, the result is bit-identical to binning every
//     sample at once with the final w: batching and merge order never change
//     a single count.
//   * The data therefore always occupies between num_bins/2 and num_bins bins.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "bitnpu/graph/tensor.hpp"

namespace bitnpu::calib {

inline constexpr int kDefaultHistogramBins = 2048;

// A re-binnable histogram of finite values (see the file comment).
class Histogram {
public:
    explicit Histogram(int num_bins = kDefaultHistogramBins);

    // Adds the finite values among values[0..n) (NaN/Inf are skipped), or
    // their magnitudes when absolute is true. lo/hi bound the batch's finite
    // (possibly absolute) values, so the range grows once per batch.
    void add(const float* values, std::size_t n, double lo, double hi, bool absolute = false);
    void add(const std::vector<double>& values);  // convenience for tests
    // Adds another histogram's counts (both are brought to the wider grid).
    void merge(const Histogram& other);

    int num_bins() const { return static_cast<int>(counts_.size()); }
    // Bin width; 0 while only zeros (or nothing) have been seen.
    double bin_width() const { return width_; }
    // Global index of counts()[0]; <= 0 because the window always holds 0.
    std::int64_t first_bin() const { return first_; }
    double bin_lo(int i) const { return static_cast<double>(first_ + i) * width_; }
    double bin_hi(int i) const { return static_cast<double>(first_ + i + 1) * width_; }
    double bin_center(int i) const { return (static_cast<double>(first_ + i) + 0.5) * width_; }
    // Index in counts() of the bin holding 0.
    int zero_bin() const { return static_cast<int>(-first_); }
    const std::vector<std::uint64_t>& counts() const { return counts_; }
    std::uint64_t total() const { return total_; }

    // Every field, so statistics can be stored (archsweep's FP32 cache) and
    // restored to a histogram that merges and answers exactly as the original.
    struct State {
        std::vector<std::uint64_t> counts;
        double width = 0.0, seen_lo = 0.0, seen_hi = 0.0;
        std::int64_t first = 0;
        std::uint64_t total = 0;
    };
    State state() const { return {counts_, width_, seen_lo_, seen_hi_, first_, total_}; }
    // std::invalid_argument when the counts do not add up to the total.
    static Histogram from_state(State s);

    bool operator==(const Histogram& o) const {
        return width_ == o.width_ && first_ == o.first_ && counts_ == o.counts_ && total_ == o.total_;
    }

private:
    bool fits(double lo, double hi, double width) const;
    void grow_to_fit(double lo, double hi);
    void rebin(double new_width, std::int64_t new_first);

    std::vector<std::uint64_t> counts_;
    double width_ = 0.0;
    std::int64_t first_ = 0;
    std::uint64_t total_ = 0;
    double seen_lo_ = 0.0;  // smallest / largest value seen (0 included)
    double seen_hi_ = 0.0;
};

struct StatsOptions {
    int histogram_bins = kDefaultHistogramBins;
    // false: only count/min/max (all the max policy reads); the histograms
    // stay empty, which halves the statistics pass.
    bool histograms = true;
};

// Everything the policies need about one activation tensor.
struct TensorStats {
    explicit TensorStats(const StatsOptions& options = {});

    std::uint64_t count = 0;      // finite values seen
    std::uint64_t nan_count = 0;  // the driver turns nan/inf into a UserError
    std::uint64_t inf_count = 0;
    double min = 0.0;             // of finite values; meaningless while count == 0
    double max = 0.0;
    Histogram abs_hist;           // |x|: symmetric policies (TensorRT style)
    Histogram signed_hist;        // x: asymmetric policies
    bool histograms = true;       // StatsOptions::histograms: false leaves both empty

    void observe(const float* values, std::size_t n);
    // f32 or f64 tensors; other dtypes throw std::invalid_argument.
    void observe(const Tensor& t);
    void merge(const TensorStats& other);

    bool has_non_finite() const { return nan_count + inf_count != 0; }
    double abs_max() const;       // max(|min|, |max|), 0 when empty
};

// Per-output-channel ranges of a weight tensor.
struct ChannelRanges {
    int axis = 0;
    std::vector<double> min;      // one entry per channel
    std::vector<double> max;
    std::size_t channels() const { return min.size(); }
    double abs_max() const;       // over all channels
};

// min/max of every slice along `axis` (negative counts from the end).
// Throws UserError for a bad axis, an empty tensor, a non-float tensor or
// non-finite weights.
ChannelRanges channel_ranges(const Tensor& weight, int axis, const std::string& tensor_name = "weight");

// One TensorStats per channel along `axis`, to run a histogram policy (e.g.
// l2) on each output channel's weights. Same errors as channel_ranges.
std::vector<TensorStats> channel_stats(const Tensor& weight, int axis, const StatsOptions& options = {},
                                       const std::string& tensor_name = "weight");

// The output-channel axis of a MAC layer's weight: Conv [Cout, Cin/g, ...] -> 0;
// ConvTranspose [Cin, Cout/g, ...] -> 1; Gemm: transB=1 ([N, K]) -> 0, transB=0
// ([K, N]) -> 1; MatMul [..., K, N] -> rank-1. Throws UserError for other ops.
int weight_output_axis(const std::string& op_type, bool gemm_trans_b, std::int64_t weight_rank);

}  // namespace bitnpu::calib
