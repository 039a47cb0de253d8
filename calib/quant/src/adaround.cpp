// AdaRound for one group of a MAC layer (adaround.hpp).
//
// The rows of a group are independent problems sharing H: they are solved
// in blocks of kBlockRows with one GEMM a step, in float (the relaxation
// only needs to find the side of 1/2 each h ends on; objectives are compared
// in double). Row r works in integer units p = q - z, so w^ = s_r p and the
// reconstruction divided by s_r^2 h_mean (h_mean = tr(H_qq) / K) is
//     p H p^T - 2 b p^T,  H = H_qq / h_mean,  b = w H_fq / (s_r h_mean)
// with the same curvature (~1 per weight) in every layer and row: one lambda
// fits all of them (docs/calibrator.md "AdaRound").
#include "bitnpu/quant/adaround.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

// GCC 12 reports a false -Wmaybe-uninitialized inside Eigen's AVX-512 code,
// where the templates are instantiated: off for this whole file.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>

#include "bitnpu/sim/parallel.hpp"

namespace bitnpu::calib {
namespace {

using MatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMapD = Eigen::Map<const MatrixD>;

constexpr std::int64_t kBlockRows = 16;
constexpr float kZeta = 1.1f, kGamma = -0.1f;
constexpr float kAdamBeta1 = 0.9f, kAdamBeta2 = 0.999f, kAdamEpsilon = 1e-8f;
constexpr int kTrajectoryPoints = 20;

float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }
// The rectified sigmoid h(V) and its derivative (0 where h is clamped).
float rectified(float v) { return std::clamp(sigmoid(v) * (kZeta - kGamma) + kGamma, 0.0f, 1.0f); }
float rectified_slope(float v) {
    const float s = sigmoid(v), raw = s * (kZeta - kGamma) + kGamma;
    return raw > 0.0f && raw < 1.0f ? (kZeta - kGamma) * s * (1.0f - s) : 0.0f;
}
// V with h(V) = fraction, for fraction in [0, 1] (h(V) reaches 0 and 1 at finite V).
float initial_v(double fraction) {
    const double s = (fraction - kGamma) / (kZeta - kGamma);
    return static_cast<float>(std::log(s / (1.0 - s)));
}

// beta at step t: beta_start through the warm-up, then linearly to beta_end.
double beta_at(int t, const AdaRoundOptions& o) {
    const double start = o.warm_up * o.iterations;
    if (t < start) return o.beta_start;
    const double rel = (t - start) / std::max(1.0, o.iterations - start);
    return o.beta_end + (o.beta_start - o.beta_end) * std::max(0.0, 1.0 - rel);
}

// One weight as the relaxation sees it: p = floor + h between its two
// integer neighbours (minus the zero-point), or fixed at nearest rounding
// where other_rounding offers no choice (w / s an integer, clipped weights).
struct WeightSlot {
    double floor = 0.0;      // the lower neighbour minus z, or the fixed level
    double fraction = 0.0;   // w / s - floor, where free
    bool free = false;
};

WeightSlot slot(float w, const AffineQuant& q) {
    const std::int64_t nearest = quantize_value(w, q), other = other_rounding(w, q);
    WeightSlot s;
    s.free = other != nearest;
    s.floor = static_cast<double>(std::min(nearest, other) - q.zero_point);
    if (s.free) s.fraction = std::clamp(static_cast<double>(w / q.scale) - s.floor, 0.0, 1.0);
    return s;
}

// Row r's reconstruction error (without w H_ff w^T) for integers q.
double row_objective(const AdaRoundProblem& p, std::int64_t r, const std::int32_t* q) {
    const AffineQuant& a = p.quant[static_cast<std::size_t>(r)];
    Eigen::VectorXd w(p.k), w_hat(p.k);
    for (std::int64_t i = 0; i < p.k; ++i) {
        w[i] = p.weight[r * p.k + i];
        w_hat[i] = static_cast<double>(sim::dequantize(q[i], a.scale, a.zero_point));
    }
    const ConstMapD hqq(p.h_qq, p.k, p.k), hfq(p.h_fq, p.k, p.k);
    return w_hat.dot(hqq * w_hat) - 2.0 * w.dot(hfq * w_hat);
}

class BlockSolver {
public:
    BlockSolver(const AdaRoundProblem& p, const AdaRoundOptions& o, std::int64_t r0, std::int64_t rows)
        : p_(p), o_(o), r0_(r0), rows_(rows) {}

    // Writes rows [r0, r0 + rows) of integers; adds this block's trajectory.
    void solve(std::int32_t* integers, std::vector<double>& trajectory) {
        const std::int64_t k = p_.k;
        const double h_mean = ConstMapD(p_.h_qq, k, k).trace() / static_cast<double>(k);
        for (std::int64_t r = 0; r < rows_; ++r) nearest_row(r, integers + (r0_ + r) * k);
        if (!(h_mean > 0.0)) return;   // the input is all zeros: any rounding is exact
        setup(h_mean);
        if (free_.sum() == 0.0f) return;   // nothing to choose (binary grids, every weight clipped or exact)
        const int every = std::max(1, o_.iterations / kTrajectoryPoints);
        for (int t = 0; t < o_.iterations; ++t) {
            if (t % every == 0) add_point(trajectory, t / every, beta_at(t, o_));
            step(t);
        }
        add_point(trajectory, o_.iterations / every, o_.beta_end);
        for (std::int64_t r = 0; r < rows_; ++r) keep_if_better(r, integers + (r0_ + r) * k);
    }

private:
    const AffineQuant& quant(std::int64_t r) const { return p_.quant[static_cast<std::size_t>(r0_ + r)]; }
    float weight(std::int64_t r, std::int64_t i) const { return p_.weight[(r0_ + r) * p_.k + i]; }

    void nearest_row(std::int64_t r, std::int32_t* out) const {
        for (std::int64_t i = 0; i < p_.k; ++i) out[i] = static_cast<std::int32_t>(quantize_value(weight(r, i), quant(r)));
    }

    void setup(double h_mean) {
        const std::int64_t k = p_.k;
        h_ = (ConstMapD(p_.h_qq, k, k) / h_mean).cast<float>();
        MatrixD w(rows_, k);
        for (std::int64_t r = 0; r < rows_; ++r)
            for (std::int64_t i = 0; i < k; ++i) w(r, i) = weight(r, i);
        MatrixD b = w * ConstMapD(p_.h_fq, k, k);
        for (std::int64_t r = 0; r < rows_; ++r) b.row(r) /= static_cast<double>(quant(r).scale) * h_mean;
        b_ = b.cast<float>();
        base_.resize(rows_, k);
        v_.setZero(rows_, k);
        free_.setZero(rows_, k);
        m_.setZero(rows_, k);
        s_.setZero(rows_, k);
        for (std::int64_t r = 0; r < rows_; ++r)
            for (std::int64_t i = 0; i < k; ++i) {
                const WeightSlot s = slot(weight(r, i), quant(r));
                base_(r, i) = static_cast<float>(s.floor);
                if (s.free) {
                    v_(r, i) = initial_v(s.fraction);
                    free_(r, i) = 1.0f;
                }
            }
    }

    // p = floor + h(V) where free, the fixed level elsewhere.
    MatrixF levels() const {
        MatrixF p = base_;
        for (std::int64_t j = 0; j < p.size(); ++j)
            if (free_.data()[j] != 0.0f) p.data()[j] += rectified(v_.data()[j]);
        return p;
    }

    void step(int t) {
        const MatrixF p = levels();
        const MatrixF grad_p = 2.0f * (p * h_ - b_);
        const bool regularized = t >= o_.warm_up * o_.iterations;
        const float beta = static_cast<float>(beta_at(t, o_)), lambda = static_cast<float>(o_.regularization);
        const float c1 = 1.0f - std::pow(kAdamBeta1, static_cast<float>(t + 1));
        const float c2 = 1.0f - std::pow(kAdamBeta2, static_cast<float>(t + 1));
        for (std::int64_t j = 0; j < p.size(); ++j) {
            if (free_.data()[j] == 0.0f) continue;
            const float v = v_.data()[j];
            float g = grad_p.data()[j];
            if (regularized) {
                const float d = 2.0f * rectified(v) - 1.0f;
                g -= lambda * 2.0f * beta * std::pow(std::abs(d), beta - 1.0f) * (d < 0.0f ? -1.0f : 1.0f);
            }
            g *= rectified_slope(v);
            float& m = m_.data()[j];
            float& s = s_.data()[j];
            m = kAdamBeta1 * m + (1.0f - kAdamBeta1) * g;
            s = kAdamBeta2 * s + (1.0f - kAdamBeta2) * g * g;
            v_.data()[j] = v - static_cast<float>(o_.learning_rate) * (m / c1) / (std::sqrt(s / c2) + kAdamEpsilon);
        }
    }

    // The relaxed objective (normalized reconstruction + lambda * regularizer at beta).
    void add_point(std::vector<double>& trajectory, int index, double beta) const {
        const MatrixF p = levels();
        double total = ((p * h_).cwiseProduct(p).cast<double>().sum()) - 2.0 * b_.cwiseProduct(p).cast<double>().sum();
        for (std::int64_t j = 0; j < p.size(); ++j)
            if (free_.data()[j] != 0.0f)
                total += o_.regularization * (1.0 - std::pow(std::abs(2.0 * rectified(v_.data()[j]) - 1.0), beta));
        if (static_cast<std::size_t>(index) >= trajectory.size()) trajectory.resize(static_cast<std::size_t>(index) + 1, 0.0);
        trajectory[static_cast<std::size_t>(index)] += total;
    }

    // Row r rounded by h >= 1/2 where free, kept only where it does not do
    // worse than nearest rounding on the exact objective.
    void keep_if_better(std::int64_t r, std::int32_t* out) const {
        std::vector<std::int32_t> q(out, out + p_.k);
        for (std::int64_t i = 0; i < p_.k; ++i)
            if (free_(r, i) != 0.0f)
                q[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(
                    base_(r, i) + (rectified(v_(r, i)) >= 0.5f ? 1.0f : 0.0f) + static_cast<float>(quant(r).zero_point));
        if (row_objective(p_, r0_ + r, q.data()) <= row_objective(p_, r0_ + r, out)) std::copy(q.begin(), q.end(), out);
    }

    const AdaRoundProblem& p_;
    const AdaRoundOptions& o_;
    std::int64_t r0_, rows_;
    MatrixF h_, b_, base_, v_, free_, m_, s_;
};

void check(const AdaRoundProblem& p) {
    if (p.rows < 0 || p.k <= 0 || static_cast<std::int64_t>(p.quant.size()) != p.rows || !p.weight || !p.h_qq || !p.h_fq)
        throw std::invalid_argument("adaround: inconsistent problem");
}

}  // namespace

AdaRoundResult adaround(const AdaRoundProblem& problem, const AdaRoundOptions& options, int threads) {
    check(problem);
    AdaRoundResult out;
    out.integers.resize(static_cast<std::size_t>(problem.rows * problem.k));
    const std::int64_t blocks = (problem.rows + kBlockRows - 1) / kBlockRows;
    std::vector<std::vector<double>> trajectories(static_cast<std::size_t>(blocks));
    sim::parallel_for(blocks, threads, [&](std::int64_t b) {
        const std::int64_t r0 = b * kBlockRows, rows = std::min(kBlockRows, problem.rows - r0);
        BlockSolver(problem, options, r0, rows).solve(out.integers.data(), trajectories[static_cast<std::size_t>(b)]);
    }, sim::Schedule::dynamic);
    for (const std::vector<double>& t : trajectories) {   // block order: the sums do not depend on threads
        out.trajectory.resize(std::max(out.trajectory.size(), t.size()), 0.0);
        for (std::size_t i = 0; i < t.size(); ++i) out.trajectory[i] += t[i];
    }
    std::vector<std::int32_t> nearest(out.integers.size());
    for (std::int64_t r = 0; r < problem.rows; ++r)
        for (std::int64_t i = 0; i < problem.k; ++i)
            nearest[static_cast<std::size_t>(r * problem.k + i)] = static_cast<std::int32_t>(
                quantize_value(problem.weight[r * problem.k + i], problem.quant[static_cast<std::size_t>(r)]));
    out.objective_nearest = adaround_objective(problem, nearest);
    out.objective = adaround_objective(problem, out.integers);
    return out;
}

double adaround_objective(const AdaRoundProblem& problem, const std::vector<std::int32_t>& integers) {
    check(problem);
    if (static_cast<std::int64_t>(integers.size()) != problem.rows * problem.k)
        throw std::invalid_argument("adaround_objective: wrong number of integers");
    double total = 0.0;
    for (std::int64_t r = 0; r < problem.rows; ++r) total += row_objective(problem, r, integers.data() + r * problem.k);
    return total;
}

}  // namespace bitnpu::calib

#pragma GCC diagnostic pop
