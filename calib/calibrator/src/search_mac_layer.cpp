// A MAC layer's own steps in the per-layer search (search_impl.hpp): its
// accumulators and the scoring of output candidates from them, the weight
// quantization (output-error clipping, AdaRound), the bias correction and the
// accumulator-aware bound, and the overflow counts reported.
#include "search_impl.hpp"

#include "accumulator_overflow.hpp"
#include "bias_correction.hpp"
#include "input_moments.hpp"
#include "learned_rounding.hpp"
#include "scoring_parts.hpp"

#include <algorithm>
#include <stdexcept>

#include "bitnpu/sim/parallel.hpp"

namespace bitnpu::calib {

std::shared_ptr<Search::Accumulators> Search::mac_accumulators(std::size_t i) {
    const sim::QuantGraph g = lowering_.lower_single(i, result_.quant);
    const sim::MacLayer& layer = std::get<sim::MacLayer>(g.nodes.at(0).params);
    if (layer.accumulator.bits > 32) return nullptr;
    sim::MacOptions mac_options;
    mac_options.threads = run_options_.threads;
    return acc_memo_.get(i, values_.at(lowering_.activation_inputs(i).at(0)), layer, mac_options);
}

Search::MacFinisher Search::mac_finisher(std::size_t i, const sim::Shape& acc_shape, const ActivationQuant& quant,
                                         int threads) const {
    sim::QuantGraph g = lowering_.lower_single(i, quant);
    sim::AccumulatorFinisher finisher(std::get<sim::MacLayer>(g.nodes.at(0).params), acc_shape, threads);
    return {std::move(g), std::move(finisher)};
}

sim::GraphResult Search::finish_mac(const MacFinisher& f, sim::MacAccumulators<std::int32_t> acc) const {
    sim::QTensor out;
    out.shape = std::move(acc.shape);
    out.quant = f.output_quant();
    out.values = std::move(acc.values);
    f.finisher.finish(out.values.data(), out.values.data(), run_options_.threads);
    sim::GraphResult r;
    r.raw_outputs.push_back(std::move(out));
    return r;
}

std::vector<std::optional<double>> Search::mac_sqnrs(std::size_t i, const sim::MacAccumulators<std::int32_t>& acc,
                                                     const MacFinisher& f, int threads) {
    const Tensor* ref = reference(graph_.nodes[i].outputs.at(0));
    if (!ref) return {std::nullopt};
    const sim::QuantParams& q = f.output_quant();
    if (q.per_channel()) return output_sqnrs(i, finish_mac(f, acc));
    if (ref->numel() != static_cast<std::int64_t>(acc.values.size()))
        throw std::logic_error("search: simulated and FP32 tensors differ in size");
    const float scale = q.scale(0);
    const std::int64_t zero_point = q.zero_point(0);
    const std::int64_t run = f.finisher.run_length();
    const std::vector<ScoringPart> parts = scoring_parts(f.finisher.runs(), run, f.finisher.channels());
    const float* r = ref->data<float>();
    const std::int32_t* a = acc.values.data();
    sim::SqnrSums sums;
    thread_local std::vector<std::int32_t> finished;
    if (threads <= 1) {
        if (finished.size() < static_cast<std::size_t>(run)) finished.resize(static_cast<std::size_t>(run));
        for (const ScoringPart& p : parts) {
            const std::int64_t at = p.run * run + p.offset;
            f.finisher.finish_part(p.run, a + at, finished.data(), p.count);
            sums.add_quantized(r + at, finished.data(), static_cast<std::size_t>(p.count), scale, zero_point);
        }
        return {sums.db()};
    }
    std::vector<std::int64_t> start(parts.size() + 1, 0);   // each part's place in the scratch copy
    for (std::size_t k = 0; k < parts.size(); ++k) start[k + 1] = start[k] + parts[k].count;
    if (finished.size() < static_cast<std::size_t>(start.back())) finished.resize(static_cast<std::size_t>(start.back()));
    std::int32_t* scratch = finished.data();   // this thread's buffer (the name is per thread)
    sim::parallel_for(static_cast<std::int64_t>(parts.size()), threads, [&](std::int64_t k) {
        const ScoringPart& p = parts[static_cast<std::size_t>(k)];
        f.finisher.finish_part(p.run, a + p.run * run + p.offset, scratch + start[static_cast<std::size_t>(k)], p.count);
    });
    for (std::size_t k = 0; k < parts.size(); ++k)
        sums.add_quantized(r + parts[k].run * run + parts[k].offset, scratch + start[k],
                           static_cast<std::size_t>(parts[k].count), scale, zero_point);
    return {sums.db()};
}

std::optional<double> Search::mac_table_sqnr(const sim::MacAccumulators<std::int32_t>& acc, const MacFinisher& f,
                                             const TableJudge& judge) const {
    const sim::QuantParams& q = f.output_quant();
    if (q.per_channel() || judge.reference.size() != acc.values.size())
        throw std::logic_error("search: a table-read MAC output must be per tensor and match its FP32 value");
    const std::int64_t run = f.finisher.run_length();
    std::vector<float> test, ref;
    std::vector<std::int32_t> finished(static_cast<std::size_t>(run));
    for (const ScoringPart& p : scoring_parts(f.finisher.runs(), run, f.finisher.channels())) {
        const std::int64_t at = p.run * run + p.offset;
        f.finisher.finish_part(p.run, acc.values.data() + at, finished.data(), p.count);
        for (std::int64_t e = 0; e < p.count; ++e) {
            test.push_back(sim::dequantize(finished[static_cast<std::size_t>(e)], q.scale(0), q.zero_point(0)));
            ref.push_back(judge.reference[static_cast<std::size_t>(at + e)]);
        }
    }
    const std::vector<float> f_test = judge.table->f(test);
    return sim::sqnr_db(ref.data(), f_test.data(), f_test.size());
}

bool Search::scored_whole(const sim::AccumulatorFinisher& f) {
    return scores_everything(scoring_parts(f.runs(), f.run_length(), f.channels()), f.runs(), f.run_length());
}

void Search::set_moments(std::size_t i) {
    const sim::QuantGraph g = lowering_.lower_single(i, result_.quant);
    const sim::MacLayer& layer = std::get<sim::MacLayer>(g.nodes.at(0).params);
    InputMoments m = input_moments(layer, required_reference(lowering_.activation_inputs(i).at(0)), run_options_.threads);
    if (m.k > 0) lowering_.set_input_moments(graph_.nodes[i].name, std::move(m));
}

void Search::set_weight_quant(std::size_t i) {
    set_moments(i);
    if (options_.adaround) learn_rounding(i);
}

void Search::learn_rounding(std::size_t i) {
    const std::optional<double> before = recorded_sqnr(i);
    if (!before) return;
    const sim::QuantGraph g = lowering_.lower_single(i, result_.quant);
    const std::string input = lowering_.activation_inputs(i).at(0);
    const std::string& name = graph_.nodes[i].name;
    std::vector<bool> flags =
        learned_rounding(std::get<sim::MacLayer>(g.nodes.at(0).params), lowering_.lowered_weights(name),
                         lowering_.mac_weight(i), required_reference(input), values_.at(input), run_options_.threads);
    if (flags.empty()) return;
    lowering_.set_weight_rounding(name, std::move(flags));
    const std::optional<double> after = recorded_sqnr(i);
    if (!after || !(score(*after) > score(*before))) lowering_.set_weight_rounding(name, {});
}

void Search::correct_bias(std::size_t i) {
    CTableLayer record;
    const sim::QuantGraph g = lowering_.lower_single(i, result_.quant, &record);
    const sim::MacLayer& layer = std::get<sim::MacLayer>(g.nodes.at(0).params);
    const std::string input = lowering_.activation_inputs(i).at(0);
    lowering_.set_bias_correction(graph_.nodes[i].name,
                                  bias_correction(layer, lowering_.mac_weight(i), record.weight_scale,
                                                  required_reference(input), values_.at(input),
                                                  run_options_.threads));
}

std::optional<double> Search::recorded_sqnr(std::size_t i) {
    const std::shared_ptr<Accumulators> acc = mac_accumulators(i);
    if (!acc) return std::nullopt;
    const MacFinisher f = mac_finisher(i, acc->shape, result_.quant, run_options_.threads);
    return mac_sqnrs(i, *acc, f, run_options_.threads).at(0);
}

void Search::correct_bias_if_better(std::size_t i, bool single_output) {
    const std::optional<double> before = single_output ? recorded_sqnr(i) : std::nullopt;
    correct_bias(i);
    if (!before) return;
    const std::optional<double> after = recorded_sqnr(i);
    if (after && score(*after) >= score(*before)) return;
    const std::size_t channels = static_cast<std::size_t>(lowering_.mac_weight(i).dim(0));
    lowering_.set_bias_correction(graph_.nodes[i].name, std::vector<double>(channels, 0.0));
}

sim::MacLayer Search::lowered_mac(std::size_t i) const {
    const sim::QuantGraph g = lowering_.lower_single(i, result_.quant);
    return std::get<sim::MacLayer>(g.nodes.at(0).params);
}

void Search::choose_accumulator_bound(std::size_t i, bool single_output) {
    if (options_.accumulator_aware == AccumulatorAware::off || !can_overflow(lowered_mac(i))) return;
    const std::string& name = graph_.nodes[i].name;
    const std::vector<bool> learned = lowering_.weight_rounding(name);
    std::vector<double> chosen{1.0};
    if (options_.accumulator_aware == AccumulatorAware::automatic && single_output) {
        if (!overflows_on_slice(i)) return;
        if (auto errors = fraction_errors(i, learned)) chosen = least_error_fractions(*errors);
    }
    lowering_.set_weight_rounding(name, chosen.front() > 0.0 ? std::vector<bool>{} : learned);
    lowering_.set_accumulator_bound(name, chosen);
    if (options_.bias_correction && !lowering_.accumulator_bound(name).empty())
        correct_bias_if_better(i, single_output);
}

bool Search::overflows_on_slice(std::size_t i) const {
    const sim::QTensor& x = values_.at(lowering_.activation_inputs(i).at(0));
    return accumulator_overflows(lowered_mac(i), x, run_options_.threads).overflowed_outputs > 0;
}

std::optional<std::vector<double>> Search::fraction_errors(std::size_t i, const std::vector<bool>& learned) {
    const Tensor* ref = reference(graph_.nodes[i].outputs.at(0));
    if (!ref) return std::nullopt;
    std::vector<double> out;
    for (double t : kBoundFractions) {
        lowering_.set_weight_rounding(graph_.nodes[i].name, t > 0.0 ? std::vector<bool>{} : learned);
        lowering_.set_accumulator_bound(graph_.nodes[i].name, {t});
        std::shared_ptr<Accumulators> acc = mac_accumulators(i);
        if (!acc) return std::nullopt;
        const MacFinisher f = mac_finisher(i, acc->shape, result_.quant, run_options_.threads);
        if (f.output_quant().per_channel()) return std::nullopt;
        acc_memo_.clear();   // this fraction's accumulators are consumed below
        const sim::GraphResult r = finish_mac(f, std::move(*acc));
        if (r.raw_outputs.at(0).size() != ref->numel())
            throw std::logic_error("search: simulated and FP32 tensors differ in size");
        out.push_back(output_squared_error(r.raw_outputs.at(0), ref->data<float>()));
    }
    return out;
}

std::vector<double> Search::least_error_fractions(const std::vector<double>& errors) {
    const auto best = std::min_element(errors.begin(), errors.end()) - errors.begin();
    return {kBoundFractions[best]};
}

void Search::count_overflows(std::size_t i) {
    result_.accumulator[graph_.nodes[i].name] =
        accumulator_overflows(lowered_mac(i), values_.at(lowering_.activation_inputs(i).at(0)), run_options_.threads);
}

}  // namespace bitnpu::calib
