// The node-by-node FP32 walk over the search slice (fp32_walk.hpp).
#include "fp32_walk.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "bitnpu/fp32/batching.hpp"
#include "bitnpu/calibrator/samples.hpp"
#include "bitnpu/errors.hpp"

namespace bitnpu::calib {

Fp32Walk::Fp32Walk(const Graph& graph, const std::map<std::string, Tensor>& slice, std::int64_t batch,
                   int threads)
    : graph_(graph), executor_(graph, {threads}) {
    check_feed(graph, slice, 0, "calibration data");
    const std::int64_t rows = slice.empty() ? 0 : slice.begin()->second.dim(0);
    if (batch > 0 && rows > batch) {
        if (rows % batch != 0)
            throw UserError(fmt::format("the model takes batches of {} samples; {} is not a multiple", batch, rows));
        chunks_ = static_cast<std::size_t>(rows / batch);
    }
    for (const auto& [name, t] : slice) {
        auto& list = values_[name];
        if (chunks_ == 1) {
            list.push_back(t);
            continue;
        }
        for (std::size_t c = 0; c < chunks_; ++c)
            list.push_back(slice_batch(t, static_cast<std::int64_t>(c) * batch, batch));
    }
}

const Tensor& Fp32Walk::chunk_input(std::size_t node, const std::string& name, std::size_t chunk,
                                    std::vector<Tensor>& held) const {
    if (auto it = values_.find(name); it != values_.end()) return it->second.at(chunk);
    if (auto it = joined_.find(name); it != joined_.end()) {
        // Joined: its chunk sliced again. The chunks had equal leading
        // dimensions, not always the batch (a [-1, K] reshape's rows).
        const std::int64_t rows = it->second.dim(0) / static_cast<std::int64_t>(chunks_);
        held.push_back(slice_batch(it->second, static_cast<std::int64_t>(chunk) * rows, rows));
        return held.back();
    }
    if (const Tensor* init = graph_.initializer(name)) return *init;
    throw UserError(fmt::format("node '{}': input '{}' is not computed by any earlier node",
                                graph_.nodes.at(node).name, name));
}

void Fp32Walk::run_node(std::size_t i) {
    const Node& node = graph_.nodes.at(i);
    std::vector<const Tensor*> args;
    std::vector<Tensor> held;
    for (std::size_t c = 0; c < chunks_; ++c) {
        args.clear();
        held.clear();
        held.reserve(node.inputs.size());   // chunk_input's references into it stay valid
        for (const std::string& name : node.inputs)
            args.push_back(name.empty() ? nullptr : &chunk_input(i, name, c, held));
        std::vector<Tensor> outputs = executor_.run_node(i, args);
        for (std::size_t k = 0; k < node.outputs.size() && k < outputs.size(); ++k)
            if (!node.outputs[k].empty()) values_[node.outputs[k]].push_back(std::move(outputs[k]));
    }
}

const Tensor* Fp32Walk::find(const std::string& name) {
    if (auto joined = joined_.find(name); joined != joined_.end()) return &joined->second;
    auto it = values_.find(name);
    if (it == values_.end()) return nullptr;
    if (chunks_ == 1) return &it->second.front();
    const Tensor& joined = joined_.emplace(name, concat_batch(it->second)).first->second;
    // One copy: the chunks go, and later readers slice theirs from the joined
    // value, where the chunks are equal parts of it along axis 0 (scalars
    // and unequal chunks stay as they are).
    const std::vector<Tensor>& chunks = it->second;
    const bool equal_parts = std::all_of(chunks.begin(), chunks.end(), [&](const Tensor& c) {
        return c.rank() > 0 && c.dim(0) == chunks.front().dim(0);
    });
    if (equal_parts) values_.erase(it);
    return &joined;
}

void Fp32Walk::release(const std::string& name) {
    values_.erase(name);
    joined_.erase(name);
}

}  // namespace bitnpu::calib
