// FP32 fallback for an op no engine runs: dequantize every input, run a float
// function the calibrator supplies, quantize every output with the output
// tensors' parameters (datapath quantize / dequantize).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "bitnpu/sim/functional/qtensor.hpp"

namespace bitnpu::sim {

using HostFunction = std::function<std::vector<FloatTensor>(const std::vector<FloatTensor>&)>;

struct HostLayer {
    std::string op;                  // for messages, e.g. "Softmax"
    HostFunction function;
};

std::vector<QTensor> run_host_layer(const HostLayer& layer, const std::vector<const QTensor*>& inputs,
                                    const std::vector<QuantParams>& output_quant);

}  // namespace bitnpu::sim
