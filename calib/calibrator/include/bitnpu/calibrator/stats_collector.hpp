// StatsCollector: TensorStats for every activation the FP32 executor
// produces, gathered while the calibration set runs (the calibrator's
// statistics phase). Glue between the executor (fp32) and the statistics
// (quant), so it lives with the calibrator.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "bitnpu/fp32/executor.hpp"
#include "bitnpu/quant/statistics.hpp"

namespace bitnpu::calib {

// Collects TensorStats for the values an Executor produces. observe() is
// thread-safe (a short map lock, then a per-tensor lock), so observer() can
// be handed to an Executor running worker threads. Non-float values (shape
// arithmetic) are skipped.
class StatsCollector {
public:
    // names: the tensors to collect; empty collects every float tensor.
    explicit StatsCollector(StatsOptions options = {}, std::set<std::string> names = {});
    StatsCollector(const StatsCollector&) = delete;
    StatsCollector& operator=(const StatsCollector&) = delete;

    void observe(const std::string& name, const Tensor& value);
    // A TensorObserver forwarding to observe(); the collector must outlive it.
    TensorObserver observer();
    // Adds another collector's statistics (e.g. one per thread or per shard).
    void merge(const StatsCollector& other);

    // Snapshot of the statistics, ordered by tensor name. Call when no
    // observe() is running.
    std::map<std::string, TensorStats> stats() const;
    const TensorStats* find(const std::string& name) const;  // nullptr if never seen
    // Tensors that contained NaN or Inf, for the driver's error message.
    std::vector<std::string> non_finite_tensors() const;

private:
    struct Entry {
        explicit Entry(const StatsOptions& o) : stats(o) {}
        mutable std::mutex mutex;
        TensorStats stats;
    };
    Entry& entry(const std::string& name);

    StatsOptions options_;
    std::set<std::string> names_;
    mutable std::mutex map_mutex_;
    std::map<std::string, std::unique_ptr<Entry>> entries_;
};

}  // namespace bitnpu::calib
