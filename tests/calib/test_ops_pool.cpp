// Pooling edge cases (ceil_mode, count_include_pad, dilations, indices) and
// normalization / shape ops.
#include <catch2/catch.hpp>

#include <cstring>
#include <limits>
#include <random>

#include "test_ops_util.hpp"

using namespace bitnpu::calib;
using namespace bitnpu::calib::test;

namespace {

Tensor ramp(Shape shape) {
    Tensor t(DType::f32, std::move(shape));
    for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(i + 1);
    return t;
}

}  // namespace

TEST_CASE("MaxPool: strides, pads, ceil_mode, dilations and indices", "[ops][pool]") {
    const Tensor x = ramp({1, 1, 4, 4});  // 1..16 row-major
    auto pool = [&](std::map<std::string, AttributeValue> attrs, std::size_t outputs = 1) {
        attrs["kernel_shape"] = std::vector<std::int64_t>{2, 2};
        return run(make_node("MaxPool", 1, attrs, outputs), {&x});
    };
    require_values(pool({{"strides", std::vector<std::int64_t>{2, 2}}}).at(0), {1, 1, 2, 2}, {6, 8, 14, 16});
    // 3x3 windows at stride 2 on 4x4: floor -> 1, ceil -> 2 per axis (the extra window starts inside).
    const Tensor y_floor = run(make_node("MaxPool", 1, {{"kernel_shape", std::vector<std::int64_t>{3, 3}},
                                                        {"strides", std::vector<std::int64_t>{2, 2}}}), {&x}).at(0);
    require_values(y_floor, {1, 1, 1, 1}, {11});
    const Tensor y_ceil = run(make_node("MaxPool", 1, {{"kernel_shape", std::vector<std::int64_t>{3, 3}},
                                                       {"strides", std::vector<std::int64_t>{2, 2}},
                                                       {"ceil_mode", std::int64_t{1}}}), {&x}).at(0);
    require_values(y_ceil, {1, 1, 2, 2}, {11, 12, 15, 16});
    // Padding never wins a max, even with all-negative inputs.
    Tensor neg = ramp({1, 1, 2, 2});
    for (int i = 0; i < 4; ++i) neg.data<float>()[i] = -neg.data<float>()[i];
    const auto padded = run(make_node("MaxPool", 1, {{"kernel_shape", std::vector<std::int64_t>{2, 2}},
                                                     {"pads", std::vector<std::int64_t>{1, 1, 1, 1}}}), {&neg}).at(0);
    require_values(padded, {1, 1, 3, 3}, {-1, -1, -2, -1, -1, -2, -3, -3, -4});
    // Dilation 2: taps (0,0),(0,2),(2,0),(2,2).
    require_values(pool({{"dilations", std::vector<std::int64_t>{2, 2}}}).at(0), {1, 1, 2, 2}, {11, 12, 15, 16});
    // Indices: flat row-major positions of the maxima.
    const auto with_idx = pool({{"strides", std::vector<std::int64_t>{2, 2}}}, 2);
    REQUIRE(with_idx.at(1).to_int64s() == std::vector<std::int64_t>{5, 7, 13, 15});
}

TEST_CASE("AveragePool: count_include_pad and ceil_mode divisors", "[ops][pool]") {
    const Tensor x = ramp({1, 1, 3, 3});  // 1..9
    auto avg = [&](std::int64_t include_pad) {
        Node node = make_node("AveragePool", 1);
        node.attributes["kernel_shape"] = std::vector<std::int64_t>{2, 2};
        node.attributes["pads"] = std::vector<std::int64_t>{1, 1, 0, 0};
        node.attributes["count_include_pad"] = include_pad;
        return run(node, {&x}).at(0);
    };
    // Top-left window holds only x[0][0] = 1 plus three padding zeros.
    require_values(avg(0), {1, 1, 3, 3}, {1, 1.5f, 2.5f, 2.5f, 3, 4, 5.5f, 6, 7});
    require_values(avg(1), {1, 1, 3, 3}, {0.25f, 0.75f, 1.25f, 1.25f, 3, 4, 2.75f, 6, 7});
    // ceil_mode adds a last window hanging past the input; its divisor counts only real taps.
    const auto ceil = run(make_node("AveragePool", 1, {{"kernel_shape", std::vector<std::int64_t>{2, 2}},
                                                       {"strides", std::vector<std::int64_t>{2, 2}},
                                                       {"ceil_mode", std::int64_t{1}}}), {&x}).at(0);
    require_values(ceil, {1, 1, 2, 2}, {3, 4.5f, 7.5f, 9});
}

TEST_CASE("GlobalAveragePool and BatchNormalization", "[ops][pool]") {
    const Tensor x = ramp({2, 2, 1, 3});
    require_values(run(make_node("GlobalAveragePool", 1), {&x}).at(0), {2, 2, 1, 1}, {2, 5, 8, 11});
    const Tensor scale = Tensor::from_vector<float>({2}, {1, 2});
    const Tensor bias = Tensor::from_vector<float>({2}, {0, 1});
    const Tensor mean = Tensor::from_vector<float>({2}, {2, 5});
    const Tensor var = Tensor::from_vector<float>({2}, {4, 1});
    const auto y = run(make_node("BatchNormalization", 5, {{"epsilon", 0.0f}}), {&x, &scale, &bias, &mean, &var}).at(0);
    require_values(y, {2, 2, 1, 3}, {-0.5f, 0, 0.5f, -1, 1, 3, 2.5f, 3, 3.5f, 11, 13, 15});
    Node affine = make_node("ChannelAffine", 3);
    affine.domain = "bitnpu";
    require_values(run(affine, {&x, &scale, &bias}).at(0), {2, 2, 1, 3}, {1, 2, 3, 9, 11, 13, 7, 8, 9, 21, 23, 25});
}

TEST_CASE("Reshape, Squeeze/Unsqueeze, Slice, Gather, Concat, Split, Pad", "[ops][shape]") {
    const Tensor x = ramp({2, 3, 4});
    const Tensor shape = Tensor::from_vector<std::int64_t>({3}, {0, -1, 2});
    REQUIRE(run(make_node("Reshape", 2), {&x, &shape}).at(0).shape() == Shape{2, 6, 2});
    const Tensor zero_shape = Tensor::from_vector<std::int64_t>({2}, {0, 4});
    const Tensor empty = Tensor(DType::f32, {0, 4});
    REQUIRE(run(make_node("Reshape", 2, {{"allowzero", std::int64_t{1}}}), {&empty, &zero_shape}).at(0).shape() == Shape{0, 4});
    // Squeeze axes: attribute before opset 13, input from 13.
    const Tensor one_dim = ramp({1, 3, 1});
    REQUIRE(run(make_node("Squeeze", 1, {{"axes", std::vector<std::int64_t>{-1}}}), {&one_dim}, 11).at(0).shape() == Shape{1, 3});
    const Tensor axes = Tensor::from_vector<std::int64_t>({1}, {0});
    REQUIRE(run(make_node("Squeeze", 2), {&one_dim, &axes}, 13).at(0).shape() == Shape{3, 1});
    REQUIRE(run(make_node("Unsqueeze", 2), {&one_dim, &axes}, 13).at(0).shape() == Shape{1, 1, 3, 1});
    // Slice with negative step: x[:, ::-2, 1:3].
    const Tensor starts = Tensor::from_vector<std::int64_t>({2}, {-1, 1});
    const Tensor ends = Tensor::from_vector<std::int64_t>({2}, {std::numeric_limits<std::int64_t>::min(), 3});
    const Tensor sl_axes = Tensor::from_vector<std::int64_t>({2}, {1, -1});
    const Tensor steps = Tensor::from_vector<std::int64_t>({2}, {-2, 1});
    require_values(run(make_node("Slice", 5), {&x, &starts, &ends, &sl_axes, &steps}).at(0), {2, 2, 2},
                   {10, 11, 2, 3, 22, 23, 14, 15});
    // Gather with negative indices on axis 1.
    const Tensor idx = Tensor::from_vector<std::int64_t>({2}, {-1, 0});
    const Tensor g = ramp({2, 3});
    require_values(run(make_node("Gather", 2, {{"axis", std::int64_t{1}}}), {&g, &idx}).at(0), {2, 2}, {3, 1, 6, 4});
    const Tensor a = ramp({1, 2}), b = ramp({1, 1});
    require_values(run(make_node("Concat", 2, {{"axis", std::int64_t{1}}}), {&a, &b}).at(0), {1, 3}, {1, 2, 1});
    const Tensor split = Tensor::from_vector<std::int64_t>({2}, {1, 3});
    const Tensor four = ramp({4});
    const auto parts = run(make_node("Split", 2, {{"axis", std::int64_t{-1}}}, 2), {&four, &split}, 13);
    require_values(parts.at(1), {3}, {2, 3, 4});
    // Pad modes on [1 2 3] by 2 on each side.
    const Tensor v = ramp({3});
    const Tensor pads = Tensor::from_vector<std::int64_t>({2}, {2, 2});
    auto pad = [&](const std::string& mode) { return run(make_node("Pad", 2, {{"mode", mode}}), {&v, &pads}, 13).at(0); };
    require_values(pad("constant"), {7}, {0, 0, 1, 2, 3, 0, 0});
    require_values(pad("reflect"), {7}, {3, 2, 1, 2, 3, 2, 1});
    require_values(pad("edge"), {7}, {1, 1, 1, 2, 3, 3, 3});
}

TEST_CASE("MaxPool: the row-pass kernel equals the window walk on random 2-D geometries", "[ops][pool]") {
    // Y without Indices takes the vectorized row passes; with Indices, the
    // per-window walk. Both must give the same bits, NaN and -inf included.
    std::mt19937 rng(7);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    std::normal_distribution<float> normal;
    for (int trial = 0; trial < 300; ++trial) {
        const std::int64_t h = pick(1, 12), w = pick(1, 12);
        Tensor x(DType::f32, {pick(1, 2), pick(1, 3), h, w});
        for (std::int64_t i = 0; i < x.numel(); ++i) {
            const int kind = pick(0, 40);
            x.data<float>()[i] = kind == 0   ? std::numeric_limits<float>::quiet_NaN()
                                 : kind == 1 ? -std::numeric_limits<float>::infinity()
                                             : normal(rng);
        }
        const std::vector<std::int64_t> kernel{pick(1, 4), pick(1, 4)};
        const std::vector<std::int64_t> dilation{pick(1, 2), pick(1, 2)};
        std::vector<std::int64_t> pads;
        for (int d = 0; d < 4; ++d) pads.push_back(pick(0, static_cast<int>(kernel[static_cast<std::size_t>(d % 2)]) - 1));
        if ((kernel[0] - 1) * dilation[0] + 1 > h + pads[0] + pads[2] ||
            (kernel[1] - 1) * dilation[1] + 1 > w + pads[1] + pads[3])
            continue;   // no window fits
        std::map<std::string, AttributeValue> attrs{{"kernel_shape", kernel},
                                                    {"strides", std::vector<std::int64_t>{pick(1, 3), pick(1, 3)}},
                                                    {"dilations", dilation},
                                                    {"pads", pads},
                                                    {"ceil_mode", std::int64_t{pick(0, 1)}}};
        const Tensor fast = run(make_node("MaxPool", 1, attrs, 1), {&x}).at(0);
        const Tensor walked = run(make_node("MaxPool", 1, attrs, 2), {&x}).at(0);
        REQUIRE(fast.shape() == walked.shape());
        INFO("trial " << trial);
        REQUIRE(std::memcmp(fast.data<float>(), walked.data<float>(), static_cast<std::size_t>(fast.numel()) * 4) == 0);
    }
}
