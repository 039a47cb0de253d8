// The low-bit scale rules against brute force on the raw data: binary
// (int1) grids take the closed-form optimum (L2: mean |x|, XNOR-Net's
// mean-absolute scaling; L1: median |x|), the multi-level low-bit grids
// (int4, uint4, int2 ternary) the MSE-optimal clipping of the l2 policy.
// The brute force scans the scale on a fine grid and evaluates the error on
// every sample with derive_quant + fake_quantize, never through a policy.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>

#include "bitnpu/quant/policies.hpp"
#include "bitnpu/quant/scale.hpp"

using namespace bitnpu;
using namespace bitnpu::calib;

namespace {

std::vector<float> laplace(std::size_t n, double b, unsigned seed) {
    std::mt19937 rng(seed);
    std::exponential_distribution<double> e(1.0 / b);
    std::bernoulli_distribution sign(0.5);
    std::vector<float> v(n);
    for (auto& x : v) x = static_cast<float>(sign(rng) ? e(rng) : -e(rng));
    return v;
}

std::vector<float> relu_gaussian(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> d(0.2, 1.0);
    std::vector<float> v(n);
    for (auto& x : v) x = static_cast<float>(std::max(0.0, d(rng)));
    return v;
}

TensorStats stats_of(const std::vector<float>& v) {
    TensorStats s;
    s.observe(v.data(), v.size());
    return s;
}

// Sum over the data of |x - Q(x)|^power with the quantizer of `range`.
double data_error(const std::vector<float>& v, const ClipRange& range, arch::ValueType type, ScaleMode mode, int power) {
    const AffineQuant q = derive_quant(range, type, false, ScaleOptions{mode, false});
    double sum = 0.0;
    for (float x : v) {
        const double e = std::fabs(double(x) - fake_quantize(x, q));
        sum += power == 1 ? e : e * e;
    }
    return sum;
}

// The best error over symmetric thresholds T = max|x| * k / steps.
double brute_force_error(const std::vector<float>& v, arch::ValueType type, ScaleMode mode, int power, double* best_t) {
    double limit = 0.0;
    for (float x : v) limit = std::max(limit, double(std::fabs(x)));
    const bool is_unsigned = arch::value_range(type).min >= 0;
    double best = INFINITY;
    constexpr int kSteps = 4000;
    for (int k = 1; k <= kSteps; ++k) {
        const double t = limit * k / kSteps;
        const ClipRange r = is_unsigned ? ClipRange{0.0, t} : ClipRange{-t, t};
        const double e = data_error(v, r, type, mode, power);
        if (e < best) {
            best = e;
            if (best_t) *best_t = t;
        }
    }
    return best;
}

}  // namespace

TEST_CASE("binary grids: the l2 scale is mean |x| and the l1 scale median |x|, the brute-force optima", "[lowbit]") {
    const std::vector<float> v = laplace(20000, 0.7, 3);
    const TensorStats s = stats_of(v);
    const QuantGrid grid = grid_for(arch::ValueType::int1, false);
    double mean = 0.0;
    for (float x : v) mean += std::fabs(x);
    mean /= double(v.size());
    std::vector<float> a(v.size());
    std::transform(v.begin(), v.end(), a.begin(), [](float x) { return std::fabs(x); });
    std::nth_element(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(a.size() / 2), a.end());
    const double median = a[a.size() / 2];
    const double bin = s.abs_hist.bin_width();   // the histogram resolves the value to half a bin

    const ClipRange l2 = make_policy(PolicyKind::l2)->choose(s, grid, ScaleMode::symmetric);
    const ClipRange l1 = make_policy(PolicyKind::l1)->choose(s, grid, ScaleMode::symmetric);
    CHECK(l2.hi == Approx(mean).margin(bin));
    CHECK(l2.lo == -l2.hi);
    CHECK(l1.hi == Approx(median).margin(bin));

    double t2 = 0.0, t1 = 0.0;
    const double best2 = brute_force_error(v, arch::ValueType::int1, ScaleMode::symmetric, 2, &t2);
    const double best1 = brute_force_error(v, arch::ValueType::int1, ScaleMode::symmetric, 1, &t1);
    CHECK(t2 == Approx(mean).margin(2 * bin));
    CHECK(t1 == Approx(median).margin(2 * bin));
    // Within 0.1 % of the brute-force optimum's error (the scan's own step is coarser).
    CHECK(data_error(v, l2, arch::ValueType::int1, ScaleMode::symmetric, 2) <= best2 * 1.001);
    CHECK(data_error(v, l1, arch::ValueType::int1, ScaleMode::symmetric, 1) <= best1 * 1.001);
}

TEST_CASE("int4, int2 and uint4 grids: the l2 policy's clipping is within 1 % of the brute-force MSE optimum", "[lowbit]") {
    struct Case {
        arch::ValueType type;
        std::vector<float> data;
    };
    const std::vector<Case> cases = {{arch::ValueType::int4, laplace(20000, 0.5, 5)},
                                     {arch::ValueType::int2, laplace(20000, 0.5, 6)},
                                     {arch::ValueType::uint4, relu_gaussian(20000, 7)}};
    for (const Case& c : cases) {
        INFO(arch::to_string(c.type));
        const TensorStats s = stats_of(c.data);
        const QuantGrid grid = grid_for(c.type, false);
        const ClipRange chosen = make_policy(PolicyKind::l2)->choose(s, grid, ScaleMode::symmetric);
        const double best = brute_force_error(c.data, c.type, ScaleMode::symmetric, 2, nullptr);
        const double got = data_error(c.data, chosen, c.type, ScaleMode::symmetric, 2);
        CHECK(got <= best * 1.01);
        // Clipping pays at these widths: the optimum is well inside the range.
        CHECK(chosen.hi < 0.8 * s.abs_max());
        // And it beats the max policy's range by a wide margin.
        const ClipRange max = make_policy(PolicyKind::max)->choose(s, grid, ScaleMode::symmetric);
        CHECK(got < 0.8 * data_error(c.data, max, c.type, ScaleMode::symmetric, 2));
    }
}
