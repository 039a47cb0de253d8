// Tiles of the zoo models' real layers through the RTL: every MAC layer of
// cnn / resnet / mobilenet, calibrated for int8_npu, shift_only and w4a8
// (its int4-weight mac4 engine), cut into npu_tile tiles with the layer's
// bias, zero-points, per-channel registers and clamp bounds; every output is
// compared with the functional model's output tensor element. The CTables
// come from the `rtl: calibrate zoo ...` fixtures (tests/rtl/CMakeLists.txt).
// Every tile of every layer runs (4 images for cnn and resnet, 2 for
// mobilenet): about 20 000 tiles, a few seconds in all.
#include <catch2/catch.hpp>

#include <sstream>

#include "zoo_tiles.hpp"

using namespace bitnpu::rtl;

namespace {

// MAC layers (Conv + Gemm nodes) of each model, from models/README.md.
int mac_layers_of(const std::string& model) {
    if (model == "cnn") return 4;
    if (model == "resnet") return 10;
    return 22;  // mobilenet: 21 Conv (5 depthwise) + 1 Gemm
}

ZooOptions zoo_options(const std::string& model, const std::string& arch, int images, std::uint64_t tiles_per_layer) {
    ZooOptions o;
    o.model_path = std::string(BITNPU_SOURCE_DIR) + "/models/" + model + ".onnx";
    o.arch_path = std::string(BITNPU_SOURCE_DIR) + "/configs/" + arch + ".yaml";
    o.ctable_path = std::string(BITNPU_ZOO_CTABLE_DIR) + "/" + model + "_" + arch + ".ctable.yaml";
    o.images_path = std::string(BITNPU_SOURCE_DIR) + "/data/test_100_x.npy";
    o.images = images;
    o.tiles_per_layer = tiles_per_layer;
    return o;
}

void check_zoo(const std::string& model, const std::string& arch, int images, std::uint64_t tiles_per_layer) {
    const ZooOptions o = zoo_options(model, arch, images, tiles_per_layer);
    std::ostringstream log;
    const ZooReport r = run_zoo(o, log);
    print_zoo_report(r, log);
    INFO(log.str());
    CHECK(int(r.layers.size()) == mac_layers_of(model));
    CHECK(r.skipped_layers == 0);
    for (const ZooLayerReport& l : r.layers) {
        INFO(l.node);
        CHECK(l.tiles_run > 0);
        CHECK(l.outputs > 0);
    }
    CHECK(r.mismatches == 0);
    CHECK(r.latency_errors == 0);
}

// The verilated tile with one output of every tile off by one LSB.
class OneOffTile final : public TileSim {
public:
    explicit OneOffTile(std::unique_ptr<TileSim> real) : real_(std::move(real)) {}
    TileResult run(const TileVector& v) override {
        TileResult r = real_->run(v);
        r.y[0] += 1;
        return r;
    }
    std::uint64_t total_cycles() const override { return real_->total_cycles(); }
    void open_trace(const std::string& path) override { real_->open_trace(path); }
    bool write_coverage(const std::string& path) override { return real_->write_coverage(path); }

private:
    std::unique_ptr<TileSim> real_;
};

}  // namespace

TEST_CASE("zoo tiles: a one-LSB error in the RTL output is reported") {
    ZooOptions o = zoo_options("cnn", "int8_npu", 1, 3);
    o.make_sim = [](const TileVariant& v, const TileConfig& c) -> std::unique_ptr<TileSim> {
        return std::make_unique<OneOffTile>(v.make(c));
    };
    std::ostringstream log;
    const ZooReport r = run_zoo(o, log);
    // Output (0, 0) of every tile is a real pixel and channel: each tile has one mismatch.
    CHECK(r.tiles > 0);
    CHECK(r.mismatches == r.tiles);
    CHECK(log.str().find("functional model") != std::string::npos);
}

TEST_CASE("zoo tiles: cnn on int8_npu") { check_zoo("cnn", "int8_npu", 4, 0); }
TEST_CASE("zoo tiles: resnet on int8_npu") { check_zoo("resnet", "int8_npu", 4, 0); }
TEST_CASE("zoo tiles: mobilenet on int8_npu") { check_zoo("mobilenet", "int8_npu", 2, 0); }
TEST_CASE("zoo tiles: cnn on shift_only") { check_zoo("cnn", "shift_only", 4, 0); }
TEST_CASE("zoo tiles: resnet on shift_only") { check_zoo("resnet", "shift_only", 4, 0); }
TEST_CASE("zoo tiles: mobilenet on shift_only") { check_zoo("mobilenet", "shift_only", 2, 0); }
TEST_CASE("zoo tiles: cnn on w4a8 (int4 mac4)") { check_zoo("cnn", "w4a8", 4, 0); }
TEST_CASE("zoo tiles: resnet on w4a8 (int4 mac4)") { check_zoo("resnet", "w4a8", 4, 0); }
TEST_CASE("zoo tiles: mobilenet on w4a8 (int4 mac4)") { check_zoo("mobilenet", "w4a8", 2, 0); }
