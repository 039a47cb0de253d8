// The per-layer scale search (search.hpp): the walk over the nodes, the
// output candidates and their choice, the in-isolation analysis. A MAC
// layer's own steps are in search_mac_layer.cpp.
#include "search_impl.hpp"

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

bool same(const QuantParams& a, const QuantParams& b) {
    return a.type == b.type && a.scales == b.scales && a.zero_points == b.zero_points;
}

}  // namespace

Search::Search(Lowering& lowering, const std::map<std::string, TensorStats>& stats, const CalibOptions& options)
    : graph_(lowering.graph()), plan_(lowering.plan()), stats_(stats), options_(options), lowering_(lowering),
      batch_(fixed_batch(lowering.graph())) {
    if (options.policy) {
        policies_.push_back(make_policy(*options.policy, options.policy_options));
    } else {
        for (PolicyKind kind : kAllPolicies) policies_.push_back(make_policy(kind, options.policy_options));
    }
    run_options_.threads = sim::resolve_threads(options.threads);
}

SearchResult Search::run(const Feed& slice) {
    walk_.emplace(graph_, slice, batch_, run_options_.threads);
    const std::vector<std::vector<std::string>> released = released_after_node();
    find_table_readings();
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

std::vector<std::vector<std::string>> Search::released_after_node() const {
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

const Tensor* Search::reference(const std::string& name) {
    if (!plan_.tied_to.count(name)) return nullptr;
    const Tensor* t = walk_->find(name);
    return t && t->dtype() == DType::f32 ? t : nullptr;
}

const Tensor& Search::required_reference(const std::string& name) {
    const Tensor* t = reference(name);
    if (!t) throw std::logic_error("search: no FP32 value of tensor '" + name + "'");
    return *t;
}

void Search::precompute_candidates() {
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

const std::vector<Candidate>& Search::candidates(const std::string& root) {
    if (auto e = candidate_errors_.find(root); e != candidate_errors_.end()) std::rethrow_exception(e->second);
    auto it = candidates_.find(root);
    if (it == candidates_.end()) it = candidates_.emplace(root, make_candidates(root)).first;
    return it->second;
}

std::vector<Candidate> Search::make_candidates(const std::string& root) const {
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
    for (Candidate& c : table_domain_candidates(root, st->second, out))
        if (std::none_of(out.begin(), out.end(), [&](const Candidate& o) { return same(o.params, c.params); }))
            out.push_back(std::move(c));
    return out;
}

Candidate Search::constant_candidate(const std::string& root) const {
    return {"constant", constant_params(graph_, root, plan_.constraints.at(root))};
}

void Search::record(const std::string& root, const Candidate& c) {
    result_.quant[root] = c.params;
    result_.policy[root] = c.policy;
}

void Search::choose_input(const std::string& name) {
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

sim::GraphResult Search::run_node_quantized(std::size_t i, const ActivationQuant& quant) const {
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

std::vector<std::optional<double>> Search::output_sqnrs(std::size_t i, const sim::GraphResult& r) {
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

double Search::total_score(const std::vector<std::optional<double>>& sqnrs) {
    double total = 0;
    for (const auto& s : sqnrs)
        if (s) total += score(*s);
    return total;
}

double Search::guarded(const std::string& tensor, double slice_sqnr, const QuantParams& params) const {
    auto st = stats_.find(tensor);
    if (st == stats_.end() || plan_.constants.count(tensor)) return slice_sqnr;
    const TableReading* table = table_reading(tensor);
    double whole = 0.0;
    try {
        whole = table ? calibration_sqnr_db(st->second, params, table->f) : calibration_sqnr_db(st->second, params);
    } catch (const std::exception&) {
        whole = calibration_sqnr_db(st->second, params);   // the op's kernel refuses the bin centers
    }
    auto r = representative_.find(tensor);
    return r != representative_.end() && !r->second ? whole : std::min(slice_sqnr, whole);
}

void Search::note_representative(const std::string& tensor) {
    auto st = stats_.find(tensor);
    const Tensor* ref = reference(tensor);
    if (st == stats_.end() || !ref || ref->numel() == 0) return;
    double sum = 0.0;
    const float* v = ref->data<float>();
    for (std::int64_t k = 0; k < ref->numel(); ++k) sum += double(v[k]) * double(v[k]);
    representative_[tensor] = sum / double(ref->numel()) >= 0.25 * calibration_mean_square(st->second);
}

double Search::candidate_score(std::size_t i, const std::vector<std::optional<double>>& sqnrs,
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

void Search::keep_outputs(std::size_t i, sim::GraphResult& r, const std::vector<std::optional<double>>& sqnrs) {
    std::size_t k = 0;
    for (const std::string& out : graph_.nodes[i].outputs) {
        if (out.empty()) continue;
        if (sqnrs.at(k)) result_.tensor_sqnr[out] = *sqnrs[k];
        values_[out] = std::move(r.raw_outputs.at(k));
        ++k;
    }
}

bool Search::feeds_graph_output(const std::string& root) const {
    for (const ValueInfo& o : graph_.outputs)
        if (plan_.tied_to.count(o.name) && plan_.root(o.name) == root) return true;
    return false;
}

void Search::widen_to_table_image(std::size_t i, const std::string& root, std::vector<Candidate>& cands) {
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

void Search::choose_node(std::size_t i) {
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
    const std::vector<TableJudge> judges = table_judges(i);
    const bool through_tables = std::any_of(judges.begin(), judges.end(), [](const TableJudge& j) { return j.table; });
    sim::parallel_for(static_cast<std::int64_t>(count), run_options_.threads, [&](std::int64_t t) {
        const auto k = static_cast<std::size_t>(t);
        try {
            if (acc) {
                finishers[k] = mac_finisher(i, acc->shape, quants[k], 1);
                // Through a table with nodes between, the whole output is
                // finished: the nodes need all of it.
                if (!through_tables)
                    sqnrs[k] = mac_sqnrs(i, *acc, *finishers[k]);
                else if (judges.at(0).table->read.chain.empty())
                    sqnrs[k] = {mac_table_sqnr(*acc, *finishers[k], judges[0])};
                else
                    sqnrs[k] = judged_sqnrs(i, finish_mac(*finishers[k], *acc), judges);
            } else {
                sqnrs[k] = judged_sqnrs(i, run_node_quantized(i, quants[k]), judges);
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
    // The reported SQNR is the output's own, over all of it.
    const bool partly_scored = acc && !scored_whole(finishers[*winner]->finisher);
    keep_outputs(i, kept, partly_scored || through_tables ? output_sqnrs(i, kept) : sqnrs[*winner]);
    isolate(i);
}

void Search::find_table_readings() {
    const ReaderIndex index = reader_index(graph_, plan_);
    for (const auto& [tensor, root] : plan_.tied_to) {
        if (tensor != root || plan_.constants.count(root)) continue;
        if (std::optional<TableRead> read = lone_table_reader(graph_, plan_, root, index))
            table_readings_.emplace(root, TableReading{*read, table_function(graph_, graph_.nodes[read->reader])});
    }
}

const Search::TableReading* Search::table_reading(const std::string& root) const {
    auto it = table_readings_.find(root);
    return it == table_readings_.end() ? nullptr : &it->second;
}

std::optional<ClipRange> Search::table_domain_of(const std::string& root, const TensorStats& stats) const {
    const TableReading* table = table_reading(root);
    if (!table || options_.policy) return std::nullopt;   // a --policy asked for is the only candidate
    const std::string& out = graph_.nodes[table->read.reader].outputs.at(0);
    if (!plan_.tied_to.count(out)) return std::nullopt;
    const std::string& out_root = plan_.root(out);
    auto out_stats = stats_.find(out_root);
    if (out_stats == stats_.end() || out_stats->second.count == 0) return std::nullopt;
    const double tol = table_tolerance(out_stats->second, plan_.constraints.at(out_root).type);
    std::optional<ClipRange> range;
    try {
        range = table_domain(table->f, std::min(stats.min, 0.0), std::max(stats.max, 0.0), tol);
    } catch (const std::exception&) {
        return std::nullopt;   // the op's kernel refuses the grid: no extra candidate
    }
    return range;
}

std::vector<Candidate> Search::table_domain_candidates(const std::string& root, const TensorStats& stats,
                                                       const std::vector<Candidate>& policies) const {
    const std::optional<ClipRange> domain = table_domain_of(root, stats);
    if (!domain) return {};
    const TensorConstraints& c = plan_.constraints.at(root);
    std::vector<Candidate> out{{"table_domain", range_params(stats, *domain, c)}};
    for (const Candidate& p : policies) {
        if (p.params.per_channel()) continue;
        const arch::ValueRange codes = p.params.range();
        const double scale = p.params.scale(0), zero_point = double(p.params.zero_point(0));
        const ClipRange range{std::max(scale * (double(codes.min) - zero_point), domain->lo),
                              std::min(scale * (double(codes.max) - zero_point), domain->hi)};
        if (!(range.lo <= 0.0 && 0.0 <= range.hi && range.lo < range.hi)) continue;
        out.push_back({p.policy + "+table_domain", range_params(stats, range, c)});
    }
    return out;
}

std::vector<Search::TableJudge> Search::table_judges(std::size_t i) {
    std::vector<TableJudge> judges;
    for (const std::string& name : graph_.nodes[i].outputs) {
        if (name.empty()) continue;
        judges.emplace_back();
        const TableReading* table = plan_.tied_to.count(name) && plan_.root(name) == name ? table_reading(name) : nullptr;
        const Tensor* ref = table ? reference(name) : nullptr;
        if (!ref) continue;
        TableJudge judge;
        judge.table = table;
        for (std::size_t c : table->read.chain) {
            std::vector<const Tensor*> inputs{nullptr};
            const Node& node = graph_.nodes[c];
            for (std::size_t k = 1; k < node.inputs.size(); ++k) {
                const std::string& in = node.inputs[k];
                const Tensor* t = in.empty() ? nullptr : graph_.initializer(in);
                if (!in.empty() && !t) t = walk_->find(in);
                if (!in.empty() && !t) judge.table = nullptr;   // not computed yet: judged on its own
                inputs.push_back(t);
            }
            judge.chain_inputs.push_back(std::move(inputs));
        }
        if (!judge.table) continue;
        try {
            judge.reference = through_table(judge, *ref);
        } catch (const std::exception&) {
            continue;   // the nodes between do not run on the slice as is: judged on its own
        }
        judges.back() = std::move(judge);
    }
    return judges;
}

std::vector<float> Search::through_table(const TableJudge& judge, Tensor values) const {
    const std::vector<std::size_t>& chain = judge.table->read.chain;
    // A fixed-batch model's nodes (a Resize to fixed sizes) run in chunks of
    // its batch, as the FP32 walk runs them.
    const std::int64_t rows = values.rank() > 0 ? values.dim(0) : 0;
    const std::int64_t step = batch_ > 0 && rows > batch_ && rows % batch_ == 0 ? batch_ : rows;
    std::vector<Tensor> parts;
    for (std::int64_t begin = 0; begin < rows || parts.empty(); begin += std::max<std::int64_t>(step, 1)) {
        Tensor part = step == rows ? values : slice_batch(values, begin, step);
        for (std::size_t c = 0; c < chain.size(); ++c) {
            std::vector<const Tensor*> inputs = judge.chain_inputs[c];
            inputs[0] = &part;
            part = run_node(graph_.nodes[chain[c]], inputs, graph_.opset).at(0);
        }
        parts.push_back(std::move(part));
        if (step == rows) break;
    }
    return judge.table->f(concat_batch(parts).to_floats());
}

std::vector<std::optional<double>> Search::judged_sqnrs(std::size_t i, const sim::GraphResult& r,
                                                       const std::vector<TableJudge>& judges) {
    std::vector<std::optional<double>> out = output_sqnrs(i, r);
    for (std::size_t k = 0; k < judges.size(); ++k) {
        if (!judges[k].table) continue;
        const sim::FloatTensor test = sim::dequantize_tensor(r.raw_outputs.at(k));
        const std::vector<float> f_test = through_table(judges[k], Tensor::from_vector<float>(test.shape, test.data));
        if (f_test.size() != judges[k].reference.size())
            throw std::logic_error("search: a table reader's output differs in size from its FP32 value");
        out.at(k) = sim::sqnr_db(judges[k].reference.data(), f_test.data(), f_test.size());
    }
    return out;
}

void Search::isolate(std::size_t i) {
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

std::int64_t Search::isolation_rows(std::size_t i, const std::vector<const Tensor*>& inputs) {
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

SearchResult search_activation_quant(Lowering& lowering, const std::map<std::string, TensorStats>& stats,
                                     const Feed& slice, const CalibOptions& options) {
    return Search(lowering, stats, options).run(slice);
}

}  // namespace bitnpu::calib
