// Requantization throughput (values/s) per unit kind and rounding mode, and
// of the building blocks (round_shift, saturating accumulation).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "bitnpu/sim/datapath/accumulate.hpp"
#include "bitnpu/sim/datapath/requant.hpp"
#include "bitnpu/sim/datapath/rounding.hpp"

namespace {

using bitnpu::arch::Overflow;
using bitnpu::arch::RequantKind;
using bitnpu::arch::RoundingMode;
namespace sim = bitnpu::sim;

constexpr std::size_t kValues = 4096;  // fits in L1/L2: measures arithmetic, not memory

// Accumulators as a 24-bit int8 x int8 conv would produce them.
std::vector<std::int64_t> accumulators() {
    std::mt19937_64 rng(1);
    std::uniform_int_distribution<std::int64_t> dist(-(1 << 23), (1 << 23) - 1);
    std::vector<std::int64_t> v(kValues);
    for (auto& x : v) x = dist(rng);
    return v;
}

sim::RequantRegisters registers(RequantKind kind, RoundingMode mode) {
    bitnpu::arch::RequantSpec spec;
    spec.kind = kind;
    spec.rounding = mode;
    spec.multiplier_bits = kind == RequantKind::gemmlowp ? 32 : 16;
    spec.shift_bits = kind == RequantKind::shifter || kind == RequantKind::multiplier ? 5 : 0;
    return sim::derive_requant(0.0037, spec, 24).registers;
}

void BM_requantize(benchmark::State& state, RequantKind kind, RoundingMode mode) {
    const std::vector<std::int64_t> acc = accumulators();
    std::vector<std::int64_t> out(kValues);
    const sim::RequantRegisters r = registers(kind, mode);
    for (auto _ : state) {
        sim::requantize_n(acc.data(), acc.size(), r, out.data());
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(std::int64_t(state.iterations()) * std::int64_t(kValues));
}

// Requantize, add the zero-point and clamp to int8: the full output stage.
void BM_output_stage(benchmark::State& state, RequantKind kind, RoundingMode mode) {
    const std::vector<std::int64_t> acc = accumulators();
    std::vector<std::int8_t> out(kValues);
    const sim::RequantRegisters r = registers(kind, mode);
    for (auto _ : state) {
        for (std::size_t i = 0; i < kValues; ++i) {
            out[i] = std::int8_t(sim::add_zero_point_and_clamp(sim::requantize(acc[i], r), 3, -128, 127));
        }
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(std::int64_t(state.iterations()) * std::int64_t(kValues));
}

void BM_round_shift(benchmark::State& state, RoundingMode mode) {
    const std::vector<std::int64_t> acc = accumulators();
    std::int64_t sink = 0;
    for (auto _ : state) {
        for (std::size_t i = 0; i < kValues; ++i) sink += std::int64_t(sim::round_shift(acc[i], 9, mode));
        benchmark::DoNotOptimize(sink);
    }
    state.SetItemsProcessed(std::int64_t(state.iterations()) * std::int64_t(kValues));
}

// accumulate_all over K = 1024 int8 x int8 products (fast path taken) and the
// same with products large enough to force the ordered saturating loop.
void BM_accumulate_all(benchmark::State& state, bool force_ordered) {
    std::mt19937_64 rng(2);
    std::uniform_int_distribution<std::int64_t> dist(-16384, 16384);
    std::vector<std::int64_t> p(1024);
    for (auto& x : p) x = dist(rng) * (force_ordered ? 64 : 1);
    const sim::AccumulatorRule rule{24, Overflow::saturate};
    for (auto _ : state) benchmark::DoNotOptimize(sim::accumulate_all(0, p.data(), p.size(), rule));
    state.SetItemsProcessed(std::int64_t(state.iterations()) * std::int64_t(p.size()));
}

#define BITNPU_REQUANT_BENCH(fn, kind, mode) \
    BENCHMARK_CAPTURE(fn, kind##_##mode, RequantKind::kind, RoundingMode::mode)

BITNPU_REQUANT_BENCH(BM_requantize, shifter, floor);
BITNPU_REQUANT_BENCH(BM_requantize, shifter, trunc);
BITNPU_REQUANT_BENCH(BM_requantize, shifter, half_up);
BITNPU_REQUANT_BENCH(BM_requantize, shifter, half_away);
BITNPU_REQUANT_BENCH(BM_requantize, shifter, half_even);
BITNPU_REQUANT_BENCH(BM_requantize, multiplier, floor);
BITNPU_REQUANT_BENCH(BM_requantize, multiplier, trunc);
BITNPU_REQUANT_BENCH(BM_requantize, multiplier, half_up);
BITNPU_REQUANT_BENCH(BM_requantize, multiplier, half_away);
BITNPU_REQUANT_BENCH(BM_requantize, multiplier, half_even);
BITNPU_REQUANT_BENCH(BM_requantize, gemmlowp, half_away);  // rounding fixed by TFLite
BITNPU_REQUANT_BENCH(BM_requantize, float32, half_even);   // rounding fixed: half_even
BITNPU_REQUANT_BENCH(BM_output_stage, multiplier, half_up);
BITNPU_REQUANT_BENCH(BM_output_stage, gemmlowp, half_away);
BITNPU_REQUANT_BENCH(BM_output_stage, float32, half_even);
BENCHMARK_CAPTURE(BM_round_shift, floor, RoundingMode::floor);
BENCHMARK_CAPTURE(BM_round_shift, half_even, RoundingMode::half_even);
BENCHMARK_CAPTURE(BM_accumulate_all, fast_path, false);
BENCHMARK_CAPTURE(BM_accumulate_all, ordered, true);

}  // namespace

BENCHMARK_MAIN();
