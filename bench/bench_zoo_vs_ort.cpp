// Executor throughput measured exactly the way scripts/ort/ort_run.js --bench
// measures ONNX Runtime, so scripts/bench_vs_ort.sh can put them side by side:
// the model's first input sample repeated to batch 1 and 64, 5 warm-up runs,
// then at least 10 runs and 1 s; mean time per batch. Prints one JSON object
// with the same fields as ort_run.js.
//
//   bench_zoo_vs_ort --model M.onnx --input x.npy [--threads N] [--profile]
//
// --profile also prints, per op type, the time spent in that op's nodes
// (from TensorObserver timestamps: the time between one produced value and
// the next is the node that produced the later one; nodes run one after
// another, only the work inside a node is split over threads). It counts
// process CPU time, not wall time, so time the process spends descheduled on
// a loaded machine is not charged to whichever node was running.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "bitnpu/fp32/executor.hpp"
#include "bitnpu/graph/onnx_import.hpp"
#include "bitnpu/frontend/passes.hpp"
#include "bitnpu/frontend/tensor_io.hpp"
#include "bitnpu/errors.hpp"

using namespace bitnpu::calib;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
    std::string model, input;
    int threads = 1;
    bool profile = false;
};

Args parse_args(int argc, char** argv) {
    Args args;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool has_value = i + 1 < argc;
        if (a == "--model" && has_value) args.model = argv[++i];
        else if (a == "--input" && has_value) args.input = argv[++i];
        else if (a == "--threads" && has_value) args.threads = std::stoi(argv[++i]);
        else if (a == "--profile") args.profile = true;
        else throw bitnpu::UserError("unknown or incomplete argument " + a +
                                     " (usage: bench_zoo_vs_ort --model M.onnx --input x.npy [--threads N] [--profile])");
    }
    if (args.model.empty() || args.input.empty()) throw bitnpu::UserError("--model and --input are required");
    if (args.threads < 1) throw bitnpu::UserError("--threads must be >= 1");
    return args;
}

// Sample 0 of `x` repeated `batch` times along axis 0 (what ort_run.js feeds).
Tensor repeat_first(const Tensor& x, std::int64_t batch) {
    Shape shape = x.shape();
    shape[0] = batch;
    Tensor out(x.dtype(), shape);
    const std::size_t per = x.byte_size() / static_cast<std::size_t>(x.dim(0));
    for (std::int64_t b = 0; b < batch; ++b) std::memcpy(out.raw() + b * per, x.raw(), per);
    return out;
}

// CPU time of all the process's threads, in milliseconds.
double cpu_ms() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string time_batch(const Executor& exec, const std::string& input_name, const Tensor& x, std::int64_t batch) {
    const std::map<std::string, Tensor> feeds{{input_name, repeat_first(x, batch)}};
    for (int i = 0; i < 5; ++i) exec.run(feeds);  // warm-up
    int iters = 0;
    double elapsed = 0;
    const auto start = Clock::now();
    while (iters < 10 || elapsed < 1.0) {
        exec.run(feeds);
        ++iters;
        elapsed = seconds_since(start);
    }
    const double ms = elapsed * 1e3 / iters;
    std::ostringstream json;
    json << std::fixed << "{\"batch\":" << batch << ",\"iterations\":" << iters << ",\"ms_per_batch\":"
         << std::setprecision(4) << ms << ",\"images_per_s\":" << std::setprecision(1) << batch * 1e3 / ms << "}";
    return json.str();
}

// Milliseconds per op type and the slowest nodes (with their output shapes),
// averaged over `runs` runs of batch `batch`; printed to stderr.
void profile_ops(const Graph& g, const Executor& exec, const std::string& model, int threads,
                 const std::string& input_name, const Tensor& x, std::int64_t batch, int runs) {
    std::map<std::string, const Node*> producer;  // value -> node
    for (const Node& n : g.nodes)
        for (const std::string& out : n.outputs) producer[out] = &n;
    const std::map<std::string, Tensor> feeds{{input_name, repeat_first(x, batch)}};
    exec.run(feeds);  // warm-up
    std::map<std::string, double> ms_by_op, ms_by_node;
    std::map<std::string, std::string> node_desc;
    double total = 0;
    for (int r = 0; r < runs; ++r) {
        double last = cpu_ms();
        const double start = last;
        exec.run(feeds, [&](const std::string& name, const Tensor& value) {
            const double now = cpu_ms();
            const double ms = now - last;
            last = now;
            const auto it = producer.find(name);
            if (it == producer.end()) {
                ms_by_op["(input)"] += ms;
                return;
            }
            const Node& n = *it->second;
            ms_by_op[n.op_type] += ms;
            ms_by_node[n.name] += ms;
            std::string group = n.has_attr("group") ? " group " + std::to_string(n.attr_int("group", 1)) : "";
            node_desc[n.name] = n.op_type + group + " -> " + shape_to_string(value.shape());
        });
        total += cpu_ms() - start;
    }
    std::cerr << "profile " << model << " threads " << threads << " batch " << batch << " (" << runs << " runs, "
              << std::fixed << std::setprecision(3) << total / runs << " ms/run):\n";
    for (const auto& [op, ms] : ms_by_op)
        std::cerr << "  " << std::left << std::setw(18) << op << std::right << std::setprecision(3) << std::setw(10)
                  << ms / runs << " ms  " << std::setprecision(1) << std::setw(5) << 100.0 * ms / total << " %\n";
    std::vector<std::pair<double, std::string>> nodes;
    for (const auto& [name, ms] : ms_by_node) nodes.emplace_back(ms, name);
    std::sort(nodes.rbegin(), nodes.rend());
    for (std::size_t i = 0; i < std::min<std::size_t>(5, nodes.size()); ++i)
        std::cerr << "    slowest: " << std::left << std::setw(24) << nodes[i].second << std::right << std::setprecision(3)
                  << std::setw(9) << nodes[i].first / runs << " ms  " << node_desc[nodes[i].second] << "\n";
}

int run(const Args& args) {
    Graph g = load_onnx(args.model);
    run_standard_passes(g);
    if (g.inputs.size() != 1) throw bitnpu::UserError("bench_zoo_vs_ort runs models with one input");
    const Tensor x = load_npy(args.input);
    if (x.rank() < 1 || x.dim(0) < 1) throw bitnpu::UserError(args.input + " has no samples");
    const Executor exec(g, ExecutorOptions{args.threads});
    const std::string& name = g.inputs[0].name;
    if (args.profile) {
        const std::string model = args.model.substr(args.model.find_last_of('/') + 1);
        profile_ops(g, exec, model, args.threads, name, x, 1, 200);
        profile_ops(g, exec, model, args.threads, name, x, 64, 10);
    }
    std::string model = args.model.substr(args.model.find_last_of('/') + 1);
    std::cout << "{\"model\":\"" << model << "\",\"threads\":" << args.threads
              << ",\"runtime\":\"bitnpu-executor\",\"batch1\":" << time_batch(exec, name, x, 1)
              << ",\"batch64\":" << time_batch(exec, name, x, 64) << "}\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse_args(argc, argv));
    } catch (const bitnpu::UserError& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    }
}
