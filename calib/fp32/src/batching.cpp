// Running fixed-batch models on more samples than their batch (batching.hpp).
#include "bitnpu/fp32/batching.hpp"

#include <cstring>

#include <fmt/format.h>

#include "bitnpu/errors.hpp"

namespace bitnpu::calib {
namespace {

// Rows the inputs hold (all must agree), or -1 when any is a scalar.
template <class T, class RowsOf>
std::int64_t common_rows(const std::vector<T>& inputs, RowsOf rows_of) {
    std::int64_t rows = -1;
    for (const T& t : inputs) {
        const std::int64_t r = rows_of(t);
        if (r < 0 || (rows >= 0 && r != rows)) return -1;
        rows = r;
    }
    return rows;
}

std::int64_t chunk_count(std::int64_t rows, std::int64_t batch) {
    if (batch <= 0 || rows <= batch) return 1;
    if (rows % batch != 0)
        throw UserError(fmt::format("the model takes batches of {} samples; {} samples are not a whole number of "
                                    "batches",
                                    batch, rows));
    return rows / batch;
}

template <class T>
T slice_rows(const T& t, std::int64_t begin, std::int64_t count) {
    T out = t;
    const std::size_t row = t.values.size() / static_cast<std::size_t>(t.shape.at(0));
    out.shape[0] = count;
    out.values.assign(t.values.begin() + static_cast<std::ptrdiff_t>(begin * static_cast<std::int64_t>(row)),
                      t.values.begin() + static_cast<std::ptrdiff_t>((begin + count) * static_cast<std::int64_t>(row)));
    return out;
}

template <class T, class Values>
void append_rows(T& acc, const T& part, Values values) {
    if (values(acc).empty() && acc.shape.empty()) {
        acc = part;
        return;
    }
    acc.shape[0] += part.shape.at(0);
    values(acc).insert(values(acc).end(), values(part).begin(), values(part).end());
}

}  // namespace

std::int64_t fixed_batch(const Graph& graph) {
    for (const ValueInfo& in : graph.inputs)
        if (in.has_shape && !in.shape.empty() && in.shape[0].known()) return in.shape[0].value;
    return 0;
}

std::int64_t whole_batches(std::int64_t n, std::int64_t fixed) {
    if (fixed <= 0) return n;
    return std::max(fixed, n / fixed * fixed);
}

Tensor slice_batch(const Tensor& t, std::int64_t begin, std::int64_t count) {
    Shape shape = t.shape();
    const std::size_t row = t.byte_size() / static_cast<std::size_t>(shape.at(0));
    shape[0] = count;
    Tensor out(t.dtype(), shape);
    std::memcpy(out.raw(), t.raw() + static_cast<std::size_t>(begin) * row, out.byte_size());
    return out;
}

Tensor concat_batch(const std::vector<Tensor>& parts) {
    Shape shape = parts.front().shape();
    if (shape.empty() || parts.size() == 1) return parts.front();
    shape[0] = 0;
    for (const Tensor& p : parts) shape[0] += p.dim(0);
    Tensor out(parts.front().dtype(), shape);
    std::size_t offset = 0;
    for (const Tensor& p : parts) {
        std::memcpy(out.raw() + offset, p.raw(), p.byte_size());
        offset += p.byte_size();
    }
    return out;
}

std::map<std::string, Tensor> run_batched(const Executor& executor, const std::map<std::string, Tensor>& inputs,
                                          std::int64_t batch, const TensorObserver& observer) {
    std::vector<const Tensor*> list;
    for (const auto& [name, t] : inputs) list.push_back(&t);
    const std::int64_t rows = common_rows(list, [](const Tensor* t) { return t->rank() > 0 ? t->dim(0) : -1; });
    const std::int64_t chunks = rows < 0 ? 1 : chunk_count(rows, batch);
    if (chunks == 1) return executor.run(inputs, observer);
    std::map<std::string, std::vector<Tensor>> parts;
    for (std::int64_t c = 0; c < chunks; ++c) {
        std::map<std::string, Tensor> chunk;
        for (const auto& [name, t] : inputs) chunk[name] = slice_batch(t, c * batch, batch);
        for (auto& [name, t] : executor.run(chunk, observer)) parts[name].push_back(std::move(t));
    }
    std::map<std::string, Tensor> outputs;
    for (const auto& [name, list_of] : parts) outputs[name] = concat_batch(list_of);
    return outputs;
}

std::vector<sim::QTensor> run_raw_batched(const sim::QuantGraph& graph, const std::vector<const sim::QTensor*>& inputs,
                                          std::int64_t batch, const sim::RunOptions& options) {
    const sim::GraphRunner runner(graph);
    const std::int64_t rows = common_rows(
        inputs, [](const sim::QTensor* t) { return t->shape.empty() ? std::int64_t{-1} : t->shape[0]; });
    const std::int64_t chunks = rows < 0 ? 1 : chunk_count(rows, batch);
    if (chunks == 1) return runner.run_raw(inputs, options);
    std::vector<sim::QTensor> joined;
    for (std::int64_t c = 0; c < chunks; ++c) {
        std::vector<sim::QTensor> chunk;
        for (const sim::QTensor* t : inputs) chunk.push_back(slice_rows(*t, c * batch, batch));
        std::vector<const sim::QTensor*> chunk_ptrs;
        for (const sim::QTensor& t : chunk) chunk_ptrs.push_back(&t);
        std::vector<sim::QTensor> r = runner.run_raw(chunk_ptrs, options);
        joined.resize(r.size());
        for (std::size_t i = 0; i < r.size(); ++i)
            append_rows(joined[i], r[i], [](auto& t) -> auto& { return t.values; });
    }
    return joined;
}

sim::GraphResult run_quantized_batched(const sim::QuantGraph& graph, const std::vector<sim::QTensor>& inputs,
                                       std::int64_t batch, const sim::RunOptions& options) {
    std::vector<const sim::QTensor*> in;
    for (const sim::QTensor& t : inputs) in.push_back(&t);
    sim::GraphResult result;
    result.raw_outputs = run_raw_batched(graph, in, batch, options);
    for (const sim::QTensor& q : result.raw_outputs) result.outputs.push_back(sim::dequantize_tensor(q));
    return result;
}

}  // namespace bitnpu::calib
