// archsweep's on-disk FP32 cache (docs/sweeps.md "Shared work"). A
// network's FP32 statistics and FP32 reference outputs depend on the model,
// the data and a few settings, never on the arch, so the shards of a sweep
// (on other nodes, sharing a folder) and later runs read them instead of
// running the FP32 model again. Entries are keyed by the SHA-256 of the
// model and data files' bytes and the settings; each is written atomically
// (two shards computing the same entry both write the same bytes).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "bitnpu/graph/tensor.hpp"
#include "bitnpu/quant/statistics.hpp"

namespace bitnpu::sweep {

class Fp32Cache {
public:
    // dir "": no cache (every lookup misses, stores do nothing).
    explicit Fp32Cache(std::string dir);

    // The key of a network's statistics: model and calibration data bytes,
    // the samples used and the calibration policy (which decides whether
    // histograms are collected).
    std::string statistics_key(const std::string& model, const std::string& data, std::int64_t samples,
                               const std::string& policy) const;
    // The key of its FP32 reference outputs: model and evaluation data bytes
    // and the number of evaluation samples.
    std::string reference_key(const std::string& model, const std::string& data, std::int64_t samples) const;

    // nullopt when absent; an unreadable entry is treated as absent (and
    // recomputed), never trusted.
    std::optional<std::map<std::string, calib::TensorStats>> load_statistics(const std::string& key) const;
    void store_statistics(const std::string& key, const std::map<std::string, calib::TensorStats>& stats) const;
    std::optional<std::map<std::string, calib::Tensor>> load_reference(const std::string& key) const;
    void store_reference(const std::string& key, const std::map<std::string, calib::Tensor>& outputs) const;

    bool enabled() const { return !dir_.empty(); }

private:
    std::string file_hash(const std::string& path) const;
    std::string dir_;
    mutable std::map<std::string, std::string> hashes_;   // path -> SHA-256 of its bytes
};

}  // namespace bitnpu::sweep
