// Policies on synthetic distributions with known answers. Expected values
// come from closed forms or from direct numerical integration here, never
// from the policy code.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "bitnpu/quant/policies.hpp"
#include "bitnpu/errors.hpp"

using namespace bitnpu;
using namespace bitnpu::calib;
using Catch::Matchers::Contains;

namespace {

TensorStats stats_of(const std::vector<float>& v) {
    TensorStats s;
    s.observe(v.data(), v.size());
    return s;
}

std::vector<float> gaussian(std::size_t n, double mean, double sigma, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> d(mean, sigma);
    std::vector<float> v(n);
    for (auto& x : v) x = static_cast<float>(d(rng));
    return v;
}

std::vector<float> uniform(std::size_t n, double lo, double hi, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> d(lo, hi);
    std::vector<float> v(n);
    for (auto& x : v) x = static_cast<float>(d(rng));
    return v;
}

ClipRange choose(const std::string& policy, const TensorStats& s, const QuantGrid& g,
                 ScaleMode m = ScaleMode::symmetric) {
    return make_policy(policy)->choose(s, g, m);
}

const QuantGrid kInt8{-128, 127, false};
const QuantGrid kInt8r{-127, 127, false};
const QuantGrid kInt4{-8, 7, false};
const QuantGrid kUint8{0, 255, false};

// MSE of the symmetric uniform quantizer with levels -L..L and step T/L on a
// standard normal, by direct numerical integration (independent of bitnpu).
double gaussian_mse(double t, int levels) {
    const double s = t / levels;
    double sum = 0.0;
    const double dx = 1e-3;
    for (double x = -10.0; x < 10.0; x += dx) {
        double q = std::nearbyint(x / s);
        q = std::max(-static_cast<double>(levels), std::min(static_cast<double>(levels), q));
        const double e = x - q * s;
        sum += e * e * std::exp(-0.5 * x * x) * dx;
    }
    return sum / std::sqrt(2.0 * M_PI);
}

double optimal_gaussian_clip(int levels) {
    double best_t = 0.0, best = 1e30;
    for (double t = 1.0; t < 6.0; t += 0.01) {
        const double e = gaussian_mse(t, levels);
        if (e < best) { best = e; best_t = t; }
    }
    return best_t;
}

}  // namespace

TEST_CASE("policies: names and factory", "[policies]") {
    const auto names = policy_names();
    CHECK(names == std::vector<std::string>{"max", "percentile", "kld", "l1", "l2", "mse"});
    for (const auto& n : names) CHECK(make_policy(n)->name() == policy_name(parse_policy(n)));
    CHECK(parse_policy("mse") == PolicyKind::l2);
    CHECK(make_policy("mse")->name() == std::string("l2"));  // the CTable records the canonical name
    for (PolicyKind k : kAllPolicies) CHECK(parse_policy(policy_name(k)) == k);
    CHECK_THROWS_WITH(make_policy("entropy"), Contains("entropy") && Contains("max, percentile, kld, l1, l2, mse"));
    CHECK_THROWS_AS(make_policy("percentile", PolicyOptions{0.0}), UserError);
    CHECK_THROWS_AS(make_policy("percentile", PolicyOptions{100.5}), UserError);
    TensorStats empty;
    CHECK_THROWS_AS(choose("max", empty, kInt8), std::invalid_argument);
}

TEST_CASE("policies: uniform data is not clipped", "[policies]") {
    const auto s = stats_of(uniform(200000, -1.0, 1.0, 7));
    const double amax = s.abs_max();
    const ClipRange mx = choose("max", s, kInt8r);
    CHECK(mx.hi == amax);
    CHECK(mx.lo == -amax);
    // 99.99th percentile of |U(-1,1)| is 0.9999.
    CHECK(choose("percentile", s, kInt8r).hi == Approx(0.9999).margin(2e-3));
    CHECK(choose("percentile", s, kInt8r).hi == Approx(mx.hi).epsilon(0.01));
    // For a uniform distribution at 8 bits, clipping only adds error.
    CHECK(choose("l2", s, kInt8r).hi > 0.97 * amax);
    CHECK(choose("l1", s, kInt8r).hi > 0.97 * amax);
    CHECK(choose("kld", s, kInt8r).hi > 0.9 * amax);
}

TEST_CASE("policies: outliers are clipped by percentile, kld, l1 and l2 but not max", "[policies]") {
    // int8: one outlier at 100 among N = 400k N(0,1) samples.
    auto v = gaussian(400000, 0.0, 1.0, 11);
    v.push_back(100.0f);
    const auto s = stats_of(v);
    CHECK(choose("max", s, kInt8).hi == 100.0);
    const double pct = choose("percentile", s, kInt8).hi;
    CHECK(pct > 3.0);  // 99.99% of |N(0,1)| lies below 3.89
    CHECK(pct < 4.5);
    // l2: squared error ~ N (T/127)^2 / 12 (rounding of the bulk) + (100 - T)^2
    // (clipping the outlier), minimal at T = 100 / (1 + N / (12 * 127^2)) ~ 32.6.
    const double n = static_cast<double>(v.size());
    const double t_l2 = 100.0 / (1.0 + n / (12.0 * 127.0 * 127.0));
    for (const char* p : {"l2", "mse"}) {
        INFO(p);
        const ClipRange r = choose(p, s, kInt8);
        CHECK(r.hi == Approx(t_l2).epsilon(0.06));
        CHECK(r.lo == -r.hi);
    }
    // l1: N T / (4 * 127) + (100 - T) grows with T, so l1 drops the outlier.
    CHECK(choose("l1", s, kInt8).hi < 6.0);
    CHECK(choose("l1", s, kInt8).hi > 2.5);
    // KLD cannot go below 128 of the 2048 bins, i.e. 1/16 of the histogram
    // range (here 128 / 16 = 8).
    const double kld = choose("kld", s, kInt8).hi;
    CHECK(kld < 50.0);
    CHECK(kld > 2.5);

    // int4: ten outliers at +-40 among 100k samples; every policy but max clips.
    auto w = gaussian(100000, 0.0, 1.0, 12);
    for (int i = 0; i < 5; ++i) { w.push_back(40.0f + i); w.push_back(-35.0f); }
    const auto s4 = stats_of(w);
    CHECK(choose("max", s4, kInt4).hi == 44.0);
    for (const char* p : {"percentile", "kld", "l1", "l2"}) {
        INFO(p);
        const ClipRange r = choose(p, s4, kInt4);
        CHECK(r.hi < 6.0);
        CHECK(r.hi > 1.5);
    }
}

TEST_CASE("policies: l2 finds the MSE-optimal clip of a Gaussian", "[policies]") {
    const auto s = stats_of(gaussian(400000, 0.0, 1.0, 3));
    // 4 bits, symmetric levels -7..7: the optimum is ~2.5 sigma (Banner et al.'s
    // 2.55 is for 16 levels); computed here by integration.
    const double t4 = optimal_gaussian_clip(7);
    CHECK(t4 > 2.2);
    CHECK(t4 < 2.8);
    CHECK(choose("l2", s, kInt4).hi == Approx(t4).epsilon(0.06));
    // 8 bits: the optimum is ~3.9-4 sigma; the curve is flat there, so only bracket it.
    const double t8 = choose("l2", s, kInt8r).hi;
    CHECK(t8 > 3.3);
    CHECK(t8 < 4.8);
    // l1 clips harder than l2 (it weights the rare large errors less).
    CHECK(choose("l1", s, kInt4).hi < choose("l2", s, kInt4).hi);
}

TEST_CASE("policies: binary grids get the mean |x| scale from l2", "[policies]") {
    // For x^ = s * sign(x), the MSE-optimal s is E|x| = sqrt(2/pi) sigma.
    const auto s = stats_of(gaussian(200000, 0.0, 1.0, 5));
    const QuantGrid binary{-1, 1, true};
    CHECK(choose("l2", s, binary).hi == Approx(std::sqrt(2.0 / M_PI)).epsilon(0.03));
    // The l1-optimal s is the median of |x|: 0.6745 sigma.
    CHECK(choose("l1", s, binary).hi == Approx(0.6745).epsilon(0.03));
}

TEST_CASE("policies: unsigned grids read the positive side", "[policies]") {
    // Half-normal data (after ReLU) on uint8: range starts at 0.
    auto v = gaussian(100000, 0.0, 1.0, 9);
    for (auto& x : v) x = std::max(x, 0.0f);
    const auto s = stats_of(v);
    for (const auto& p : policy_names()) {
        INFO(p);
        const ClipRange r = choose(p, s, kUint8);
        CHECK(r.lo == 0.0);
        CHECK(r.hi > 2.0);
        CHECK(r.hi <= s.max);
    }
    // 1e-4 of all samples lie above the percentile: P(N(0,1) > t) = 1e-4 at t = 3.719.
    CHECK(choose("percentile", s, kUint8).hi == Approx(3.719).epsilon(0.04));
    // KLD with the zero spike neutralized does not collapse to ~1.5 sigma.
    CHECK(choose("kld", s, kUint8).hi > 3.0);
    CHECK(choose("kld", s, kInt8).hi > 3.0);
}

TEST_CASE("policies: asymmetric ranges", "[policies]") {
    const auto s = stats_of(uniform(200000, -1.0, 3.0, 13));
    const ClipRange mx = choose("max", s, kUint8, ScaleMode::asymmetric);
    CHECK(mx.lo == s.min);
    CHECK(mx.hi == s.max);
    for (const char* p : {"l1", "l2"}) {
        INFO(p);
        const ClipRange r = choose(p, s, kUint8, ScaleMode::asymmetric);
        CHECK(r.lo == Approx(-1.0).epsilon(0.03));
        CHECK(r.hi == Approx(3.0).epsilon(0.03));
    }
    const ClipRange pc = choose("percentile", s, kUint8, ScaleMode::asymmetric);
    CHECK(pc.lo == Approx(-1.0 + 4e-4).margin(2e-3));
    CHECK(pc.hi == Approx(3.0 - 4e-4).margin(2e-3));

    // A Gaussian at mean 2 with outliers at 30: the search clips the outliers
    // and keeps 0 in range.
    // (uint4, where keeping the outliers costs far more rounding error.)
    auto g = gaussian(100000, 2.0, 0.5, 17);
    g.push_back(30.0f);
    g.push_back(30.0f);
    const auto sg = stats_of(g);
    const QuantGrid uint4{0, 15, false};
    for (const char* p : {"l2", "l1", "kld", "percentile"}) {
        INFO(p);
        const ClipRange r = choose(p, sg, uint4, ScaleMode::asymmetric);
        CHECK(r.lo <= 0.0);
        CHECK(r.hi < 10.0);
        CHECK(r.hi > 2.5);
    }
}

TEST_CASE("policies: kld threshold sits on a bin edge", "[policies]") {
    auto v = gaussian(100000, 0.0, 1.0, 21);
    v.push_back(100.0f);
    const auto s = stats_of(v);
    const double t = choose("kld", s, kInt8).hi;
    const double bins = t / s.abs_hist.bin_width();
    CHECK(bins == std::floor(bins));
    CHECK(bins >= 128);  // TensorRT starts the search at 128 bins
    CHECK(t < 50.0);
}

TEST_CASE("policies: an all-zero tensor gives an empty range for every policy", "[policies]") {
    const auto s = stats_of(std::vector<float>(1000, 0.0f));
    for (const auto& p : policy_names())
        for (const auto mode : {ScaleMode::symmetric, ScaleMode::asymmetric}) {
            INFO(p);
            const ClipRange r = choose(p, s, kInt8, mode);
            CHECK(r.lo == 0.0);
            CHECK(r.hi == 0.0);
        }
}
