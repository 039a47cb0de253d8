// NumPy .npy reading and writing (format versions 1.0, 2.0 and 3.0).
#include <cstring>
#include <regex>

#include "bitnpu/graph/onnx_import.hpp"
#include "bitnpu/frontend/tensor_io.hpp"
#include "bitnpu/errors.hpp"
#include "bitnpu/graph/float16.hpp"
#include "file_util.hpp"

namespace bitnpu::calib {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;

// Little-endian unsigned integer of n bytes.
std::uint32_t le_uint(const std::string& s, std::size_t pos, int n) {
    std::uint32_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[pos + static_cast<std::size_t>(i)]);
    return v;
}

struct Header {
    std::string descr;
    bool fortran_order = false;
    Shape shape;
};

// The value of 'key' in the header dict, as raw text up to the next
// top-level comma or closing brace.
std::string dict_value(const std::string& dict, const std::string& key, const std::string& what) {
    const std::regex re("['\"]" + key + "['\"]\\s*:\\s*(\\([^)]*\\)|'[^']*'|\"[^\"]*\"|\\w+)");
    std::smatch m;
    if (!std::regex_search(dict, m, re)) throw UserError(what + ": .npy header has no '" + key + "' entry");
    return m[1].str();
}

Shape parse_shape_tuple(const std::string& tuple, const std::string& what) {
    Shape shape;
    const std::regex num("\\d+");
    for (auto it = std::sregex_iterator(tuple.begin(), tuple.end(), num); it != std::sregex_iterator(); ++it)
        if (it->str().size() > 15) throw UserError(what + ": implausible .npy dimension " + it->str());
        else shape.push_back(std::stoll(it->str()));
    if (tuple.find_first_not_of("()0123456789, L") != std::string::npos)
        throw UserError(what + ": cannot read .npy shape " + tuple);
    return shape;
}

Header parse_header(const std::string& dict, const std::string& what) {
    Header h;
    h.descr = dict_value(dict, "descr", what);
    if (h.descr.size() < 2) throw UserError(what + ": bad .npy descr " + h.descr);
    h.descr = h.descr.substr(1, h.descr.size() - 2);  // strip quotes
    const std::string fortran = dict_value(dict, "fortran_order", what);
    if (fortran != "True" && fortran != "False") throw UserError(what + ": bad fortran_order " + fortran);
    h.fortran_order = fortran == "True";
    h.shape = parse_shape_tuple(dict_value(dict, "shape", what), what);
    return h;
}

struct Descr {
    DType dtype;
    bool half;  // float16 on disk, widened to float32
};

Descr descr_to_dtype(const std::string& descr, const std::string& what) {
    if (descr.size() >= 2 && descr[0] == '>' && descr.substr(1) != "u1" && descr.substr(1) != "i1" &&
        descr.substr(1) != "b1")
        throw UserError(what + ": big-endian .npy data ('" + descr +
                        "') is not supported; save it little-endian (arr.astype(arr.dtype.newbyteorder('<')))");
    const std::string code = descr.size() >= 2 && (descr[0] == '<' || descr[0] == '|' || descr[0] == '=' ||
                                                   descr[0] == '>')
                                 ? descr.substr(1)
                                 : descr;
    if (code == "f4") return {DType::f32, false};
    if (code == "f2") return {DType::f32, true};
    if (code == "f8") return {DType::f64, false};
    if (code == "i1") return {DType::i8, false};
    if (code == "u1") return {DType::u8, false};
    if (code == "i2") return {DType::i16, false};
    if (code == "i4") return {DType::i32, false};
    if (code == "i8") return {DType::i64, false};
    if (code == "b1" || code == "?") return {DType::boolean, false};
    throw UserError(what + ": .npy dtype '" + descr +
                    "' is not supported (use float32, float16, float64, int8, uint8, int16, int32, int64 or bool)");
}

const char* dtype_to_descr(DType t) {
    switch (t) {
        case DType::f32: return "<f4";
        case DType::f64: return "<f8";
        case DType::i8: return "|i1";
        case DType::u8: return "|u1";
        case DType::i16: return "<i2";
        case DType::i32: return "<i4";
        case DType::i64: return "<i8";
        case DType::boolean: return "|b1";
    }
    return "";
}

}  // namespace

Tensor parse_npy(const std::string& bytes, const std::string& what) {
    if (bytes.size() < 10 || bytes.compare(0, kMagicSize, kMagic, kMagicSize) != 0)
        throw UserError(what + " is not a .npy file (bad magic)");
    const int major = static_cast<unsigned char>(bytes[6]);
    if (major < 1 || major > 3) throw UserError(what + ": unsupported .npy format version " + std::to_string(major));
    const int len_bytes = major == 1 ? 2 : 4;
    const std::size_t header_start = 8 + static_cast<std::size_t>(len_bytes);
    if (bytes.size() < header_start) throw UserError(what + ": truncated .npy header");
    const std::size_t header_len = le_uint(bytes, 8, len_bytes);
    // numpy.load's own limit (max_header_size); a longer header would also
    // take the header regexes below too deep.
    constexpr std::size_t kMaxHeader = 10000;
    if (header_len > kMaxHeader)
        throw UserError(what + ": .npy header of " + std::to_string(header_len) + " bytes is longer than " +
                        std::to_string(kMaxHeader) + " (numpy's limit); corrupt file?");
    if (bytes.size() < header_start + header_len) throw UserError(what + ": truncated .npy header");
    const Header h = parse_header(bytes.substr(header_start, header_len), what);
    if (h.fortran_order)
        throw UserError(what + ": Fortran-order .npy arrays are not supported; save a C-order copy "
                               "(numpy.ascontiguousarray(a))");
    const Descr d = descr_to_dtype(h.descr, what);
    const std::size_t data_start = header_start + header_len;
    const std::size_t have = bytes.size() - data_start;
    // Size check before allocating: a corrupt shape must not allocate terabytes.
    const std::size_t width = d.half ? 2 : element_size(d.dtype);
    bool fits = true;
    std::size_t count = 1;
    for (auto dim : h.shape) count = dim == 0 ? 0 : count;
    for (auto dim : h.shape) {
        if (count == 0) break;
        if (count > have / width / static_cast<std::size_t>(dim)) {
            fits = false;
            break;
        }
        count *= static_cast<std::size_t>(dim);
    }
    if (count > have / width) fits = false;  // a scalar (shape ()) needs one element too
    if (!fits)
        throw UserError(what + ": truncated .npy data (" + std::to_string(have) + " bytes; shape " +
                        shape_to_string(h.shape) + " of " + h.descr + " needs more)");
    const std::size_t need = count * width;
    Tensor t(d.dtype, h.shape);
    const char* src = bytes.data() + data_start;
    if (d.half) {
        for (std::int64_t i = 0; i < t.numel(); ++i) {
            std::uint16_t bits;
            std::memcpy(&bits, src + 2 * i, 2);
            t.data<float>()[i] = half_to_float(bits);
        }
    } else if (d.dtype == DType::boolean) {
        for (std::int64_t i = 0; i < t.numel(); ++i) t.data<bool>()[i] = src[i] != 0;
    } else if (need > 0) {  // empty tensors have no buffer to copy into
        std::memcpy(t.raw(), src, need);
    }
    return t;
}

Tensor load_npy(const std::string& path) { return parse_npy(io_util::read_file(path, ".npy file"), "'" + path + "'"); }

std::string serialize_npy(const Tensor& t) {
    std::string dict = std::string("{'descr': '") + dtype_to_descr(t.dtype()) + "', 'fortran_order': False, 'shape': (";
    for (std::size_t i = 0; i < t.shape().size(); ++i) dict += std::to_string(t.shape()[i]) + ", ";
    if (t.shape().size() > 1) dict.erase(dict.size() - 2);  // (2, 3) but (2,) for rank 1
    else if (t.shape().size() == 1) dict.pop_back();
    dict += "), }";
    // Pad with spaces so the data starts at a multiple of 64 bytes; end with '\n'.
    const std::size_t unpadded = kMagicSize + 4 + dict.size() + 1;
    dict.append((64 - unpadded % 64) % 64, ' ');
    dict += '\n';
    std::string out(kMagic, kMagicSize);
    out += '\x01';
    out += '\x00';
    out += static_cast<char>(dict.size() & 0xff);
    out += static_cast<char>((dict.size() >> 8) & 0xff);
    out += dict;
    out.append(reinterpret_cast<const char*>(t.raw()), t.byte_size());
    return out;
}

void save_npy(const std::string& path, const Tensor& tensor) { write_file_atomically(path, serialize_npy(tensor)); }

Tensor load_tensor_file(const std::string& path) {
    auto ends_with = [&](const char* ext) {
        const std::size_t n = std::strlen(ext);
        return path.size() >= n && path.compare(path.size() - n, n, ext) == 0;
    };
    if (ends_with(".npy")) return load_npy(path);
    if (ends_with(".pb")) return load_tensor_proto(path);
    throw UserError("'" + path + "': unknown tensor file type (expected .npy or .pb)");
}

}  // namespace bitnpu::calib
