// Verilated npu_tile against the golden model (sim/datapath): latency,
// directed corners and short random runs per configured variant. The long
// 10^5-vector runs are ctest entries of the cosim CLI (CMakeLists.txt).
#include <catch2/catch.hpp>

#include <sstream>

#include "bitnpu/arch/load.hpp"
#include "bitnpu/errors.hpp"
#include "cosim_run.hpp"
#include "vector_gen.hpp"

using namespace bitnpu::rtl;

namespace {

struct Case {
    const char* config;
    const char* engine;
};
const Case kCases[] = {{"configs/int8_npu.yaml", "mac"},
                       {"configs/int8_npu.yaml", "mac,activation=uint8"},
                       {"configs/shift_only.yaml", "mac"},
                       {"configs/hetero.yaml", "mac4"},
                       {"configs/hetero.yaml", "bnn"}};

TileConfig config_of(const Case& c) {
    const auto arch = bitnpu::arch::load_arch(std::string(BITNPU_SOURCE_DIR) + "/" + c.config);
    const EngineSelector selector = parse_engine_selector(c.engine);
    return tile_config_for(select_engine(arch, selector.engine), selector.options);
}

}  // namespace

TEST_CASE("every configured engine has a verilated variant") {
    for (const Case& c : kCases) {
        INFO(c.config << " " << c.engine);
        CHECK_NOTHROW(find_variant(config_of(c)));
    }
}

TEST_CASE("w4a8's int4 mac4 engine is verilated as hetero_mac4") {
    // w4a8.yaml maps every Conv/Gemm to mac4; its datapath parameters are
    // hetero.yaml's mac4, so one variant serves both.
    CHECK(find_variant(config_of({"configs/w4a8.yaml", "mac4"})).name == "hetero_mac4");
}

TEST_CASE("variant options pick the precision and the array shape") {
    const TileConfig u8 = config_of({"configs/int8_npu.yaml", "mac,activation=uint8"});
    CHECK(u8.activation == bitnpu::arch::ValueType::uint8);
    CHECK(u8.params.a_signed == 0);
    CHECK(find_variant(u8).name == "int8_npu_u8");
    const TileConfig small = config_of({"configs/hetero.yaml", "bnn,array=4x4"});
    CHECK(small.params.rows == 4);
    CHECK(small.params.cols == 4);
    CHECK(small.params.bnn == 1);
    CHECK_THROWS_AS(parse_engine_selector("mac,array=4"), bitnpu::UserError);
    CHECK_THROWS_AS(parse_engine_selector("mac,activation=int9"), bitnpu::UserError);
    CHECK_THROWS_AS(config_of({"configs/shift_only.yaml", "mac,activation=uint8"}), bitnpu::UserError);
}

TEST_CASE("tile latency is max(K,1) + ROWS + COLS + 1 cycles") {
    for (const Case& c : kCases) {
        const TileConfig config = config_of(c);
        auto sim = find_variant(config).make(config);
        VectorGenerator gen(config, 3);
        for (int n = 0; n < 40; ++n) {
            const TileVector v = gen.next();
            const TileResult r = sim->run(v);
            const int beats = config.params.bnn ? (v.k + config.params.chunk - 1) / config.params.chunk : v.k;
            INFO(c.config << " " << c.engine << " K=" << v.k);
            REQUIRE(r.complete);
            // Independent of tile_latency(): the formula written out here.
            CHECK(r.cycles == std::uint64_t((beats > 0 ? beats : 1) + config.params.rows + config.params.cols + 1));
        }
    }
}

TEST_CASE("directed corner tiles match the golden model") {
    for (const Case& c : kCases) {
        const TileConfig config = config_of(c);
        auto sim = find_variant(config).make(config);
        std::ostringstream log;
        Cosim cosim(config, *sim, log, 3);
        const auto vectors = directed_vectors(config);
        for (const TileVector& v : vectors) cosim.check(v);
        INFO(c.config << " " << c.engine << "\n" << log.str());
        CHECK(cosim.report().vectors == vectors.size());
        CHECK(cosim.report().mismatches == 0);
        CHECK(cosim.report().latency_errors == 0);
    }
}

TEST_CASE("directed corners really reach saturation and rounding ties") {
    // Guards the stimulus: the golden accumulators of the directed tiles
    // must hit both accumulator bounds, else the corner tests prove nothing.
    for (const Case& c : kCases) {
        const TileConfig config = config_of(c);
        const std::int64_t max = (std::int64_t(1) << (config.accumulator.bits - 1)) - 1;
        bool hit_max = false, hit_min = false;
        for (const TileVector& v : directed_vectors(config))
            for (int i = 0; i < config.params.rows; ++i)
                for (int j = 0; j < config.params.cols; ++j) {
                    const std::int64_t acc = golden_accumulator(config, v, i, j);
                    hit_max |= acc == max;
                    hit_min |= acc == -max - 1;
                }
        INFO(c.config << " " << c.engine);
        CHECK(hit_max);
        CHECK(hit_min);
    }
}

namespace {
// A stand-in for a broken RTL: the golden outputs with one element off by one.
class OffByOneSim final : public TileSim {
public:
    explicit OffByOneSim(const TileConfig& c) : c_(c) {}
    TileResult run(const TileVector& v) override {
        TileResult r;
        r.y = golden_outputs(c_, v);
        r.y[r.y.size() / 2] += 1;
        r.cycles = tile_latency(c_.params, v.k);
        return r;
    }
    std::uint64_t total_cycles() const override { return 0; }
    void open_trace(const std::string&) override {}
    bool write_coverage(const std::string&) override { return false; }

private:
    TileConfig c_;
};
}  // namespace

TEST_CASE("the comparison reports a one-LSB difference in full") {
    const TileConfig config = config_of(kCases[0]);
    OffByOneSim broken(config);
    std::ostringstream log;
    Cosim cosim(config, broken, log, 1);
    VectorGenerator gen(config, 11);
    cosim.check(gen.next());
    cosim.check(gen.next());
    CHECK(cosim.report().mismatches == 2);
    CHECK(cosim.report().outputs == 2u * config.params.rows * config.params.cols);
    CHECK(log.str().find("expected") != std::string::npos);
    CHECK(log.str().find("golden accumulator") != std::string::npos);
}

TEST_CASE("random tiles match the golden model (short run)") {
    for (const Case& c : kCases) {
        const TileConfig config = config_of(c);
        auto sim = find_variant(config).make(config);
        std::ostringstream log;
        Cosim cosim(config, *sim, log, 3);
        VectorGenerator gen(config, 12345);
        for (int n = 0; n < 2000; ++n) cosim.check(gen.next());
        INFO(c.config << " " << c.engine << "\n" << log.str());
        CHECK(cosim.report().mismatches == 0);
        CHECK(cosim.report().latency_errors == 0);
    }
}
