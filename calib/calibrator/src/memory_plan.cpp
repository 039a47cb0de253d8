// The calibrator's memory plan (memory_plan.hpp).
#include "memory_plan.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "bitnpu/errors.hpp"
#include "bitnpu/fp32/batching.hpp"
#include "bitnpu/fp32/executor.hpp"
#include "bitnpu/fp32/shape_inference.hpp"

namespace bitnpu::calib {
namespace {

constexpr std::int64_t kMiB = std::int64_t{1} << 20;

std::string megabytes(double bytes) { return fmt::format("{:.0f} MB", bytes / double(kMiB)); }

// The largest count of samples, at most `wanted` (in whole batches of a
// fixed batch), whose `bytes_per_sample * factor` fit `budget`; at least one
// sample (one batch).
std::int64_t fitting_samples(std::int64_t wanted, std::int64_t bytes_per_sample, double factor, double budget,
                             std::int64_t fixed_batch) {
    const double per_sample = std::max(1.0, double(bytes_per_sample) * factor);
    const auto fit = static_cast<std::int64_t>(std::min(budget / per_sample, 1e15));
    return whole_batches(std::max<std::int64_t>(1, std::min(wanted, fit)), fixed_batch);
}

}  // namespace

std::int64_t default_memory_budget_bytes() {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    const std::int64_t physical = pages > 0 && page > 0 ? std::int64_t(pages) * page : 8 * 1024 * kMiB;
    return std::min<std::int64_t>(physical / 3 * 2, 16 * 1024 * kMiB);
}

std::int64_t activation_bytes_per_sample(const Graph& graph, std::int64_t batch) {
    std::map<std::string, std::int64_t> bytes;
    auto add = [&](const std::string& name) {
        if (name.empty() || graph.initializer(name)) return;
        Shape shape;
        if (!static_shape(graph, name, shape)) return;
        DType dtype = DType::f32;
        if (auto it = graph.value_info.find(name); it != graph.value_info.end()) dtype = it->second.dtype;
        for (const ValueInfo& in : graph.inputs)
            if (in.name == name) dtype = in.dtype;
        // In double: a declared shape may be absurd; the sum saturates below.
        double n = static_cast<double>(element_size(dtype));
        for (std::int64_t d : shape) n *= static_cast<double>(std::max<std::int64_t>(d, 0));
        bytes[name] = static_cast<std::int64_t>(std::min(n, 1e15));
    };
    for (const ValueInfo& in : graph.inputs) add(in.name);
    for (const Node& node : graph.nodes)
        for (const std::string& out : node.outputs) add(out);
    const std::int64_t per_run = peak_live_bytes(graph, bytes);
    const std::int64_t b = std::max<std::int64_t>(1, batch);
    return (per_run + b - 1) / b;
}

MemoryPlan plan_memory(std::int64_t bytes_per_sample, const CalibOptions& options, int workers,
                       std::int64_t fixed_batch, std::int64_t samples_used) {
    if (options.memory_mb < 0) throw UserError(fmt::format("--memory-mb must be positive, got {}", options.memory_mb));
    MemoryPlan plan;
    plan.bytes_per_sample = bytes_per_sample;
    plan.budget_bytes = options.memory_mb > 0 ? options.memory_mb * kMiB : default_memory_budget_bytes();
    const double budget = double(plan.budget_bytes);

    // Statistics: every worker holds one batch.
    const std::int64_t batch_asked = fixed_batch > 0 ? fixed_batch : std::max<std::int64_t>(1, options.batch);
    plan.statistics_batch =
        fixed_batch > 0 ? fixed_batch
                        : fitting_samples(batch_asked, bytes_per_sample, kStatisticsBytesPerLiveByte,
                                          budget / std::max(1, workers), 0);
    if (plan.statistics_batch < batch_asked)
        plan.notes.push_back(fmt::format(
            "statistics run in batches of {} samples instead of {}: one sample's activations take {} and the memory "
            "budget is {} (--memory-mb)",
            plan.statistics_batch, batch_asked, megabytes(double(bytes_per_sample)), megabytes(budget)));

    // The search slice.
    const std::int64_t slice_asked =
        whole_batches(std::min(samples_used, std::max<std::int64_t>(1, options.search_samples)), fixed_batch);
    plan.search_samples = fitting_samples(slice_asked, bytes_per_sample, kSearchBytesPerLiveByte, budget, fixed_batch);
    if (plan.search_samples < slice_asked)
        plan.notes.push_back(fmt::format(
            "the search judges on {} samples instead of {}: one sample's activations take {} (about {} with the "
            "search's copies) and the memory budget is {}; a larger --memory-mb gives it more samples",
            plan.search_samples, slice_asked, megabytes(double(bytes_per_sample)),
            megabytes(double(bytes_per_sample) * kSearchBytesPerLiveByte), megabytes(budget)));
    return plan;
}

}  // namespace bitnpu::calib
