// Cycle counts against the closed forms of docs/timing.md, written out
// here independently of the model, whose counts come from stepping the
// arrays a cycle at a time.
#include <catch2/catch.hpp>

#include "bitnpu/sim/systemc/cycle_model.hpp"
#include "cycle_test_util.hpp"

using namespace bitnpu;
using namespace bitnpu::sim;
using namespace bitnpu::sim::cycletest;

namespace {

std::int64_t cdiv(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

constexpr std::int64_t kRequantDepth = 3;
constexpr double kFastDram = 1e12;   // every transfer takes its minimum: one cycle

MacLayer gemm_layer(std::int64_t k, std::int64_t n) {
    MacLayer L;
    L.kind = MacKind::gemm;
    L.weight_shape = {n, k};
    L.weights.assign(static_cast<std::size_t>(n * k), 1);
    L.requant = {RequantRegisters{}};
    return L;
}

MacLayer conv_layer(std::int64_t c_in, std::int64_t c_out, std::int64_t k, int stride, int groups) {
    MacLayer L;
    L.kind = MacKind::conv;
    L.weight_shape = {c_out, c_in / groups, k, k};
    L.geometry.stride_h = L.geometry.stride_w = stride;
    L.geometry.groups = groups;
    L.geometry.pad_top = L.geometry.pad_left = L.geometry.pad_bottom = L.geometry.pad_right = static_cast<int>(k / 2);
    L.weights.assign(static_cast<std::size_t>(element_count(L.weight_shape)), -1);
    L.requant = {RequantRegisters{}};
    return L;
}

systemc::LayerReport run_one(const MacLayer& L, const QTensor& x, const arch::ArchSpec& a) {
    return systemc::run_cycle_model(one_node_graph(L, {x}, "mac", "Gemm"), a, {x}).report.layers.at(0);
}

// Per group the GEMM is M x K x Ng; the closed forms of docs/timing.md.
std::int64_t os_compute(std::int64_t G, std::int64_t M, std::int64_t K, std::int64_t N, std::int64_t R, std::int64_t C) {
    return G * cdiv(M, R) * cdiv(N, C) * (K + R + C - 2) + kRequantDepth;
}
std::int64_t ws_compute(std::int64_t G, std::int64_t M, std::int64_t K, std::int64_t N, std::int64_t R, std::int64_t C) {
    return G * cdiv(K, R) * cdiv(N, C) * (R + M + R + C - 1) + kRequantDepth;
}

// Array cycles by phase, summed over the tiles (docs/timing.md "MAC arrays").
void check_phases(const systemc::LayerReport& r, arch::Dataflow dataflow, std::int64_t G, std::int64_t M, std::int64_t K,
                  std::int64_t N, std::int64_t R, std::int64_t C) {
    const std::int64_t skew = R + C - 2;
    if (dataflow == arch::Dataflow::output_stationary) {
        const std::int64_t tiles = G * cdiv(M, R) * cdiv(N, C);
        CHECK(r.fill_cycles == tiles * std::min(K, skew));
        CHECK(r.steady_cycles == tiles * std::max<std::int64_t>(0, K - skew));
        CHECK(r.drain_cycles == tiles * skew);
    } else {
        const std::int64_t tiles = G * cdiv(K, R) * cdiv(N, C);
        CHECK(r.fill_cycles == tiles * (R + std::min(M, skew)));
        CHECK(r.steady_cycles == tiles * std::max<std::int64_t>(0, M - skew));
        CHECK(r.drain_cycles == tiles * (skew + 1));
    }
    // Every MAC is one PE-cycle on real data: the array's own utilization
    // count equals the MAC count.
    CHECK(r.pe_active_cycles == r.macs);
    CHECK(r.mac_utilization == Approx(double(r.pe_active_cycles) / (double(r.cycles) * R * C)));
}

}  // namespace

TEST_CASE("timing: GEMM cycles equal the closed form (compute-bound, double-buffered)", "[systemc][timing]") {
    struct Case { std::int64_t M, K, N; int R, C; };
    const Case cases[] = {{1, 16, 16, 16, 16}, {7, 33, 10, 8, 4}, {64, 64, 64, 16, 16}, {5, 3, 40, 4, 8}, {100, 9, 3, 2, 2}};
    for (const Case& c : cases)
        for (auto dataflow : {arch::Dataflow::output_stationary, arch::Dataflow::weight_stationary}) {
            CAPTURE(c.M, c.K, c.N, c.R, c.C, static_cast<int>(dataflow));
            const QTensor x({c.M, c.K}, per_tensor(arch::ValueType::int8, 1.0f, 0));
            const auto r = run_one(gemm_layer(c.K, c.N), x, make_arch(dataflow, c.R, c.C, 4, 4096, kFastDram));
            const std::int64_t compute = dataflow == arch::Dataflow::output_stationary ? os_compute(1, c.M, c.K, c.N, c.R, c.C)
                                                                                       : ws_compute(1, c.M, c.K, c.N, c.R, c.C);
            CHECK(r.double_buffered);
            CHECK(r.compute_cycles == compute);
            // Only the first load and the last store are not hidden behind compute.
            CHECK(r.cycles == compute + 2);
            CHECK(r.mac_utilization == Approx(double(c.M * c.K * c.N) / (double(r.cycles) * c.R * c.C)));
            check_phases(r, dataflow, 1, c.M, c.K, c.N, c.R, c.C);
        }
}

TEST_CASE("timing: convolution cycles equal the closed form (dense, strided, depthwise)", "[systemc][timing]") {
    struct Case { std::int64_t N, C_in, H, W, C_out, k; int stride, groups, R, C; };
    const Case cases[] = {{1, 3, 8, 8, 8, 3, 1, 1, 4, 4}, {2, 4, 9, 7, 6, 3, 2, 1, 8, 4}, {1, 8, 6, 6, 8, 3, 1, 8, 4, 4},
                          {1, 6, 5, 5, 12, 1, 1, 3, 2, 8}};
    for (const Case& c : cases)
        for (auto dataflow : {arch::Dataflow::output_stationary, arch::Dataflow::weight_stationary}) {
            CAPTURE(c.C_in, c.C_out, c.k, c.stride, c.groups, c.R, c.C, static_cast<int>(dataflow));
            const QTensor x({c.N, c.C_in, c.H, c.W}, per_tensor(arch::ValueType::int8, 1.0f, 0));
            const std::int64_t OH = (c.H + 2 * (c.k / 2) - c.k) / c.stride + 1, OW = (c.W + 2 * (c.k / 2) - c.k) / c.stride + 1;
            const std::int64_t M = c.N * OH * OW, K = c.C_in / c.groups * c.k * c.k, Ng = c.C_out / c.groups;
            const auto r = run_one(conv_layer(c.C_in, c.C_out, c.k, c.stride, c.groups), x,
                                   make_arch(dataflow, c.R, c.C, 4, 4096, kFastDram));
            const std::int64_t compute = dataflow == arch::Dataflow::output_stationary ? os_compute(c.groups, M, K, Ng, c.R, c.C)
                                                                                       : ws_compute(c.groups, M, K, Ng, c.R, c.C);
            CHECK(r.compute_cycles == compute);
            CHECK(r.cycles == compute + 2);
            CHECK(r.macs == M * K * c.C_out);
            check_phases(r, dataflow, c.groups, M, K, Ng, c.R, c.C);
        }
}

TEST_CASE("timing: without room for two tiles, DMA and compute serialize", "[systemc][timing]") {
    // 1 KiB of SRAM cannot hold two 16 x 64 int8 weight tiles (2 KiB).
    const std::int64_t M = 4, K = 64, N = 48;
    const QTensor x({M, K}, per_tensor(arch::ValueType::int8, 1.0f, 0));
    const auto r = run_one(gemm_layer(K, N), x, make_arch(arch::Dataflow::output_stationary, 16, 16, 4, 1, kFastDram));
    CHECK_FALSE(r.double_buffered);
    const std::int64_t tiles = cdiv(M, 16) * cdiv(N, 16);
    // The one slot is freed only when the tile's outputs have left the
    // requant pipeline and been stored, so nothing overlaps the requant drain:
    // each tile is load (1), array, requant (3), store (1).
    CHECK(r.compute_cycles == tiles * (K + 16 + 16 - 2 + kRequantDepth));
    CHECK(r.cycles == r.compute_cycles + tiles * 2);
}

TEST_CASE("timing: a one-tile output-stationary layer takes the RTL tile latency K + R + C + 1", "[systemc][timing]") {
    // K + R + C - 2 cycles of array (fill, K products, drain) and the 3-stage
    // requant pipeline behind the last row: the latency rtl/npu_tile.sv has.
    struct Case { std::int64_t M, K, N; int R, C; double bw; };
    const Case cases[] = {{1, 1, 1, 1, 1, kFastDram}, {4, 27, 4, 4, 4, kFastDram}, {16, 100, 16, 16, 16, 2.0},
                          {3, 9, 8, 8, 8, 0.5}, {8, 5, 2, 8, 4, 16.0}};
    for (const Case& c : cases) {
        CAPTURE(c.M, c.K, c.N, c.R, c.C, c.bw);
        const QTensor x({c.M, c.K}, per_tensor(arch::ValueType::int8, 1.0f, 0));
        const auto r = run_one(gemm_layer(c.K, c.N), x, make_arch(arch::Dataflow::output_stationary, c.R, c.C, 4, 4096, c.bw));
        CHECK(r.tiles == 1);
        CHECK(r.compute_cycles == c.K + c.R + c.C + 1);
        if (c.bw == kFastDram) CHECK(r.cycles == 1 + (c.K + c.R + c.C + 1) + 1);   // load, tile, store
    }
}

TEST_CASE("timing: a memory-bound layer runs at the DRAM bandwidth", "[systemc][timing]") {
    // One row through a 256 x 256 int8 weight matrix: 64 KiB of weights
    // at 2 bytes a cycle against 16 tiles of 286 compute cycles.
    const std::int64_t M = 1, K = 256, N = 256;
    const double bw = 2.0;
    const QTensor x({M, K}, per_tensor(arch::ValueType::int8, 1.0f, 0));
    const auto r = run_one(gemm_layer(K, N), x, make_arch(arch::Dataflow::output_stationary, 16, 16, 4, 512, bw));
    const std::int64_t bytes = K * N + M * K + M * N;
    CHECK(r.dram_bytes_in + r.dram_bytes_out == bytes);
    const auto transfer = static_cast<std::int64_t>(bytes / bw);
    CHECK(r.cycles >= transfer);
    // Only the last tile's compute (and requant drain) is not hidden behind the DMA.
    CHECK(r.cycles <= transfer + (K + 16 + 16 - 2) + kRequantDepth + 16);
    CHECK(r.stall_cycles > r.compute_cycles);
    // Doubling the bandwidth halves the time (within one tile).
    const auto fast = run_one(gemm_layer(K, N), x, make_arch(arch::Dataflow::output_stationary, 16, 16, 4, 512, 2 * bw));
    CHECK(fast.cycles == Approx(r.cycles / 2.0).margin(K + 40));
}

TEST_CASE("timing: a memory-bound weight-stationary layer runs at the DRAM bandwidth", "[systemc][timing]") {
    // The same GEMM on a weight-stationary array: 256 weight tiles of 16 x 16
    // (48 array cycles each) against 256 B of weights a tile at 2 bytes a cycle.
    // Each channel block re-reads the input row (16 B a K block).
    const std::int64_t M = 1, K = 256, N = 256, R = 16, C = 16;
    const double bw = 2.0;
    const QTensor x({M, K}, per_tensor(arch::ValueType::int8, 1.0f, 0));
    const auto r = run_one(gemm_layer(K, N), x, make_arch(arch::Dataflow::weight_stationary, R, C, 4, 512, bw));
    const std::int64_t bytes = K * N + (N / C) * M * K + M * N;
    CHECK(r.dram_bytes_in + r.dram_bytes_out == bytes);
    const auto transfer = static_cast<std::int64_t>(bytes / bw);
    CHECK(r.cycles >= transfer);
    CHECK(r.cycles <= transfer + (R + M + R + C - 1) + kRequantDepth + C);
    CHECK(r.compute_cycles < r.cycles / 2);
    const auto fast = run_one(gemm_layer(K, N), x, make_arch(arch::Dataflow::weight_stationary, R, C, 4, 512, 2 * bw));
    CHECK(fast.cycles == Approx(r.cycles / 2.0).margin(100));
}

TEST_CASE("timing: vector engines take ceil(elements / lanes) cycles a tile plus the pipeline", "[systemc][timing]") {
    LutLayer l;
    for (int c = 0; c < 256; ++c) l.table.push_back(c - 128);
    for (int lanes : {1, 3, 16}) {
        const QTensor x({1, 4, 10, 10}, per_tensor(arch::ValueType::int8, 1.0f, 0));
        const auto r = systemc::run_cycle_model(one_node_graph(l, {x}, "vec"), make_arch(arch::Dataflow::output_stationary, 4, 4, lanes, 512, kFastDram),
                                                {x}).report.layers.at(0);
        const std::int64_t tile = lanes * 256, E = 400;
        std::int64_t compute = 0;
        for (std::int64_t e = 0; e < E; e += tile) compute += cdiv(std::min(tile, E - e), lanes);
        CHECK(r.compute_cycles == compute + 2);
    }
}
