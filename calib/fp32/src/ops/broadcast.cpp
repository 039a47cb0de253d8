// Numpy broadcasting rules (ONNX "multidirectional broadcasting").
#include "broadcast.hpp"

#include <algorithm>

namespace bitnpu::calib::ops {

Shape broadcast_shapes(const KernelContext& ctx, const std::vector<Shape>& shapes) {
    std::size_t rank = 0;
    for (const auto& s : shapes) rank = std::max(rank, s.size());
    Shape out(rank, 1);
    for (const auto& s : shapes) {
        const std::size_t lead = rank - s.size();
        for (std::size_t i = 0; i < s.size(); ++i) {
            std::int64_t& o = out[lead + i];
            if (s[i] == o || s[i] == 1) continue;
            if (o == 1) {
                o = s[i];
                continue;
            }
            std::string all;
            for (const auto& t : shapes) all += (all.empty() ? "" : " and ") + shape_to_string(t);
            ctx.fail("input shapes " + all + " cannot be broadcast together (dimension " +
                     std::to_string(lead + i) + ": " + std::to_string(o) + " vs " + std::to_string(s[i]) + ")");
        }
    }
    return out;
}

std::vector<std::int64_t> broadcast_strides(const Shape& in, const Shape& out) {
    std::vector<std::int64_t> strides(out.size(), 0);
    std::int64_t stride = 1;
    for (std::size_t i = in.size(); i-- > 0;) {
        const std::size_t o = out.size() - in.size() + i;
        strides[o] = in[i] == 1 ? 0 : stride;
        stride *= in[i];
    }
    return strides;
}

}  // namespace bitnpu::calib::ops
