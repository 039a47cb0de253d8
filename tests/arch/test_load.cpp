// Loading good architecture files: every config in configs/, the reference
// architecture outline, defaults, mapping and the content hash.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bitnpu/arch/hash.hpp"
#include "bitnpu/arch/load.hpp"

using namespace bitnpu::arch;
namespace fs = std::filesystem;

namespace {

const fs::path kConfigs = fs::path(BITNPU_SOURCE_DIR) / "configs";

std::vector<fs::path> config_files() {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(kConfigs)) {
        if (entry.path().extension() == ".yaml") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

// The reference architecture outline: the edge NPU of configs/npu.yaml (mac8,
// bnn, vec) in its shortest form, every other key left to the defaults
// docs/arch.md documents.
const char* const kReferenceOutline = R"(name: edge-npu
clock_mhz: 800
memory: {sram_kib: 512, dram_bytes_per_cycle: 16}
engines:
  - name: mac8
    kind: mac_array
    array: {rows: 16, cols: 16}
    ops: [Conv, Gemm, MatMul]
    precisions: [{weight: int8, activation: int8}, {weight: int4, activation: int8}]
    accumulator: {bits: 24, overflow: saturate}
    bias: {bits: 24, stage: preload}
    requant: {kind: multiplier, multiplier_bits: 16, shift_bits: 5, rounding: half_up, per_channel: true}
    zero_point: {activation: true, weight: false}
  - name: bnn
    kind: mac_array
    array: {rows: 64, cols: 8}
    precisions: [{weight: int1, activation: int1}]
    accumulator: {bits: 16, overflow: saturate}
    requant: {kind: shifter, shift_bits: 4, rounding: floor}
  - name: vec
    kind: vector
    lanes: 16
    ops: [Add, Mul, MaxPool, AveragePool, GlobalAveragePool, Concat, Sigmoid, HardSwish]
    precisions: [{activation: int8}]
    accumulator: {bits: 32}
    requant: {kind: multiplier, multiplier_bits: 16, shift_bits: 6, rounding: half_up}
    lut: {entries: 256}
mapping: {Conv: mac8, Gemm: mac8}      # defaults; per-layer overrides by node name
)";

std::string read_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

TEST_CASE("every config in configs/ loads", "[arch][load]") {
    const std::vector<fs::path> files = config_files();
    // The README and the issue name these; more may be added.
    for (const char* required : {"npu.yaml", "int8_npu.yaml", "shift_only.yaml", "hetero.yaml", "ort_cpu.yaml",
                                 "tflite.yaml", "nvdla_like.yaml"}) {
        INFO(required);
        CHECK(fs::exists(kConfigs / required));
    }
    for (const fs::path& file : files) {
        INFO(file.string());
        ArchSpec spec;
        REQUIRE_NOTHROW(spec = load_arch(file.string()));
        CHECK_FALSE(spec.name.empty());
        CHECK(spec.source_path == file.string());
        CHECK(spec.content_hash.size() == 64);
        CHECK(spec.content_hash == sha256_hex(read_bytes(file)));
    }
}

TEST_CASE("every config covers the ops a CNN needs", "[arch][load]") {
    const std::vector<std::string> mac_ops = {"Conv", "Gemm", "MatMul"};
    const std::vector<std::string> vector_ops = {"Add",  "Mul",     "MaxPool",   "AveragePool", "GlobalAveragePool",
                                                 "Concat", "Sigmoid", "HardSwish", "HardSigmoid", "Tanh", "Relu"};
    for (const fs::path& file : config_files()) {
        const ArchSpec spec = load_arch(file.string());
        for (const std::string& op : mac_ops) {
            INFO(file.filename().string() << " " << op);
            const EngineSpec* e = spec.engine_for("", op);
            REQUIRE(e != nullptr);
            CHECK(e->kind == EngineKind::mac_array);
        }
        for (const std::string& op : vector_ops) {
            INFO(file.filename().string() << " " << op);
            const EngineSpec* e = spec.engine_for("", op);
            REQUIRE(e != nullptr);
            CHECK(e->kind == EngineKind::vector);
        }
        INFO(file.filename().string());
        CHECK(spec.host.enabled);
        CHECK(spec.host.runs("Softmax"));
    }
}

TEST_CASE("the reference architecture outline parses with the documented defaults", "[arch][load]") {
    const ArchSpec spec = parse_arch(kReferenceOutline, "outline.yaml");
    CHECK(spec.name == "edge-npu");
    CHECK(spec.clock_mhz == 800.0);
    CHECK(spec.memory.sram_kib == 512);
    CHECK(spec.memory.dram_bytes_per_cycle == 16.0);
    REQUIRE(spec.engines.size() == 3);

    const EngineSpec& mac8 = spec.engines[0];
    CHECK(mac8.kind == EngineKind::mac_array);
    CHECK(mac8.array.rows == 16);
    CHECK(mac8.array.cols == 16);
    CHECK(mac8.dataflow == Dataflow::output_stationary);
    REQUIRE(mac8.precisions.size() == 2);
    CHECK(mac8.precisions[1] == Precision{ValueType::int4, ValueType::int8});
    CHECK(mac8.accumulator.bits == 24);
    CHECK(mac8.bias.bits == 24);
    CHECK(mac8.bias.stage == BiasStage::preload);
    CHECK(mac8.requant.kind == RequantKind::multiplier);
    CHECK(mac8.requant.multiplier_bits == 16);
    CHECK(mac8.requant.shift_bits == 5);
    CHECK(mac8.requant.per_channel);
    CHECK(mac8.zero_point.activation);
    CHECK_FALSE(mac8.zero_point.weight);
    CHECK_FALSE(mac8.lut);

    const EngineSpec& bnn = spec.engines[1];
    // No ops list: a mac_array runs Conv, Gemm and MatMul. No bias section:
    // the bias is as wide as the accumulator.
    CHECK(bnn.ops == std::vector<std::string>{"Conv", "Gemm", "MatMul"});
    CHECK(bnn.bias.bits == 16);
    CHECK(bnn.requant.kind == RequantKind::shifter);
    CHECK(bnn.requant.shift_bits == 4);
    CHECK(bnn.requant.rounding == RoundingMode::floor);
    CHECK_FALSE(bnn.requant.per_channel);

    const EngineSpec& vec = spec.engines[2];
    CHECK(vec.kind == EngineKind::vector);
    CHECK(vec.lanes == 16);
    CHECK(vec.accumulator.overflow == Overflow::saturate);
    REQUIRE(vec.lut);
    CHECK(vec.lut->entries == 256);
    CHECK_FALSE(vec.precisions[0].weight);
    CHECK(vec.supports_precision(Precision{std::nullopt, ValueType::int8}));
    CHECK_FALSE(vec.supports_precision(Precision{std::nullopt, ValueType::uint8}));

    CHECK(spec.op_mapping.at("Conv") == "mac8");
    CHECK_FALSE(spec.host.enabled);
    CHECK_FALSE(spec.host.runs("Softmax"));
    CHECK(spec.source_path == "outline.yaml");
}

TEST_CASE("engine_for: node override, then op mapping, then first engine listing the op", "[arch][load]") {
    std::string text = kReferenceOutline;
    text += "node_mapping: {conv1: bnn, odd: vec}\nhost: {enabled: true, ops: [Softmax]}\n";
    const ArchSpec spec = parse_arch(text, "mem");
    CHECK(spec.engine_for("conv1", "Conv")->name == "bnn");
    CHECK(spec.engine_for("conv2", "Conv")->name == "mac8");
    // MatMul has no mapping entry: the first engine listing it is mac8.
    CHECK(spec.engine_for("mm", "MatMul")->name == "mac8");
    CHECK(spec.engine_for("a", "Add")->name == "vec");
    // The override wins even when that engine does not run the op; the
    // caller checks supports_op().
    CHECK(spec.engine_for("odd", "Conv")->name == "vec");
    CHECK_FALSE(spec.engine_for("odd", "Conv")->supports_op("Conv"));
    CHECK(spec.engine_for("s", "Softmax") == nullptr);
    CHECK(spec.host.runs("Softmax"));
    CHECK_FALSE(spec.host.runs("Resize"));
    CHECK(spec.find_engine("vec") == &spec.engines[2]);
    CHECK(spec.find_engine("nope") == nullptr);
}

TEST_CASE("node names may need quoting", "[arch][load]") {
    std::string text = kReferenceOutline;
    text += "node_mapping: {\"/features/features.0/Conv\": bnn, \"conv: 2\": vec}\n";
    const ArchSpec spec = parse_arch(text, "q");
    CHECK(spec.engine_for("/features/features.0/Conv", "Conv")->name == "bnn");
    CHECK(spec.node_mapping.at("conv: 2") == "vec");
}

TEST_CASE("requant defaults depend on the kind", "[arch][load]") {
    const std::string head = "name: t\nengines:\n  - name: m\n    kind: mac_array\n    array: {rows: 1, cols: 1}\n"
                             "    precisions: [{weight: int8, activation: int8}]\n    accumulator: {bits: 32}\n";
    const ArchSpec q31 = parse_arch(head + "    requant: {kind: gemmlowp}\n", "t");
    CHECK(q31.engines[0].requant.multiplier_bits == 32);
    CHECK(q31.engines[0].requant.rounding == RoundingMode::half_away);
    const ArchSpec fp = parse_arch(head + "    requant: {kind: float32}\n", "t");
    CHECK(fp.engines[0].requant.rounding == RoundingMode::half_even);
    const ArchSpec none = parse_arch(head, "t");
    CHECK(none.engines[0].requant.kind == RequantKind::multiplier);
    CHECK(none.engines[0].requant.multiplier_bits == 16);
    CHECK(none.engines[0].requant.shift_bits == 5);
    CHECK(none.engines[0].requant.rounding == RoundingMode::half_up);
    CHECK(none.engines[0].bias.bits == 32);
}

TEST_CASE("content hash is SHA-256 of the bytes", "[arch][load]") {
    // FIPS 180-4 test vectors.
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(sha256_hex(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    const ArchSpec a = parse_arch(kReferenceOutline, "a");
    const ArchSpec b = parse_arch(std::string(kReferenceOutline) + "# a comment\n", "b");
    CHECK(a.content_hash == sha256_hex(kReferenceOutline));
    CHECK(a.content_hash != b.content_hash);
}

TEST_CASE("validate_arch checks a spec built in code", "[arch][load]") {
    ArchSpec spec = parse_arch(kReferenceOutline, "x");
    REQUIRE_NOTHROW(validate_arch(spec));
    spec.source_path.clear();
    spec.engines[0].accumulator.bits = 70;
    CHECK_THROWS_WITH(validate_arch(spec), "engines[0].accumulator.bits: 70 is outside 2..64");
    spec.engines[0].accumulator.bits = 24;
    spec.op_mapping["Add"] = "mac8";
    CHECK_THROWS_WITH(validate_arch(spec), "mapping.Add: engine 'mac8' does not run Add (it is not in its ops list)");
}

TEST_CASE("a missing file is a clear UserError", "[arch][load]") {
    CHECK_THROWS_AS(load_arch("/nonexistent/arch.yaml"), bitnpu::UserError);
    CHECK_THROWS_WITH(load_arch("/nonexistent/arch.yaml"),
                      Catch::Contains("/nonexistent/arch.yaml: cannot open architecture file"));
}
