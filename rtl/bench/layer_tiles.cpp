#include "layer_tiles.hpp"

#include <algorithm>
#include <sstream>

#include "bitnpu/sim/datapath/saturate.hpp"

namespace bitnpu::rtl {
namespace {

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// Where output pixel m of the layer's GEMM lives: the im2col_row arguments
// and the flat index of channel 0 of that pixel in y (plus stride per channel).
struct PixelAt {
    std::int64_t n = 0, out_y = 0, out_x = 0;
    std::int64_t base = 0, channel_stride = 1;
};

PixelAt pixel_at(const sim::MacLayer& layer, const sim::QTensor& y, std::int64_t m) {
    PixelAt p;
    const std::int64_t c_out = sim::output_channels(layer);
    if (layer.kind == sim::MacKind::gemm) {
        p.n = m;
        p.base = m * c_out;
        return p;
    }
    const std::int64_t oh = y.shape[2], ow = y.shape[3];
    p.n = m / (oh * ow);
    p.out_y = (m / ow) % oh;
    p.out_x = m % ow;
    p.channel_stride = oh * ow;
    p.base = p.n * c_out * oh * ow + p.out_y * ow + p.out_x;
    return p;
}

// The value the RTL's bias register holds: b_q as the accumulator starts
// from it (preload: loading it is an accumulate step, as in mac_accumulate)
// or as acc_add adds it after the last product (post).
std::int64_t bias_register(const sim::MacLayer& layer, std::int64_t oc) {
    const std::int64_t b = layer.bias.empty() ? 0 : layer.bias[std::size_t(oc)];
    return layer.bias_stage == arch::BiasStage::preload ? sim::accumulate(0, b, layer.accumulator) : b;
}

}  // namespace

LayerTiling tiling_for(const sim::MacLayer& layer, const sim::QTensor& y, int rows, int cols) {
    LayerTiling t;
    const std::int64_t c_out = sim::output_channels(layer);
    t.groups = layer.kind == sim::MacKind::conv ? layer.geometry.groups : 1;
    t.channels_per_group = c_out / t.groups;
    t.k = sim::reduction_length(layer);
    t.pixels = y.size() / c_out;
    t.row_blocks = ceil_div(t.pixels, rows);
    t.col_blocks = ceil_div(t.channels_per_group, cols);
    return t;
}

std::string rtl_limitation(const sim::MacLayer& layer, const TileConfig& config) {
    if (layer.weight_zero_point != 0) return "weight zero-point (npu_tile has none)";
    if (layer.output_type == arch::ValueType::int1) return "int1 outputs (npu_tile has no sign stage)";
    if (layer.bias_stage == arch::BiasStage::post)
        for (std::int64_t b : layer.bias)
            if (sim::saturate_signed(b, config.params.acc_bits) != b)
                return "a post-stage bias outside the accumulator range (npu_tile's bias port is ACC_BITS wide)";
    return "";
}

LayerTile cut_tile(const TileConfig& config, const sim::MacLayer& layer, const sim::QTensor& x,
                   const sim::QTensor& y, const LayerTiling& t, std::uint64_t index) {
    const int rows = config.params.rows, cols = config.params.cols;
    const std::int64_t col_block = std::int64_t(index % std::uint64_t(t.col_blocks));
    const std::int64_t row_block = std::int64_t(index / std::uint64_t(t.col_blocks) % std::uint64_t(t.row_blocks));
    const std::int64_t group = std::int64_t(index / std::uint64_t(t.col_blocks * t.row_blocks));
    const std::int64_t m0 = row_block * rows, c0 = group * t.channels_per_group + col_block * cols;
    const int m_len = int(std::min<std::int64_t>(rows, t.pixels - m0));
    const int n_len = int(std::min<std::int64_t>(cols, t.channels_per_group - col_block * cols));

    LayerTile tile;
    TileVector& v = tile.vector;
    v.k = int(t.k);
    v.zx = layer.input_zero_point;
    v.zy = layer.output_zero_point;
    v.lo = layer.clamp_lo;
    v.hi = layer.clamp_hi;
    v.a.assign(std::size_t(rows) * v.k, layer.input_zero_point);
    v.w.assign(std::size_t(v.k) * cols, 0);
    v.bias.assign(cols, 0);
    v.requant.assign(cols, sim::mac_registers(layer, c0));
    tile.expected.assign(std::size_t(rows) * cols, 0);
    tile.valid.assign(std::size_t(rows) * cols, 0);

    std::vector<std::int32_t> row(std::size_t(v.k));
    for (int i = 0; i < m_len; ++i) {
        const PixelAt p = pixel_at(layer, y, m0 + i);
        sim::im2col_row(layer, x, p.n, group, p.out_y, p.out_x, row.data());
        std::copy(row.begin(), row.end(), v.a.begin() + std::ptrdiff_t(i) * v.k);
        for (int j = 0; j < n_len; ++j) {
            tile.expected[std::size_t(i) * cols + j] = y.values[std::size_t(p.base + (c0 + j) * p.channel_stride)];
            tile.valid[std::size_t(i) * cols + j] = 1;
        }
    }
    for (int j = 0; j < n_len; ++j) {
        const std::int64_t oc = c0 + j;
        const std::int32_t* w = layer.weights.data() + oc * t.k;
        for (int kk = 0; kk < v.k; ++kk) v.w[std::size_t(kk) * cols + j] = w[kk] - layer.weight_zero_point;
        v.bias[j] = bias_register(layer, oc);
        v.requant[j] = sim::mac_registers(layer, oc);
    }
    std::ostringstream where;
    where << "group " << group << ", pixels [" << m0 << ", " << m0 + m_len << "), channels [" << c0 << ", "
          << c0 + n_len << ")";
    tile.where = where.str();
    v.label = tile.where;
    return tile;
}

}  // namespace bitnpu::rtl
