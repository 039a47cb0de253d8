// The per-layer scale search (search.hpp).
#include "search.hpp"

#include "accumulator_memo.hpp"
#include "accumulator_overflow.hpp"
#include "bias_correction.hpp"
#include "fp32_walk.hpp"
#include "input_moments.hpp"
#include "learned_rounding.hpp"
#include "scoring_parts.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "bitnpu/fp32/batching.hpp"
#include "bitnpu/fp32/executor.hpp"
#include "bitnpu/errors.hpp"
#include "bitnpu/sim/functional/graph.hpp"
#include "bitnpu/sim/functional/mac_accumulators.hpp"
#include "bitnpu/sim/parallel.hpp"

namespace bitnpu::calib {
namespace {

sim::FloatTensor to_float_tensor(const Tensor& t) {
    return {t.shape(), std::vector<float>(t.data<float>(), t.data<float>() + t.numel())};
}

double sqnr(const Tensor& ref, const sim::QTensor& test) {
    if (test.size() != ref.numel()) throw std::logic_error("search: simulated and FP32 tensors differ in size");
    return sim::sqnr_db(ref.data<float>(), test);
}

// A comparable score: +inf SQNR (identical) beats everything, NaN loses.
double score(double s) { return std::isnan(s) ? -std::numeric_limits<double>::infinity() : s; }

struct Candidate {
    std::string policy;
    QuantParams params;
};

bool same(const QuantParams& a, const QuantParams& b) {
    return a.type == b.type && a.scales == b.scales && a.zero_points == b.zero_points;
}

class Search {
public:
    Search(Lowering& lowering, const std::map<std::string, TensorStats>& stats, const CalibOptions& options)
        : graph_(lowering.graph()), plan_(lowering.plan()), stats_(stats), options_(options), lowering_(lowering),
          batch_(fixed_batch(lowering.graph())) {
        if (options.policy) {
            policies_.push_back(make_policy(*options.policy, options.policy_options));
        } else {
            for (PolicyKind kind : kAllPolicies) policies_.push_back(make_policy(kind, options.policy_options));
        }
        run_options_.threads =
            sim::resolve_threads(options.threads);
    }

    SearchResult run(const Feed& slice) {
        walk_.emplace(graph_, slice, batch_, run_options_.threads);
        const std::vector<std::vector<std::string>> released = released_after_node();
        precompute_candidates();
        for (const std::string& constant : plan_.constants) record(constant, candidates(constant).front());
        for (const ValueInfo& in : graph_.inputs)
            if (plan_.tied_to.count(in.name)) choose_input(in.name);
        for (std::size_t i = 0; i < graph_.nodes.size(); ++i) {
            walk_->run_node(i);
            if (plan_.placement[i].role != NodeRole::shape) choose_node(i);
            if (plan_.placement[i].role == NodeRole::mac) count_overflows(i);
            for (const std::string& name : released[i]) {
                walk_->release(name);
                values_.erase(name);
            }
            if (options_.progress) options_.progress("search", static_cast<std::int64_t>(i + 1),
                                                     static_cast<std::int64_t>(graph_.nodes.size()));
        }
        return std::move(result_);
    }

private:
    // released[i]: the values nothing reads after node i (the search reads a
    // value at its producer and at its readers, as the FP32 model does; a
    // host node also reads its host region's activations).
    std::vector<std::vector<std::string>> released_after_node() const {
        std::map<std::string, std::size_t> last;
        for (std::size_t i = 0; i < graph_.nodes.size(); ++i) {
            for (const std::string& in : graph_.nodes[i].inputs)
                if (!in.empty() && !graph_.initializer(in)) last[in] = i;
            if (plan_.placement[i].role != NodeRole::shape)
                for (const std::string& in : lowering_.operand_inputs(i)) last[in] = i;
            for (const std::string& out : graph_.nodes[i].outputs)
                if (!out.empty()) last[out] = i;
        }
        std::vector<std::vector<std::string>> released(graph_.nodes.size());
        for (const auto& [name, i] : last) released[i].push_back(name);
        return released;
    }

    // The FP32 value the search compares a quantized tensor against, or
    // nullptr for tensors that are not quantized (shape arithmetic).
    const Tensor* reference(const std::string& name) {
        if (!plan_.tied_to.count(name)) return nullptr;
        const Tensor* t = walk_->find(name);
        return t && t->dtype() == DType::f32 ? t : nullptr;
    }
    const Tensor& required_reference(const std::string& name) {
        const Tensor* t = reference(name);
        if (!t) throw std::logic_error("search: no FP32 value of tensor '" + name + "'");
        return *t;
    }

    // Every root's candidates depend only on its statistics: compute them
    // all up front, one tensor per task (the entropy and error searches cost
    // milliseconds per tensor). A failure is kept and raised when the search
    // reaches that tensor, so the error reported is the first in graph order.
    void precompute_candidates() {
        std::vector<std::string> roots;
        for (const auto& [tensor, root] : plan_.tied_to)
            if (tensor == root) roots.push_back(root);
        std::vector<std::vector<Candidate>> lists(roots.size());
        std::vector<std::exception_ptr> errors(roots.size());
        sim::parallel_for(static_cast<std::int64_t>(roots.size()), run_options_.threads, [&](std::int64_t r) {
            try {
                lists[static_cast<std::size_t>(r)] = make_candidates(roots[static_cast<std::size_t>(r)]);
            } catch (...) {
                errors[static_cast<std::size_t>(r)] = std::current_exception();
            }
        }, sim::Schedule::dynamic);
        for (std::size_t r = 0; r < roots.size(); ++r) {
            if (errors[r]) candidate_errors_[roots[r]] = errors[r];
            else candidates_[roots[r]] = std::move(lists[r]);
        }
    }

    const std::vector<Candidate>& candidates(const std::string& root) {
        if (auto e = candidate_errors_.find(root); e != candidate_errors_.end()) std::rethrow_exception(e->second);
        auto it = candidates_.find(root);
        if (it == candidates_.end()) it = candidates_.emplace(root, make_candidates(root)).first;
        return it->second;
    }

    std::vector<Candidate> make_candidates(const std::string& root) const {
        if (options_.start_from)
            if (const CTableTensor* t = options_.start_from->find_tensor(root))
                return {{t->policy.empty() ? "ctable" : t->policy,
                         conform_to_constraints(quant_params(*t), plan_.constraints.at(root))}};
        if (plan_.constants.count(root)) return {constant_candidate(root)};
        auto st = stats_.find(root);
        if (st == stats_.end() || st->second.count == 0)
            throw UserError(fmt::format("no finite FP32 values were observed for tensor '{}'", root));
        std::vector<Candidate> out;
        for (const auto& policy : policies_) {
            QuantParams p = candidate_params(st->second, *policy, plan_.constraints.at(root));
            const bool duplicate = std::any_of(out.begin(), out.end(), [&](const Candidate& c) { return same(c.params, p); });
            if (!duplicate) out.push_back({policy->name(), std::move(p)});
        }
        return out;
    }

    Candidate constant_candidate(const std::string& root) const {
        return {"constant", constant_params(graph_, root, plan_.constraints.at(root))};
    }

    void record(const std::string& root, const Candidate& c) {
        result_.quant[root] = c.params;
        result_.policy[root] = c.policy;
    }

    void choose_input(const std::string& name) {
        const Tensor& ref = required_reference(name);
        note_representative(name);
        double best = -std::numeric_limits<double>::infinity();
        for (const Candidate& c : candidates(name)) {
            const sim::QTensor q = sim::quantize_tensor(to_float_tensor(ref), c.params);
            const double s = score(guarded(name, sqnr(ref, q), c.params));
            if (s > best || !result_.quant.count(name)) {
                best = s;
                record(name, c);
                values_[name] = q;
                result_.tensor_sqnr[name] = s;
            }
        }
    }

    // Runs node i bit-accurately on the slice with the given parameters.
    sim::GraphResult run_node_quantized(std::size_t i, const ActivationQuant& quant) const {
        const sim::QuantGraph g = lowering_.lower_single(i, quant);
        std::vector<const sim::QTensor*> inputs;
        for (const std::string& in : lowering_.activation_inputs(i)) inputs.push_back(&values_.at(in));
        sim::GraphResult r;
        // Engine layers treat every sample alike, and a reshape-like layout
        // node (sim::ReshapeLayer, batch dimension inferred) only re-views
        // its values, so they take the whole slice at once even when the
        // model's batch is fixed: their first dimension need not be the batch
        // (fuse_matmul_bias's [-1, K] rows). Host and other layout nodes run
        // the model's own kernels, so they go in chunks of it.
        const NodeRole role = plan_.placement[i].role;
        const bool reshape = role == NodeRole::layout && std::holds_alternative<sim::ReshapeLayer>(g.nodes.at(0).params);
        const std::int64_t batch = role == NodeRole::mac || role == NodeRole::vector || reshape ? 0 : batch_;
        r.raw_outputs = run_raw_batched(g, inputs, batch, run_options_);
        return r;
    }

    // A MAC layer's accumulators do not depend on its output quantization:
    // compute them once (sim::mac_accumulators), then finish each candidate
    // with the layer's own per-element rule (sim::AccumulatorFinisher). Only
    // for accumulators that fit int32, the storage of QTensor values.
    // The accumulators are kept while the layer is chosen (AccumulatorMemo).
    using Accumulators = AccumulatorMemo::Accumulators;
    std::shared_ptr<Accumulators> mac_accumulators(std::size_t i) {
        const sim::QuantGraph g = lowering_.lower_single(i, result_.quant);
        const sim::MacLayer& layer = std::get<sim::MacLayer>(g.nodes.at(0).params);
        if (layer.accumulator.bits > 32) return nullptr;
        sim::MacOptions mac_options;
        mac_options.threads = run_options_.threads;
        return acc_memo_.get(i, values_.at(lowering_.activation_inputs(i).at(0)), layer, mac_options);
    }

    // Steps 5-6 of MAC layer i under one output quantization, as a function
    // of the accumulator value (step tables where they pay, sim::mac_finish
    // elsewhere: sim::AccumulatorFinisher).
    struct MacFinisher {
        sim::QuantGraph graph;   // node i lowered with the candidate's parameters
        sim::AccumulatorFinisher finisher;

        const sim::QuantParams& output_quant() const {
            return graph.tensors.at(static_cast<std::size_t>(graph.outputs.at(0))).quant;
        }
    };

    MacFinisher mac_finisher(std::size_t i, const sim::Shape& acc_shape, const ActivationQuant& quant,
                             int threads) const {
        sim::QuantGraph g = lowering_.lower_single(i, quant);
        sim::AccumulatorFinisher finisher(std::get<sim::MacLayer>(g.nodes.at(0).params), acc_shape, threads);
        return {std::move(g), std::move(finisher)};
    }

    // The layer's output: the accumulators finished in place.
    sim::GraphResult finish_mac(const MacFinisher& f, sim::MacAccumulators<std::int32_t> acc) const {
        sim::QTensor out;
        out.shape = std::move(acc.shape);
        out.quant = f.output_quant();
        out.values = std::move(acc.values);
        f.finisher.finish(out.values.data(), out.values.data(), run_options_.threads);
        sim::GraphResult r;
        r.raw_outputs.push_back(std::move(out));
        return r;
    }

    // The SQNR of finish_mac(f, acc) against FP32 over the scoring parts
    // (scoring_parts.hpp), without materializing the output: on one thread
    // (the candidates run in parallel) or, for a single evaluation, finished
    // on `threads` workers into a scratch copy first. The same pairs go into
    // the same sums in the same order either way (SqnrSums' lanes follow the
    // element count), so the SQNR has the same bits.
    std::vector<std::optional<double>> mac_sqnrs(std::size_t i, const sim::MacAccumulators<std::int32_t>& acc,
                                                 const MacFinisher& f, int threads = 1) {
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

    // Whether mac_sqnrs scores all of MAC layer i's output (else the winner's
    // SQNR is taken again over all of it).
    static bool scored_whole(const sim::AccumulatorFinisher& f) {
        return scores_everything(scoring_parts(f.runs(), f.run_length(), f.channels()), f.runs(), f.run_length());
    }

    // The SQNR of each non-empty output of node i against its FP32 value
    // (nullopt where the output is not quantized).
    std::vector<std::optional<double>> output_sqnrs(std::size_t i, const sim::GraphResult& r) {
        std::vector<std::optional<double>> out;
        std::size_t k = 0;
        for (const std::string& name : graph_.nodes[i].outputs) {
            if (name.empty()) continue;
            const Tensor* ref = reference(name);
            out.push_back(ref ? std::optional<double>(sqnr(*ref, r.raw_outputs.at(k))) : std::nullopt);
            ++k;
        }
        return out;
    }

    static double total_score(const std::vector<std::optional<double>>& sqnrs) {
        double total = 0;
        for (const auto& s : sqnrs)
            if (s) total += score(*s);
        return total;
    }

    // The slice SQNR of a tensor under candidate params, capped by the SQNR
    // the params' grid gives on everything the calibration statistics saw
    // (calibration_sqnr_db). The slice is a few samples: a candidate must not
    // win by clipping values other calibration samples hold (a wake-word
    // detector's rare positives, a detector's rare strong responses). When
    // the slice holds less than a quarter of the tensor's mean energy over
    // the calibration data, its SQNR ranks candidates by values that barely
    // count, and the whole-data figure alone decides.
    double guarded(const std::string& tensor, double slice_sqnr, const QuantParams& params) const {
        auto st = stats_.find(tensor);
        if (st == stats_.end() || plan_.constants.count(tensor)) return slice_sqnr;
        const double whole = calibration_sqnr_db(st->second, params);
        auto r = representative_.find(tensor);
        return r != representative_.end() && !r->second ? whole : std::min(slice_sqnr, whole);
    }

    // Whether the slice's FP32 values of tensor carry at least a quarter of
    // its mean energy over the calibration data (guarded). Set before the
    // candidates are judged in parallel.
    void note_representative(const std::string& tensor) {
        auto st = stats_.find(tensor);
        const Tensor* ref = reference(tensor);
        if (st == stats_.end() || !ref || ref->numel() == 0) return;
        double sum = 0.0;
        const float* v = ref->data<float>();
        for (std::int64_t k = 0; k < ref->numel(); ++k) sum += double(v[k]) * double(v[k]);
        representative_[tensor] = sum / double(ref->numel()) >= 0.25 * calibration_mean_square(st->second);
    }

    // Candidate k's score for node i: total_score of its outputs' SQNRs,
    // each guarded for the outputs whose quantization it chooses.
    double candidate_score(std::size_t i, const std::vector<std::optional<double>>& sqnrs,
                           const ActivationQuant& quant) const {
        std::vector<std::optional<double>> capped = sqnrs;
        std::size_t k = 0;
        for (const std::string& out : graph_.nodes[i].outputs) {
            if (out.empty()) continue;
            if (k < capped.size() && capped[k] && plan_.root(out) == out && quant.count(out))
                capped[k] = guarded(out, *capped[k], quant.at(out));
            ++k;
        }
        return total_score(capped);
    }

    void keep_outputs(std::size_t i, sim::GraphResult& r, const std::vector<std::optional<double>>& sqnrs) {
        std::size_t k = 0;
        for (const std::string& out : graph_.nodes[i].outputs) {
            if (out.empty()) continue;
            if (sqnrs.at(k)) result_.tensor_sqnr[out] = *sqnrs[k];
            values_[out] = std::move(r.raw_outputs.at(k));
            ++k;
        }
    }

    // Sets node i's input moments from the FP32 slice, so its weight
    // clipping minimizes the layer-output error (input_moments.hpp).
    void set_moments(std::size_t i) {
        const sim::QuantGraph g = lowering_.lower_single(i, result_.quant);
        const sim::MacLayer& layer = std::get<sim::MacLayer>(g.nodes.at(0).params);
        InputMoments m = input_moments(layer, required_reference(lowering_.activation_inputs(i).at(0)), run_options_.threads);
        if (m.k > 0) lowering_.set_input_moments(graph_.nodes[i].name, std::move(m));
    }

    // Node i's weight quantization: scales clipped with its input moments,
    // then, with --adaround, the learned rounding on those scales.
    void set_weight_quant(std::size_t i) {
        set_moments(i);
        if (options_.adaround) learn_rounding(i);
    }

    // AdaRound of MAC layer i against its FP32 output with the quantized
    // upstream in place, on the slice (learned_rounding.hpp). Kept only where
    // it raises the layer's output SQNR judged by the simulator under the
    // recorded output quantization, so it never makes a layer worse on the
    // slice. Runs before the bias correction, which then corrects the
    // rounding chosen.
    void learn_rounding(std::size_t i) {
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

    // Sets node i's bias correction from the slice, with the quantized
    // upstream in place (bias_correction.hpp). The output quantization must
    // be recorded (any candidate: the correction is taken before requant).
    void correct_bias(std::size_t i) {
        CTableLayer record;
        const sim::QuantGraph g = lowering_.lower_single(i, result_.quant, &record);
        const sim::MacLayer& layer = std::get<sim::MacLayer>(g.nodes.at(0).params);
        const std::string input = lowering_.activation_inputs(i).at(0);
        lowering_.set_bias_correction(graph_.nodes[i].name,
                                      bias_correction(layer, lowering_.mac_weight(i), record.weight_scale,
                                                      required_reference(input), values_.at(input),
                                                      run_options_.threads));
    }

    // Whether tensor (a root) is a model output, directly or through layout.
    bool feeds_graph_output(const std::string& root) const {
        for (const ValueInfo& o : graph_.outputs)
            if (plan_.tied_to.count(o.name) && plan_.root(o.name) == root) return true;
        return false;
    }

    // A lookup-table op that writes a model output: every candidate range is
    // widened to the table's image, f over every code of the input's grid.
    // The calibration data may not reach values the evaluation data does (a
    // classifier's confident positives); a table clipping f where its input
    // grid still resolves it would cut them at the calibration maximum
    // (measured: 6 dB on a wake-word head). Inside the network the search's
    // choice stands: the next layer's range bounds what matters.
    void widen_to_table_image(std::size_t i, const std::string& root, std::vector<Candidate>& cands) {
        const Node& node = graph_.nodes[i];
        if (plan_.placement[i].role != NodeRole::vector || !is_lut_op(node.op_type) || !feeds_graph_output(root))
            return;
        const QuantParams& x = result_.quant.at(plan_.root(node.inputs.at(0)));
        const arch::ValueRange codes = x.range();
        std::vector<float> xs;
        for (std::int64_t q = codes.min; q <= codes.max; ++q) xs.push_back(sim::dequantize(q, x.scale(0), x.zero_point(0)));
        const Tensor in = Tensor::from_vector<float>({static_cast<std::int64_t>(xs.size())}, xs);
        std::vector<const Tensor*> inputs{&in};
        for (std::size_t k = 1; k < node.inputs.size(); ++k)
            inputs.push_back(node.inputs[k].empty() ? nullptr : graph_.initializer(node.inputs[k]));
        double lo = 0.0, hi = 0.0;
        for (float v : run_node(node, inputs, graph_.opset).at(0).to_floats())
            if (std::isfinite(v)) {
                lo = std::min(lo, double(v));
                hi = std::max(hi, double(v));
            }
        const TensorConstraints& c = plan_.constraints.at(root);
        const ScaleOptions options = scale_options(c);
        for (Candidate& cand : cands) {
            const QuantParams& p = cand.params;
            const arch::ValueRange r = p.range();
            const ClipRange range{std::min(lo, p.scale(0) * double(r.min - p.zero_point(0))),
                                  std::max(hi, p.scale(0) * double(r.max - p.zero_point(0)))};
            cand.params = activation_params(range, p.type, c.restricted, options);
        }
    }

    // The output SQNR of MAC layer i under the recorded quantization (its
    // first candidate), from its accumulators; nullopt when they do not fit
    // int32 or the output is not compared.
    std::optional<double> recorded_sqnr(std::size_t i) {
        const std::shared_ptr<Accumulators> acc = mac_accumulators(i);
        if (!acc) return std::nullopt;
        const MacFinisher f = mac_finisher(i, acc->shape, result_.quant, run_options_.threads);
        return mac_sqnrs(i, *acc, f, run_options_.threads).at(0);
    }

    // Bias correction, kept only where it raises the layer's output SQNR on
    // the slice under its first candidate. With a few samples and a heavily
    // quantized upstream the estimated mean shift can do worse than none
    // (IS-Net's dilated RSU blocks: 10-14 dB alone with it, 30-35 without).
    void correct_bias_if_better(std::size_t i, bool single_output) {
        const std::optional<double> before = single_output ? recorded_sqnr(i) : std::nullopt;
        correct_bias(i);
        if (!before) return;
        const std::optional<double> after = recorded_sqnr(i);
        if (after && score(*after) >= score(*before)) return;
        const std::size_t channels = static_cast<std::size_t>(lowering_.mac_weight(i).dim(0));
        lowering_.set_bias_correction(graph_.nodes[i].name, std::vector<double>(channels, 0.0));
    }

    // MAC layer i as lowered now (its weight quantization as set so far).
    sim::MacLayer lowered_mac(std::size_t i) const {
        const sim::QuantGraph g = lowering_.lower_single(i, result_.quant);
        return std::get<sim::MacLayer>(g.nodes.at(0).params);
    }

    // Accumulator-aware weights (CalibOptions::accumulator_aware) for MAC
    // layer i when some input can overflow its accumulator with the weights
    // as normally quantized; otherwise nothing changes. `bound` takes the
    // bounded scales. `auto` keeps the weights as normally quantized where
    // they overflow no element of the slice (bounded scales are coarser:
    // they could only trade rounding error, and judging 8 fractions was a
    // third of IS-Net's calibration); elsewhere it tries the clipped scales,
    // the bounded ones and
    // fractions of the way between (overflow rare and cheap rather than
    // impossible), each simulated on the slice with the arch's wrap or
    // saturate under the first output candidate, and keeps the fraction with
    // the least output error (ties: the finer scales). One fraction for the
    // whole layer: chosen per channel, the fractions fit the slice's own
    // extremes and overflow on others (oww_alexa on acc16: 32.8 dB on the
    // slice but 9.2 dB on the evaluation rows, against 16.8 dB per layer).
    // Where it cannot be judged (no FP32 reference, several outputs,
    // per-channel outputs) it takes the bound, the safe choice. The bias is
    // then corrected for the chosen weights.
    // Learned rounding (AdaRound) belongs to the clipped scales it was
    // learned for, and the bound holds for nearest rounding only (a flipped
    // weight may exceed it): a layer whose scales the bound changes rounds
    // to nearest, in the judging as in the result.
    void choose_accumulator_bound(std::size_t i, bool single_output) {
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

    // Whether MAC layer i as lowered now wraps or saturates its accumulator
    // on some element of the slice.
    bool overflows_on_slice(std::size_t i) const {
        const sim::QTensor& x = values_.at(lowering_.activation_inputs(i).at(0));
        return accumulator_overflows(lowered_mac(i), x, run_options_.threads).overflowed_outputs > 0;
    }

    static constexpr double kBoundFractions[] = {0.0, 0.0625, 0.125, 0.25, 0.375, 0.5, 0.75, 1.0};

    // Per kBoundFractions entry: the squared output error on the slice
    // (output_squared_error), or nullopt when it cannot be judged.
    std::optional<std::vector<double>> fraction_errors(std::size_t i, const std::vector<bool>& learned) {
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

    // The kBoundFractions entry with the least error (the first on ties).
    static std::vector<double> least_error_fractions(const std::vector<double>& errors) {
        const auto best = std::min_element(errors.begin(), errors.end()) - errors.begin();
        return {kBoundFractions[best]};
    }

    // What MAC layer i's accumulator does on the slice with the chosen
    // quantization (SearchResult::accumulator).
    void count_overflows(std::size_t i) {
        result_.accumulator[graph_.nodes[i].name] =
            accumulator_overflows(lowered_mac(i), values_.at(lowering_.activation_inputs(i).at(0)), run_options_.threads);
    }

    void choose_node(std::size_t i) {
        const Node& node = graph_.nodes[i];
        const bool mac = plan_.placement[i].role == NodeRole::mac;
        const bool correct = mac && options_.bias_correction;
        std::vector<std::string> free_roots;
        for (const std::string& out : node.outputs)
            if (!out.empty() && plan_.root(out) == out) free_roots.push_back(out);
        if (free_roots.empty()) {
            if (mac) set_weight_quant(i);
            if (correct) correct_bias(i);
            if (mac) choose_accumulator_bound(i, true);
            sim::GraphResult r = run_node_quantized(i, result_.quant);
            keep_outputs(i, r, output_sqnrs(i, r));
            return;
        }
        // Candidate k of every free output is tried together (nodes with
        // several outputs are rare and host-run).
        std::vector<std::vector<Candidate>> per_output;
        std::size_t count = 0;
        for (const std::string& root : free_roots) {
            per_output.push_back(candidates(root));
            widen_to_table_image(i, root, per_output.back());
            count = std::max(count, per_output.back().size());
        }
        std::shared_ptr<Accumulators> acc;
        if (mac) {
            for (std::size_t o = 0; o < free_roots.size(); ++o) record(free_roots[o], per_output[o][0]);
            set_weight_quant(i);
            if (correct) correct_bias_if_better(i, free_roots.size() == 1);
            choose_accumulator_bound(i, free_roots.size() == 1);
        }
        if (plan_.placement[i].role == NodeRole::mac && free_roots.size() == 1) {
            record(free_roots[0], per_output[0][0]);
            acc = mac_accumulators(i);
        }
        acc_memo_.clear();   // the node's last request: acc is now the only reference
        // The candidates are independent: each is judged on a worker with its
        // own copy of the activation quantization. The lowering's weight
        // cache is warm (mac_accumulators / correct_bias lowered the node)
        // and the FP32 references are fetched first, so the workers only
        // read shared state. The winner is picked in candidate order, as a
        // sequential loop would.
        std::vector<ActivationQuant> quants(count, result_.quant);
        std::vector<std::vector<std::size_t>> picks(count);
        for (std::size_t k = 0; k < count; ++k)
            for (std::size_t o = 0; o < free_roots.size(); ++o) {
                picks[k].push_back(std::min(k, per_output[o].size() - 1));
                quants[k][free_roots[o]] = per_output[o][picks[k].back()].params;
            }
        if (!acc) lowering_.lower_single(i, quants[0]);   // warms the weight cache (multi-output MAC nodes)
        for (const std::string& out : node.outputs)
            if (!out.empty()) reference(out);
        for (const std::string& root : free_roots) note_representative(root);
        // Candidates are scored without keeping their outputs (a MAC layer's
        // are not even materialized: mac_sqnrs); only the winner's are kept.
        std::vector<char> judged(count, 0);
        std::vector<double> scores(count, 0.0);
        std::vector<std::vector<std::optional<double>>> sqnrs(count);
        std::vector<std::optional<MacFinisher>> finishers(count);
        std::vector<std::optional<UserError>> errors(count);
        sim::parallel_for(static_cast<std::int64_t>(count), run_options_.threads, [&](std::int64_t t) {
            const auto k = static_cast<std::size_t>(t);
            try {
                if (acc) {
                    finishers[k] = mac_finisher(i, acc->shape, quants[k], 1);
                    sqnrs[k] = mac_sqnrs(i, *acc, *finishers[k]);
                } else {
                    sqnrs[k] = output_sqnrs(i, run_node_quantized(i, quants[k]));
                }
                scores[k] = candidate_score(i, sqnrs[k], quants[k]);
                judged[k] = 1;
            } catch (const UserError& e) {
                errors[k] = e;
            }
        }, sim::Schedule::dynamic);
        double best = -std::numeric_limits<double>::infinity();
        std::optional<std::size_t> winner;
        std::optional<UserError> first_error;
        for (std::size_t k = 0; k < count; ++k) {
            if (errors[k] && !first_error) first_error = errors[k];
            if (judged[k] && (!winner || scores[k] > best)) {
                best = scores[k];
                winner = k;
            }
        }
        if (!winner) throw *first_error;
        for (std::size_t o = 0; o < free_roots.size(); ++o) record(free_roots[o], per_output[o][picks[*winner][o]]);
        // The winner's output: a MAC layer's accumulators finished in place,
        // another node run again (holding every candidate's output cost
        // `count` outputs of memory; one more run costs little).
        sim::GraphResult kept =
            acc ? finish_mac(*finishers[*winner], std::move(*acc)) : run_node_quantized(i, quants[*winner]);
        const bool partly_scored = acc && !scored_whole(finishers[*winner]->finisher);
        keep_outputs(i, kept, partly_scored ? output_sqnrs(i, kept) : sqnrs[*winner]);
        isolate(i);
    }

    // The layer "in isolation" (AIMET's per-layer quantization analysis):
    // node i run bit-accurately on its FP32 inputs quantized with their
    // chosen parameters, its output against FP32. Beside the accumulated
    // SQNR (tensor_sqnr) it tells a layer's own error from its inherited one.
    //
    // It is a diagnostic, not a choice, so it runs on the first quarter of
    // the slice's rows (4 of the 16 samples by default; all of fewer than 8)
    // where every input and output holds the same rows: the outputs' SQNR is
    // taken over those rows (sim::sqnr_db reads as many reference values as
    // it gets). Running each layer a second time on the whole slice was a
    // fifth of calib's time.
    void isolate(std::size_t i) {
        const NodeRole role = plan_.placement[i].role;
        if (role != NodeRole::mac && role != NodeRole::vector) return;
        const std::vector<std::string>& activation_inputs = lowering_.activation_inputs(i);
        std::vector<const Tensor*> refs;
        for (const std::string& in : activation_inputs) {
            refs.push_back(reference(in));
            if (!refs.back()) return;
        }
        const std::int64_t rows = isolation_rows(i, refs);
        std::vector<sim::QTensor> inputs;
        for (std::size_t k = 0; k < refs.size(); ++k) {
            const Tensor part = rows > 0 ? slice_batch(*refs[k], 0, rows) : *refs[k];
            const QuantParams& quant = result_.quant.at(plan_.root(activation_inputs[k]));
            inputs.push_back(sim::quantize_tensor(to_float_tensor(part), quant));
        }
        std::vector<const sim::QTensor*> ptrs;
        for (const sim::QTensor& t : inputs) ptrs.push_back(&t);
        const std::vector<sim::QTensor> outputs =
            run_raw_batched(lowering_.lower_single(i, result_.quant), ptrs, 0, run_options_);
        std::size_t k = 0;
        for (const std::string& out : graph_.nodes[i].outputs) {
            if (out.empty()) continue;
            const sim::QTensor& q = outputs.at(k++);
            const Tensor* ref = reference(out);
            if (!ref) continue;
            if (q.size() != (rows > 0 ? ref->numel() / ref->dim(0) * rows : ref->numel()))
                throw std::logic_error("search: simulated and FP32 tensors differ in size");
            result_.isolated_sqnr[out] = sim::sqnr_db(ref->data<float>(), q);   // over the leading rows
        }
    }

    // The leading rows isolate() runs on, or 0 for all: a quarter of the
    // rows when every activation input and every FP32 output of node i has
    // the same first dimension (so the rows correspond).
    std::int64_t isolation_rows(std::size_t i, const std::vector<const Tensor*>& inputs) {
        std::vector<const Tensor*> all = inputs;
        for (const std::string& out : graph_.nodes[i].outputs)
            if (!out.empty()) all.push_back(reference(out));
        std::int64_t rows = -1;
        for (const Tensor* t : all) {
            if (!t || t->rank() == 0) return 0;
            if (rows >= 0 && t->dim(0) != rows) return 0;
            rows = t->dim(0);
        }
        return rows >= 8 ? rows / 4 : 0;   // at least 2 rows; fewer than 8 cost little in full
    }

    const Graph& graph_;
    const QuantizationPlan& plan_;
    const std::map<std::string, TensorStats>& stats_;
    const CalibOptions& options_;
    Lowering& lowering_;
    std::int64_t batch_;   // the model's fixed batch (0: any): graph runs go in chunks of it
    std::map<std::string, bool> representative_;   // note_representative
    std::vector<std::unique_ptr<Policy>> policies_;
    sim::RunOptions run_options_;
    std::optional<Fp32Walk> walk_;   // the FP32 model on the slice, node by node
    std::map<std::string, std::vector<Candidate>> candidates_;   // per root
    std::map<std::string, std::exception_ptr> candidate_errors_;
    std::map<std::string, sim::QTensor> values_;
    AccumulatorMemo acc_memo_;
    SearchResult result_;
};

}  // namespace

SearchResult search_activation_quant(Lowering& lowering, const std::map<std::string, TensorStats>& stats,
                                     const Feed& slice, const CalibOptions& options) {
    return Search(lowering, stats, options).run(slice);
}

}  // namespace bitnpu::calib
