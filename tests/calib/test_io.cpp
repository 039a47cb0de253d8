// Tensor I/O: .npy/.npz reading and writing, atomic saves.
#include <catch2/catch.hpp>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bitnpu/frontend/tensor_io.hpp"
#include "bitnpu/errors.hpp"
#include "onnx_model_builder.hpp"

using namespace bitnpu::calib;
using bitnpu::UserError;
using bitnpu::test::TempFile;
using Catch::Matchers::Contains;

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// A .npy file as numpy writes it (format 1.0, header padded to 64 bytes),
// built here independently of the library's writer.
std::string npy_bytes(const std::string& descr, const std::string& shape, const std::string& data,
                      const char* fortran = "False") {
    std::string dict = "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
    while ((10 + dict.size() + 1) % 64 != 0) dict += ' ';
    dict += '\n';
    std::string out = "\x93NUMPY";
    out += '\x01';
    out += '\x00';
    out += static_cast<char>(dict.size() & 0xff);
    out += static_cast<char>(dict.size() >> 8);
    return out + dict + data;
}

template <class T>
std::string raw(const std::vector<T>& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

template <class T>
void check_round_trip(const std::vector<T>& values, Shape shape) {
    TempFile f(".npy");
    const Tensor t = Tensor::from_vector<T>(shape, values);
    save_npy(f.path(), t);
    const Tensor back = load_npy(f.path());
    CHECK(back.dtype() == t.dtype());
    CHECK(back.shape() == shape);
    CHECK((t.byte_size() == 0 || std::memcmp(back.raw(), t.raw(), t.byte_size()) == 0));
    // The writer's header obeys the format: data starts at a multiple of 64.
    CHECK((slurp(f.path()).size() - t.byte_size()) % 64 == 0);
}

}  // namespace

TEST_CASE("npy: reads numpy-format files of every dtype", "[io]") {
    TempFile f(".npy");
    f.write(npy_bytes("<f4", "(2, 3)", raw<float>({1, 2, 3, 4, 5, 6})));
    Tensor t = load_npy(f.path());
    CHECK(t.dtype() == DType::f32);
    CHECK(t.shape() == Shape{2, 3});
    CHECK(t.to_floats() == std::vector<float>{1, 2, 3, 4, 5, 6});
    f.write(npy_bytes("<i8", "(3,)", raw<std::int64_t>({-5, 0, 1LL << 50})));
    CHECK(load_npy(f.path()).to_int64s() == std::vector<std::int64_t>{-5, 0, 1LL << 50});
    f.write(npy_bytes("|i1", "(2,)", std::string("\xff\x05", 2)));
    CHECK(load_npy(f.path()).to_int64s() == std::vector<std::int64_t>{-1, 5});
    f.write(npy_bytes("|u1", "(2,)", std::string("\xff\x05", 2)));
    CHECK(load_npy(f.path()).to_int64s() == std::vector<std::int64_t>{255, 5});
    f.write(npy_bytes("<i4", "()", raw<std::int32_t>({-9})));
    t = load_npy(f.path());
    CHECK(t.rank() == 0);
    CHECK(t.to_int64s() == std::vector<std::int64_t>{-9});
    f.write(npy_bytes("<f8", "(1,)", raw<double>({0.1})));
    CHECK(load_npy(f.path()).data<double>()[0] == 0.1);
    f.write(npy_bytes("|b1", "(2,)", std::string("\x01\x00", 2)));
    CHECK(load_npy(f.path()).dtype() == DType::boolean);
    // float16: 1.0, -0.5, 65504 (binary16 bit patterns) widen to float32.
    f.write(npy_bytes("<f2", "(3,)", raw<std::uint16_t>({0x3C00, 0xB800, 0x7BFF})));
    t = load_npy(f.path());
    CHECK(t.dtype() == DType::f32);
    CHECK(t.to_floats() == std::vector<float>{1.0f, -0.5f, 65504.0f});
}

TEST_CASE("npy: writer output matches numpy's header byte for byte", "[io]") {
    TempFile f(".npy");
    save_npy(f.path(), Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6}));
    CHECK(slurp(f.path()) == npy_bytes("<f4", "(2, 3)", raw<float>({1, 2, 3, 4, 5, 6})));
    save_npy(f.path(), Tensor::from_vector<std::int64_t>({3}, {1, 2, 3}));
    CHECK(slurp(f.path()) == npy_bytes("<i8", "(3,)", raw<std::int64_t>({1, 2, 3})));
}

TEST_CASE("npy: round trips for every dtype", "[io]") {
    check_round_trip<float>({1.5f, -2.25f, 3e-8f, 0.0f}, {2, 2});
    check_round_trip<double>({1.0 / 3.0, -7.0}, {2});
    check_round_trip<std::int8_t>({-128, 127, 0}, {3, 1});
    check_round_trip<std::uint8_t>({0, 255, 7}, {1, 3});
    check_round_trip<std::int16_t>({-32768, 32767}, {2});
    check_round_trip<std::int32_t>({-1, 1 << 30}, {2});
    check_round_trip<std::int64_t>({-1, 1LL << 60}, {1, 1, 2});
    check_round_trip<bool>({true, false, true}, {3});
    check_round_trip<float>({}, {0, 4});
    check_round_trip<float>({42.0f}, {});
}

TEST_CASE("npy: Fortran order, big endian, odd dtypes and truncation are clear errors", "[io]") {
    TempFile f(".npy");
    f.write(npy_bytes("<f4", "(2, 2)", raw<float>({1, 2, 3, 4}), "True"));
    CHECK_THROWS_WITH(load_npy(f.path()), Contains("Fortran") && Contains(f.path()));
    f.write(npy_bytes(">f4", "(1,)", raw<float>({1})));
    CHECK_THROWS_WITH(load_npy(f.path()), Contains("big-endian"));
    f.write(npy_bytes("<c8", "(1,)", std::string(8, '\0')));
    CHECK_THROWS_WITH(load_npy(f.path()), Contains("not supported"));
    f.write(npy_bytes("<f4", "(4,)", raw<float>({1, 2, 3})));
    CHECK_THROWS_WITH(load_npy(f.path()), Contains("truncated"));
    f.write("\x93NUMPY\x01");
    CHECK_THROWS_AS(load_npy(f.path()), UserError);
    f.write("just text");
    CHECK_THROWS_WITH(load_npy(f.path()), Contains("not a .npy"));
    CHECK_THROWS_WITH(load_npy("/nonexistent/x.npy"), Contains("cannot open"));
}

TEST_CASE("npy: saving is atomic and leaves no temporary files", "[io]") {
    TempFile dir("");
    std::filesystem::create_directories(dir.path());
    const std::string path = dir.path() + "/out.npy";
    save_npy(path, Tensor::from_vector<float>({1}, {1.0f}));
    save_npy(path, Tensor::from_vector<float>({2}, {2.0f, 3.0f}));  // replaces the old file
    CHECK(load_npy(path).to_floats() == std::vector<float>{2.0f, 3.0f});
    int files = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) files += e.is_regular_file();
    CHECK(files == 1);
    CHECK_THROWS_AS(save_npy(dir.path() + "/missing_dir/out.npy", Tensor(DType::f32, {1})), UserError);
}

namespace {

void put(std::string& out, std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

std::string deflate_raw(const std::string& in) {
    z_stream zs{};
    deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    std::string out(compressBound(static_cast<uLong>(in.size())) + 64, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

// A zip archive written from the PKWARE spec (what numpy.savez_compressed
// produces): method 8 = deflate, 0 = stored.
std::string zip_of(const std::vector<std::pair<std::string, std::string>>& files, int method) {
    std::string out, dir;
    for (const auto& [name, data] : files) {
        const std::string body = method == 8 ? deflate_raw(data) : data;
        const auto crc = crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
        const std::size_t offset = out.size();
        put(out, 0x04034b50, 4), put(out, 20, 2), put(out, 0, 2), put(out, method, 2), put(out, 0, 4);
        put(out, crc, 4), put(out, body.size(), 4), put(out, data.size(), 4), put(out, name.size(), 2), put(out, 0, 2);
        out += name + body;
        put(dir, 0x02014b50, 4), put(dir, 20, 2), put(dir, 20, 2), put(dir, 0, 2), put(dir, method, 2), put(dir, 0, 4);
        put(dir, crc, 4), put(dir, body.size(), 4), put(dir, data.size(), 4), put(dir, name.size(), 2);
        put(dir, 0, 2), put(dir, 0, 2), put(dir, 0, 2), put(dir, 0, 2), put(dir, 0, 4), put(dir, offset, 4);
        dir += name;
    }
    const std::size_t dir_offset = out.size();
    out += dir;
    put(out, 0x06054b50, 4), put(out, 0, 4), put(out, files.size(), 2), put(out, files.size(), 2);
    put(out, dir.size(), 4), put(out, dir_offset, 4), put(out, 0, 2);
    return out;
}

}  // namespace

TEST_CASE("npz: deflated and stored archives load by name", "[io]") {
    const std::vector<float> big(1000, 0.5f);  // compressible
    const auto files = std::vector<std::pair<std::string, std::string>>{
        {"x.npy", npy_bytes("<f4", "(1000,)", raw<float>(big))},
        {"labels.npy", npy_bytes("<i8", "(2,)", raw<std::int64_t>({3, 7}))}};
    for (int method : {0, 8}) {
        TempFile f(".npz");
        f.write(zip_of(files, method));
        const auto tensors = load_npz(f.path());
        REQUIRE(tensors.size() == 2);
        CHECK(tensors.at("x").to_floats() == big);
        CHECK(tensors.at("labels").to_int64s() == std::vector<std::int64_t>{3, 7});
    }
}

TEST_CASE("npz: save_npz round trip and corrupt archives", "[io]") {
    TempFile f(".npz");
    save_npz(f.path(), {{"a", Tensor::from_vector<float>({2}, {1, 2})}, {"b", Tensor(DType::u8, {3, 3})}});
    const auto back = load_npz(f.path());
    CHECK(back.at("a").to_floats() == std::vector<float>{1, 2});
    CHECK(back.at("b").shape() == Shape{3, 3});
    std::string bytes = slurp(f.path());
    TempFile cut(".npz");
    cut.write(bytes.substr(0, bytes.size() / 2));
    CHECK_THROWS_AS(load_npz(cut.path()), UserError);
    bytes[40 + 30] ^= 0x5a;  // flip a data byte of the first entry: CRC must catch it
    TempFile flipped(".npz");
    flipped.write(bytes);
    CHECK_THROWS_AS(load_npz(flipped.path()), UserError);
    TempFile text(".npz");
    text.write("not a zip file at all, but long enough to look for a directory");
    CHECK_THROWS_WITH(load_npz(text.path()), Contains("not a .npz"));
}

TEST_CASE("load_tensor_file picks the reader by extension", "[io]") {
    TempFile npy(".npy");
    save_npy(npy.path(), Tensor::from_vector<float>({1}, {4.0f}));
    CHECK(load_tensor_file(npy.path()).to_floats() == std::vector<float>{4.0f});
    TempFile pb(".pb");
    pb.write(bitnpu::test::ModelBuilder::f32_tensor("t", {1}, {5.0f}).SerializeAsString());
    CHECK(load_tensor_file(pb.path()).to_floats() == std::vector<float>{5.0f});
    CHECK_THROWS_WITH(load_tensor_file("data.csv"), Contains(".npy or .pb"));
}

TEST_CASE("npy: corrupt shapes fail cleanly without huge allocations", "[io]") {
    TempFile f(".npy");
    f.write(npy_bytes("<f4", "(1099511627776, 1099511627776)", raw<float>({1})));
    CHECK_THROWS_WITH(load_npy(f.path()), Contains("truncated"));
    f.write(npy_bytes("<f4", "(99999999999999999999999,)", raw<float>({1})));
    CHECK_THROWS_AS(load_npy(f.path()), UserError);
    f.write(npy_bytes("<f4", "(0, 5)", ""));
    CHECK(load_npy(f.path()).shape() == Shape{0, 5});
}
