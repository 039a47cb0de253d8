// Resize modes and Softmax's opset-dependent axis semantics.
#include <catch2/catch.hpp>

#include <cstring>

#include "test_ops_util.hpp"

using namespace bitnpu::calib;
using namespace bitnpu::calib::test;

namespace {

std::vector<Tensor> resize(const Tensor& x, const std::vector<float>& scales, std::map<std::string, AttributeValue> attrs) {
    const Tensor s = Tensor::from_vector<float>({static_cast<std::int64_t>(scales.size())}, scales);
    return run(make_node("Resize", 3, std::move(attrs)), {&x, nullptr, &s}, 13);
}

}  // namespace

TEST_CASE("Resize nearest: nearest_mode and coordinate transforms", "[ops][resize]") {
    const Tensor x = Tensor::from_vector<float>({1, 1, 1, 4}, {10, 20, 30, 40});
    // Upsample x2, asymmetric: source x/2 = 0, .5, 1, 1.5, ...
    auto up = [&](const std::string& nearest, const std::string& ctm) {
        return resize(x, {1, 1, 1, 2}, {{"mode", std::string("nearest")}, {"nearest_mode", nearest},
                                        {"coordinate_transformation_mode", ctm}}).at(0);
    };
    require_values(up("floor", "asymmetric"), {1, 1, 1, 8}, {10, 10, 20, 20, 30, 30, 40, 40});
    require_values(up("ceil", "asymmetric"), {1, 1, 1, 8}, {10, 20, 20, 30, 30, 40, 40, 40});
    require_values(up("round_prefer_floor", "asymmetric"), {1, 1, 1, 8}, {10, 10, 20, 20, 30, 30, 40, 40});
    require_values(up("round_prefer_ceil", "asymmetric"), {1, 1, 1, 8}, {10, 20, 20, 30, 30, 40, 40, 40});
    // half_pixel: (i + .5)/2 - .5 = -.25, .25, .75, ... -> rounds to 0,0,1,1,...
    require_values(up("round_prefer_floor", "half_pixel"), {1, 1, 1, 8}, {10, 10, 20, 20, 30, 30, 40, 40});
    // tf_half_pixel_for_nn: (i + .5)/2 = .25, .75, 1.25 ... -> 0,1,1,2,2,3,3,4->3
    require_values(up("round_prefer_floor", "tf_half_pixel_for_nn"), {1, 1, 1, 8}, {10, 20, 20, 30, 30, 40, 40, 40});
}

TEST_CASE("Resize linear: half_pixel, align_corners, pytorch_half_pixel, asymmetric", "[ops][resize]") {
    const Tensor x = Tensor::from_vector<float>({1, 1, 2, 2}, {1, 2, 3, 4});
    auto lin = [&](const std::string& ctm) {
        return resize(x, {1, 1, 2, 2}, {{"mode", std::string("linear")}, {"coordinate_transformation_mode", ctm}}).at(0);
    };
    // half_pixel x2: source coords -0.25(clamped 0), 0.25, 0.75, 1.25(clamped 1).
    require_values(lin("half_pixel"), {1, 1, 4, 4},
                   {1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4});
    // align_corners x2: source i/3; the input plane is f(x, y) = 1 + x + 2y, so bilinear is exact.
    std::vector<float> want;
    for (int yi = 0; yi < 4; ++yi)
        for (int xi = 0; xi < 4; ++xi) want.push_back(1.0f + xi / 3.0f + 2.0f * (yi / 3.0f));
    require_values(lin("align_corners"), {1, 1, 4, 4}, want, 1e-5);
    // asymmetric x2: source i/2 = 0, .5, 1, 1.5(clamped 1).
    require_values(lin("asymmetric"), {1, 1, 4, 4},
                   {1, 1.5f, 2, 2, 2, 2.5f, 3, 3, 3, 3.5f, 4, 4, 3, 3.5f, 4, 4});
}

TEST_CASE("Resize cubic is a UserError naming the node and the mode", "[ops][resize]") {
    const Tensor x(DType::f32, {1, 1, 2, 2});
    REQUIRE_THROWS_AS(resize(x, {1, 1, 2, 2}, {{"mode", std::string("cubic")}}), bitnpu::UserError);
    REQUIRE_THROWS_WITH(resize(x, {1, 1, 2, 2}, {{"mode", std::string("cubic")}}),
                        Catch::Contains("n_Resize") && Catch::Contains("cubic"));
}

TEST_CASE("Resize sizes input and opset-10 scales", "[ops][resize]") {
    const Tensor x = Tensor::from_vector<float>({1, 1, 1, 2}, {1, 3});
    const Tensor sizes = Tensor::from_vector<std::int64_t>({4}, {1, 1, 1, 3});
    const auto y = run(make_node("Resize", 4, {{"mode", std::string("linear")},
                                               {"coordinate_transformation_mode", std::string("align_corners")}}),
                       {&x, nullptr, nullptr, &sizes}, 13).at(0);
    require_values(y, {1, 1, 1, 3}, {1, 2, 3});
    // Opset 10: Resize(X, scales), asymmetric nearest with floor.
    const Tensor scales = Tensor::from_vector<float>({4}, {1, 1, 1, 2});
    require_values(run(make_node("Resize", 2), {&x, &scales}, 10).at(0), {1, 1, 1, 4}, {1, 1, 3, 3});
}

TEST_CASE("Softmax: flatten-to-2D before opset 13, one axis from 13", "[ops][softmax]") {
    const Tensor x = Tensor::from_vector<float>({1, 2, 2}, {0, 1, 2, 3});
    auto e = [](float v) { return std::exp(v); };
    // opset 11, axis=1 (default): softmax over all 4 elements.
    const float s_all = e(0) + e(1) + e(2) + e(3);
    require_values(run(make_node("Softmax", 1), {&x}, 11).at(0), {1, 2, 2},
                   {e(0) / s_all, e(1) / s_all, e(2) / s_all, e(3) / s_all});
    // opset 13, axis=1: softmax down each column of the 2x2.
    require_values(run(make_node("Softmax", 1, {{"axis", std::int64_t{1}}}), {&x}, 13).at(0), {1, 2, 2},
                   {e(0) / (e(0) + e(2)), e(1) / (e(1) + e(3)), e(2) / (e(0) + e(2)), e(3) / (e(1) + e(3))});
    // opset 13, default axis -1: softmax along each row.
    require_values(run(make_node("Softmax", 1), {&x}, 13).at(0), {1, 2, 2},
                   {e(0) / (e(0) + e(1)), e(1) / (e(0) + e(1)), e(2) / (e(2) + e(3)), e(3) / (e(2) + e(3))});
    // Large inputs stay finite (max subtraction).
    const Tensor big = Tensor::from_vector<float>({2}, {1000, 1000});
    require_values(run(make_node("Softmax", 1), {&big}, 13).at(0), {2}, {0.5f, 0.5f});
}

TEST_CASE("ReduceMean: axes attribute, keepdims, noop_with_empty_axes", "[ops][reduce]") {
    const Tensor x = Tensor::from_vector<float>({2, 2}, {1, 2, 3, 5});
    require_values(run(make_node("ReduceMean", 1, {{"axes", std::vector<std::int64_t>{1}}}), {&x}, 13).at(0), {2, 1}, {1.5f, 4});
    require_values(run(make_node("ReduceMean", 1, {{"keepdims", std::int64_t{0}}}), {&x}, 13).at(0), {}, {2.75f});
    // Opset 18: axes is an input; empty axes with noop_with_empty_axes is the identity.
    const Tensor axes = Tensor::from_vector<std::int64_t>({1}, {0});
    require_values(run(make_node("ReduceMean", 2), {&x, &axes}, 18).at(0), {1, 2}, {2, 3.5f});
    require_values(run(make_node("ReduceMean", 1, {{"noop_with_empty_axes", std::int64_t{1}}}), {&x}, 18).at(0), {2, 2},
                   {1, 2, 3, 5});
}

// The plane-by-plane kernel (N and C copied) against the general one: the
// same data as [2, 3, H, W] (plane path) and as [6, H, W, 1] (the moving axes
// are not the last two: general path) must give identical bits, for every
// mode and coordinate transform real models use, up- and downsampling.
TEST_CASE("Resize: the plane-by-plane kernel gives the general kernel's bits", "[ops][resize]") {
    const std::int64_t h = 5, w = 7;
    std::vector<float> values;
    std::uint32_t state = 12345;
    for (std::int64_t i = 0; i < 6 * h * w; ++i) {
        state = state * 1664525u + 1013904223u;
        values.push_back(static_cast<float>(static_cast<std::int32_t>(state >> 8) % 20011) / 977.0f - 10.0f);
    }
    const Tensor planes = Tensor::from_vector<float>({2, 3, h, w}, values);
    const Tensor trailing = Tensor::from_vector<float>({6, h, w, 1}, values);
    for (const std::string mode : {"linear", "nearest"})
        for (const std::string ctm : {"half_pixel", "align_corners", "asymmetric", "pytorch_half_pixel"})
            for (const auto& [sy, sx] : std::vector<std::pair<float, float>>{{2.0f, 2.0f}, {0.5f, 1.5f}, {3.0f, 0.75f}}) {
                INFO(mode << " " << ctm << " " << sy << "x" << sx);
                const std::map<std::string, AttributeValue> attrs = {{"mode", mode},
                                                                     {"coordinate_transformation_mode", ctm}};
                const Tensor a = resize(planes, {1, 1, sy, sx}, attrs).at(0);
                const Tensor b = resize(trailing, {1, sy, sx, 1}, attrs).at(0);
                REQUIRE(a.numel() == b.numel());
                REQUIRE(std::memcmp(a.data<float>(), b.data<float>(), sizeof(float) * a.numel()) == 0);
            }
}
