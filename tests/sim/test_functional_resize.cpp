// sim::ResizeLayer (numerics.md "Resize"): the worked example by hand, the
// fixed-point source coordinates of each ONNX mode, and random layers
// against a brute-force bilinear interpolation in double on the same codes
// (the fixed-point coordinates are within 2^-11 of ONNX's, so an output may
// differ from the rounded exact value by at most one code).
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "bitnpu/errors.hpp"
#include "bitnpu/sim/functional/resize.hpp"

using namespace bitnpu;
using namespace bitnpu::sim;

namespace {

QTensor tensor(const Shape& shape, std::vector<std::int32_t> values) {
    QTensor t(shape, per_tensor(arch::ValueType::int8, 0.5f, 0));
    t.values = std::move(values);
    return t;
}

// ONNX's bilinear value (coordinates clamped to the input, in double).
double exact_bilinear(const QTensor& x, ResizeCoordinates mode, const ResizeLayer& l, std::int64_t plane,
                      std::int64_t oy, std::int64_t ox) {
    auto source = [&](std::int64_t o, std::int64_t in, std::int64_t out, double scale) {
        double s = 0;
        switch (mode) {
            case ResizeCoordinates::half_pixel: s = (o + 0.5) / scale - 0.5; break;
            case ResizeCoordinates::pytorch_half_pixel: s = out > 1 ? (o + 0.5) / scale - 0.5 : 0; break;
            case ResizeCoordinates::align_corners: s = out > 1 ? o * double(in - 1) / double(out - 1) : 0; break;
            case ResizeCoordinates::asymmetric: s = o / scale; break;
        }
        return std::min(std::max(s, 0.0), double(in - 1));
    };
    const std::int64_t h = x.shape[2], w = x.shape[3];
    const double sy = source(oy, h, l.out_h, l.scale_h), sx = source(ox, w, l.out_w, l.scale_w);
    const auto y0 = static_cast<std::int64_t>(std::floor(sy)), x0 = static_cast<std::int64_t>(std::floor(sx));
    const std::int64_t y1 = std::min(y0 + 1, h - 1), x1 = std::min(x0 + 1, w - 1);
    const double fy = sy - y0, fx = sx - x0;
    auto at = [&](std::int64_t y, std::int64_t xx) { return double(x.values[std::size_t(plane * h * w + y * w + xx)]); };
    return (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
}

}  // namespace

TEST_CASE("Resize: 2x half_pixel upsampling of a 2x2 plane, by hand", "[sim][resize]") {
    // Source rows/columns: (o + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25,
    // clamped to 0, 0.25, 0.75, 1; the value is 8 * sy + 4 * sx.
    const QTensor x = tensor({1, 1, 2, 2}, {0, 4, 8, 12});
    ResizeLayer l;
    l.out_h = l.out_w = 4;
    l.scale_h = l.scale_w = 2.0;
    const QTensor y = run_resize_layer(l, x);
    CHECK(y.shape == Shape{1, 1, 4, 4});
    CHECK(y.values == std::vector<std::int32_t>{0, 1, 3, 4, 2, 3, 5, 6, 6, 7, 9, 10, 8, 9, 11, 12});
    CHECK(y.quant.scales == x.quant.scales);   // the output stays on the input's grid
}

TEST_CASE("Resize: fixed-point taps of each coordinate mode", "[sim][resize]") {
    // 3 -> 5 along one axis.
    const ResizeTap a = resize_source(ResizeCoordinates::align_corners, 3, 3, 5, 5.0 / 3.0);
    CHECK(a.lo == 1);          // 3 * 2 / 4 = 1.5
    CHECK(a.frac == 512);
    const ResizeTap s = resize_source(ResizeCoordinates::asymmetric, 4, 3, 5, 5.0 / 3.0);
    CHECK(s.lo == 2);          // 4 * 3 / 5 = 2.4, clamped to the last index 2
    CHECK(s.frac == 0);
    CHECK(s.hi == 2);
    const ResizeTap p = resize_source(ResizeCoordinates::pytorch_half_pixel, 0, 3, 1, 1.0 / 3.0);
    CHECK(p.lo == 0);          // a single output takes index 0
    CHECK(p.frac == 0);
    const ResizeTap h = resize_source(ResizeCoordinates::half_pixel, 1, 3, 5, 5.0 / 3.0);
    CHECK(h.lo == 0);          // 1.5 * 0.6 - 0.5 = 0.4 -> round(409.6) = 410
    CHECK(h.frac == 410);
}

TEST_CASE("Resize: random layers are within one code of exact bilinear interpolation", "[sim][resize]") {
    std::mt19937 rng(21);
    std::uniform_int_distribution<int> size(1, 9), code(-128, 127);
    const ResizeCoordinates modes[] = {ResizeCoordinates::half_pixel, ResizeCoordinates::pytorch_half_pixel,
                                       ResizeCoordinates::align_corners, ResizeCoordinates::asymmetric};
    int far = 0;
    for (int i = 0; i < 200; ++i) {
        const Shape s{1, 2, size(rng), size(rng)};
        std::vector<std::int32_t> v(static_cast<std::size_t>(element_count(s)));
        for (auto& e : v) e = code(rng);
        const QTensor x = tensor(s, v);
        ResizeLayer l;
        l.coordinates = modes[i % 4];
        l.out_h = size(rng) * 2;
        l.out_w = size(rng);
        l.scale_h = double(l.out_h) / double(s[2]);
        l.scale_w = double(l.out_w) / double(s[3]);
        const QTensor y = run_resize_layer(l, x);
        for (std::int64_t e = 0; e < element_count(y.shape); ++e) {
            const std::int64_t ox = e % l.out_w, oy = (e / l.out_w) % l.out_h, plane = e / (l.out_w * l.out_h);
            const double exact = exact_bilinear(x, l.coordinates, l, plane, oy, ox);
            const std::int32_t got = y.values[static_cast<std::size_t>(e)];
            far += std::abs(got - exact) > 1.0;
            CHECK(got == resize_output_element(l, x, e));   // the per-element form is the same
        }
    }
    CHECK(far == 0);
}

TEST_CASE("Resize: a non-4-D or empty input is a clear error", "[sim][resize]") {
    ResizeLayer l;
    l.out_h = l.out_w = 2;
    CHECK_THROWS_AS(run_resize_layer(l, tensor({1, 4}, {1, 2, 3, 4})), UserError);
    CHECK_THROWS_AS(run_resize_layer(l, tensor({1, 1, 0, 2}, {})), UserError);
}
