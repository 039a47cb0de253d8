// Image preprocessing: how a decoded 8-bit image becomes a model input.
// The order of steps is fixed: channel selection -> resize -> center crop
// -> normalize -> layout, with
//     value[c] = (pixel * scale + offset - mean[c]) / std[c]
// (pixel in 0..255). Resizing is bilinear with half-pixel centres (OpenCV
// INTER_LINEAR, no antialiasing); crop offsets round like torchvision's
// CenterCrop.
#pragma once

#include <string>
#include <vector>

#include "bitnpu/graph/tensor.hpp"

namespace bitnpu::calib {

enum class Layout { NCHW, NHWC };
enum class ChannelOrder { RGB, BGR, Gray };

struct PreprocessSpec {
    // Resize: both 0 = keep size; resize_short > 0 scales the shorter side to
    // it keeping the aspect ratio (torchvision Resize(int)).
    int resize_height = 0, resize_width = 0;
    int resize_short = 0;
    int crop_height = 0, crop_width = 0;  // 0 = no crop
    Layout layout = Layout::NCHW;
    ChannelOrder channels = ChannelOrder::RGB;
    float scale = 1.0f / 255.0f;
    float offset = 0.0f;
    std::vector<float> mean;  // one per channel, or empty (0)
    std::vector<float> std;   // one per channel, or empty (1)
    DType dtype = DType::f32;  // f32, or u8 for raw pixels (no normalization)

    int channel_count() const { return channels == ChannelOrder::Gray ? 1 : 3; }
};

// Parses the spec from YAML text: either a mapping with a `preprocess:` key
// or the mapping itself, e.g.
//   preprocess: {resize: [256, 256], crop: [224, 224], layout: NCHW,
//                channels: RGB, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}
// Keys: resize ([H, W] or one int for the shorter side), crop ([H, W] or
// one int), layout, channels (RGB, BGR, GRAY), scale, offset, mean, std,
// dtype (float32 or uint8). Unknown keys and bad values are UserErrors with
// the line number; `what` names the source in messages.
PreprocessSpec parse_preprocess_spec(const std::string& yaml_text, const std::string& what = "preprocess spec");
PreprocessSpec load_preprocess_spec(const std::string& yaml_path);

// An 8-bit interleaved image (HWC), as decoded.
struct Image {
    int height = 0, width = 0, channels = 0;
    std::vector<std::uint8_t> pixels;  // height * width * channels
};

// Bilinear resize with half-pixel centres, on float data (HWC).
std::vector<float> resize_bilinear(const std::vector<float>& hwc, int height, int width, int channels,
                                   int out_height, int out_width);
// Runs the spec on a decoded image (its channels already match the spec's
// channel count, in RGB or gray order). Returns [1, C, H, W] or [1, H, W, C].
Tensor preprocess_image(const Image& image, const PreprocessSpec& spec);

}  // namespace bitnpu::calib
