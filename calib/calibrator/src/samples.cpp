// Calibration / evaluation sample sources (samples.hpp).
#include "bitnpu/calibrator/samples.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "bitnpu/fp32/batching.hpp"
#include "bitnpu/frontend/tensor_io.hpp"
#include "bitnpu/errors.hpp"

namespace bitnpu::calib {
namespace {

// Rows [begin, begin + count) of a tensor along its first dimension.
Tensor slice_rows(const Tensor& t, std::int64_t begin, std::int64_t count) {
    Shape shape = t.shape();
    const std::int64_t row_bytes = static_cast<std::int64_t>(t.byte_size()) / std::max<std::int64_t>(1, shape[0]);
    shape[0] = count;
    Tensor out(t.dtype(), shape);
    std::memcpy(out.raw(), t.raw() + begin * row_bytes, static_cast<std::size_t>(count * row_bytes));
    return out;
}

class ArraySource final : public SampleSource {
public:
    explicit ArraySource(Feed arrays) : arrays_(std::move(arrays)) {
        for (auto& [name, t] : arrays_) {
            if (t.rank() == 0)
                throw UserError(fmt::format("input '{}': the data is a scalar; the first dimension must be the batch",
                                            name));
            if (t.dtype() != DType::f32) t = t.cast(DType::f32);
            const std::int64_t n = t.dim(0);
            if (size_ >= 0 && n != size_)
                throw UserError(fmt::format("input '{}' has {} samples but another input has {}", name, n, size_));
            size_ = n;
        }
        if (size_ < 0) size_ = 0;
    }
    std::int64_t size() const override { return size_; }
    Feed batch(std::int64_t begin, std::int64_t count) const override {
        Feed out;
        for (const auto& [name, t] : arrays_) out.emplace(name, slice_rows(t, begin, count));
        return out;
    }

private:
    Feed arrays_;
    std::int64_t size_ = -1;
};

class ImageSource final : public SampleSource {
public:
    ImageSource(std::vector<std::string> files, PreprocessSpec spec, std::string input)
        : files_(std::move(files)), spec_(std::move(spec)), input_(std::move(input)) {}
    std::int64_t size() const override { return static_cast<std::int64_t>(files_.size()); }
    Feed batch(std::int64_t begin, std::int64_t count) const override {
        std::vector<std::string> paths(files_.begin() + begin, files_.begin() + begin + count);
        Tensor t = load_images(paths, spec_);
        if (t.dtype() != DType::f32) t = t.cast(DType::f32);
        return {{input_, std::move(t)}};
    }

private:
    std::vector<std::string> files_;
    PreprocessSpec spec_;
    std::string input_;
};

const std::string& only_input(const Graph& graph, const std::string& what) {
    if (graph.inputs.size() != 1)
        throw UserError(fmt::format("{} feeds one input, but the model has {} inputs; use an .npz with one entry per "
                                    "input name",
                                    what, graph.inputs.size()));
    return graph.inputs.front().name;
}

}  // namespace

std::unique_ptr<SampleSource> make_array_source(Feed arrays) { return std::make_unique<ArraySource>(std::move(arrays)); }

std::unique_ptr<SampleSource> load_sample_file(const std::string& path, const Graph& graph,
                                               std::vector<std::string>* notes) {
    const bool npz = path.size() >= 4 && path.compare(path.size() - 4, 4, ".npz") == 0;
    Feed feed;
    if (npz) {
        feed = load_npz(path);
        if (feed.size() == 1 && graph.inputs.size() == 1 && !feed.count(graph.inputs.front().name)) {
            Tensor t = std::move(feed.begin()->second);
            feed.clear();
            feed.emplace(graph.inputs.front().name, std::move(t));
        }
    } else {
        feed.emplace(only_input(graph, "'" + path + "'"), load_npy(path));
    }
    for (auto& [name, t] : feed)
        for (const ValueInfo& in : graph.inputs)
            if (in.name == name) {
                std::string note;
                t = as_input_dtype(std::move(t), in.dtype, name, path, note);
                if (!note.empty() && notes) notes->push_back(note);
            }
    return make_array_source(std::move(feed));
}

std::unique_ptr<SampleSource> make_image_source(const std::string& folder, const PreprocessSpec& spec,
                                                const Graph& graph) {
    return std::make_unique<ImageSource>(list_image_files(folder), spec,
                                         only_input(graph, "image folder '" + folder + "'"));
}

void check_feed(const Graph& graph, const Feed& feed, std::int64_t first_sample, const std::string& origin) {
    try {
        check_inputs(graph, feed, /*many_batches=*/true);
    } catch (const UserError& e) {
        throw UserError(fmt::format("{}: {}", origin, e.what()));
    }
    for (const auto& [name, t] : feed) {
        if (t.dtype() != DType::f32) continue;
        const float* v = t.data<float>();
        const std::int64_t per_sample = t.numel() / std::max<std::int64_t>(1, t.dim(0));
        for (std::int64_t i = 0; i < t.numel(); ++i)
            if (!std::isfinite(v[i]))
                throw UserError(fmt::format("{}: input '{}' sample {} contains {} ; calibration data must be finite",
                                            origin, name, first_sample + i / std::max<std::int64_t>(1, per_sample),
                                            std::isnan(v[i]) ? "NaN" : "Inf"));
    }
}

Feed spread_samples(const SampleSource& samples, std::int64_t count, std::int64_t used, std::int64_t block) {
    block = std::max<std::int64_t>(1, block);
    const std::int64_t blocks_used = std::max<std::int64_t>(1, used / block);
    const std::int64_t blocks = std::min(blocks_used, std::max<std::int64_t>(1, count / block));
    if (blocks == blocks_used) return samples.batch(0, blocks * block);
    std::map<std::string, std::vector<Tensor>> parts;
    for (std::int64_t j = 0; j < blocks; ++j)
        for (auto& [name, t] : samples.batch(j * blocks_used / blocks * block, block)) parts[name].push_back(std::move(t));
    Feed out;
    for (auto& [name, list] : parts) out[name] = concat_batch(list);
    return out;
}

}  // namespace bitnpu::calib
