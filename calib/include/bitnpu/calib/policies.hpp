// Scale-selection policies: each maps a tensor's statistics and the integer
// grid it will be stored in to a clipping range. scale.hpp then turns the
// range into a scale and zero-point. docs/policies.md defines every policy.
//
//   max         the observed range
//   percentile  the p-th percentile of |x| (symmetric) or the (100-p)/p
//               percentiles of x (asymmetric); p defaults to 99.99
//   kld         TensorRT entropy calibration: the threshold minimizing
//               KL(P || Q) over the |x| histogram
//   l1, l2      the range minimizing sum |x - Q(x)| or sum (x - Q(x))^2 over
//               the histogram, clipping and rounding error included; "mse" is
//               another name for l2
//
// How the mode and grid select the histogram:
//   symmetric, signed grid   |x| histogram, returns {-T, T}
//   symmetric, unsigned grid signed histogram, x < 0 clips to 0, returns {0, T}
//   asymmetric               signed histogram, returns {lo, hi}, lo <= 0 <= hi
// Every result lies inside the observed [min(min, 0), max(max, 0)].
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bitnpu/calib/scale.hpp"
#include "bitnpu/calib/statistics.hpp"

namespace bitnpu::calib {

struct PolicyOptions {
    double percentile = 99.99;  // percentile policy, in (0, 100]
};

class Policy {
public:
    virtual ~Policy() = default;
    virtual std::string name() const = 0;
    // stats must hold at least one finite value (else std::invalid_argument).
    virtual ClipRange choose(const TensorStats& stats, const QuantGrid& grid, ScaleMode mode) const = 0;
    // Whether choose() reads the histograms (TensorStats::histograms); a
    // policy that does throws std::invalid_argument on stats without them.
    virtual bool needs_histograms() const { return true; }
};

// The names make_policy accepts, in a fixed order: max, percentile, kld, l1, l2, mse.
std::vector<std::string> policy_names();
// Throws UserError listing the valid names for an unknown name, or for a
// percentile outside (0, 100].
std::unique_ptr<Policy> make_policy(const std::string& name, const PolicyOptions& options = {});

}  // namespace bitnpu::calib
