// Per-output-channel weight ranges, and which axis is the output channel.
#include <algorithm>
#include <cmath>

#include "bitnpu/quant/statistics.hpp"
#include "bitnpu/errors.hpp"

namespace bitnpu::calib {

double ChannelRanges::abs_max() const {
    double m = 0.0;
    for (std::size_t c = 0; c < min.size(); ++c) m = std::max({m, std::fabs(min[c]), std::fabs(max[c])});
    return m;
}

ChannelRanges channel_ranges(const Tensor& weight, int axis, const std::string& tensor_name) {
    if (weight.dtype() != DType::f32 && weight.dtype() != DType::f64)
        throw UserError(tensor_name + ": weight is " + std::string(to_string(weight.dtype())) +
                        ", expected a float tensor");
    const auto rank = weight.rank();
    if (rank == 0 || axis < -rank || axis >= rank)
        throw UserError(tensor_name + ": channel axis " + std::to_string(axis) + " is invalid for shape " +
                        shape_to_string(weight.shape()));
    if (weight.numel() == 0) throw UserError(tensor_name + ": weight tensor is empty");
    const int a = axis < 0 ? static_cast<int>(axis + rank) : axis;

    // Row-major: element i belongs to channel (i / inner) % channels.
    const std::int64_t channels = weight.dim(a);
    std::int64_t inner = 1;
    for (std::int64_t d = a + 1; d < rank; ++d) inner *= weight.dim(d);

    const std::vector<float> v = weight.to_floats();
    ChannelRanges r;
    r.axis = a;
    r.min.assign(static_cast<std::size_t>(channels), 0.0);
    r.max.assign(static_cast<std::size_t>(channels), 0.0);
    std::vector<bool> seen(static_cast<std::size_t>(channels), false);
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (!std::isfinite(v[i]))
            throw UserError(tensor_name + ": weight element " + std::to_string(i) + " is " +
                            (std::isnan(v[i]) ? "NaN" : "infinite"));
        const auto c = static_cast<std::size_t>((static_cast<std::int64_t>(i) / inner) % channels);
        if (!seen[c]) {
            r.min[c] = r.max[c] = v[i];
            seen[c] = true;
        } else {
            r.min[c] = std::min(r.min[c], static_cast<double>(v[i]));
            r.max[c] = std::max(r.max[c], static_cast<double>(v[i]));
        }
    }
    return r;
}

std::vector<TensorStats> channel_stats(const Tensor& weight, int axis, const StatsOptions& options,
                                       const std::string& tensor_name) {
    const ChannelRanges ranges = channel_ranges(weight, axis, tensor_name);  // validates
    const std::int64_t channels = static_cast<std::int64_t>(ranges.channels());
    std::int64_t inner = 1;
    for (std::int64_t d = ranges.axis + 1; d < weight.rank(); ++d) inner *= weight.dim(d);

    const std::vector<float> v = weight.to_floats();
    std::vector<std::vector<float>> per_channel(static_cast<std::size_t>(channels));
    for (std::size_t i = 0; i < v.size(); ++i)
        per_channel[static_cast<std::size_t>((static_cast<std::int64_t>(i) / inner) % channels)].push_back(v[i]);
    std::vector<TensorStats> out(per_channel.size(), TensorStats(options));
    for (std::size_t c = 0; c < per_channel.size(); ++c) out[c].observe(per_channel[c].data(), per_channel[c].size());
    return out;
}

int weight_output_axis(const std::string& op_type, bool gemm_trans_b, std::int64_t weight_rank) {
    if (op_type == "Conv") return 0;
    if (op_type == "ConvTranspose") return 1;
    if (op_type == "Gemm") return gemm_trans_b ? 0 : 1;
    if (op_type == "MatMul") {
        if (weight_rank < 2) throw UserError("MatMul weight of rank " + std::to_string(weight_rank) +
                                             " has no output-channel axis (need rank >= 2)");
        return static_cast<int>(weight_rank - 1);
    }
    throw UserError("weight_output_axis: " + op_type + " has no weight (expected Conv, ConvTranspose, Gemm or MatMul)");
}

}  // namespace bitnpu::calib
