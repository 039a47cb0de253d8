// CTable: YAML/JSON round trips, determinism, atomic writes, partial tables
// and the errors malformed tables produce.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "bitnpu/ctable/ctable.hpp"
#include "bitnpu/errors.hpp"

using namespace bitnpu;
using namespace bitnpu::calib;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

CTable sample_table() {
    CTable t;
    t.model = {"tiny-cnn", "models/tiny cnn.onnx", "fnv1a64:00ff12"};
    t.arch = {"edge-npu", "fnv1a64:abcdef"};
    t.settings.policy = "kld";
    t.settings.samples = 512;
    t.settings.seed = 42;
    t.settings.flags = {{"bias_correction", "false"}, {"threads", "2"}};

    CTableTensor in;
    in.type = arch::ValueType::uint8;
    in.scale = {0.1f};
    in.zero_point = {128};
    in.policy = "max";
    in.sqnr_db = 41.25;
    t.tensors["input"] = in;

    CTableTensor w;
    w.type = arch::ValueType::int8;
    w.restricted = true;
    w.scale = {0.0123456789f, 1e-5f, 3.0f};
    w.zero_point = {0, 0, 0};
    w.axis = 0;
    w.policy = "max";
    t.tensors["conv1.weight"] = w;

    CTableTensor y;
    y.type = arch::ValueType::int8;
    y.scale = {0.0625f};
    y.zero_point = {0};
    y.exponent = {4};
    y.policy = "l2";
    y.sqnr_db = std::numeric_limits<double>::infinity();
    t.tensors["true"] = y;  // a name YAML would otherwise read as a bool

    CTableLayer l;
    l.node = "conv1";
    l.op = "Conv";
    l.engine = "mac8";
    l.precision = {arch::ValueType::int8, arch::ValueType::uint8};
    l.inputs = {"input", "conv1.weight", ""};
    l.outputs = {"true"};
    l.weight_granularity = "per_channel";
    l.weight_scale = w.scale;
    l.bias_bits = 24;
    l.bias = {1000, -8388608, 8388607};
    for (int c = 0; c < 3; ++c) {
        CTableRequant r;
        r.kind = arch::RequantKind::multiplier;
        r.rounding = arch::RoundingMode::half_up;
        r.multiplier = 40000 + c;
        r.shift = 20 + c;
        r.dst_bits = 24;
        r.ideal = 0.1 * (c + 1) / 3.0;
        r.realized = std::ldexp(static_cast<double>(r.multiplier), -r.shift);
        l.requant.push_back(r);
    }
    l.clamp_lo = 0;
    l.clamp_hi = 127;
    l.output_zero_point = 0;
    l.sqnr_db = 38.5;
    t.layers.push_back(l);

    CTableLayer add;
    add.node = "add1";
    add.op = "Add";
    add.engine = "vec";
    add.precision.activation = arch::ValueType::int8;
    CTableRequant f;
    f.kind = arch::RequantKind::float32;
    f.rounding = arch::RoundingMode::half_even;
    f.float_scale = 0.7f;
    f.ideal = 0.7;
    f.realized = static_cast<double>(0.7f);
    add.requant.push_back(f);
    t.layers.push_back(add);
    return t;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

fs::path temp_dir() {
    const fs::path d = fs::temp_directory_path() / ("bitnpu_ctable_test_" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
}

}  // namespace

TEST_CASE("ctable: YAML round trip is byte-identical and keeps every value", "[ctable]") {
    const CTable t = sample_table();
    const std::string y1 = to_yaml(t);
    const CTable back = parse_ctable(y1, "mem.yaml");
    CHECK(to_yaml(back) == y1);

    CHECK(back.model.path == "models/tiny cnn.onnx");
    CHECK(back.settings.flags.at("bias_correction") == "false");
    CHECK(back.settings.seed == 42);
    const auto& w = back.tensors.at("conv1.weight");
    CHECK(w.scale == t.tensors.at("conv1.weight").scale);  // exact float round trip
    CHECK(w.axis == 0);
    CHECK(w.restricted);
    CHECK(back.tensors.at("input").zero_point == std::vector<std::int64_t>{128});
    CHECK(back.tensors.at("true").exponent == std::vector<int>{4});
    CHECK(std::isinf(*back.tensors.at("true").sqnr_db));
    const auto& l = back.layers.at(0);
    CHECK(l.inputs == std::vector<std::string>{"input", "conv1.weight", ""});
    CHECK(l.bias == std::vector<std::int64_t>{1000, -8388608, 8388607});
    CHECK(l.requant.size() == 3);
    CHECK(l.requant[2].multiplier == 40002);
    CHECK(l.requant[2].shift == 22);
    CHECK(l.requant[2].dst_bits == 24);
    CHECK(l.requant[1].ideal == t.layers[0].requant[1].ideal);  // exact double round trip
    CHECK(l.requant[1].realized == t.layers[0].requant[1].realized);
    CHECK(*l.clamp_hi == 127);
    CHECK(*l.precision.weight == arch::ValueType::int8);
    CHECK(back.layers.at(1).requant[0].float_scale == 0.7f);
    CHECK_FALSE(back.layers.at(1).precision.weight.has_value());
}

TEST_CASE("ctable: YAML text is readable and stable", "[ctable]") {
    const std::string y = to_yaml(sample_table());
    CHECK_THAT(y, Contains("bitnpu_ctable: 1\n"));
    CHECK_THAT(y, Contains("scale: [0.012345679, 1.0e-05, 3.0]"));
    CHECK_THAT(y, Contains("scale: 0.1\n"));
    CHECK_THAT(y, Contains("\"true\":"));          // quoted so it stays a string
    CHECK_THAT(y, Contains("sqnr_db: .inf"));
    CHECK_THAT(y, Contains("clamp: [0, 127]"));
    CHECK_THAT(y, Contains("bias: [1000, -8388608, 8388607]"));
    CHECK_THAT(y, Contains("{multiplier: 40000, shift: 20, ideal: "));
    // Tensors are sorted by name whatever the insertion order.
    CHECK(y.find("conv1.weight:") < y.find("input:"));
}

TEST_CASE("ctable: JSON round trip, and JSON and YAML describe the same table", "[ctable]") {
    const CTable t = sample_table();
    const std::string j1 = to_json(t);
    const CTable back = parse_ctable(j1, "mem.json");
    CHECK(to_json(back) == j1);
    CHECK(to_yaml(back) == to_yaml(t));
    CHECK_THAT(j1, Contains("\"bitnpu_ctable\": 1"));
    CHECK_THAT(j1, Contains("\"sqnr_db\": \".inf\""));
    CHECK_THAT(j1, Contains("0.1,"));  // shortest form of 0.1f, not 0.10000000149011612
}

TEST_CASE("ctable: same content, same bytes", "[ctable]") {
    CTable a = sample_table();
    CTable b;
    b.model = a.model;
    b.arch = a.arch;
    b.settings = a.settings;
    b.layers = a.layers;
    for (auto it = a.tensors.rbegin(); it != a.tensors.rend(); ++it) b.tensors.insert(*it);
    CHECK(to_yaml(a) == to_yaml(b));
    CHECK(to_json(a) == to_json(b));
}

TEST_CASE("ctable: files are written atomically and read back", "[ctable]") {
    const fs::path dir = temp_dir();
    const CTable t = sample_table();
    const std::string yaml_path = (dir / "table.yaml").string();
    const std::string json_path = (dir / "table.json").string();
    write_ctable(t, yaml_path);
    write_ctable(t, json_path);
    write_ctable(t, yaml_path);  // replaces
    CHECK(read_file(yaml_path) == to_yaml(t));
    CHECK(read_file(json_path) == to_json(t));
    CHECK(to_yaml(read_ctable(json_path)) == to_yaml(t));
    CHECK(to_yaml(read_ctable(yaml_path)) == to_yaml(t));
    int files = 0;
    for (const auto& e : fs::directory_iterator(dir)) { (void)e; ++files; }
    CHECK(files == 2);  // no temporary files left behind
    CHECK_THROWS_AS(write_ctable(t, (dir / "missing" / "x.yaml").string()), UserError);
    CHECK_THROWS_WITH(read_ctable((dir / "nope.yaml").string()), Contains("nope.yaml"));
    fs::remove_all(dir);
}

TEST_CASE("ctable: a partial table (scales and zero-points only) is accepted", "[ctable]") {
    const std::string text =
        "bitnpu_ctable: 1\n"
        "tensors:\n"
        "  x: {type: int8, scale: 0.02, zero_point: -3}\n"
        "  w: {type: int8, scale: [0.5, 0.25], axis: 0}\n";
    const CTable t = parse_ctable(text, "qat.yaml");
    CHECK(t.layers.empty());
    CHECK(t.tensors.at("x").zero_point == std::vector<std::int64_t>{-3});
    CHECK(t.tensors.at("w").zero_point == std::vector<std::int64_t>{0, 0});
    CHECK(t.tensors.at("w").scale[1] == 0.25f);
    CHECK(to_yaml(parse_ctable(to_yaml(t), "again")) == to_yaml(t));
}

TEST_CASE("ctable: malformed tables give file:line errors", "[ctable]") {
    auto error_of = [](const std::string& text) {
        try {
            parse_ctable(text, "bad.yaml");
        } catch (const UserError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK_THAT(error_of("bitnpu_ctable: 2\ntensors: {}\n"), Contains("bad.yaml:1:") && Contains("version 2"));
    CHECK_THAT(error_of("tensors: {}\n"), Contains("bitnpu_ctable"));
    CHECK_THAT(error_of("bitnpu_ctable: 1\n"), Contains("missing required field 'tensors'"));
    CHECK_THAT(error_of("bitnpu_ctable: 1\ntensors:\n  x: {type: int8, scale: [0.1\n"), Contains("bad.yaml:"));
    CHECK_THAT(error_of("bitnpu_ctable: 1\ntensors:\n  x:\n    type: int8\n    scale: abc\n"),
               Contains("bad.yaml:5:") && Contains("tensors.x.scale") && Contains("'abc' is not a number"));
    CHECK_THAT(error_of("bitnpu_ctable: 1\ntensors:\n  x: {type: int9, scale: 1.0}\n"),
               Contains("bad.yaml:3:") && Contains("int9"));
    CHECK_THAT(error_of("bitnpu_ctable: 1\ntensors:\n  x: {type: int8}\n"),
               Contains("bad.yaml:3:") && Contains("missing required field 'scale'"));
    CHECK_THAT(error_of("bitnpu_ctable: 1\ntensors:\n  x: {type: int8, scales: 1.0}\n"),
               Contains("unknown field 'scales'"));
    CHECK_THAT(error_of("bitnpu_ctable: 1\ntensors:\n  x: {type: int8, scale: 1.0, zero_point: 300}\n"),
               Contains("zero_point") && Contains("300"));
    CHECK_THAT(error_of("bitnpu_ctable: 1\ntensors:\n  x: {type: int8, scale: -1.0}\n"), Contains("positive"));
    CHECK_THAT(error_of("bitnpu_ctable: 1\ntensors: {}\nlayers:\n  - {op: Conv}\n"),
               Contains("bad.yaml:4:") && Contains("'node'"));
    CHECK_THAT(error_of("{\"bitnpu_ctable\": 1, \"tensors\": {\"x\": {\"type\": \"int8\", \"scale\": }}}"),
               Contains("bad.yaml:1:"));
    CHECK_THAT(error_of("bitnpu_ctable: 1\ntensors: {}\nlayers:\n  - {node: c, bias_bits: 8, bias: [1, 128]}\n"),
               Contains("layers[0].bias[1]") && Contains("128") && Contains("bias_bits 8"));
    CHECK_THAT(error_of(""), Contains("empty"));
    CHECK_THAT(error_of("- 1\n- 2\n"), Contains("expected a mapping"));

    CTable bad = sample_table();
    bad.tensors["input"].zero_point.clear();
    CHECK_THROWS_AS(to_yaml(bad), std::invalid_argument);
}

TEST_CASE("ctable: records convert to and from QuantParams and requant registers", "[ctable]") {
    QuantParams p;
    p.type = arch::ValueType::int4;
    p.restricted = true;
    p.scales = {0.5f, 0.25f};
    p.zero_points = {0, 0};
    p.exponents = {1, 2};
    p.axis = 0;
    const CTableTensor t = ctable_tensor(p, "l2", 30.0);
    CHECK(t.axis == 0);
    CHECK(t.exponent == std::vector<int>{1, 2});
    CHECK(t.policy == "l2");
    const QuantParams back = quant_params(t);
    CHECK(back.scales == p.scales);
    CHECK(back.axis == 0);
    CHECK(back.type == arch::ValueType::int4);
    CHECK(quant_params(parse_ctable("bitnpu_ctable: 1\ntensors: {x: {type: int8, scale: 0.5}}\n", "m").tensors.at("x")).axis == -1);

    ChannelRequant cr;
    cr.ideal = 0.3;
    cr.derived.registers.kind = arch::RequantKind::gemmlowp;
    cr.derived.registers.rounding = arch::RoundingMode::half_away;
    cr.derived.registers.multiplier = 1288490189;
    cr.derived.registers.shift = -1;
    cr.derived.registers.dst_bits = 32;
    cr.derived.realized = 0.29999999;
    const CTableRequant c = ctable_requant(cr);
    CHECK(c.multiplier == 1288490189);
    CHECK(c.shift == -1);
    CHECK(c.ideal == 0.3);
    CHECK(c.realized == 0.29999999);
    const sim::RequantRegisters r = requant_registers(c);
    CHECK(r.kind == arch::RequantKind::gemmlowp);
    CHECK(r.multiplier == 1288490189);
    CHECK(r.rounding == arch::RoundingMode::half_away);
}

TEST_CASE("ctable: the example in docs/ctable.md is what the writer produces", "[ctable]") {
    const std::string doc = read_file(fs::path(BITNPU_SOURCE_DIR) / "docs" / "ctable.md");
    const std::string open = "## Example (YAML)\n```yaml\n";
    const auto begin = doc.find(open);
    REQUIRE(begin != std::string::npos);
    const auto start = begin + open.size();
    const std::string example = doc.substr(start, doc.find("```", start) - start);
    const CTable t = parse_ctable(example, "docs/ctable.md");
    CHECK(to_yaml(t) == example);
    CHECK(t.layers.at(0).requant.at(1).multiplier == 54358);
}

TEST_CASE("ctable: awkward tensor names survive both formats", "[ctable]") {
    CTable t;
    const std::vector<std::string> names = {"a: b #c", "- x", "[y]", "multi\nline", "'q\"uote'", "", "null",
                                            "1e5", "ünïcode/Conv_0", "trailing "};
    for (std::size_t i = 0; i < names.size(); ++i) {
        CTableTensor x;
        x.scale = {0.5f};
        x.zero_point = {0};
        x.policy = names[i];
        t.tensors["n" + std::to_string(i) + names[i]] = x;
    }
    CTableLayer l;
    l.node = "node";
    l.inputs = names;
    t.layers.push_back(l);
    for (const std::string& text : {to_yaml(t), to_json(t)}) {
        const CTable back = parse_ctable(text, "names");
        CHECK(back.layers.at(0).inputs == names);
        for (const auto& [name, x] : t.tensors) {
            INFO(name);
            REQUIRE(back.tensors.count(name) == 1);
            CHECK(back.tensors.at(name).policy == x.policy);
        }
    }
}
