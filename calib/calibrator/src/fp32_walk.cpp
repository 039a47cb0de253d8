// The node-by-node FP32 walk over the search slice (fp32_walk.hpp).
#include "fp32_walk.hpp"

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

const Tensor& Fp32Walk::chunk_input(std::size_t node, const std::string& name, std::size_t chunk) const {
    if (auto it = values_.find(name); it != values_.end()) return it->second.at(chunk);
    if (const Tensor* init = graph_.initializer(name)) return *init;
    throw UserError(fmt::format("node '{}': input '{}' is not computed by any earlier node",
                                graph_.nodes.at(node).name, name));
}

void Fp32Walk::run_node(std::size_t i) {
    const Node& node = graph_.nodes.at(i);
    std::vector<const Tensor*> args;
    for (std::size_t c = 0; c < chunks_; ++c) {
        args.clear();
        for (const std::string& name : node.inputs) args.push_back(name.empty() ? nullptr : &chunk_input(i, name, c));
        std::vector<Tensor> outputs = executor_.run_node(i, args);
        for (std::size_t k = 0; k < node.outputs.size() && k < outputs.size(); ++k)
            if (!node.outputs[k].empty()) values_[node.outputs[k]].push_back(std::move(outputs[k]));
    }
}

const Tensor* Fp32Walk::find(const std::string& name) {
    auto it = values_.find(name);
    if (it == values_.end()) return nullptr;
    if (chunks_ == 1) return &it->second.front();
    auto joined = joined_.find(name);
    if (joined == joined_.end()) joined = joined_.emplace(name, concat_batch(it->second)).first;
    return &joined->second;
}

void Fp32Walk::release(const std::string& name) {
    values_.erase(name);
    joined_.erase(name);
}

}  // namespace bitnpu::calib
