// The FP32 reference executor: runs the graph's nodes in (topological) order,
// hands every produced value to the observer, and frees each intermediate as
// soon as its last consumer has run.
#include "bitnpu/fp32/executor.hpp"

#include <algorithm>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "bitnpu/sim/parallel.hpp"
#include "bitnpu/fp32/kernel.hpp"
#include "ops/kernels.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace bitnpu::calib {

namespace {

// Every node allocates its output tensors anew. glibc serves blocks above
// M_MMAP_THRESHOLD (128 KiB .. 32 MiB, adaptive) with mmap and hands them back
// to the OS on free, and trims the heap top above M_TRIM_THRESHOLD, so every
// run page-faults its activations in again (~15 us per 4 KiB page: mobilenet
// at batch 64 spent two thirds of its time there). Keeping freed blocks in the
// heap lets the next node and the next run reuse the already-mapped pages.
// Process-wide and done once; the allocator stays free to reuse the memory
// for anything else, it just is not returned to the OS.
void keep_freed_memory_mapped() {
#if defined(__GLIBC__)
    static std::once_flag once;
    std::call_once(once, [] {
        mallopt(M_MMAP_THRESHOLD, 64 << 20);
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
    });
#endif
}

std::vector<Tensor> run_kernel(const Node& node, const std::vector<const Tensor*>& inputs, std::int64_t opset,
                               int threads) {
    const ops::Kernel kernel = ops::find_kernel(node.op_type, node.domain);
    if (!kernel)
        throw UserError(ops::describe(node) + ": op is not supported by the FP32 executor (" +
                        std::to_string(supported_ops().size()) + " ops are; see bitnpu::calib::supported_ops())");
    const ops::KernelContext ctx{node, inputs, opset, threads};
    std::vector<Tensor> outputs;
    try {
        outputs = kernel(ctx);
    } catch (const UserError&) {
        throw;
    } catch (const std::invalid_argument& e) {
        // Tensor-level shape errors caused by the model's data.
        throw UserError(ops::describe(node) + ": " + e.what());
    }
    std::size_t wanted = 0;
    for (std::size_t i = 0; i < node.outputs.size(); ++i)
        if (!node.outputs[i].empty()) wanted = i + 1;
    if (outputs.size() < wanted)
        throw UserError(ops::describe(node) + ": the model asks for output " + std::to_string(wanted - 1) +
                        ", which the executor does not compute for this op");
    // Optional outputs the node does not declare (LayerNormalization's Mean
    // and InvStdDev): callers such as host layers expect one per declared output.
    if (outputs.size() > node.outputs.size()) outputs.resize(node.outputs.size());
    return outputs;
}

}  // namespace

std::vector<Tensor> run_node(const Node& node, const std::vector<const Tensor*>& inputs, std::int64_t opset) {
    return run_kernel(node, inputs, opset, 1);
}

Executor::Executor(const Graph& graph, ExecutorOptions options) : graph_(graph), options_(options) {
    keep_freed_memory_mapped();
    options_.threads = sim::resolve_threads(options_.threads);
    // Fail before any work if some op cannot run, listing all of them.
    std::string unsupported;
    for (const Node& node : graph_.nodes)
        if (!is_supported_op(node.op_type, node.domain))
            unsupported += (unsupported.empty() ? "" : ", ") + ops::describe(node);
    if (!unsupported.empty())
        throw UserError("the FP32 executor does not support these nodes: " + unsupported);
}

std::vector<Tensor> Executor::run_node(std::size_t index, const std::vector<const Tensor*>& inputs) const {
    return run_kernel(graph_.nodes.at(index), inputs, graph_.opset, options_.threads);
}

std::map<std::string, std::size_t> last_use_index(const Graph& graph) {
    std::map<std::string, std::size_t> last_use;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i)
        for (const std::string& name : graph.nodes[i].inputs)
            if (!name.empty()) last_use[name] = i;
    for (const ValueInfo& out : graph.outputs) last_use[out.name] = graph.nodes.size();
    return last_use;
}

std::int64_t peak_live_bytes(const Graph& graph, const std::map<std::string, std::int64_t>& bytes) {
    const std::map<std::string, std::size_t> last_use = last_use_index(graph);
    auto size_of = [&](const std::string& name) {
        auto it = bytes.find(name);
        return it == bytes.end() ? std::int64_t{0} : it->second;
    };
    std::int64_t live = 0;
    for (const ValueInfo& in : graph.inputs) live += size_of(in.name);
    std::int64_t peak = live;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        const Node& node = graph.nodes[i];
        std::int64_t produced = 0, dropped_at_once = 0;
        for (const std::string& name : node.outputs) {
            if (name.empty()) continue;
            produced += size_of(name);
            if (!last_use.count(name)) dropped_at_once += size_of(name);
        }
        peak = std::max(peak, live + produced);   // inputs and outputs together
        live += produced - dropped_at_once;
        std::set<std::string> freed;
        for (const std::string& name : node.inputs) {
            auto it = last_use.find(name);
            if (!name.empty() && it != last_use.end() && it->second == i && freed.insert(name).second &&
                !graph.initializer(name))
                live -= size_of(name);
        }
    }
    return peak;
}

std::map<std::string, Tensor> Executor::run(const std::map<std::string, Tensor>& inputs,
                                            const TensorObserver& observer) const {
    check_inputs(graph_, inputs);
    const std::size_t n_nodes = graph_.nodes.size();
    const std::map<std::string, std::size_t> last_use = last_use_index(graph_);

    std::unordered_map<std::string, Tensor> values;
    for (const ValueInfo& in : graph_.inputs) {
        const Tensor& t = inputs.at(in.name);
        if (observer) observer(in.name, t);
        values.emplace(in.name, t);
    }
    auto lookup = [&](const Node& node, const std::string& name) -> const Tensor* {
        if (auto it = values.find(name); it != values.end()) return &it->second;
        if (const Tensor* init = graph_.initializer(name)) return init;
        throw UserError(ops::describe(node) + ": input '" + name + "' is not computed by any earlier node");
    };

    std::vector<const Tensor*> args;
    for (std::size_t i = 0; i < n_nodes; ++i) {
        const Node& node = graph_.nodes[i];
        args.clear();
        for (const std::string& name : node.inputs) args.push_back(name.empty() ? nullptr : lookup(node, name));
        std::vector<Tensor> outputs = run_kernel(node, args, graph_.opset, options_.threads);
        for (std::size_t k = 0; k < node.outputs.size() && k < outputs.size(); ++k) {
            const std::string& name = node.outputs[k];
            if (name.empty()) continue;
            if (observer) observer(name, outputs[k]);
            // A value nobody reads (and that is no graph output) is dropped at once.
            if (last_use.count(name)) values[name] = std::move(outputs[k]);
        }
        for (const std::string& name : node.inputs) {
            auto it = last_use.find(name);
            if (!name.empty() && it != last_use.end() && it->second == i) values.erase(name);
        }
    }

    std::map<std::string, Tensor> result;
    for (const ValueInfo& out : graph_.outputs) {
        if (auto it = values.find(out.name); it != values.end()) {
            result.emplace(out.name, it->second);
        } else if (const Tensor* init = graph_.initializer(out.name)) {
            result.emplace(out.name, *init);
        } else {
            throw UserError("graph output '" + out.name + "' is not produced by any node");
        }
    }
    return result;
}

}  // namespace bitnpu::calib
