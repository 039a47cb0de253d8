#include "bitnpu/sim/functional/host_layer.hpp"

#include <string>

#include "bitnpu/errors.hpp"

namespace bitnpu::sim {

std::vector<QTensor> run_host_layer(const HostLayer& layer, const std::vector<const QTensor*>& inputs,
                                    const std::vector<QuantParams>& output_quant) {
    if (!layer.function) throw UserError("host op " + layer.op + " has no FP32 implementation");
    std::vector<FloatTensor> real;
    for (const QTensor* q : inputs) real.push_back(dequantize_tensor(*q));
    const std::vector<FloatTensor> results = layer.function(real);
    if (results.size() != output_quant.size())
        throw UserError("host op " + layer.op + " produced " + std::to_string(results.size()) + " outputs, expected " +
                        std::to_string(output_quant.size()));
    std::vector<QTensor> out;
    for (std::size_t i = 0; i < results.size(); ++i) out.push_back(quantize_tensor(results[i], output_quant[i]));
    return out;
}

}  // namespace bitnpu::sim
