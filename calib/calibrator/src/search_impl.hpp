// The per-layer search's state and steps (private to the calibrator): one
// Search walks the graph once (search_activation_quant). Its definitions are
// split by role: search.cpp walks the nodes, makes and judges the output
// candidates and measures each layer in isolation; search_mac_layer.cpp holds
// a MAC layer's own steps (its accumulators and their scoring, the weight
// quantization, bias correction and accumulator bound).
#pragma once

#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "accumulator_memo.hpp"
#include "fp32_walk.hpp"
#include "search.hpp"
#include "table_reader.hpp"

#include "bitnpu/sim/functional/graph.hpp"
#include "bitnpu/sim/functional/mac_accumulators.hpp"

namespace bitnpu::calib {

// A comparable score: +inf SQNR (identical) beats everything, NaN loses.
inline double score(double s) { return std::isnan(s) ? -std::numeric_limits<double>::infinity() : s; }

struct Candidate {
    std::string policy;
    QuantParams params;
};

class Search {
public:
    // The search over lowering's graph and plan with the given statistics
    // and options (search_activation_quant).
    Search(Lowering& lowering, const std::map<std::string, TensorStats>& stats, const CalibOptions& options);

    SearchResult run(const Feed& slice);

private:
    // released[i]: the values nothing reads after node i (the search reads a
    // value at its producer and at its readers, as the FP32 model does; a
    // host node also reads its host region's activations).
    std::vector<std::vector<std::string>> released_after_node() const;

    // The FP32 value the search compares a quantized tensor against, or
    // nullptr for tensors that are not quantized (shape arithmetic).
    const Tensor* reference(const std::string& name);
    const Tensor& required_reference(const std::string& name);

    // Every root's candidates depend only on its statistics: compute them
    // all up front, one tensor per task (the entropy and error searches cost
    // milliseconds per tensor). A failure is kept and raised when the search
    // reaches that tensor, so the error reported is the first in graph order.
    void precompute_candidates();

    const std::vector<Candidate>& candidates(const std::string& root);

    std::vector<Candidate> make_candidates(const std::string& root) const;

    Candidate constant_candidate(const std::string& root) const;

    void record(const std::string& root, const Candidate& c);

    void choose_input(const std::string& name);

    // Runs node i bit-accurately on the slice with the given parameters.
    sim::GraphResult run_node_quantized(std::size_t i, const ActivationQuant& quant) const;

    // The SQNR of each non-empty output of node i against its FP32 value
    // (nullopt where the output is not quantized).
    std::vector<std::optional<double>> output_sqnrs(std::size_t i, const sim::GraphResult& r);

    static double total_score(const std::vector<std::optional<double>>& sqnrs);

    // The slice SQNR of a tensor under candidate params, capped by the SQNR
    // the params' grid gives on everything the calibration statistics saw
    // (calibration_sqnr_db). The slice is a few samples: a candidate must not
    // win by clipping values other calibration samples hold (a wake-word
    // detector's rare positives, a detector's rare strong responses). When
    // the slice holds less than a quarter of the tensor's mean energy over
    // the calibration data, its SQNR ranks candidates by values that barely
    // count, and the whole-data figure alone decides.
    double guarded(const std::string& tensor, double slice_sqnr, const QuantParams& params) const;

    // Whether the slice's FP32 values of tensor carry at least a quarter of
    // its mean energy over the calibration data (guarded). Set before the
    // candidates are judged in parallel.
    void note_representative(const std::string& tensor);

    // Candidate k's score for node i: total_score of its outputs' SQNRs,
    // each guarded for the outputs whose quantization it chooses.
    double candidate_score(std::size_t i, const std::vector<std::optional<double>>& sqnrs,
                           const ActivationQuant& quant) const;

    void keep_outputs(std::size_t i, sim::GraphResult& r, const std::vector<std::optional<double>>& sqnrs);

    // Whether tensor (a root) is a model output, directly or through layout.
    bool feeds_graph_output(const std::string& root) const;

    // A lookup-table op that writes a model output: every candidate range is
    // widened to the table's image, f over every code of the input's grid.
    // The calibration data may not reach values the evaluation data does (a
    // classifier's confident positives); a table clipping f where its input
    // grid still resolves it would cut them at the calibration maximum
    // (measured: 6 dB on a wake-word head). Inside the network the search's
    // choice stands: the next layer's range bounds what matters.
    void widen_to_table_image(std::size_t i, const std::string& root, std::vector<Candidate>& cands);

    void choose_node(std::size_t i);

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
    void isolate(std::size_t i);

    // The leading rows isolate() runs on, or 0 for all: a quarter of the
    // rows when every activation input and every FP32 output of node i has
    // the same first dimension (so the rows correspond).
    std::int64_t isolation_rows(std::size_t i, const std::vector<const Tensor*>& inputs);

    // ---- Tensors whose only reader is a lookup-table op (table_reader.hpp) ----
    // Such a root gets one more candidate, the range where the op's function
    // is not flat (table_domain), and every candidate of it is judged where
    // it matters: its dequantized values run through the FP32 nodes between
    // (a Resize: clipped logits interpolate differently) and the op's
    // function, against the same of the FP32 values; its guard (guarded) is
    // the function of the calibration histogram.
    struct TableReading {
        TableRead read;
        ValueMap f;
    };
    // Finds table_readings_ for every root (before the candidates are made).
    void find_table_readings();
    const TableReading* table_reading(const std::string& root) const;
    // The range of root where its table reader's f is not flat, or nullopt
    // (no lone table reader, f not flat anywhere on the calibration range,
    // or a --policy asked for).
    std::optional<ClipRange> table_domain_of(const std::string& root, const TensorStats& stats) const;
    // The candidates that range adds to the policies' ones: the range itself
    // ("table_domain", no clip where f is not flat) and each policy's range
    // cut to it ("<policy>+table_domain": the policy's clip where f is not
    // flat, none where it is). Empty where table_domain_of is nullopt.
    std::vector<Candidate> table_domain_candidates(const std::string& root, const TensorStats& stats,
                                                   const std::vector<Candidate>& policies) const;
    // How one output of the node being chosen is judged after its table
    // reader: the inputs of the nodes between (input 0 is the running
    // value), and the reference, the FP32 output run through them and f.
    struct TableJudge {
        const TableReading* table = nullptr;
        std::vector<std::vector<const Tensor*>> chain_inputs;
        std::vector<float> reference;
    };
    // Per non-empty output of node i: its TableJudge, or an inactive one
    // (table nullptr) where the output is not a root with a table reading or
    // an input of the nodes between is not known yet. Called before the
    // candidates run in parallel (it reads the FP32 walk).
    std::vector<TableJudge> table_judges(std::size_t i);
    // values (an output's dequantized candidate values) through the judge's
    // nodes and f. Thread-safe.
    std::vector<float> through_table(const TableJudge& judge, Tensor values) const;
    // output_sqnrs, judged after the table reader where the judge is active.
    std::vector<std::optional<double>> judged_sqnrs(std::size_t i, const sim::GraphResult& r,
                                                    const std::vector<TableJudge>& judges);

    // ---- MAC layer steps (search_mac_layer.cpp) ----

    // A MAC layer's accumulators do not depend on its output quantization:
    // compute them once (sim::mac_accumulators), then finish each candidate
    // with the layer's own per-element rule (sim::AccumulatorFinisher). Only
    // for accumulators that fit int32, the storage of QTensor values.
    // The accumulators are kept while the layer is chosen (AccumulatorMemo).
    using Accumulators = AccumulatorMemo::Accumulators;
    std::shared_ptr<Accumulators> mac_accumulators(std::size_t i);

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
                             int threads) const;

    // The layer's output: the accumulators finished in place.
    sim::GraphResult finish_mac(const MacFinisher& f, sim::MacAccumulators<std::int32_t> acc) const;

    // The SQNR of finish_mac(f, acc) against FP32 over the scoring parts
    // (scoring_parts.hpp), without materializing the output: on one thread
    // (the candidates run in parallel) or, for a single evaluation, finished
    // on `threads` workers into a scratch copy first. The same pairs go into
    // the same sums in the same order either way (SqnrSums' lanes follow the
    // element count), so the SQNR has the same bits.
    std::vector<std::optional<double>> mac_sqnrs(std::size_t i, const sim::MacAccumulators<std::int32_t>& acc,
                                                 const MacFinisher& f, int threads = 1);

    // mac_sqnrs judged after a table reader that reads the output directly
    // (no nodes between): f of the finished values over the scoring parts
    // against f of the FP32 output there. A Conv before a Swish or HardSwish
    // (EfficientNet, YOLO, MobileNetV3) is judged on a part, as any other.
    std::optional<double> mac_table_sqnr(const sim::MacAccumulators<std::int32_t>& acc, const MacFinisher& f,
                                         const TableJudge& judge) const;

    // Whether mac_sqnrs scores all of MAC layer i's output (else the winner's
    // SQNR is taken again over all of it).
    static bool scored_whole(const sim::AccumulatorFinisher& f);

    // Sets node i's input moments from the FP32 slice, so its weight
    // clipping minimizes the layer-output error (input_moments.hpp).
    void set_moments(std::size_t i);

    // Node i's weight quantization: scales clipped with its input moments,
    // then, with --adaround, the learned rounding on those scales.
    void set_weight_quant(std::size_t i);

    // AdaRound of MAC layer i against its FP32 output with the quantized
    // upstream in place, on the slice (learned_rounding.hpp). Kept only where
    // it raises the layer's output SQNR judged by the simulator under the
    // recorded output quantization, so it never makes a layer worse on the
    // slice. Runs before the bias correction, which then corrects the
    // rounding chosen.
    void learn_rounding(std::size_t i);

    // Sets node i's bias correction from the slice, with the quantized
    // upstream in place (bias_correction.hpp). The output quantization must
    // be recorded (any candidate: the correction is taken before requant).
    void correct_bias(std::size_t i);

    // The output SQNR of MAC layer i under the recorded quantization (its
    // first candidate), from its accumulators; nullopt when they do not fit
    // int32 or the output is not compared.
    std::optional<double> recorded_sqnr(std::size_t i);

    // Bias correction, kept only where it raises the layer's output SQNR on
    // the slice under its first candidate. With a few samples and a heavily
    // quantized upstream the estimated mean shift can do worse than none
    // (IS-Net's dilated RSU blocks: 10-14 dB alone with it, 30-35 without).
    void correct_bias_if_better(std::size_t i, bool single_output);

    // MAC layer i as lowered now (its weight quantization as set so far).
    sim::MacLayer lowered_mac(std::size_t i) const;

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
    void choose_accumulator_bound(std::size_t i, bool single_output);

    // Whether MAC layer i as lowered now wraps or saturates its accumulator
    // on some element of the slice.
    bool overflows_on_slice(std::size_t i) const;

    static constexpr double kBoundFractions[] = {0.0, 0.0625, 0.125, 0.25, 0.375, 0.5, 0.75, 1.0};

    // Per kBoundFractions entry: the squared output error on the slice
    // (output_squared_error), or nullopt when it cannot be judged.
    std::optional<std::vector<double>> fraction_errors(std::size_t i, const std::vector<bool>& learned);

    // The kBoundFractions entry with the least error (the first on ties).
    static std::vector<double> least_error_fractions(const std::vector<double>& errors);

    // What MAC layer i's accumulator does on the slice with the chosen
    // quantization (SearchResult::accumulator).
    void count_overflows(std::size_t i);

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
    std::map<std::string, TableReading> table_readings_;   // per root with a lone table reader
    SearchResult result_;
};

}  // namespace bitnpu::calib
