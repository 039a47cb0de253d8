#include "tile_vector.hpp"

#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "bitnpu/sim/datapath/accumulate.hpp"
#include "bitnpu/sim/datapath/product.hpp"

namespace bitnpu::rtl {
namespace {

std::vector<std::uint64_t> pack_bits(const std::vector<std::int8_t>& values) {
    std::vector<std::uint64_t> words((values.size() + 63) / 64 + 1, 0);
    sim::pack_binary(values.data(), values.size(), words.data());
    return words;
}

std::int64_t binary_dot(const TileVector& v, int cols, int i, int j) {
    std::vector<std::int8_t> a(v.k), w(v.k);
    for (int kk = 0; kk < v.k; ++kk) {
        a[kk] = static_cast<std::int8_t>(v.a[i * v.k + kk]);
        w[kk] = static_cast<std::int8_t>(v.w[kk * cols + j]);
    }
    const auto pa = pack_bits(a), pw = pack_bits(w);
    return sim::xnor_popcount_dot(pa.data(), pw.data(), v.k);
}

}  // namespace

arch::ValueRange output_range(const TileConfig& c) {
    if (c.params.bnn) return arch::value_range(arch::ValueType::int8);
    return arch::value_range(c.activation, c.restricted_range);
}

std::int64_t golden_accumulator(const TileConfig& c, const TileVector& v, int i, int j) {
    const sim::AccumulatorRule rule{c.accumulator.bits, c.accumulator.overflow};
    const int cols = c.params.cols;
    // bias.stage preload: the accumulator starts at b_q; post: it starts at 0
    // and b_q is added after the last product, at accumulator width.
    const std::int64_t start = c.params.bias_post ? 0 : v.bias[j];
    // int1 products are +-1 terms accumulated in k order like every other
    // product, as the functional model's mac_accumulate does; when no partial
    // sum can saturate this equals bias + xnor_popcount_dot (checked below).
    std::vector<std::int64_t> products;
    for (int kk = 0; kk < v.k; ++kk) products.push_back(sim::product(v.w[kk * cols + j], v.a[i * v.k + kk], v.zx));
    const std::int64_t acc = sim::accumulate_all(start, products.data(), products.size(), rule);
    if (c.params.bnn && sim::exact_sum_is_safe(std::uint64_t(v.k) + std::uint64_t(std::llabs(start)), rule) &&
        acc != start + binary_dot(v, cols, i, j))
        throw std::logic_error("golden model: ordered int1 sum differs from xnor_popcount_dot where it must not");
    return c.params.bias_post ? sim::accumulate(acc, v.bias[j], rule) : acc;
}

std::vector<std::int64_t> golden_outputs(const TileConfig& c, const TileVector& v) {
    const int rows = c.params.rows, cols = c.params.cols;
    std::vector<std::int64_t> out(rows * cols);
    for (int i = 0; i < rows; ++i) {
        for (int j = 0; j < cols; ++j) {
            const std::int64_t y = sim::requantize(golden_accumulator(c, v, i, j), v.requant[j]);
            out[i * cols + j] = sim::add_zero_point_and_clamp(y, v.zy, v.lo, v.hi);
        }
    }
    return out;
}

std::string describe_output(const TileConfig& c, const TileVector& v, int i, int j) {
    std::ostringstream s;
    const int cols = c.params.cols;
    if (!v.label.empty()) s << "    vector: " << v.label << "\n";
    s << "    K=" << v.k << " bias=" << v.bias[j] << " zx=" << v.zx << " M=" << v.requant[j].multiplier
      << " shift=" << v.requant[j].shift << " zy=" << v.zy << " lo=" << v.lo << " hi=" << v.hi << "\n";
    s << "    a[" << i << "][0..K) =";
    for (int kk = 0; kk < v.k && kk < 64; ++kk) s << ' ' << v.a[i * v.k + kk];
    s << (v.k > 64 ? " ..." : "") << "\n    w[0..K)[" << j << "] =";
    for (int kk = 0; kk < v.k && kk < 64; ++kk) s << ' ' << v.w[kk * cols + j];
    s << (v.k > 64 ? " ..." : "") << "\n    golden accumulator=" << golden_accumulator(c, v, i, j) << "\n";
    return s.str();
}

}  // namespace bitnpu::rtl
