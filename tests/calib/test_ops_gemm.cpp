// Gemm and MatMul against naive triple loops written here.
#include <catch2/catch.hpp>

#include "test_ops_util.hpp"

using namespace bitnpu::calib;
using namespace bitnpu::calib::test;

namespace {

// y[i][j] = alpha * sum_k A'[i][k] B'[k][j] + beta * C[i or 0][j or 0]
Tensor naive_gemm(const Tensor& a, const Tensor& b, const Tensor* c, bool ta, bool tb, float alpha, float beta) {
    const std::int64_t m = ta ? a.dim(1) : a.dim(0), k = ta ? a.dim(0) : a.dim(1), n = tb ? b.dim(0) : b.dim(1);
    Tensor y(DType::f32, {m, n});
    for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
            double acc = 0;
            for (std::int64_t q = 0; q < k; ++q)
                acc += static_cast<double>(a.data<float>()[ta ? q * m + i : i * k + q]) *
                       b.data<float>()[tb ? j * k + q : q * n + j];
            double bias = 0;
            if (c) {
                const Shape& s = c->shape();
                const std::int64_t ci = s.size() == 2 && s[0] != 1 ? i : 0;
                const std::int64_t cj = !s.empty() && s.back() != 1 ? j : 0;
                const std::int64_t cols = s.empty() ? 1 : s.back();
                bias = c->data<float>()[ci * cols + cj];
            }
            y.data<float>()[i * n + j] = static_cast<float>(alpha * acc + beta * bias);
        }
    return y;
}

}  // namespace

TEST_CASE("Gemm matches the naive definition for all attribute combinations", "[ops][gemm]") {
    std::mt19937 rng(42);
    auto pick = [&](std::int64_t lo, std::int64_t hi) { return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng); };
    for (int trial = 0; trial < 40; ++trial) {
        const std::int64_t m = pick(1, 150), k = pick(1, 40), n = pick(1, 30);
        const bool ta = pick(0, 1), tb = pick(0, 1);
        const float alpha = pick(0, 1) ? 1.0f : 0.5f, beta = pick(0, 1) ? 1.0f : 2.0f;
        const Tensor a = random_tensor(rng, ta ? Shape{k, m} : Shape{m, k});
        const Tensor b = random_tensor(rng, tb ? Shape{n, k} : Shape{k, n});
        const std::vector<Shape> c_shapes{{m, n}, {n}, {1, n}, {m, 1}, {}, {1}};
        const Tensor c = random_tensor(rng, c_shapes[static_cast<std::size_t>(pick(0, 5))]);
        const bool with_c = pick(0, 3) != 0;
        const Node node = make_node("Gemm", with_c ? 3 : 2,
                                    {{"transA", std::int64_t{ta}}, {"transB", std::int64_t{tb}}, {"alpha", alpha}, {"beta", beta}});
        INFO("trial " << trial << " m" << m << " k" << k << " n" << n << " tA" << ta << " tB" << tb);
        std::vector<const Tensor*> inputs{&a, &b};
        if (with_c) inputs.push_back(&c);
        require_close(run(node, inputs).at(0), naive_gemm(a, b, with_c ? &c : nullptr, ta, tb, alpha, beta), 1e-4, 1e-4);
    }
}

TEST_CASE("Gemm rejects mismatched shapes naming the node", "[ops][gemm]") {
    const Tensor a(DType::f32, {2, 3}), b(DType::f32, {4, 5}), c(DType::f32, {3, 5});
    REQUIRE_THROWS_WITH(run(make_node("Gemm", 2), {&a, &b}), Catch::Contains("n_Gemm") && Catch::Contains("inner"));
    const Tensor b2(DType::f32, {3, 5});
    REQUIRE_THROWS_WITH(run(make_node("Gemm", 3), {&a, &b2, &c}), Catch::Contains("n_Gemm") && Catch::Contains("[3, 5]"));
}

TEST_CASE("MatMul: batched, broadcast and 1-D operands follow numpy.matmul", "[ops][gemm]") {
    std::mt19937 rng(5);
    struct Case {
        Shape a, b, y;
    };
    const std::vector<Case> cases{
        {{3, 4}, {4, 5}, {3, 5}},          {{2, 3, 4}, {2, 4, 5}, {2, 3, 5}}, {{2, 1, 3, 4}, {3, 4, 2}, {2, 3, 3, 2}},
        {{4}, {4, 5}, {5}},                {{3, 4}, {4}, {3}},                {{4}, {4}, {}},
        {{2, 3, 4}, {4}, {2, 3}},          {{4}, {2, 4, 5}, {2, 5}},          {{130, 7}, {7, 9}, {130, 9}},
    };
    for (const Case& c : cases) {
        const Tensor a = random_tensor(rng, c.a), b = random_tensor(rng, c.b);
        const Tensor y = run(make_node("MatMul", 2), {&a, &b}).at(0);
        INFO("A " << shape_to_string(c.a) << " B " << shape_to_string(c.b));
        REQUIRE(y.shape() == c.y);
        // Independent check: promote, broadcast the batch by index arithmetic, sum.
        Shape pa = c.a, pb = c.b;
        if (pa.size() == 1) pa.insert(pa.begin(), 1);
        if (pb.size() == 1) pb.push_back(1);
        const std::int64_t m = pa[pa.size() - 2], k = pa.back(), n = pb.back();
        const std::size_t rank = std::max(pa.size(), pb.size());
        while (pa.size() < rank) pa.insert(pa.begin(), 1);
        while (pb.size() < rank) pb.insert(pb.begin(), 1);
        Shape batch(rank - 2);
        for (std::size_t d = 0; d + 2 < rank; ++d) batch[d] = std::max(pa[d], pb[d]);
        const std::int64_t nb = num_elements(batch);
        std::int64_t checked = 0;
        for (std::int64_t bi = 0; bi < nb; ++bi) {
            std::int64_t rem = bi, oa = 0, ob = 0, sa = 1, sb = 1;
            for (std::size_t d = batch.size(); d-- > 0;) {
                const std::int64_t idx = rem % batch[d];
                rem /= batch[d];
                oa += (pa[d] == 1 ? 0 : idx) * sa;
                ob += (pb[d] == 1 ? 0 : idx) * sb;
                sa *= pa[d];
                sb *= pb[d];
            }
            for (std::int64_t i = 0; i < m; ++i)
                for (std::int64_t j = 0; j < n; ++j) {
                    double acc = 0;
                    for (std::int64_t q = 0; q < k; ++q)
                        acc += static_cast<double>(a.data<float>()[oa * m * k + i * k + q]) * b.data<float>()[ob * k * n + q * n + j];
                    REQUIRE(std::abs(y.data<float>()[(bi * m + i) * n + j] - acc) <= 1e-4 + 1e-4 * std::abs(acc));
                    ++checked;
                }
        }
        REQUIRE(checked == y.numel());
    }
}

TEST_CASE("MatMul and Gemm honour fused activations", "[ops][gemm]") {
    const Tensor a = Tensor::from_vector<float>({1, 2}, {1, -1});
    const Tensor b = Tensor::from_vector<float>({2, 3}, {1, 2, 10, 3, 1, -2});
    const auto y = run(make_node("MatMul", 2, {{fused::kActivation, std::string("Relu")}}), {&a, &b}).at(0);
    require_values(y, {1, 3}, {0, 1, 12});
    const auto z = run(make_node("Gemm", 2, {{fused::kActivation, std::string("Clip")}, {fused::kClipMin, -1.0f},
                                             {fused::kClipMax, 6.0f}}),
                       {&a, &b}).at(0);
    require_values(z, {1, 3}, {-1, 1, 6});
}
