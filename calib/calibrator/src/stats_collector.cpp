// StatsCollector: the executor's TensorObserver, safe to call from worker
// threads. The map lock is held only to find or create a tensor's entry; the
// histogramming runs under that tensor's own lock, so different tensors are
// observed in parallel.
#include "bitnpu/calibrator/stats_collector.hpp"

namespace bitnpu::calib {

StatsCollector::StatsCollector(StatsOptions options, std::set<std::string> names)
    : options_(options), names_(std::move(names)) {}

StatsCollector::Entry& StatsCollector::entry(const std::string& name) {
    std::lock_guard<std::mutex> lock(map_mutex_);
    auto& slot = entries_[name];
    if (!slot) slot = std::make_unique<Entry>(options_);
    return *slot;  // entries are never erased, so the reference stays valid
}

void StatsCollector::observe(const std::string& name, const Tensor& value) {
    if (value.dtype() != DType::f32 && value.dtype() != DType::f64) return;
    if (!names_.empty() && names_.count(name) == 0) return;
    Entry& e = entry(name);
    std::lock_guard<std::mutex> lock(e.mutex);
    e.stats.observe(value);
}

TensorObserver StatsCollector::observer() {
    return [this](const std::string& name, const Tensor& value) { observe(name, value); };
}

void StatsCollector::merge(const StatsCollector& other) {
    if (&other == this) return;
    const auto theirs = other.stats();
    for (const auto& [name, s] : theirs) {
        Entry& e = entry(name);
        std::lock_guard<std::mutex> lock(e.mutex);
        e.stats.merge(s);
    }
}

std::map<std::string, TensorStats> StatsCollector::stats() const {
    std::lock_guard<std::mutex> lock(map_mutex_);
    std::map<std::string, TensorStats> out;
    for (const auto& [name, e] : entries_) {
        std::lock_guard<std::mutex> entry_lock(e->mutex);
        out.emplace(name, e->stats);
    }
    return out;
}

const TensorStats* StatsCollector::find(const std::string& name) const {
    std::lock_guard<std::mutex> lock(map_mutex_);
    auto it = entries_.find(name);
    return it == entries_.end() ? nullptr : &it->second->stats;
}

std::vector<std::string> StatsCollector::non_finite_tensors() const {
    std::vector<std::string> out;
    for (const auto& [name, s] : stats())
        if (s.has_non_finite()) out.push_back(name);
    return out;
}

}  // namespace bitnpu::calib
