// AdaRound (Nagel et al., ICML 2020, "Up or Down? Adaptive Rounding for
// Post-Training Quantization"): each weight of a MAC layer is rounded down
// or up, chosen to minimize the layer's output error rather than each
// weight's own error. docs/calibrator.md "AdaRound" states the rule and why
// its hyper-parameters are what they are.
//
// For one group of a layer (rows r of the weight W, patches of length K),
// with x the FP32 input patch and x~ the patch the quantized upstream
// delivers (the paper's asymmetric reconstruction), minimize
//     E ||W x - W^ x~||^2 + lambda sum (1 - |2 h(V) - 1|^beta)
//     W^ = s (clamp(floor(W / s) + h(V) + z, qmin, qmax) - z)
//     h(V) = clamp(sigmoid(V) (zeta - gamma) + gamma, 0, 1), zeta 1.1, gamma -0.1
// over V with Adam, beta annealed from 20 to 2 after a warm-up without the
// regularizer; then each weight takes floor + (h >= 1/2). In the moment form
// the error is, per row w,
//     w H_ff w^T - 2 w H_fq w^T + w^ H_qq w^^T,  H_qq = E[x~ x~^T], H_fq = E[x x~^T]
// so one step costs rows x K^2, independent of the number of samples.
#pragma once

#include <cstdint>
#include <vector>

#include "bitnpu/quant/scale.hpp"

namespace bitnpu::calib {

struct AdaRoundOptions {
    int iterations = 300;          // Adam steps
    double learning_rate = 0.1;    // Adam's step size on V
    double regularization = 0.5;   // lambda, in the normalized units of the reconstruction (adaround.cpp)
    double warm_up = 0.2;          // fraction of the steps without the regularizer
    double beta_start = 20.0, beta_end = 2.0;
};

// One group's problem. weight: rows x k, row-major, FP32; quant[r]: row r's
// quantizer (scale, zero-point, grid); h_qq and h_fq: k x k, row-major.
struct AdaRoundProblem {
    const float* weight = nullptr;
    std::int64_t rows = 0, k = 0;
    std::vector<AffineQuant> quant;
    const double* h_qq = nullptr;
    const double* h_fq = nullptr;
};

struct AdaRoundResult {
    std::vector<std::int32_t> integers;   // rows x k: floor or ceil of w / s, inside the grid
    // The reconstruction error (without the constant w H_ff w^T term, summed
    // over rows) of nearest rounding and of the result.
    double objective_nearest = 0.0, objective = 0.0;
    // The relaxed objective (reconstruction + regularizer) every
    // `iterations / 20` steps, from the start: what the tests watch decrease.
    std::vector<double> trajectory;
};

// Deterministic: rows are solved in fixed blocks (one task each on up to
// `threads` workers), so the result does not depend on threads. Binary grids
// (nothing to choose) and an all-zero input keep nearest rounding, and so
// does every row whose rounded result would do worse than nearest rounding
// on the objective (AdaRound never loses to it).
AdaRoundResult adaround(const AdaRoundProblem& problem, const AdaRoundOptions& options = {}, int threads = 1);

// The reconstruction error of integer weights q (rows x k) for a problem:
// sum over rows of w^ H_qq w^^T - 2 w H_fq w^^T. The objective the result
// reports; the tests compare roundings with it.
double adaround_objective(const AdaRoundProblem& problem, const std::vector<std::int32_t>& integers);

}  // namespace bitnpu::calib
