// Top-1 accuracy of FP32 vs the bit-accurate simulation (evaluate.hpp).
#include "bitnpu/calibrator/evaluate.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "bitnpu/fp32/batching.hpp"
#include "bitnpu/fp32/executor.hpp"
#include "bitnpu/errors.hpp"

namespace bitnpu::calib {
namespace {

std::int64_t argmax_row(const float* row, std::int64_t n) {
    return static_cast<std::int64_t>(std::max_element(row, row + n) - row);
}

// Correct predictions in a [batch, classes] output against labels[begin..].
std::int64_t count_correct(const float* logits, const Shape& shape, const std::vector<std::int64_t>& labels,
                           std::int64_t begin) {
    if (shape.size() < 2)
        throw UserError(fmt::format("top-1 needs a [batch, classes] output, the model gives {}",
                                    shape_to_string(shape)));
    const std::int64_t rows = shape[0], classes = num_elements(shape) / shape[0];
    std::int64_t correct = 0;
    for (std::int64_t r = 0; r < rows; ++r) {
        const std::int64_t label = labels[static_cast<std::size_t>(begin + r)];
        if (label < 0 || label >= classes)
            throw UserError(fmt::format("label {} of sample {} is outside 0..{}", label, begin + r, classes - 1));
        correct += argmax_row(logits + r * classes, classes) == label;
    }
    return correct;
}

}  // namespace

Top1 evaluate_top1(const Graph& graph, const sim::QuantGraph& qgraph, const SampleSource& samples,
                   const Tensor& labels, int threads, std::int64_t batch,
                   const std::function<void(std::int64_t, std::int64_t)>& progress) {
    using Clock = std::chrono::steady_clock;
    const std::vector<std::int64_t> label_values = labels.to_int64s();
    Top1 result;
    result.samples = samples.size();
    if (result.samples == 0) throw UserError("the evaluation data holds no samples");
    if (static_cast<std::int64_t>(label_values.size()) != result.samples)
        throw UserError(fmt::format("{} evaluation samples but {} labels", result.samples, label_values.size()));
    const Executor executor(graph, {threads});
    if (const std::int64_t fixed = fixed_batch(graph); fixed > 0) {
        if (result.samples % fixed != 0)
            throw UserError(fmt::format("the model takes batches of {} samples; {} evaluation samples are not a whole "
                                        "number of batches",
                                        fixed, result.samples));
        batch = fixed;
    }
    const std::string& output = graph.outputs.at(0).name;
    sim::RunOptions run_options;
    run_options.threads = std::max(1, threads);
    for (std::int64_t begin = 0; begin < result.samples; begin += batch) {
        const std::int64_t n = std::min(batch, result.samples - begin);
        const Feed feed = samples.batch(begin, n);
        check_feed(graph, feed, begin, "evaluation data");
        auto t0 = Clock::now();
        const Tensor fp32 = executor.run(feed).at(output);
        auto t1 = Clock::now();
        std::vector<sim::FloatTensor> inputs;
        for (int id : qgraph.inputs) {
            const Tensor& t = feed.at(qgraph.tensors.at(static_cast<std::size_t>(id)).name);
            inputs.push_back({t.shape(), std::vector<float>(t.data<float>(), t.data<float>() + t.numel())});
        }
        const sim::GraphResult q = sim::run(qgraph, inputs, run_options);
        auto t2 = Clock::now();
        result.seconds_fp32 += std::chrono::duration<double>(t1 - t0).count();
        result.seconds_sim += std::chrono::duration<double>(t2 - t1).count();
        result.fp32_correct += count_correct(fp32.data<float>(), fp32.shape(), label_values, begin);
        result.sim_correct += count_correct(q.outputs.at(0).data.data(), q.outputs.at(0).shape, label_values, begin);
        if (progress) progress(begin + n, result.samples);
    }
    return result;
}

}  // namespace bitnpu::calib
