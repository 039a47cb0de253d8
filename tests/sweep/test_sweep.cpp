// archsweep (sweep/, docs/sweeps.md): specs load with located errors, points
// are planned as grid / zip / random, an axis edits the base arch at its
// path, shards partition the points, and a run resumes, records invalid
// points, and merges from shards to the unsharded result.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "src/fp32_cache.hpp"   // private to sweep/: its include folder is added for this test
#include <unistd.h>

#include "bitnpu/errors.hpp"
#include "bitnpu/sweep/run.hpp"
#include "bitnpu/sweep/spec.hpp"

using namespace bitnpu;
using namespace bitnpu::sweep;
namespace fs = std::filesystem;

namespace {

const std::string kSource = BITNPU_SOURCE_DIR;

// A spec file in a temporary folder, paths absolute.
struct SpecFile {
    fs::path dir;
    std::string path;
    explicit SpecFile(const std::string& body, const std::string& name = "spec") {
        dir = fs::temp_directory_path() / ("bitnpu-sweep-" + name + "-" + std::to_string(::getpid()));
        fs::remove_all(dir);
        fs::create_directories(dir);
        path = (dir / "spec.yaml").string();
        std::ofstream(path) << body;
    }
    ~SpecFile() { fs::remove_all(dir); }
};

std::string header() {
    return "sweep: 1\nname: t\narch: " + kSource + "/configs/int8_npu.yaml\nnetworks:\n  - name: cnn\n    model: " +
           kSource + "/models/cnn.onnx\n    calib: " + kSource + "/data/calib_500.npy\n    eval: " + kSource +
           "/data/test_100_x.npy\n    labels: " + kSource + "/data/test_100_y.npy\n    samples: 32\n";
}

std::string refused(const std::string& body) {
    SpecFile f(body, "bad");
    try {
        load_sweep_spec(f.path);
    } catch (const UserError& e) {
        return e.what();
    }
    return "accepted";
}

}  // namespace

TEST_CASE("sweep spec: grid, zip and random points; the arch edited at each path", "[sweep]") {
    SpecFile f(header() + "axes:\n  engines.mac.accumulator.bits: [16, 24]\n  engines.mac.accumulator.overflow: [wrap, saturate, wrap]\n");
    SweepSpec s = load_sweep_spec(f.path);
    std::vector<Point> grid = plan_points(s);
    REQUIRE(grid.size() == 6);
    CHECK(grid[0].id == "p0000");
    CHECK(value_text(grid[1].values[1]) == "saturate");   // last axis fastest
    CHECK(value_text(grid[3].values[0]) == "24");
    const std::string arch = arch_for_point(s, grid[4]);
    CHECK(arch.find("bits: 24") != std::string::npos);

    s.combine = Combine::random;
    s.random_points = 5;
    s.seed = 3;
    const std::vector<Point> a = plan_points(s), b = plan_points(s);
    REQUIRE(a.size() == 5);
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(value_text(a[i].values[0]) == value_text(b[i].values[0]));

    CHECK(shard_points(grid, 2, 4).size() == 2);   // points 1 and 5
    CHECK(shard_points(grid, 2, 4)[1].id == "p0005");
    CHECK_THROWS_AS(parse_shard("5/4"), UserError);
    CHECK_THROWS_AS(parse_shard("0/4"), UserError);
    CHECK_THROWS_AS(parse_shard("x"), UserError);
    CHECK(parse_shard("3/4") == std::pair<std::int64_t, std::int64_t>{3, 4});
}

TEST_CASE("sweep spec: bad specs are refused with their location", "[sweep][errors]") {
    CHECK(refused(header() + "axes:\n  engines.mac.accumulator.bitz: [16]\n").find("spec.yaml:12:3: axes.engines.mac.accumulator.bitz") !=
          std::string::npos);
    CHECK(refused(header() + "axes:\n  engines.mac.accumulator.bitz: [16]\n").find("did you mean 'bits'") != std::string::npos);
    CHECK(refused(header() + "axes:\n  engines.nope.accumulator.bits: [16]\n").find("no list element named 'nope'") !=
          std::string::npos);
    CHECK(refused(header() + "axes:\n  engines.mac.accumulator.bits: 16\n").find("expected a non-empty list") !=
          std::string::npos);
    CHECK(refused(header() + "axes:\n  engines.mac.accumulator.bits: [16]\ncombine: diagonal\n").find("combine") !=
          std::string::npos);
    CHECK(refused("sweep: 2\n").find("sweep") != std::string::npos);
    CHECK(refused(header() + "axes:\n  engines.mac.accumulator.bits: [16]\nbogus: 1\n").find("bogus: unknown field") !=
          std::string::npos);
}

TEST_CASE("sweep run: invalid points recorded, resumable, shards merge to the unsharded result", "[sweep]") {
    // Three points: 12 bits is invalid for int8 products; 24 and 32 run. In
    // the unsharded run the 32-bit point reuses the 24-bit point's FP32
    // statistics and references; in shard 1/2 (points 0 and 2) it computes
    // them itself: equal results show the sharing changes nothing.
    SpecFile f(header() + "axes:\n  engines.mac.accumulator.bits: [12, 24, 32]\n  engines.mac.bias.bits: [12]\n"
                          "calib: {policy: max, search_samples: 2}\n",
               "run");
    const SweepSpec spec = load_sweep_spec(f.path);
    const std::vector<Point> points = plan_points(spec);
    RunOptions o;
    o.threads = 1;
    o.progress = false;
    const std::string all = (f.dir / "all").string();
    const std::vector<PointResult> r = run_points(spec, points, all, "", o);
    REQUIRE(r.size() == 3);
    CHECK(r[0].status == "invalid_arch");   // int8 products do not fit 12 bits
    CHECK(r[0].error.find("12-bit accumulator") != std::string::npos);
    CHECK(r[1].status == "ok");
    REQUIRE(r[1].top1.has_value());
    CHECK(r[1].cycles > 0);
    CHECK(r[2].status == "ok");
    write_results(spec, r, all);
    CHECK(fs::exists(fs::path(all) / "results.csv"));
    CHECK(fs::exists(fs::path(all) / "pareto.csv"));

    // Resuming reads the stored result instead of running again.
    const auto stamp = fs::last_write_time(fs::path(all) / "points" / "p0001" / "cnn.json");
    const std::vector<PointResult> again = run_points(spec, points, all, "", o);
    CHECK(fs::last_write_time(fs::path(all) / "points" / "p0001" / "cnn.json") == stamp);
    CHECK(again[1].top1 == r[1].top1);

    const std::string s1 = (f.dir / "s1").string(), s2 = (f.dir / "s2").string();
    run_points(spec, shard_points(points, 1, 2), s1, "1/2", o);
    run_points(spec, shard_points(points, 2, 2), s2, "2/2", o);
    const std::vector<PointResult> merged = merge_results(spec, {s1, s2});
    REQUIRE(merged.size() == r.size());
    for (std::size_t i = 0; i < r.size(); ++i) {
        CHECK(merged[i].point == r[i].point);
        CHECK(merged[i].status == r[i].status);
        CHECK(merged[i].top1 == r[i].top1);
        CHECK(merged[i].cycles == r[i].cycles);
        CHECK(merged[i].arch_hash == r[i].arch_hash);
    }
    CHECK_THROWS_AS(merge_results(spec, {s1}), UserError);   // a shard missing

    // A shard of another spec is refused.
    SpecFile other(header() + "axes:\n  engines.mac.accumulator.bits: [24]\n", "other");
    CHECK_THROWS_WITH(merge_results(load_sweep_spec(other.path), {s1}), Catch::Contains("another spec"));
}

TEST_CASE("sweep run: shards share FP32 statistics through the on-disk cache, exactly", "[sweep]") {
    // policy l2 reads the histograms, so the cached entry must restore them
    // bit for bit for the shards to reproduce the uncached run.
    SpecFile f(header() + "axes:\n  engines.mac.accumulator.bits: [24, 32]\ncalib: {policy: l2, search_samples: 2}\n",
               "cache");
    const SweepSpec spec = load_sweep_spec(f.path);
    const std::vector<Point> points = plan_points(spec);
    RunOptions o;
    o.threads = 1;
    o.progress = false;
    const std::vector<PointResult> plain = run_points(spec, points, (f.dir / "plain").string(), "", o);
    o.cache_dir = (f.dir / "cache").string();
    const std::vector<PointResult> s1 = run_points(spec, shard_points(points, 1, 2), (f.dir / "s1").string(), "1/2", o);
    std::size_t entries = 0;
    for (const auto& e : fs::directory_iterator(o.cache_dir)) entries += e.path().extension() == ".cbor";
    CHECK(entries == 1);
    const std::vector<PointResult> s2 = run_points(spec, shard_points(points, 2, 2), (f.dir / "s2").string(), "2/2", o);
    REQUIRE(s1.size() == 1);
    REQUIRE(s2.size() == 1);
    CHECK(s1[0].top1 == plain[0].top1);
    CHECK(s2[0].top1 == plain[1].top1);
    CHECK(s2[0].cycles == plain[1].cycles);
    // A damaged entry is not trusted: recomputed, same result.
    for (const auto& e : fs::directory_iterator(o.cache_dir))
        if (e.path().extension() == ".cbor") std::ofstream(e.path(), std::ios::trunc) << "garbage";
    const std::vector<PointResult> s3 = run_points(spec, shard_points(points, 2, 2), (f.dir / "s3").string(), "2/2", o);
    CHECK(s3[0].top1 == plain[1].top1);
}

TEST_CASE("sweep FP32 cache: statistics round-trip field for field", "[sweep]") {
    SpecFile f(header() + "axes:\n  engines.mac.accumulator.bits: [24]\n", "roundtrip");
    std::map<std::string, bitnpu::calib::TensorStats> stats;
    std::vector<float> v(5000);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::sin(0.37f * float(i)) * (1.0f + float(i % 17));
    stats["a/b:0"].observe(v.data(), v.size());
    stats["relu"].observe(v.data(), 100);
    const bitnpu::sweep::Fp32Cache cache((f.dir / "c").string());
    const std::string key = cache.statistics_key(f.path, f.path, 64, "auto");
    CHECK_FALSE(cache.load_statistics(key));
    cache.store_statistics(key, stats);
    const auto back = cache.load_statistics(key);
    REQUIRE(back);
    REQUIRE(back->size() == stats.size());
    for (const auto& [name, s] : stats) {
        const bitnpu::calib::TensorStats& t = back->at(name);
        CHECK(t.count == s.count);
        CHECK(t.min == s.min);
        CHECK(t.max == s.max);
        CHECK(t.abs_hist == s.abs_hist);
        CHECK(t.signed_hist == s.signed_hist);
        CHECK(t.abs_hist.state().seen_hi == s.abs_hist.state().seen_hi);
    }
    CHECK(cache.statistics_key(f.path, f.path, 65, "auto") != key);   // settings are part of the key
}
