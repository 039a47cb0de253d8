// Decoding image files with stb_image (Debian's compiled libstb) and
// stacking them into a batch.
#include <stb/stb_image.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "bitnpu/frontend/tensor_io.hpp"
#include "bitnpu/errors.hpp"

namespace bitnpu::calib {

namespace {

bool has_image_extension(const std::filesystem::path& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return std::tolower(ch); });
    for (const char* known : {".png", ".jpg", ".jpeg", ".bmp", ".tga", ".gif", ".pgm", ".ppm", ".pnm"})
        if (ext == known) return true;
    return false;
}

Image decode(const std::string& path, int channels) {
    int w = 0, h = 0, file_channels = 0;
    stbi_uc* data = stbi_load(path.c_str(), &w, &h, &file_channels, channels);
    if (!data) {
        const char* reason = stbi_failure_reason();
        throw UserError("cannot decode image '" + path + "': " + (reason ? reason : "unknown error"));
    }
    Image img;
    img.height = h;
    img.width = w;
    img.channels = channels;
    img.pixels.assign(data, data + static_cast<std::size_t>(w) * h * channels);
    stbi_image_free(data);
    return img;
}

}  // namespace

std::vector<std::string> list_image_files(const std::string& directory) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(directory, ec)) throw UserError("image directory '" + directory + "' does not exist");
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(directory, ec))
        if (entry.is_regular_file() && has_image_extension(entry.path())) files.push_back(entry.path().string());
    if (ec) throw UserError("cannot list image directory '" + directory + "': " + ec.message());
    std::sort(files.begin(), files.end());  // deterministic order, whatever the file system returns
    if (files.empty())
        throw UserError("image directory '" + directory + "' holds no images (.png, .jpg, .jpeg, .bmp, ...)");
    return files;
}

Tensor load_image(const std::string& path, const PreprocessSpec& spec) {
    return preprocess_image(decode(path, spec.channel_count()), spec);
}

Tensor load_images(const std::vector<std::string>& paths, const PreprocessSpec& spec) {
    if (paths.empty()) throw UserError("no images to load");
    std::vector<Tensor> images;
    for (const std::string& p : paths) {
        images.push_back(load_image(p, spec));
        if (images.back().shape() != images.front().shape())
            throw UserError("image '" + p + "' preprocesses to " + shape_to_string(images.back().shape()) +
                            " but '" + paths.front() + "' to " + shape_to_string(images.front().shape()) +
                            "; add a resize or crop to the preprocess spec");
    }
    Shape shape = images.front().shape();
    shape[0] = static_cast<std::int64_t>(images.size());
    Tensor batch(spec.dtype, shape);
    const std::size_t each = images.front().byte_size();
    for (std::size_t i = 0; i < images.size(); ++i) std::memcpy(batch.raw() + i * each, images[i].raw(), each);
    return batch;
}

}  // namespace bitnpu::calib
