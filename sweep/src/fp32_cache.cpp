// archsweep's on-disk FP32 cache (fp32_cache.hpp). Statistics are stored as
// CBOR (every field of TensorStats and its histograms, so a restored entry
// merges and answers exactly as the computed one); reference outputs as .npz.
#include "fp32_cache.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bitnpu/arch/hash.hpp"
#include "bitnpu/frontend/tensor_io.hpp"

namespace bitnpu::sweep {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
constexpr int kFormat = 1;   // bump when the stored layout changes: old entries then miss

std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

Json histogram_json(const calib::Histogram& h) {
    const calib::Histogram::State s = h.state();
    return {{"counts", s.counts}, {"width", s.width}, {"seen_lo", s.seen_lo}, {"seen_hi", s.seen_hi},
            {"first", s.first}, {"total", s.total}};
}

calib::Histogram histogram_of(const Json& j) {
    calib::Histogram::State s;
    s.counts = j.at("counts").get<std::vector<std::uint64_t>>();
    s.width = j.at("width");
    s.seen_lo = j.at("seen_lo");
    s.seen_hi = j.at("seen_hi");
    s.first = j.at("first");
    s.total = j.at("total");
    return calib::Histogram::from_state(std::move(s));
}

}  // namespace

Fp32Cache::Fp32Cache(std::string dir) : dir_(std::move(dir)) {
    if (!dir_.empty()) fs::create_directories(dir_);
}

std::string Fp32Cache::file_hash(const std::string& path) const {
    auto it = hashes_.find(path);
    if (it == hashes_.end()) it = hashes_.emplace(path, arch::sha256_hex(read_bytes(path))).first;
    return it->second;
}

std::string Fp32Cache::statistics_key(const std::string& model, const std::string& data, std::int64_t samples,
                                      const std::string& policy) const {
    if (!enabled()) return "";
    return arch::sha256_hex(fmt::format("stats v{} {} {} {} {}", kFormat, file_hash(model), file_hash(data), samples,
                                        policy))
        .substr(0, 32);
}

std::string Fp32Cache::reference_key(const std::string& model, const std::string& data, std::int64_t samples) const {
    if (!enabled()) return "";
    return arch::sha256_hex(fmt::format("ref v{} {} {} {}", kFormat, file_hash(model), file_hash(data), samples))
        .substr(0, 32);
}

std::optional<std::map<std::string, calib::TensorStats>> Fp32Cache::load_statistics(const std::string& key) const {
    if (!enabled()) return std::nullopt;
    const fs::path file = fs::path(dir_) / (key + ".stats.cbor");
    if (!fs::exists(file)) return std::nullopt;
    try {
        const std::string bytes = read_bytes(file.string());
        const Json j = Json::from_cbor(bytes.begin(), bytes.end());
        std::map<std::string, calib::TensorStats> out;
        for (const auto& [name, e] : j.at("tensors").items()) {
            calib::TensorStats s;
            s.count = e.at("count");
            s.nan_count = e.at("nan_count");
            s.inf_count = e.at("inf_count");
            s.min = e.at("min");
            s.max = e.at("max");
            s.histograms = e.at("histograms");
            s.abs_hist = histogram_of(e.at("abs_hist"));
            s.signed_hist = histogram_of(e.at("signed_hist"));
            out.emplace(name, std::move(s));
        }
        return out;
    } catch (const std::exception&) {
        return std::nullopt;   // a damaged entry: recomputed and overwritten
    }
}

void Fp32Cache::store_statistics(const std::string& key, const std::map<std::string, calib::TensorStats>& stats) const {
    if (!enabled()) return;
    Json tensors = Json::object();
    for (const auto& [name, s] : stats)
        tensors[name] = {{"count", s.count}, {"nan_count", s.nan_count}, {"inf_count", s.inf_count}, {"min", s.min},
                         {"max", s.max}, {"histograms", s.histograms}, {"abs_hist", histogram_json(s.abs_hist)},
                         {"signed_hist", histogram_json(s.signed_hist)}};
    const std::vector<std::uint8_t> cbor = Json::to_cbor(Json{{"format", kFormat}, {"tensors", tensors}});
    calib::write_file_atomically((fs::path(dir_) / (key + ".stats.cbor")).string(),
                                 std::string(cbor.begin(), cbor.end()));
}

std::optional<std::map<std::string, calib::Tensor>> Fp32Cache::load_reference(const std::string& key) const {
    if (!enabled()) return std::nullopt;
    const fs::path file = fs::path(dir_) / (key + ".ref.npz");
    if (!fs::exists(file)) return std::nullopt;
    try {
        return calib::load_npz(file.string());
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

void Fp32Cache::store_reference(const std::string& key, const std::map<std::string, calib::Tensor>& outputs) const {
    if (!enabled()) return;
    const fs::path file = fs::path(dir_) / (key + ".ref.npz");
    const fs::path tmp = file.string() + fmt::format(".{}.tmp", ::getpid());
    calib::save_npz(tmp.string(), outputs);
    fs::rename(tmp, file);
}

}  // namespace bitnpu::sweep
