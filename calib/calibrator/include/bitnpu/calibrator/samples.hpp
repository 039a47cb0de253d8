// Where calibration and evaluation samples come from: arrays (.npy / .npz)
// or a folder of images, read in batches along the first (batch) dimension
// so memory does not grow with the number of samples.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bitnpu/graph/graph.hpp"
#include "bitnpu/frontend/preprocess.hpp"

namespace bitnpu::calib {

using Feed = std::map<std::string, Tensor>;

class SampleSource {
public:
    virtual ~SampleSource() = default;
    virtual std::int64_t size() const = 0;
    // Samples [begin, begin + count) for every graph input, as float tensors.
    virtual Feed batch(std::int64_t begin, std::int64_t count) const = 0;
};

// Arrays already in memory, one per graph input (batch dimension first).
std::unique_ptr<SampleSource> make_array_source(Feed arrays);
// A .npy (single-input models: it feeds the graph's only input) or .npz (one
// entry per input name; a single entry feeds a single-input model). Data of
// another dtype than the input's is converted by as_input_dtype (graph.hpp);
// each conversion's note is appended to `notes` when given.
std::unique_ptr<SampleSource> load_sample_file(const std::string& path, const Graph& graph,
                                               std::vector<std::string>* notes = nullptr);
// Every image of a folder, preprocessed by spec, feeding the only input.
std::unique_ptr<SampleSource> make_image_source(const std::string& folder, const PreprocessSpec& spec,
                                                const Graph& graph);

// `count` samples spread evenly over the first `used` ones, in blocks of
// `block` samples (a fixed-batch model's batch; 1 otherwise): blocks
// floor(j * blocks_used / blocks_wanted). Calibration sets are often ordered
// (by class, recording, scene), so the first samples can miss what the rest
// hold; the search judges on this spread.
Feed spread_samples(const SampleSource& samples, std::int64_t count, std::int64_t used, std::int64_t block);

// Checks a batch before it is used: the inputs the graph needs, their
// shapes (calib::check_inputs) and that every value is finite (UserError
// naming the input and the first bad sample).
void check_feed(const Graph& graph, const Feed& feed, std::int64_t first_sample, const std::string& origin);

}  // namespace bitnpu::calib
