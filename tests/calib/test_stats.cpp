// Statistics: the re-binnable histogram, streaming == all at once, NaN/Inf
// counting, per-channel weight ranges and the thread-safe collector.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <thread>

#include "bitnpu/calibrator/stats_collector.hpp"
#include "bitnpu/errors.hpp"

using namespace bitnpu;
using namespace bitnpu::calib;

namespace {

std::vector<float> gaussian(std::size_t n, double sigma, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> d(0.0, sigma);
    std::vector<float> v(n);
    for (auto& x : v) x = static_cast<float>(d(rng));
    return v;
}

Tensor tensor_of(const std::vector<float>& v) {
    return Tensor::from_vector<float>({static_cast<std::int64_t>(v.size())}, v);
}

}  // namespace

TEST_CASE("stats: histogram picks the smallest power-of-two width holding the data and zero", "[stats]") {
    Histogram h(8);
    h.add(std::vector<double>{0.5, 1.5, -2.0});
    // Width 0.5 is the smallest power of two for which bins floor(-2/w)..floor(1.5/w) number <= 8.
    CHECK(h.bin_width() == 0.5);
    CHECK(h.first_bin() == -4);
    CHECK(h.zero_bin() == 4);
    const std::vector<std::uint64_t> expected = {1, 0, 0, 0, 0, 1, 0, 1};
    CHECK(h.counts() == expected);
    CHECK(h.total() == 3);
    CHECK(h.bin_lo(0) == -2.0);
    CHECK(h.bin_hi(7) == 2.0);
}

TEST_CASE("stats: histogram doubles its width by merging bin pairs", "[stats]") {
    Histogram h(8);
    h.add(std::vector<double>{0.1, 0.2, 0.3});
    const double w0 = h.bin_width();
    h.add(std::vector<double>{9.0});
    CHECK(h.bin_width() > w0);
    // Independent check: every count equals the number of samples in [lo, hi).
    const std::vector<double> all = {0.1, 0.2, 0.3, 9.0};
    for (int i = 0; i < h.num_bins(); ++i) {
        std::uint64_t n = 0;
        for (double x : all) {
            const float f = static_cast<float>(x);
            n += (f >= h.bin_lo(i) && f < h.bin_hi(i));
        }
        CHECK(h.counts()[static_cast<std::size_t>(i)] == n);
    }
}

TEST_CASE("stats: zeros before any non-zero value land in the zero bin", "[stats]") {
    Histogram h(16);
    h.add(std::vector<double>{0.0, 0.0});
    CHECK(h.bin_width() == 0.0);
    h.add(std::vector<double>{-3.0, 1.0});
    CHECK(h.counts()[static_cast<std::size_t>(h.zero_bin())] == 2);
    CHECK(h.total() == 4);
}

TEST_CASE("stats: batched observation equals observing everything at once", "[stats]") {
    // Batches whose range keeps growing force several re-binnings.
    std::vector<float> all;
    TensorStats streamed;
    for (int b = 0; b < 20; ++b) {
        auto batch = gaussian(2000, std::pow(1.4, b) * 0.01, 100 + b);
        if (b % 3 == 0) for (auto& x : batch) x = std::fabs(x) + 0.5f * b;  // shift right
        streamed.observe(tensor_of(batch));
        all.insert(all.end(), batch.begin(), batch.end());
    }
    TensorStats once;
    once.observe(tensor_of(all));
    CHECK(streamed.count == all.size());
    CHECK(streamed.min == once.min);
    CHECK(streamed.max == once.max);
    CHECK(streamed.abs_hist == once.abs_hist);
    CHECK(streamed.signed_hist == once.signed_hist);
    CHECK(streamed.abs_hist.counts().size() == static_cast<std::size_t>(kDefaultHistogramBins));

    // The data fills between half and all of the bins.
    const auto& h = once.abs_hist;
    const double span = once.abs_max() / h.bin_width();
    CHECK(span <= h.num_bins());
    CHECK(span > h.num_bins() / 2 - 1);

    // Independent recount of a few bins.
    for (int i : {0, 1, 700, h.num_bins() / 2, h.num_bins() - 1}) {
        std::uint64_t n = 0;
        for (float x : all) n += (std::fabs(x) >= h.bin_lo(i) && std::fabs(x) < h.bin_hi(i));
        CHECK(h.counts()[static_cast<std::size_t>(i)] == n);
    }
}

TEST_CASE("stats: merging in any order gives the same statistics", "[stats]") {
    const auto a = gaussian(3000, 0.1, 1), b = gaussian(3000, 7.0, 2), c = gaussian(100, 0.001, 3);
    TensorStats sa, sb, sc;
    sa.observe(a.data(), a.size());
    sb.observe(b.data(), b.size());
    sc.observe(c.data(), c.size());
    TensorStats x = sa;
    x.merge(sb);
    x.merge(sc);
    TensorStats y = sc;
    y.merge(sb);
    y.merge(sa);
    std::vector<float> all(a);
    all.insert(all.end(), b.begin(), b.end());
    all.insert(all.end(), c.begin(), c.end());
    TensorStats z;
    z.observe(all.data(), all.size());
    CHECK(x.abs_hist == z.abs_hist);
    CHECK(y.abs_hist == z.abs_hist);
    CHECK(x.signed_hist == z.signed_hist);
    CHECK(y.signed_hist == z.signed_hist);
    CHECK(x.min == z.min);
    CHECK(y.max == z.max);
}

TEST_CASE("stats: NaN and Inf are counted, not binned", "[stats]") {
    const float inf = std::numeric_limits<float>::infinity();
    const std::vector<float> v = {1.0f, std::nanf(""), -inf, 2.0f, inf, -0.5f};
    TensorStats s;
    s.observe(v.data(), v.size());
    CHECK(s.nan_count == 1);
    CHECK(s.inf_count == 2);
    CHECK(s.count == 3);
    CHECK(s.min == -0.5);
    CHECK(s.max == 2.0);
    CHECK(s.abs_hist.total() == 3);
    CHECK(s.has_non_finite());
}

TEST_CASE("stats: per-channel weight ranges along the output axis", "[stats]") {
    // Conv weight [Cout=2, Cin=2, 1, 1]: channel 0 = {1, -3}, channel 1 = {2, 5}.
    const Tensor conv = Tensor::from_vector<float>({2, 2, 1, 1}, {1, -3, 2, 5});
    const auto r = channel_ranges(conv, weight_output_axis("Conv", false, 4));
    REQUIRE(r.channels() == 2);
    CHECK(r.min == std::vector<double>{-3, 2});
    CHECK(r.max == std::vector<double>{1, 5});
    CHECK(r.abs_max() == 5);

    // MatMul [K=3, N=2]: channel n is column n.
    const Tensor mm = Tensor::from_vector<float>({3, 2}, {1, 10, -2, 20, 3, -30});
    const auto m = channel_ranges(mm, weight_output_axis("MatMul", false, 2));
    CHECK(m.axis == 1);
    CHECK(m.min == std::vector<double>{-2, -30});
    CHECK(m.max == std::vector<double>{3, 20});
    CHECK(weight_output_axis("Gemm", true, 2) == 0);
    CHECK(weight_output_axis("Gemm", false, 2) == 1);
    CHECK(channel_ranges(mm, -1).min == m.min);

    const auto cs = channel_stats(mm, 1);
    REQUIRE(cs.size() == 2);
    CHECK(cs[1].count == 3);
    CHECK(cs[1].min == -30);
    CHECK(cs[1].max == 20);
    CHECK(cs[0].abs_hist.total() == 3);
    CHECK_THROWS_AS(channel_ranges(mm, 2), UserError);
    CHECK_THROWS_AS(weight_output_axis("Relu", false, 2), UserError);
    const Tensor bad = Tensor::from_vector<float>({2}, {1.0f, std::nanf("")});
    CHECK_THROWS_AS(channel_ranges(bad, 0), UserError);
}

TEST_CASE("stats: the collector is thread-safe and skips non-float tensors", "[stats]") {
    std::vector<std::vector<float>> batches;
    for (int i = 0; i < 16; ++i) batches.push_back(gaussian(1000, 1.0 + i, 50 + i));

    StatsCollector parallel;
    auto observer = parallel.observer();
    std::vector<std::thread> workers;
    for (int t = 0; t < 4; ++t)
        workers.emplace_back([&, t] {
            for (int i = t; i < 16; i += 4) {
                observer("a", tensor_of(batches[i]));
                observer("b", tensor_of(batches[15 - i]));
            }
        });
    for (auto& w : workers) w.join();
    parallel.observe("shape", Tensor::from_vector<std::int64_t>({2}, {1, 2}));

    TensorStats serial;
    for (const auto& b : batches) serial.observe(b.data(), b.size());
    const auto stats = parallel.stats();
    CHECK(stats.size() == 2);
    CHECK(stats.at("a").abs_hist == serial.abs_hist);
    CHECK(stats.at("b").signed_hist == serial.signed_hist);
    CHECK(parallel.find("shape") == nullptr);

    StatsCollector only_a({}, {"a"});
    only_a.observe("a", tensor_of(batches[0]));
    only_a.observe("b", tensor_of(batches[0]));
    CHECK(only_a.stats().size() == 1);

    StatsCollector other;
    const std::vector<float> bad = {std::nanf("")};
    other.observe("c", tensor_of(bad));
    only_a.merge(other);
    CHECK(only_a.non_finite_tensors() == std::vector<std::string>{"c"});
}

TEST_CASE("stats: the |x| histogram equals binning |x| directly, also when negatives arrive late", "[stats]") {
    // Batches 1-2 are non-negative (the |x| histogram is then a copy of the
    // signed one); batch 3 brings negatives and a wider range.
    const std::vector<std::vector<float>> batches = {
        {0.0f, 0.5f, 1.0f, 2.0f, 0.25f}, {3.0f, 0.0f, -0.0f, 1.5f}, {-7.0f, 2.5f, -0.75f, 4.0f}};
    TensorStats s;
    std::vector<double> magnitudes;
    for (const auto& b : batches) {
        s.observe(b.data(), b.size());
        for (float v : b) magnitudes.push_back(std::fabs(v));
    }
    Histogram direct;
    direct.add(magnitudes);
    CHECK(s.abs_hist.counts() == direct.counts());
    CHECK(s.abs_hist.bin_width() == direct.bin_width());
    CHECK(s.abs_hist.total() == direct.total());
}
