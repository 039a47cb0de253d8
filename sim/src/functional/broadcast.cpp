#include "bitnpu/sim/functional/broadcast.hpp"

#include <algorithm>
#include <string>

#include "bitnpu/errors.hpp"

namespace bitnpu::sim {

Shape broadcast_shape(const Shape& a, const Shape& b) {
    const std::size_t rank = std::max(a.size(), b.size());
    Shape out(rank);
    for (std::size_t i = 0; i < rank; ++i) {
        const std::int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
        const std::int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
        if (da != db && da != 1 && db != 1)
            throw UserError("shapes cannot be broadcast: dimension " + std::to_string(i) + " is " +
                            std::to_string(da) + " and " + std::to_string(db));
        out[i] = da == 1 ? db : da;
    }
    return out;
}

namespace {

// Stride of each output dimension in an operand of shape `in` (0 where it
// broadcasts).
std::vector<std::int64_t> broadcast_strides(const Shape& in, const Shape& out) {
    const std::size_t rank = out.size(), lead = rank - in.size();
    std::vector<std::int64_t> stride(rank, 0);
    std::int64_t s = 1;
    for (std::size_t i = in.size(); i-- > 0;) {
        stride[i + lead] = in[i] == 1 ? 0 : s;
        s *= in[i];
    }
    return stride;
}

}  // namespace

BroadcastRuns broadcast_runs(const Shape& a, const Shape& b, const Shape& out) {
    std::vector<std::int64_t> sa = broadcast_strides(a, out), sb = broadcast_strides(b, out);
    Shape dims = out;
    // Merge each dimension into the next inner one while both operands walk
    // them as one (contiguously, or both standing still), so runs are long.
    for (std::size_t d = dims.size(); d-- > 1;) {
        auto joins = [&](const std::vector<std::int64_t>& s) {
            return s[d - 1] == s[d] * dims[d] || (s[d - 1] == 0 && s[d] == 0);
        };
        if (!joins(sa) || !joins(sb)) continue;
        dims[d] *= dims[d - 1];
        dims.erase(dims.begin() + static_cast<std::ptrdiff_t>(d - 1));
        sa.erase(sa.begin() + static_cast<std::ptrdiff_t>(d - 1));
        sb.erase(sb.begin() + static_cast<std::ptrdiff_t>(d - 1));
    }
    BroadcastRuns r;
    if (dims.empty()) return r;   // a scalar: one run of one element
    r.length = dims.back();
    r.step_a = sa.back();
    r.step_b = sb.back();
    r.outer.assign(dims.begin(), dims.end() - 1);
    r.outer_stride_a.assign(sa.begin(), sa.end() - 1);
    r.outer_stride_b.assign(sb.begin(), sb.end() - 1);
    return r;
}

std::vector<std::int64_t> broadcast_indices(const Shape& in, const Shape& out) {
    const std::size_t rank = out.size();
    const std::vector<std::int64_t> stride = broadcast_strides(in, out);
    std::vector<std::int64_t> index(static_cast<std::size_t>(element_count(out)));
    std::vector<std::int64_t> pos(rank, 0);
    std::int64_t src = 0;
    for (std::size_t flat = 0; flat < index.size(); ++flat) {
        index[flat] = src;
        for (std::size_t d = rank; d-- > 0;) {  // odometer increment
            src += stride[d];
            if (++pos[d] < out[d]) break;
            src -= stride[d] * out[d];
            pos[d] = 0;
        }
    }
    return index;
}

}  // namespace bitnpu::sim
