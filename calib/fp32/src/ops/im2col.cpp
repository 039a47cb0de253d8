// im2col / col2im for any number of spatial axes, with a fast path for the
// 1-D/2-D case that copies contiguous runs.
#include "bitnpu/fp32/im2col.hpp"

#include <algorithm>
#include <cstring>

namespace bitnpu::calib::ops {

namespace {

std::int64_t product(const std::vector<std::int64_t>& v) {
    std::int64_t p = 1;
    for (auto x : v) p *= x;
    return p;
}

// 2-D view of a 1-D or 2-D geometry (1-D becomes H = 1).
struct Plane {
    std::int64_t ih, iw, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow;
};

Plane as_plane(const WindowGeometry& g) {
    if (g.rank() == 1)
        return {1, g.input[0], 1, g.kernel[0], 1, g.stride[0], 1, g.dilation[0], 0, g.pad_begin[0], 1, g.output[0]};
    return {g.input[0], g.input[1], g.kernel[0], g.kernel[1], g.stride[0], g.stride[1], g.dilation[0],
            g.dilation[1], g.pad_begin[0], g.pad_begin[1], g.output[0], g.output[1]};
}

// Each channel is first copied into a zero-bordered plane large enough for
// every window (the padding, and anything a window reads past it), so each
// column row is a gather of in-bounds reads with no per-row bounds or fills:
// on the small planes of late layers (7 x 7, 14 x 14) the bookkeeping per
// output row otherwise costs more than the copy.
void im2col_plane(const float* x, std::int64_t channels, const Plane& p, std::int64_t p0, std::int64_t p1,
                  float* col) {
    const std::int64_t width = p1 - p0;
    const std::int64_t padded_h = std::max(p.ih + p.ph, (p.oh - 1) * p.sh + (p.kh - 1) * p.dh + 1);
    const std::int64_t padded_w = std::max(p.iw + p.pw, (p.ow - 1) * p.sw + (p.kw - 1) * p.dw + 1);
    thread_local std::vector<float> padded;
    padded.assign(static_cast<std::size_t>(padded_h * padded_w), 0.0f);
    for (std::int64_t c = 0; c < channels; ++c) {
        const float* xc = x + c * p.ih * p.iw;
        for (std::int64_t r = 0; r < p.ih; ++r)
            std::copy(xc + r * p.iw, xc + (r + 1) * p.iw, padded.data() + (r + p.ph) * padded_w + p.pw);
        for (std::int64_t ky = 0; ky < p.kh; ++ky) {
            for (std::int64_t kx = 0; kx < p.kw; ++kx, col += width) {
                const float* tap = padded.data() + ky * p.dh * padded_w + kx * p.dw;
                if (p0 == 0 && p1 == p.oh * p.ow && p.sw == 1) {   // the whole plane, unit stride
                    for (std::int64_t oy = 0; oy < p.oh; ++oy)
                        std::memcpy(col + oy * p.ow, tap + oy * p.sh * padded_w, static_cast<std::size_t>(p.ow) * sizeof(float));
                    continue;
                }
                // Output positions [p0, p1) one output row at a time; dst[ox]
                // is the column of output (oy, ox).
                std::int64_t oy = p0 / p.ow, ox0 = p0 % p.ow;
                for (std::int64_t pos = p0; pos < p1; ++oy, ox0 = 0) {
                    const std::int64_t ox1 = std::min(p.ow, ox0 + (p1 - pos));
                    float* dst = col + (pos - p0) - ox0;
                    const float* src = tap + oy * p.sh * padded_w;
                    if (p.sw == 1) {
                        for (std::int64_t ox = ox0; ox < ox1; ++ox) dst[ox] = src[ox];
                    } else {
                        for (std::int64_t ox = ox0; ox < ox1; ++ox) dst[ox] = src[ox * p.sw];
                    }
                    pos += ox1 - ox0;
                }
            }
        }
    }
}

// Any rank: decode each output position and kernel offset into input coordinates.
template <class Visit>
void for_each_tap(std::int64_t channels, const WindowGeometry& g, std::int64_t p0, std::int64_t p1, Visit&& visit) {
    const std::size_t rank = g.rank();
    const std::int64_t taps = product(g.kernel);
    const std::vector<std::int64_t> in_strides = row_major_strides(g.input);
    const std::int64_t in_size = product(g.input);
    std::vector<std::int64_t> kpos(rank), opos(rank);
    std::int64_t row = 0;
    for (std::int64_t c = 0; c < channels; ++c) {
        for (std::int64_t t = 0; t < taps; ++t, ++row) {
            for (std::size_t d = rank, rem = static_cast<std::size_t>(t); d-- > 0;) {
                kpos[d] = static_cast<std::int64_t>(rem) % g.kernel[d];
                rem /= static_cast<std::size_t>(g.kernel[d]);
            }
            for (std::int64_t p = p0; p < p1; ++p) {
                std::int64_t rem = p, offset = c * in_size;
                bool inside = true;
                for (std::size_t d = rank; d-- > 0;) {
                    opos[d] = rem % g.output[d];
                    rem /= g.output[d];
                    const std::int64_t i = opos[d] * g.stride[d] - g.pad_begin[d] + kpos[d] * g.dilation[d];
                    if (i < 0 || i >= g.input[d]) inside = false;
                    offset += i * in_strides[d];
                }
                visit(row, p - p0, inside ? offset : -1);
            }
        }
    }
}

}  // namespace

void im2col(const float* x, std::int64_t channels, const WindowGeometry& g, std::int64_t p0, std::int64_t p1,
            float* col) {
    if (g.rank() <= 2) return im2col_plane(x, channels, as_plane(g), p0, p1, col);
    const std::int64_t width = p1 - p0;
    for_each_tap(channels, g, p0, p1, [&](std::int64_t row, std::int64_t j, std::int64_t offset) {
        col[row * width + j] = offset >= 0 ? x[offset] : 0.0f;
    });
}

void col2im_add(const float* col, std::int64_t channels, const WindowGeometry& g, float* x) {
    const std::int64_t width = product(g.output);
    for_each_tap(channels, g, 0, width, [&](std::int64_t row, std::int64_t j, std::int64_t offset) {
        if (offset >= 0) x[offset] += col[row * width + j];
    });
}

}  // namespace bitnpu::calib::ops
