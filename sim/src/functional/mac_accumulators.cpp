// The finish of a MAC layer's accumulators (mac_accumulators.hpp). The
// accumulators themselves come from the fast kernel (mac_kernel.cpp).
#include "bitnpu/sim/functional/mac_accumulators.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "bitnpu/sim/functional/detail/mac_step_table.hpp"
#include "bitnpu/sim/parallel.hpp"

namespace bitnpu::sim {

namespace {

// build_step_table's own bound on levels; step_table_pays, checked first,
// decides which channels get a table (the MAC kernel's rule).
constexpr std::int64_t kMaxFinishLevels = std::int64_t{1} << 16;

}  // namespace

struct AccumulatorFinisher::Impl {
    Shape shape;
    std::int64_t channels = 0, run = 0, runs = 0;   // run k of `run` values is channel k % channels
    std::vector<MacChannel> finish;                 // per channel: z_y, clamp, int1 sign, registers
    std::vector<MacStepTable> tables;               // per channel, valid where tabled
    std::vector<char> tabled;

    template <class A>
    void finish_run(std::int64_t k, const A* acc, std::int32_t* out, std::int64_t count) const {
        const auto oc = static_cast<std::size_t>(k % channels);
        if (!tabled[oc]) {
            const MacChannel& ch = finish[oc];
            for (std::int64_t e = 0; e < count; ++e)
                out[e] = static_cast<std::int32_t>(mac_finish_with(ch, ch.registers, static_cast<std::int64_t>(acc[e])));
        } else if (static_cast<const void*>(out) != static_cast<const void*>(acc)) {
            step_lookup_all(tables[oc], acc, count, out);
        } else {
            // step_lookup_all must not write over its input.
            thread_local std::vector<std::int32_t> levels;
            if (levels.size() < static_cast<std::size_t>(count)) levels.resize(static_cast<std::size_t>(count));
            step_lookup_all(tables[oc], acc, count, levels.data());
            std::copy_n(levels.begin(), count, out);
        }
    }
    template <class A>
    void finish_run(std::int64_t k, const A* acc, std::int32_t* out) const {
        finish_run(k, acc, out, run);
    }
    template <class A>
    void finish_all(const A* acc, std::int32_t* out, int threads) const {
        parallel_for(runs, threads, [&](std::int64_t k) { finish_run(k, acc + k * run, out + k * run); });
    }
};

AccumulatorFinisher::AccumulatorFinisher(const MacLayer& layer, const Shape& shape, int threads) {
    auto impl = std::make_shared<Impl>();
    const std::int64_t channels = output_channels(layer);
    if (layer.requant.size() != 1 && static_cast<std::int64_t>(layer.requant.size()) != channels)
        throw std::invalid_argument("AccumulatorFinisher: " + std::to_string(layer.requant.size()) +
                                    " register sets for " + std::to_string(channels) + " channels");
    const bool conv = layer.kind == MacKind::conv;
    if (conv ? shape.size() != 4 || shape[1] != channels : shape.empty() || shape.back() != channels)
        throw std::invalid_argument("AccumulatorFinisher: the accumulators' shape is not the layer's output shape");
    impl->shape = shape;
    impl->channels = channels;
    const std::int64_t total = element_count(shape);
    // NCHW planes for Conv, single values for Gemm.
    impl->run = conv ? (shape[0] * channels == 0 ? 0 : total / (shape[0] * channels)) : 1;
    impl->runs = impl->run == 0 ? 0 : total / impl->run;
    impl->finish.resize(static_cast<std::size_t>(channels));
    impl->tables.resize(static_cast<std::size_t>(channels));
    impl->tabled.assign(static_cast<std::size_t>(channels), 0);
    const std::int64_t per_channel = total / std::max<std::int64_t>(channels, 1);
    Impl& f = *impl;
    parallel_for(channels, threads, [&](std::int64_t oc) {
        const auto i = static_cast<std::size_t>(oc);
        MacChannel ch = mac_channel(layer, oc);
        f.finish[i] = ch;
        ch.accumulator.overflow = arch::Overflow::wrap;   // the table's domain: accumulator values
        f.tabled[i] = step_table_pays(ch, per_channel) && build_step_table(ch, kMaxFinishLevels, f.tables[i]) ? 1 : 0;
    });
    impl_ = std::move(impl);
}

void add_bias_change(MacAccumulators<std::int32_t>& acc, const MacLayer& from, const MacLayer& to) {
    const std::int64_t channels = output_channels(to);
    if (static_cast<std::int64_t>(to.bias.size()) != channels || from.bias.size() != to.bias.size())
        throw std::invalid_argument("add_bias_change: each layer needs one bias per output channel");
    const bool conv = to.kind == MacKind::conv;
    if (conv ? acc.shape.size() != 4 || acc.shape[1] != channels : acc.shape.empty() || acc.shape.back() != channels)
        throw std::invalid_argument("add_bias_change: the accumulators' shape is not the layer's output shape");
    std::vector<std::int32_t> delta(static_cast<std::size_t>(channels));
    for (std::size_t c = 0; c < delta.size(); ++c) delta[c] = static_cast<std::int32_t>(to.bias[c] - from.bias[c]);
    // Runs of one channel, as AccumulatorFinisher walks them.
    const std::int64_t run = conv ? acc.shape[2] * acc.shape[3] : 1;
    const auto total = static_cast<std::int64_t>(acc.values.size());
    for (std::int64_t k = 0; run > 0 && k * run < total; ++k) {
        const std::int32_t d = delta[static_cast<std::size_t>(k % channels)];
        std::int32_t* v = acc.values.data() + k * run;
        for (std::int64_t e = 0; e < run; ++e) v[e] += d;
    }
}

const Shape& AccumulatorFinisher::shape() const { return impl_->shape; }
std::int64_t AccumulatorFinisher::runs() const { return impl_->runs; }
std::int64_t AccumulatorFinisher::run_length() const { return impl_->run; }
std::int64_t AccumulatorFinisher::channels() const { return impl_->channels; }
std::int64_t AccumulatorFinisher::tabled_channels() const {
    return std::count(impl_->tabled.begin(), impl_->tabled.end(), 1);
}

void AccumulatorFinisher::finish_run(std::int64_t k, const std::int32_t* acc, std::int32_t* out) const {
    impl_->finish_run(k, acc, out);
}
void AccumulatorFinisher::finish_run(std::int64_t k, const std::int64_t* acc, std::int32_t* out) const {
    impl_->finish_run(k, acc, out);
}
void AccumulatorFinisher::finish_part(std::int64_t k, const std::int32_t* acc, std::int32_t* out,
                                      std::int64_t count) const {
    if (count < 0 || count > impl_->run)
        throw std::invalid_argument("AccumulatorFinisher::finish_part: " + std::to_string(count) +
                                    " values of a run of " + std::to_string(impl_->run));
    impl_->finish_run(k, acc, out, count);
}
void AccumulatorFinisher::finish(const std::int32_t* acc, std::int32_t* out, int threads) const {
    impl_->finish_all(acc, out, threads);
}
void AccumulatorFinisher::finish(const std::int64_t* acc, std::int32_t* out, int threads) const {
    impl_->finish_all(acc, out, threads);
}

QTensor finish_accumulators(const MacLayer& layer, MacAccumulators<std::int32_t> acc, int threads) {
    const AccumulatorFinisher finisher(layer, acc.shape, threads);
    QTensor out;
    out.shape = std::move(acc.shape);
    out.quant = per_tensor(layer.output_type, 1.0f, layer.output_zero_point);
    out.values = std::move(acc.values);
    finisher.finish(out.values.data(), out.values.data(), threads);
    return out;
}

}  // namespace bitnpu::sim
