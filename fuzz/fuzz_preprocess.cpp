// Fuzz target: the image preprocessing spec (YAML). A spec the reader
// accepts is also run on a small test image when its sizes are small.
#include <cstddef>
#include <cstdint>
#include <string>

#include "bitnpu/frontend/preprocess.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    return bitnpu::fuzz::expect_user_error_only([&] {
        const bitnpu::calib::PreprocessSpec spec = bitnpu::calib::parse_preprocess_spec(text, "fuzz.yaml");
        const int limit = 64;
        if (spec.resize_height > limit || spec.resize_width > limit || spec.resize_short > limit ||
            spec.crop_height > limit || spec.crop_width > limit)
            return;
        bitnpu::calib::Image image;
        image.height = 7;
        image.width = 5;
        image.channels = spec.channel_count();
        image.pixels.resize(static_cast<std::size_t>(image.height * image.width * image.channels));
        for (std::size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = static_cast<std::uint8_t>(i * 37);
        bitnpu::calib::preprocess_image(image, spec);
    });
}
