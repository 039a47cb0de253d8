// TensorProto <-> Tensor conversion (typed fields, raw_data, fp16/bf16 widening).
#include "bitnpu/graph/onnx_tensor.hpp"

#include <cstring>

#include "bitnpu/errors.hpp"
#include "bitnpu/graph/float16.hpp"

namespace bitnpu::calib::onnx_io {

using TP = onnx::TensorProto;

std::optional<DType> dtype_from_onnx(int t) {
    switch (t) {
        case TP::FLOAT: case TP::FLOAT16: case TP::BFLOAT16: return DType::f32;
        case TP::DOUBLE: return DType::f64;
        case TP::INT8: return DType::i8;
        case TP::UINT8: return DType::u8;
        case TP::INT16: return DType::i16;
        case TP::UINT16: case TP::INT32: return DType::i32;
        case TP::UINT32: case TP::INT64: case TP::UINT64: return DType::i64;
        case TP::BOOL: return DType::boolean;
        default: return std::nullopt;
    }
}

int onnx_type_of(DType t) {
    switch (t) {
        case DType::f32: return TP::FLOAT;
        case DType::f64: return TP::DOUBLE;
        case DType::i8: return TP::INT8;
        case DType::u8: return TP::UINT8;
        case DType::i16: return TP::INT16;
        case DType::i32: return TP::INT32;
        case DType::i64: return TP::INT64;
        case DType::boolean: return TP::BOOL;
    }
    return TP::UNDEFINED;
}

std::string onnx_type_name(int t) {
    if (TP::DataType_IsValid(t)) return TP::DataType_Name(static_cast<TP::DataType>(t));
    return "type " + std::to_string(t);
}

namespace {

// Little-endian unsigned integer of `width` bytes at p (the ONNX raw_data byte order).
std::uint64_t load_le(const unsigned char* p, int width) {
    std::uint64_t v = 0;
    for (int i = width - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

int onnx_element_width(int t) {
    switch (t) {
        case TP::FLOAT: case TP::INT32: case TP::UINT32: return 4;
        case TP::DOUBLE: case TP::INT64: case TP::UINT64: return 8;
        case TP::FLOAT16: case TP::BFLOAT16: case TP::INT16: case TP::UINT16: return 2;
        default: return 1;
    }
}

// Stores the ONNX element whose raw bits are `v` into element i of out.
void store_element(Tensor& out, std::int64_t i, int onnx_type, std::uint64_t v) {
    switch (onnx_type) {
        case TP::FLOAT: {
            const auto u = static_cast<std::uint32_t>(v);
            std::memcpy(out.data<float>() + i, &u, 4);
            return;
        }
        case TP::FLOAT16: out.data<float>()[i] = half_to_float(static_cast<std::uint16_t>(v)); return;
        case TP::BFLOAT16: out.data<float>()[i] = bfloat16_to_float(static_cast<std::uint16_t>(v)); return;
        case TP::DOUBLE: std::memcpy(out.data<double>() + i, &v, 8); return;
        case TP::INT8: out.data<std::int8_t>()[i] = static_cast<std::int8_t>(v); return;
        case TP::UINT8: out.data<std::uint8_t>()[i] = static_cast<std::uint8_t>(v); return;
        case TP::INT16: out.data<std::int16_t>()[i] = static_cast<std::int16_t>(v); return;
        case TP::UINT16: out.data<std::int32_t>()[i] = static_cast<std::uint16_t>(v); return;
        case TP::INT32: out.data<std::int32_t>()[i] = static_cast<std::int32_t>(v); return;
        case TP::UINT32: out.data<std::int64_t>()[i] = static_cast<std::uint32_t>(v); return;
        case TP::INT64: case TP::UINT64: out.data<std::int64_t>()[i] = static_cast<std::int64_t>(v); return;
        case TP::BOOL: out.data<bool>()[i] = v != 0; return;
        default: return;
    }
}

void read_raw(const TP& proto, Tensor& out, const std::string& what) {
    const std::string& raw = proto.raw_data();
    const int width = onnx_element_width(proto.data_type());
    if (raw.size() != static_cast<std::size_t>(out.numel()) * static_cast<std::size_t>(width))
        throw UserError("tensor '" + what + "': raw_data has " + std::to_string(raw.size()) + " bytes, shape " +
                        shape_to_string(out.shape()) + " of " + onnx_type_name(proto.data_type()) + " needs " +
                        std::to_string(out.numel() * width));
    const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
    for (std::int64_t i = 0; i < out.numel(); ++i)
        store_element(out, i, proto.data_type(), load_le(bytes + i * width, width));
}

// The typed field that carries this element type, as raw bit patterns.
std::vector<std::uint64_t> typed_values(const TP& proto) {
    std::vector<std::uint64_t> v;
    switch (proto.data_type()) {
        case TP::FLOAT:
            for (float f : proto.float_data()) {
                std::uint32_t u;
                std::memcpy(&u, &f, 4);
                v.push_back(u);
            }
            break;
        case TP::DOUBLE:
            for (double d : proto.double_data()) {
                std::uint64_t u;
                std::memcpy(&u, &d, 8);
                v.push_back(u);
            }
            break;
        case TP::INT64:
            for (auto x : proto.int64_data()) v.push_back(static_cast<std::uint64_t>(x));
            break;
        case TP::UINT32: case TP::UINT64:
            for (auto x : proto.uint64_data()) v.push_back(x);
            break;
        default:  // int8/16/32, uint8/16, bool, float16 and bfloat16 bits all live in int32_data
            for (auto x : proto.int32_data()) v.push_back(static_cast<std::uint64_t>(static_cast<std::int64_t>(x)));
            break;
    }
    return v;
}

// Product of the dims, or limit + 1 once it exceeds limit (no overflow).
std::size_t saturating_count(const Shape& shape, std::size_t limit) {
    std::size_t count = 1;
    for (auto d : shape)
        if (d == 0) return 0;
    for (auto d : shape) {
        if (count > limit / static_cast<std::size_t>(d)) return limit + 1;
        count *= static_cast<std::size_t>(d);
    }
    return count;
}

}  // namespace

Tensor tensor_from_proto(const TP& proto, const std::string& what) {
    if (proto.data_location() == TP::EXTERNAL)
        throw UserError("tensor '" + what +
                        "' keeps its data in an external file, which bitnpu reads only for graph initializers; re-save "
                        "the model with all tensors inside the .onnx file (onnx.save_model(..., "
                        "save_as_external_data=False))");
    const auto dtype = dtype_from_onnx(proto.data_type());
    if (!dtype)
        throw UserError("tensor '" + what + "' has element type " + onnx_type_name(proto.data_type()) +
                        ", which bitnpu does not support");
    Shape shape(proto.dims().begin(), proto.dims().end());
    for (auto d : shape)
        if (d < 0) throw UserError("tensor '" + what + "' has a negative dimension " + shape_to_string(shape));
    // Element count against the data actually present, before allocating:
    // a corrupt shape must not allocate terabytes.
    const bool raw = proto.has_raw_data();
    const std::vector<std::uint64_t> values = raw ? std::vector<std::uint64_t>{} : typed_values(proto);
    const std::size_t present = raw ? proto.raw_data().size() : values.size();
    if (saturating_count(shape, present) > present)
        throw UserError("tensor '" + what + "': shape " + shape_to_string(shape) + " of " +
                        onnx_type_name(proto.data_type()) + " needs more data than the " + std::to_string(present) +
                        (raw ? " bytes" : " values") + " stored");
    Tensor out(*dtype, shape);
    if (raw) {
        read_raw(proto, out, what);
        return out;
    }
    if (static_cast<std::int64_t>(values.size()) != out.numel())
        throw UserError("tensor '" + what + "': holds " + std::to_string(values.size()) + " values, shape " +
                        shape_to_string(shape) + " needs " + std::to_string(out.numel()));
    for (std::int64_t i = 0; i < out.numel(); ++i) store_element(out, i, proto.data_type(), values[i]);
    return out;
}

TP tensor_to_proto(const Tensor& t, const std::string& name) {
    TP proto;
    proto.set_name(name);
    proto.set_data_type(onnx_type_of(t.dtype()));
    for (auto d : t.shape()) proto.add_dims(d);
    // The IR stores elements in host order; bitnpu only builds on little-endian hosts.
    proto.set_raw_data(std::string(reinterpret_cast<const char*>(t.raw()), t.byte_size()));
    return proto;
}

}  // namespace bitnpu::calib::onnx_io
