#include "bitnpu/sim/functional/reshape.hpp"

#include <string>

#include "bitnpu/errors.hpp"

namespace bitnpu::sim {

Shape reshape_output_shape(const ReshapeLayer& layer, const Shape& in) {
    Shape out = layer.shape;
    std::int64_t known = 1;
    int infer = -1;
    for (std::size_t d = 0; d < out.size(); ++d) {
        if (out[d] == 0 && d < in.size()) out[d] = in[d];
        if (out[d] == -1) {
            if (infer >= 0) throw UserError("Reshape has more than one -1 dimension");
            infer = static_cast<int>(d);
        } else {
            known *= out[d];
        }
    }
    const std::int64_t total = element_count(in);
    if (infer >= 0 && known > 0) out[static_cast<std::size_t>(infer)] = total / known;
    if (element_count(out) != total)
        throw UserError("Reshape to " + std::to_string(element_count(out)) + " elements from " + std::to_string(total));
    return out;
}

QTensor run_reshape_layer(const ReshapeLayer& layer, const QTensor& x) {
    QTensor y = x;
    y.shape = reshape_output_shape(layer, x.shape);
    return y;
}

}  // namespace bitnpu::sim
