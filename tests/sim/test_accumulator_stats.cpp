// Overflow statistics of the reference accumulation (reference::
// accumulator_stats): hand-computed running sums on a small Gemm.
#include <catch2/catch.hpp>

#include "bitnpu/sim/reference/mac.hpp"

using namespace bitnpu;
using namespace bitnpu::sim;

TEST_CASE("accumulator_stats: the steps that leave the accumulator's range and the largest exact partial sum",
          "[reference][mac][overflow]") {
    // Two outputs of K = 3: weights all 127 (channel 0) and all 1 (channel 1),
    // input [127, 127, 127], a 16-bit accumulator, bias 0 preloaded.
    MacLayer layer;
    layer.kind = MacKind::gemm;
    layer.weight_shape = {2, 3};
    layer.weights = {127, 127, 127, 1, 1, 1};
    layer.bias = {0, 0};
    layer.accumulator = {16, arch::Overflow::wrap};
    layer.bias_stage = arch::BiasStage::preload;
    layer.requant = {RequantRegisters{arch::RequantKind::shifter, arch::RoundingMode::half_up, 1, 0, 1.0f, 16}};
    QTensor x({1, 3}, per_tensor(arch::ValueType::int8, 1.0f, 0));
    x.values = {127, 127, 127};
    const reference::AccumulatorStats s = reference::accumulator_stats(layer, x);
    CHECK(s.outputs == 2);
    CHECK(s.steps == 2 * 4);              // the bias and three products each
    // Channel 0: 16129, 32258, 48387: the third product leaves [-32768, 32767].
    CHECK(s.overflowed_steps == 1);
    CHECK(s.overflowed_outputs == 1);
    CHECK(s.max_abs_partial == 48387);
    CHECK(s.accumulator_max == 32767);
    // With saturation the same steps overflow (the statistics are of the exact sums).
    layer.accumulator.overflow = arch::Overflow::saturate;
    CHECK(reference::accumulator_stats(layer, x).overflowed_steps == 1);
    // A 17-bit accumulator holds it.
    layer.accumulator.bits = 17;
    CHECK(reference::accumulator_stats(layer, x).overflowed_outputs == 0);
}
