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
//               the histogram, clipping and rounding error included ("mse"
//               is accepted as another spelling of l2)
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

#include "bitnpu/quant/scale.hpp"
#include "bitnpu/quant/statistics.hpp"

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

// The calibration methods, as ONNX Runtime's CalibrationMethod: one enum,
// one name table (policy_name / parse_policy), used everywhere a policy is
// chosen or printed.
enum class PolicyKind { max, percentile, kld, l1, l2 };

// Every policy, in the order the calibrator's search tries them (an earlier
// policy wins ties).
inline constexpr PolicyKind kAllPolicies[] = {PolicyKind::max, PolicyKind::percentile, PolicyKind::kld,
                                              PolicyKind::l1, PolicyKind::l2};

// The canonical name ("max", "percentile", "kld", "l1", "l2"): what the CTable records.
const char* policy_name(PolicyKind kind);
// A name as a user writes it: the canonical names plus "mse" for l2. Throws
// UserError listing the valid names for an unknown name.
PolicyKind parse_policy(const std::string& name);
// The names parse_policy accepts, in a fixed order: max, percentile, kld, l1, l2, mse.
std::vector<std::string> policy_names();

// Throws UserError for a percentile outside (0, 100].
std::unique_ptr<Policy> make_policy(PolicyKind kind, const PolicyOptions& options = {});
// make_policy(parse_policy(name), options).
std::unique_ptr<Policy> make_policy(const std::string& name, const PolicyOptions& options = {});

}  // namespace bitnpu::calib
