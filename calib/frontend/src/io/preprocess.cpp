// Image preprocessing: bilinear resize, center crop, normalization, layout.
#include "bitnpu/frontend/preprocess.hpp"

#include <algorithm>
#include <cmath>

#include "bitnpu/errors.hpp"

namespace bitnpu::calib {

std::vector<float> resize_bilinear(const std::vector<float>& in, int h, int w, int c, int oh, int ow) {
    std::vector<float> out(static_cast<std::size_t>(oh) * ow * c);
    // Half-pixel centres: output pixel i samples input coordinate
    // (i + 0.5) * in / out - 0.5, clamped to the image (OpenCV INTER_LINEAR).
    auto source = [](int i, int in_size, int out_size, int& i0, int& i1, float& frac) {
        float x = (static_cast<float>(i) + 0.5f) * static_cast<float>(in_size) / static_cast<float>(out_size) - 0.5f;
        x = std::max(x, 0.0f);
        i0 = std::min(static_cast<int>(x), in_size - 1);
        i1 = std::min(i0 + 1, in_size - 1);
        frac = x - static_cast<float>(i0);
    };
    for (int y = 0; y < oh; ++y) {
        int y0, y1;
        float fy;
        source(y, h, oh, y0, y1, fy);
        for (int x = 0; x < ow; ++x) {
            int x0, x1;
            float fx;
            source(x, w, ow, x0, x1, fx);
            for (int ch = 0; ch < c; ++ch) {
                auto at = [&](int yy, int xx) { return in[(static_cast<std::size_t>(yy) * w + xx) * c + ch]; };
                const float top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * fx;
                const float bottom = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * fx;
                out[(static_cast<std::size_t>(y) * ow + x) * c + ch] = top + (bottom - top) * fy;
            }
        }
    }
    return out;
}

namespace {

// Python's round() (ties to even), which torchvision's CenterCrop uses.
int round_half_even(double v) { return static_cast<int>(std::nearbyint(v)); }

void target_size(const PreprocessSpec& spec, int h, int w, int& oh, int& ow) {
    oh = h;
    ow = w;
    if (spec.resize_short > 0) {
        // torchvision Resize(int): shorter side -> size, longer side truncated.
        if (h <= w) {
            oh = spec.resize_short;
            ow = static_cast<int>(static_cast<long long>(spec.resize_short) * w / h);
        } else {
            ow = spec.resize_short;
            oh = static_cast<int>(static_cast<long long>(spec.resize_short) * h / w);
        }
    } else if (spec.resize_height > 0 && spec.resize_width > 0) {
        oh = spec.resize_height;
        ow = spec.resize_width;
    }
}

}  // namespace

Tensor preprocess_image(const Image& image, const PreprocessSpec& spec) {
    const int c = image.channels;
    if (c != spec.channel_count())
        throw UserError("preprocess: image has " + std::to_string(c) + " channels, spec wants " +
                        std::to_string(spec.channel_count()));
    std::vector<float> px(image.pixels.begin(), image.pixels.end());
    int h = image.height, w = image.width, oh, ow;
    target_size(spec, h, w, oh, ow);
    if (oh != h || ow != w) {
        px = resize_bilinear(px, h, w, c, oh, ow);
        h = oh;
        w = ow;
    }
    int top = 0, left = 0, ch = h, cw = w;
    if (spec.crop_height > 0 && spec.crop_width > 0) {
        if (spec.crop_height > h || spec.crop_width > w)
            throw UserError("preprocess: crop " + std::to_string(spec.crop_height) + "x" +
                            std::to_string(spec.crop_width) + " is larger than the (resized) image " +
                            std::to_string(h) + "x" + std::to_string(w));
        ch = spec.crop_height;
        cw = spec.crop_width;
        top = round_half_even((h - ch) / 2.0);
        left = round_half_even((w - cw) / 2.0);
    }
    const bool nchw = spec.layout == Layout::NCHW;
    Tensor out(spec.dtype, nchw ? Shape{1, c, ch, cw} : Shape{1, ch, cw, c});
    for (int y = 0; y < ch; ++y) {
        for (int x = 0; x < cw; ++x) {
            for (int k = 0; k < c; ++k) {
                // BGR reverses the decoded RGB order.
                const int src_k = spec.channels == ChannelOrder::BGR ? c - 1 - k : k;
                const float p = px[(static_cast<std::size_t>(y + top) * w + (x + left)) * c + src_k];
                const std::size_t dst = nchw ? (static_cast<std::size_t>(k) * ch + y) * cw + x
                                             : (static_cast<std::size_t>(y) * cw + x) * c + k;
                if (spec.dtype == DType::u8) {
                    out.data<std::uint8_t>()[dst] =
                        static_cast<std::uint8_t>(std::clamp(std::nearbyint(p), 0.0f, 255.0f));
                    continue;
                }
                const float mean = spec.mean.empty() ? 0.0f : spec.mean[static_cast<std::size_t>(k)];
                const float sd = spec.std.empty() ? 1.0f : spec.std[static_cast<std::size_t>(k)];
                out.data<float>()[dst] = (p * spec.scale + spec.offset - mean) / sd;
            }
        }
    }
    return out;
}

}  // namespace bitnpu::calib
