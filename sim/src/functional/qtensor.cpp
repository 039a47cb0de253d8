#include "bitnpu/sim/functional/qtensor.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "bitnpu/errors.hpp"
#include "bitnpu/sim/datapath/quantize.hpp"

namespace bitnpu::sim {

std::int64_t element_count(const Shape& shape) {
    std::int64_t n = 1;
    for (std::int64_t d : shape) {
        if (d < 0) throw UserError("tensor shape has a negative dimension " + std::to_string(d));
        n *= d;
    }
    return n;
}

float QuantParams::scale(std::int64_t channel) const {
    return scales.size() == 1 ? scales[0] : scales.at(static_cast<std::size_t>(channel));
}

std::int64_t QuantParams::zero_point(std::int64_t channel) const {
    return zero_points.size() == 1 ? zero_points[0] : zero_points.at(static_cast<std::size_t>(channel));
}

arch::ValueRange QuantParams::range() const { return arch::value_range(type, restricted); }

// Scales compare by bits: the same bits dequantize identically (NaN and -0 included).
bool operator==(const QuantParams& a, const QuantParams& b) {
    auto same_bits = [](float x, float y) { return std::memcmp(&x, &y, sizeof x) == 0; };
    return a.type == b.type && a.axis == b.axis && a.restricted == b.restricted && a.zero_points == b.zero_points &&
           a.exponents == b.exponents && std::equal(a.scales.begin(), a.scales.end(), b.scales.begin(), b.scales.end(), same_bits);
}

QuantParams per_tensor(arch::ValueType type, float scale, std::int64_t zero_point) {
    QuantParams q;
    q.type = type;
    q.scales = {scale};
    q.zero_points = {zero_point};
    return q;
}

QTensor::QTensor(Shape s, QuantParams q)
    : shape(std::move(s)), quant(std::move(q)), values(static_cast<std::size_t>(element_count(shape)), 0) {}

std::int64_t channel_of(const Shape& shape, int axis, std::int64_t flat_index) {
    if (axis < 0 || axis >= static_cast<int>(shape.size())) return 0;
    std::int64_t inner = 1;
    for (std::size_t d = static_cast<std::size_t>(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
    return (flat_index / inner) % shape[static_cast<std::size_t>(axis)];
}

QTensor quantize_tensor(const FloatTensor& x, const QuantParams& quant) {
    if (element_count(x.shape) != static_cast<std::int64_t>(x.data.size()))
        throw UserError("float tensor has " + std::to_string(x.data.size()) +
                        " values but its shape holds " + std::to_string(element_count(x.shape)));
    QTensor q(x.shape, quant);
    const arch::ValueRange r = quant.range();
    const float* in = x.data.data();
    std::int32_t* out = q.values.data();
    for_each_channel_run(x.shape, quant, [&](std::int64_t begin, std::int64_t end, std::int64_t c) {
        if (quant.type == arch::ValueType::int1) {
            // Binary {-1,+1} has no zero: the sign, with sign(0) = +1 (as Larq's ste_sign).
            for (std::int64_t i = begin; i < end; ++i) out[i] = in[i] >= 0.0f ? 1 : -1;
            return;
        }
        const float scale = quant.scale(c);
        const auto zero_point = static_cast<double>(quant.zero_point(c));
        const auto lo = static_cast<double>(r.min), hi = static_cast<double>(r.max);
        for (std::int64_t i = begin; i < end; ++i)   // vectorizes (quantize_level is branch-free)
            out[i] = static_cast<std::int32_t>(quantize_level(in[i], scale, zero_point, lo, hi));
    });
    return q;
}

FloatTensor dequantize_tensor(const QTensor& q) {
    FloatTensor f{q.shape, std::vector<float>(q.values.size())};
    const std::int32_t* in = q.values.data();
    float* out = f.data.data();
    for_each_channel_run(q.shape, q.quant, [&](std::int64_t begin, std::int64_t end, std::int64_t c) {
        const float scale = q.quant.scale(c);
        const std::int64_t zero_point = q.quant.zero_point(c);
        for (std::int64_t i = begin; i < end; ++i) out[i] = dequantize(in[i], scale, zero_point);
    });
    return f;
}

}  // namespace bitnpu::sim
