// Image loading and preprocessing: PNGs written by the test with stb_image_write.
#include <catch2/catch.hpp>
#include <stb/stb_image_write.h>

#include <filesystem>

#include "bitnpu/frontend/tensor_io.hpp"
#include "bitnpu/errors.hpp"
#include "onnx_model_builder.hpp"

using namespace bitnpu::calib;
using bitnpu::UserError;
using bitnpu::test::TempFile;
using Catch::Matchers::Contains;

namespace {

// A w x h RGB image whose pixel (y, x) is (10*y + x, 100 + x, 200 - y).
std::vector<std::uint8_t> pattern(int h, int w) {
    std::vector<std::uint8_t> px;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            px.push_back(static_cast<std::uint8_t>(10 * y + x));
            px.push_back(static_cast<std::uint8_t>(100 + x));
            px.push_back(static_cast<std::uint8_t>(200 - y));
        }
    return px;
}

void write_png(const std::string& path, int h, int w) {
    const auto px = pattern(h, w);
    REQUIRE(stbi_write_png(path.c_str(), w, h, 3, px.data(), w * 3) != 0);
}

}  // namespace

TEST_CASE("images: PNG decodes to NCHW float with scale, mean and std", "[io][images]") {
    TempFile f(".png");
    write_png(f.path(), 3, 4);
    PreprocessSpec spec;  // defaults: RGB, NCHW, x / 255
    const Tensor t = load_image(f.path(), spec);
    REQUIRE(t.shape() == Shape{1, 3, 3, 4});
    const float* d = t.data<float>();
    // channel 0 at (y=2, x=3) is 10*2+3 = 23.
    CHECK(d[(0 * 3 + 2) * 4 + 3] == Approx(23.0f / 255.0f));
    CHECK(d[(1 * 3 + 0) * 4 + 1] == Approx(101.0f / 255.0f));
    CHECK(d[(2 * 3 + 1) * 4 + 0] == Approx(199.0f / 255.0f));
    spec.scale = 1.0f;
    spec.mean = {10.0f, 100.0f, 200.0f};
    spec.std = {2.0f, 4.0f, 0.5f};
    const Tensor n = load_image(f.path(), spec);
    CHECK(n.data<float>()[(0 * 3 + 2) * 4 + 3] == Approx((23.0f - 10.0f) / 2.0f));
    CHECK(n.data<float>()[(2 * 3 + 1) * 4 + 0] == Approx((199.0f - 200.0f) / 0.5f));
}

TEST_CASE("images: NHWC, BGR, GRAY and uint8 output", "[io][images]") {
    TempFile f(".png");
    write_png(f.path(), 2, 2);
    PreprocessSpec spec;
    spec.layout = Layout::NHWC;
    spec.channels = ChannelOrder::BGR;
    spec.dtype = DType::u8;
    const Tensor t = load_image(f.path(), spec);
    REQUIRE(t.shape() == Shape{1, 2, 2, 3});
    // pixel (1, 1) is RGB (11, 101, 199): BGR order reverses it.
    const std::uint8_t* d = t.data<std::uint8_t>();
    CHECK(int(d[(1 * 2 + 1) * 3 + 0]) == 199);
    CHECK(int(d[(1 * 2 + 1) * 3 + 1]) == 101);
    CHECK(int(d[(1 * 2 + 1) * 3 + 2]) == 11);
    spec = PreprocessSpec{};
    spec.channels = ChannelOrder::Gray;
    CHECK(load_image(f.path(), spec).shape() == Shape{1, 1, 2, 2});
}

TEST_CASE("preprocess: bilinear resize with half-pixel centres", "[io][images]") {
    // 1x2 -> 1x4 upsampling of [0, 8]: sample points -0.25, 0.25, 0.75, 1.25
    // clamp to [0, 1] -> 0, 2, 6, 8.
    CHECK(resize_bilinear({0.0f, 8.0f}, 1, 2, 1, 1, 4) == std::vector<float>{0, 2, 6, 8});
    // 4 -> 2 downsampling samples at 0.5 and 2.5: means of neighbours.
    CHECK(resize_bilinear({0, 2, 4, 6}, 1, 4, 1, 1, 2) == std::vector<float>{1, 5});
    // Same size is the identity.
    const std::vector<float> img{1, 2, 3, 4, 5, 6};
    CHECK(resize_bilinear(img, 2, 3, 1, 2, 3) == img);
}

TEST_CASE("preprocess: center crop offsets and resize of the short side", "[io][images]") {
    Image img;
    img.height = 4;
    img.width = 5;
    img.channels = 1;
    for (int i = 0; i < 20; ++i) img.pixels.push_back(static_cast<std::uint8_t>(i));
    PreprocessSpec spec;
    spec.channels = ChannelOrder::Gray;
    spec.scale = 1.0f;
    spec.crop_height = 2;
    spec.crop_width = 2;
    // top = round(2 / 2) = 1, left = round(3 / 2 = 1.5) = 2 (ties to even, like Python).
    CHECK(preprocess_image(img, spec).to_floats() == std::vector<float>{7, 8, 12, 13});
    spec.crop_height = spec.crop_width = 0;
    spec.resize_short = 8;  // 4x5 -> 8x10
    CHECK(preprocess_image(img, spec).shape() == Shape{1, 1, 8, 10});
    spec.resize_short = 0;
    spec.crop_height = spec.crop_width = 6;
    CHECK_THROWS_WITH(preprocess_image(img, spec), Contains("larger"));
}

TEST_CASE("images: folders load sorted by name and stack into a batch", "[io][images]") {
    TempFile dir("");
    std::filesystem::create_directories(dir.path());
    write_png(dir.path() + "/b.png", 6, 6);
    write_png(dir.path() + "/a.png", 3, 4);
    { std::ofstream(dir.path() + "/notes.txt") << "ignored"; }
    const auto files = list_image_files(dir.path());
    REQUIRE(files.size() == 2);
    CHECK(std::filesystem::path(files[0]).filename() == "a.png");
    PreprocessSpec spec;
    CHECK_THROWS_WITH(load_images(files, spec), Contains("resize"));  // different sizes
    spec.resize_height = spec.resize_width = 2;
    CHECK(load_images(files, spec).shape() == Shape{2, 3, 2, 2});
    TempFile empty("");
    std::filesystem::create_directories(empty.path());
    CHECK_THROWS_WITH(list_image_files(empty.path()), Contains("no images"));
    CHECK_THROWS_WITH(list_image_files("/nonexistent/images"), Contains("does not exist"));
    TempFile broken(".png");
    broken.write("not a png");
    CHECK_THROWS_WITH(load_image(broken.path(), spec), Contains("cannot decode"));
}

TEST_CASE("preprocess: YAML spec parsing", "[io][images]") {
    const PreprocessSpec s = parse_preprocess_spec(
        "model: resnet\n"
        "preprocess: {resize: [256, 320], crop: [224, 224], layout: NHWC, channels: BGR,\n"
        "             mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}\n");
    CHECK(s.resize_height == 256);
    CHECK(s.resize_width == 320);
    CHECK(s.crop_height == 224);
    CHECK(s.layout == Layout::NHWC);
    CHECK(s.channels == ChannelOrder::BGR);
    CHECK(s.mean == std::vector<float>{0.485f, 0.456f, 0.406f});
    CHECK(s.std.size() == 3);
    const PreprocessSpec t = parse_preprocess_spec("resize: 256\ncrop: 224\nscale: 1\noffset: -128\nmean: 0.5\n");
    CHECK(t.resize_short == 256);
    CHECK(t.crop_height == 224);
    CHECK(t.crop_width == 224);
    CHECK(t.offset == -128.0f);
    CHECK(t.mean == std::vector<float>{0.5f, 0.5f, 0.5f});
    CHECK_THROWS_WITH(parse_preprocess_spec("preprocess:\n  resize: [1, 2]\n  colour: RGB\n", "spec.yaml"),
                      Contains("spec.yaml:3") && Contains("colour"));
    CHECK_THROWS_WITH(parse_preprocess_spec("layout: CHWN\n"), Contains("NCHW or NHWC"));
    CHECK_THROWS_WITH(parse_preprocess_spec("mean: [1, 2]\n"), Contains("3 values"));
    CHECK_THROWS_WITH(parse_preprocess_spec("resize: [1, 2, 3]\n"), Contains("[height, width]"));
    CHECK_THROWS_WITH(parse_preprocess_spec("std: [1, 0, 1]\n"), Contains("positive"));
    CHECK_THROWS_AS(parse_preprocess_spec("preprocess: {resize: [1, 2\n"), UserError);
}
