// Conv / ConvTranspose against naive direct definitions written here, on
// random shapes, strides, pads, dilations and groups.
#include <catch2/catch.hpp>

#include "test_ops_util.hpp"
#include "bitnpu/fp32/batching.hpp"

using namespace bitnpu::calib;
using namespace bitnpu::calib::test;

namespace {

struct ConvCase {
    std::int64_t n, c, m, group, kh, kw, h, w, sh, sw, dh, dw, pt, pl, pb, pr;
};

// y[n][m][oy][ox] = b[m] + sum_{ci, ky, kx} w[m][ci][ky][kx] * x[n][g*C/G + ci][oy*sh - pt + ky*dh][...]
Tensor naive_conv2d(const Tensor& x, const Tensor& w, const Tensor* b, const ConvCase& p) {
    const std::int64_t oh = (p.h + p.pt + p.pb - ((p.kh - 1) * p.dh + 1)) / p.sh + 1;
    const std::int64_t ow = (p.w + p.pl + p.pr - ((p.kw - 1) * p.dw + 1)) / p.sw + 1;
    Tensor y(DType::f32, {p.n, p.m, oh, ow});
    const std::int64_t cg = p.c / p.group, mg = p.m / p.group;
    auto X = [&](std::int64_t n, std::int64_t c, std::int64_t iy, std::int64_t ix) {
        if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) return 0.0;
        return static_cast<double>(x.data<float>()[((n * p.c + c) * p.h + iy) * p.w + ix]);
    };
    for (std::int64_t n = 0; n < p.n; ++n)
        for (std::int64_t m = 0; m < p.m; ++m)
            for (std::int64_t oy = 0; oy < oh; ++oy)
                for (std::int64_t ox = 0; ox < ow; ++ox) {
                    double acc = b ? b->data<float>()[m] : 0.0;
                    const std::int64_t g = m / mg;
                    for (std::int64_t ci = 0; ci < cg; ++ci)
                        for (std::int64_t ky = 0; ky < p.kh; ++ky)
                            for (std::int64_t kx = 0; kx < p.kw; ++kx)
                                acc += w.data<float>()[((m * cg + ci) * p.kh + ky) * p.kw + kx] *
                                       X(n, g * cg + ci, oy * p.sh - p.pt + ky * p.dh, ox * p.sw - p.pl + kx * p.dw);
                    y.data<float>()[((n * p.m + m) * oh + oy) * ow + ox] = static_cast<float>(acc);
                }
    return y;
}

Node conv_node(const ConvCase& p) {
    return make_node("Conv", 3,
                     {{"group", p.group},
                      {"kernel_shape", std::vector<std::int64_t>{p.kh, p.kw}},
                      {"strides", std::vector<std::int64_t>{p.sh, p.sw}},
                      {"dilations", std::vector<std::int64_t>{p.dh, p.dw}},
                      {"pads", std::vector<std::int64_t>{p.pt, p.pl, p.pb, p.pr}}});
}

// The conv of p as a one-node graph with W and B as initializers, its input
// "x0" [N, C, H, W] with a free batch, its output "y0".
Graph conv_graph(const ConvCase& p, const Tensor& w, const Tensor& b) {
    Graph g;
    g.opset = 13;
    g.inputs.push_back(ValueInfo{"x0", DType::f32, {Dim{-1, "N"}, Dim{p.c, ""}, Dim{p.h, ""}, Dim{p.w, ""}}, true});
    g.outputs.push_back(ValueInfo{"y0", DType::f32, {}, false});
    g.initializers["x1"] = w;
    g.initializers["x2"] = b;
    g.nodes.push_back(conv_node(p));
    return g;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
    return a.byte_size() == b.byte_size() && std::equal(a.raw(), a.raw() + a.byte_size(), b.raw());
}

}  // namespace

TEST_CASE("Conv matches a naive direct convolution on random 2-D problems", "[ops][conv]") {
    std::mt19937 rng(1234);
    auto pick = [&](std::int64_t lo, std::int64_t hi) { return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng); };
    for (int trial = 0; trial < 60; ++trial) {
        ConvCase p;
        p.group = pick(0, 3) == 0 ? pick(2, 3) : 1;
        const bool depthwise = pick(0, 4) == 0;
        p.c = depthwise ? pick(1, 6) : p.group * pick(1, 4);
        if (depthwise) p.group = p.c;
        p.m = p.group * pick(1, 3);
        p.n = pick(1, 3);
        p.kh = pick(1, 4), p.kw = pick(1, 4);
        p.sh = pick(1, 3), p.sw = pick(1, 3);
        p.dh = pick(1, 2), p.dw = pick(1, 2);
        p.pt = pick(0, 2), p.pl = pick(0, 2), p.pb = pick(0, 2), p.pr = pick(0, 2);
        p.h = (p.kh - 1) * p.dh + 1 + pick(0, 9);
        p.w = (p.kw - 1) * p.dw + 1 + pick(0, 40);  // wide enough to cross a GEMM column block sometimes
        INFO("trial " << trial << " N" << p.n << " C" << p.c << " M" << p.m << " G" << p.group << " k" << p.kh << "x"
                      << p.kw << " s" << p.sh << "x" << p.sw << " d" << p.dh << "x" << p.dw << " pads " << p.pt << ","
                      << p.pl << "," << p.pb << "," << p.pr << " in " << p.h << "x" << p.w);
        const Tensor x = random_tensor(rng, {p.n, p.c, p.h, p.w});
        const Tensor w = random_tensor(rng, {p.m, p.c / p.group, p.kh, p.kw});
        const Tensor b = random_tensor(rng, {p.m});
        const bool with_bias = pick(0, 1) == 1;
        const auto out = run(conv_node(p), {&x, &w, with_bias ? &b : nullptr});
        require_close(out.at(0), naive_conv2d(x, w, with_bias ? &b : nullptr, p), 1e-4, 1e-4);
    }
}

TEST_CASE("Conv on a large image crosses GEMM column blocks and uses threads deterministically", "[ops][conv]") {
    std::mt19937 rng(7);
    ConvCase p{2, 8, 16, 1, 3, 3, 40, 60, 1, 1, 1, 1, 1, 1, 1, 1};  // 2400 outputs > one 2048-column block
    const Tensor x = random_tensor(rng, {p.n, p.c, p.h, p.w});
    const Tensor w = random_tensor(rng, {p.m, p.c, p.kh, p.kw});
    const Tensor b = random_tensor(rng, {p.m});
    const Tensor want = naive_conv2d(x, w, &b, p);
    const auto out = run(conv_node(p), {&x, &w, &b});
    require_close(out.at(0), want, 1e-4, 1e-4);

    // Same model through the Executor with 1 and 3 threads: bit-identical.
    const Graph g = conv_graph(p, w, b);
    const auto one = Executor(g, ExecutorOptions{1}).run({{"x0", x}}).at("y0");
    const auto three = Executor(g, ExecutorOptions{3}).run({{"x0", x}}).at("y0");
    REQUIRE(same_bytes(one, three));
}

TEST_CASE("Conv with one input channel and many outputs (an STFT frame conv) takes the GEMM", "[ops][conv]") {
    // One input channel feeding 40 outputs takes the GEMM, not the direct
    // depthwise loop.
    std::mt19937 rng(11);
    ConvCase p{90, 1, 40, 1, 1, 64, 1, 128, 1, 16, 1, 1, 0, 0, 0, 0};
    const Tensor x = random_tensor(rng, {p.n, p.c, p.h, p.w});
    const Tensor w = random_tensor(rng, {p.m, p.c, p.kh, p.kw});
    const Tensor b = random_tensor(rng, {p.m});
    const auto out = run(conv_node(p), {&x, &w, &b});
    REQUIRE(out.at(0).shape() == Shape{90, 40, 1, 5});
    require_close(out.at(0), naive_conv2d(x, w, &b, p), 1e-4, 1e-4);

    const Graph g = conv_graph(p, w, b);
    const auto one = Executor(g, ExecutorOptions{1}).run({{"x0", x}}).at("y0");
    const auto three = Executor(g, ExecutorOptions{3}).run({{"x0", x}}).at("y0");
    REQUIRE(same_bytes(one, three));
    // An image's result does not depend on the images batched with it.
    const auto alone = Executor(g, ExecutorOptions{3}).run({{"x0", slice_batch(x, 0, 4)}}).at("y0");
    REQUIRE(same_bytes(alone, slice_batch(one, 0, 4)));
}

TEST_CASE("Conv 1-D and auto_pad SAME_UPPER / SAME_LOWER / VALID", "[ops][conv]") {
    // x = [1 2 3 4 5], w = [1 10 100]: SAME pads 1 each side for stride 1.
    const Tensor x = Tensor::from_vector<float>({1, 1, 5}, {1, 2, 3, 4, 5});
    const Tensor w = Tensor::from_vector<float>({1, 1, 3}, {1, 10, 100});
    auto with = [&](const std::string& pad, std::int64_t stride) {
        return run(make_node("Conv", 2, {{"auto_pad", pad}, {"strides", std::vector<std::int64_t>{stride}}}), {&x, &w}).at(0);
    };
    require_values(with("SAME_UPPER", 1), {1, 1, 5}, {210, 321, 432, 543, 54});
    require_values(with("VALID", 1), {1, 1, 3}, {321, 432, 543});
    // Stride 2 over 5: output 3, total pad 2 -> 1 + 1 either way; with 4 inputs the odd pad differs.
    const Tensor x4 = Tensor::from_vector<float>({1, 1, 4}, {1, 2, 3, 4});
    const Tensor w2 = Tensor::from_vector<float>({1, 1, 2}, {1, 10});
    auto with4 = [&](const std::string& pad) {
        return run(make_node("Conv", 2, {{"auto_pad", pad}, {"strides", std::vector<std::int64_t>{2}}}), {&x4, &w2}).at(0);
    };
    // out = 2, total pad = max(0, (2-1)*2 + 2 - 4) = 0 -> no padding either way.
    require_values(with4("SAME_UPPER"), {1, 1, 2}, {21, 43});
    const Tensor x3 = Tensor::from_vector<float>({1, 1, 3}, {1, 2, 3});
    auto with3 = [&](const std::string& pad) {
        return run(make_node("Conv", 2, {{"auto_pad", pad}}), {&x3, &w2}).at(0);
    };
    // total pad 1: SAME_UPPER pads at the end, SAME_LOWER at the beginning.
    require_values(with3("SAME_UPPER"), {1, 1, 3}, {21, 32, 3});
    require_values(with3("SAME_LOWER"), {1, 1, 3}, {10, 21, 32});
}

TEST_CASE("Conv errors name the node and the problem", "[ops][conv]") {
    const Tensor x(DType::f32, {1, 3, 5, 5});
    const Tensor w(DType::f32, {4, 2, 3, 3});
    REQUIRE_THROWS_WITH(run(make_node("Conv", 2), {&x, &w}),
                        Catch::Contains("n_Conv") && Catch::Contains("Conv") && Catch::Contains("input channels"));
    const Tensor w3(DType::f32, {4, 3, 3, 3});
    REQUIRE_THROWS_WITH(run(make_node("Conv", 2, {{"auto_pad", std::string("SAME")}}), {&x, &w3}),
                        Catch::Contains("auto_pad"));
}

TEST_CASE("Conv honours the fused activation attributes", "[ops][conv]") {
    const Tensor x = Tensor::from_vector<float>({1, 1, 1, 4}, {-2, -1, 1, 8});
    const Tensor w = Tensor::from_vector<float>({1, 1, 1, 1}, {1});
    auto with = [&](std::map<std::string, AttributeValue> attrs) { return run(make_node("Conv", 2, attrs), {&x, &w}).at(0); };
    require_values(with({{fused::kActivation, std::string("Relu")}}), {1, 1, 1, 4}, {0, 0, 1, 8});
    require_values(with({{fused::kActivation, std::string("Clip")}, {fused::kClipMin, 0.0f}, {fused::kClipMax, 6.0f}}),
                   {1, 1, 1, 4}, {0, 0, 1, 6});
    require_values(with({{fused::kActivation, std::string("LeakyRelu")}, {fused::kAlpha, 0.5f}}), {1, 1, 1, 4},
                   {-1, -0.5f, 1, 8});
    REQUIRE_THROWS_WITH(with({{fused::kActivation, std::string("Gelu")}}), Catch::Contains("Gelu"));
}

TEST_CASE("ConvTranspose matches the scatter definition", "[ops][conv]") {
    std::mt19937 rng(99);
    auto pick = [&](std::int64_t lo, std::int64_t hi) { return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng); };
    for (int trial = 0; trial < 25; ++trial) {
        const std::int64_t group = pick(1, 2), c = group * pick(1, 3), mg = pick(1, 3), n = pick(1, 2);
        const std::int64_t h = pick(1, 5), w = pick(1, 6), kh = pick(1, 3), kw = pick(1, 3);
        const std::int64_t sh = pick(1, 3), sw = pick(1, 3), dh = pick(1, 2), dw = pick(1, 2);
        const std::int64_t oph = pick(0, sh - 1), opw = pick(0, sw - 1);
        const std::int64_t pt = pick(0, 1), pl = pick(0, 1), pb = pick(0, 1), pr = pick(0, 1);
        const Tensor x = random_tensor(rng, {n, c, h, w});
        const Tensor wt = random_tensor(rng, {c, mg, kh, kw});
        // Full output before cropping: every x[ci][iy][ix] * w[ci][m][ky][kx] lands at iy*sh + ky*dh.
        const std::int64_t fh = (h - 1) * sh + (kh - 1) * dh + 1 + oph, fw = (w - 1) * sw + (kw - 1) * dw + 1 + opw;
        const std::int64_t oh = fh - pt - pb, ow = fw - pl - pr;
        if (oh <= 0 || ow <= 0) continue;
        std::vector<double> full(static_cast<std::size_t>(n * group * mg * fh * fw), 0.0);
        for (std::int64_t b = 0; b < n; ++b)
            for (std::int64_t ci = 0; ci < c; ++ci)
                for (std::int64_t m = 0; m < mg; ++m)
                    for (std::int64_t iy = 0; iy < h; ++iy)
                        for (std::int64_t ix = 0; ix < w; ++ix)
                            for (std::int64_t ky = 0; ky < kh; ++ky)
                                for (std::int64_t kx = 0; kx < kw; ++kx) {
                                    const std::int64_t mo = (ci / (c / group)) * mg + m;
                                    full[(((b * group * mg + mo) * fh) + iy * sh + ky * dh) * fw + ix * sw + kx * dw] +=
                                        x.data<float>()[((b * c + ci) * h + iy) * w + ix] *
                                        wt.data<float>()[((ci * mg + m) * kh + ky) * kw + kx];
                                }
        Tensor want(DType::f32, {n, group * mg, oh, ow});
        for (std::int64_t b = 0; b < n * group * mg; ++b)
            for (std::int64_t y = 0; y < oh; ++y)
                for (std::int64_t xx = 0; xx < ow; ++xx)
                    want.data<float>()[(b * oh + y) * ow + xx] = static_cast<float>(full[(b * fh + y + pt) * fw + xx + pl]);
        const Node node = make_node("ConvTranspose", 2,
                                    {{"group", group},
                                     {"strides", std::vector<std::int64_t>{sh, sw}},
                                     {"dilations", std::vector<std::int64_t>{dh, dw}},
                                     {"output_padding", std::vector<std::int64_t>{oph, opw}},
                                     {"pads", std::vector<std::int64_t>{pt, pl, pb, pr}}});
        INFO("trial " << trial);
        require_close(run(node, {&x, &wt}).at(0), want, 1e-4, 1e-4);
    }
}
