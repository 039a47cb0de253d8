// The bit-accurate MAC layer (sim/functional) against a plain Eigen FP32 GEMM
// of the same shape, single-threaded. Each BitAccurate run also times the FP32
// GEMM itself and reports fp32_MACps and ratio = bit-accurate / FP32 (goal >= 0.5),
// both from the best thread-CPU time of their runs, and where the output
// elements went (MacStats: exact by their own bound, ordered loop, step table).
//   bench_functional --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <random>

// GCC 12 reports a false -Wmaybe-uninitialized inside Eigen's AVX-512
// intrinsics, at template instantiation points: ignored for this file.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>

#include "bitnpu/sim/functional/mac_fast.hpp"
#include "bitnpu/sim/functional/mac_layer.hpp"

using namespace bitnpu;
using namespace bitnpu::sim;

namespace {

struct Case {
    const char* name;
    MacKind kind;
    std::int64_t c_in, c_out, h, w, k;   // conv: k x k kernel, pad k/2; gemm: rows = h, K = c_in, N = c_out
    int acc_bits;
    arch::Overflow overflow;
    bool binary = false;                 // int1 x int1 instead of int8 weights x uint8 activations
    MacPath path = MacPath::automatic;
    // Post-ReLU-like activations (z_x = 0, mostly 0..15, 2% up to 255): the
    // per-channel bound of a narrow saturating accumulator fails, while most
    // elements' own bound sum_k |p_k| + |b| fits (MacPlan::element_bound).
    bool skewed = false;
};

const Case kCases[] = {
    {"conv3x3_64x64_56x56_acc32", MacKind::conv, 64, 64, 56, 56, 3, 32, arch::Overflow::saturate},
    {"conv3x3_256x256_14x14_acc32", MacKind::conv, 256, 256, 14, 14, 3, 32, arch::Overflow::saturate},
    {"conv1x1_128x256_28x28_acc32", MacKind::conv, 128, 256, 28, 28, 1, 32, arch::Overflow::saturate},
    {"gemm_64x1024x1024_acc32", MacKind::gemm, 1024, 1024, 64, 1, 1, 32, arch::Overflow::saturate},
    {"conv3x3_64x64_56x56_acc16wrap", MacKind::conv, 64, 64, 56, 56, 3, 16, arch::Overflow::wrap},
    {"conv3x3_16x16_28x28_acc16sat_ordered", MacKind::conv, 16, 16, 28, 28, 3, 16, arch::Overflow::saturate},
    {"binary_conv3x3_256x256_14x14_float", MacKind::conv, 256, 256, 14, 14, 3, 32, arch::Overflow::saturate, true,
     MacPath::exact_float},
    {"binary_conv3x3_256x256_14x14_xnor", MacKind::conv, 256, 256, 14, 14, 3, 32, arch::Overflow::saturate, true,
     MacPath::xnor_popcount},
    {"conv3x3_64x64_56x56_acc20sat_skewed", MacKind::conv, 64, 64, 56, 56, 3, 20, arch::Overflow::saturate, false,
     MacPath::automatic, true},
};

struct Setup {
    MacLayer layer;
    QTensor input;
    std::int64_t macs = 0;
    std::int64_t m = 0, n = 0, k = 0;   // the equivalent GEMM: [m x k] * [k x n]
};

Setup make_setup(const Case& c) {
    std::mt19937 rng(42);
    std::uniform_int_distribution<int> w8(-127, 127), x8(0, 255);
    Setup s;
    MacLayer& L = s.layer;
    L.kind = c.kind;
    L.input_type = arch::ValueType::uint8;
    L.input_zero_point = 128;
    L.accumulator = {c.acc_bits, c.overflow};
    if (c.kind == MacKind::conv) {
        L.weight_shape = {c.c_out, c.c_in, c.k, c.k};
        L.geometry.pad_top = L.geometry.pad_left = L.geometry.pad_bottom = L.geometry.pad_right = static_cast<int>(c.k / 2);
        s.input = QTensor({1, c.c_in, c.h, c.w}, per_tensor(arch::ValueType::uint8, 0.02f, 128));
        s.m = c.c_out, s.k = c.c_in * c.k * c.k, s.n = c.h * c.w;
    } else {
        L.weight_shape = {c.c_out, c.c_in};
        s.input = QTensor({c.h, c.c_in}, per_tensor(arch::ValueType::uint8, 0.02f, 128));
        s.m = c.h, s.k = c.c_in, s.n = c.c_out;
    }
    for (std::int64_t i = 0; i < element_count(L.weight_shape); ++i)
        L.weights.push_back(c.binary ? (w8(rng) >= 0 ? 1 : -1) : w8(rng));
    std::uniform_int_distribution<int> small(0, 15), percent(0, 99);
    for (auto& v : s.input.values) {
        if (c.binary) v = x8(rng) >= 128 ? 1 : -1;
        else if (c.skewed) v = percent(rng) < 2 ? x8(rng) : small(rng);
        else v = x8(rng);
    }
    if (c.skewed) {
        L.input_zero_point = 0;
        s.input.quant = per_tensor(arch::ValueType::uint8, 0.02f, 0);
    }
    if (c.binary) {
        L.input_type = L.weight_type = arch::ValueType::int1;
        L.input_zero_point = 0;
        s.input.quant = per_tensor(arch::ValueType::int1, 1.0f, 0);
    }
    // Calibrated-like registers: +-3 sigma of the accumulator maps onto the
    // int8 output range (sigma of a sum of K products of uniform codes).
    const double sigma = std::sqrt(static_cast<double>(s.k)) * (c.binary ? 1.0 : 73.6 * (c.skewed ? 9.0 : 73.9));
    arch::RequantSpec spec;
    spec.kind = arch::RequantKind::multiplier;
    spec.rounding = arch::RoundingMode::half_even;
    spec.multiplier_bits = 16;
    spec.shift_bits = 6;
    for (std::int64_t i = 0; i < c.c_out; ++i) {
        L.bias.push_back(w8(rng) * 100);
        L.requant.push_back(derive_requant(127.0 / (3.0 * sigma) * (1.0 + 0.001 * i), spec, c.acc_bits).registers);
    }
    s.macs = s.m * s.n * s.k;
    return s;
}

// CPU time of this thread: the machine may be shared, wall time is not stable.
double thread_seconds() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Seconds per FP32 GEMM of the same shape (best of a few timed runs).
double fp32_gemm_seconds(const Setup& s) {
    Matrix a = Matrix::Random(s.m, s.k), b = Matrix::Random(s.k, s.n), c(s.m, s.n);
    double best = 1e30;
    for (int rep = 0; rep < 5; ++rep) {
        const double t0 = thread_seconds();
        c.noalias() = a * b;
        benchmark::DoNotOptimize(c.data());
        best = std::min(best, thread_seconds() - t0);
    }
    return best;
}

void BM_BitAccurate(benchmark::State& state, const Case& c) {
    const Setup s = make_setup(c);
    // Weights are constants: prepared once, as a graph run prepares each layer.
    const PreparedMacLayer prepared = prepare_mac_layer(s.layer);
    const MacPlan plan = plan_mac(prepared, s.input, c.path);
    double best = 1e30;
    for (auto _ : state) {
        const double t0 = thread_seconds();
        QTensor y = run_mac_layer(prepared, s.input, {1, c.path});
        benchmark::DoNotOptimize(y.values.data());
        best = std::min(best, thread_seconds() - t0);
    }
    MacStats stats;
    run_mac_layer(prepared, s.input, {1, c.path, &stats});
    const double fp32 = fp32_gemm_seconds(s);
    const auto exact = std::count(plan.exact_ok.begin(), plan.exact_ok.end(), true);
    const double outputs = static_cast<double>(stats.exact_channel + stats.exact_element + stats.ordered);
    state.counters["MACps"] = benchmark::Counter(static_cast<double>(s.macs), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["best_MACps"] = static_cast<double>(s.macs) / best;
    state.counters["fp32_MACps"] = static_cast<double>(s.macs) / fp32;
    state.counters["ratio"] = fp32 / best;
    state.counters["exact_channels"] = static_cast<double>(exact);
    // Fractions of the output elements: exact by their own bound, ordered loop, finished by step table.
    state.counters["elem_exact"] = static_cast<double>(stats.exact_element) / outputs;
    state.counters["ordered"] = static_cast<double>(stats.ordered) / outputs;
    state.counters["by_table"] = static_cast<double>(stats.by_table) / outputs;
    state.counters["engine"] = static_cast<double>(plan.engine);   // 1 ordered, 2 float, 3 double, 4 xnor
}

void BM_EigenFP32(benchmark::State& state, const Case& c) {
    const Setup s = make_setup(c);
    Matrix a = Matrix::Random(s.m, s.k), b = Matrix::Random(s.k, s.n), out(s.m, s.n);
    for (auto _ : state) {
        out.noalias() = a * b;
        benchmark::DoNotOptimize(out.data());
    }
    state.counters["MACps"] = benchmark::Counter(static_cast<double>(s.macs), benchmark::Counter::kIsIterationInvariantRate);
}

int register_all() {
    for (const Case& c : kCases) {
        benchmark::RegisterBenchmark((std::string("BitAccurate/") + c.name).c_str(), BM_BitAccurate, c)
            ->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark((std::string("EigenFP32/") + c.name).c_str(), BM_EigenFP32, c)
            ->Unit(benchmark::kMillisecond);
    }
    return 0;
}
const int kRegistered = register_all();

}  // namespace

BENCHMARK_MAIN();
