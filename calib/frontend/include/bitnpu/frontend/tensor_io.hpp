// Reading and writing tensors: NumPy .npy/.npz, ONNX TensorProto .pb and
// image files. Every writer is atomic (temporary file in the same
// directory, then rename), so a crash never leaves a half-written file.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "bitnpu/frontend/preprocess.hpp"
#include "bitnpu/graph/tensor.hpp"

namespace bitnpu::calib {

// .npy (format versions 1-3): float32, float16 (read as float32), float64,
// int8, uint8, int16, int32, int64, bool; little-endian, C order.
// Fortran order, big-endian data, other dtypes and truncated files are
// UserErrors naming the file.
Tensor load_npy(const std::string& path);
Tensor parse_npy(const std::string& bytes, const std::string& what);
void save_npy(const std::string& path, const Tensor& tensor);
std::string serialize_npy(const Tensor& tensor);

// .npz: a zip of .npy files, entries stored or deflated (zip64 included).
// Keys are the entry names without ".npy", in the order of the archive.
std::map<std::string, Tensor> load_npz(const std::string& path);
// Writes an uncompressed .npz (what numpy.savez writes).
void save_npz(const std::string& path, const std::map<std::string, Tensor>& tensors);

// .npy or .pb (TensorProto), chosen by the file extension.
Tensor load_tensor_file(const std::string& path);

// Writes bytes to path atomically (temp file + rename).
void write_file_atomically(const std::string& path, const std::string& bytes);

// Image files (PNG, JPEG, BMP, ... via stb_image) in a directory, sorted by
// file name; other files are skipped. UserError if there are none.
std::vector<std::string> list_image_files(const std::string& directory);
// Loads and preprocesses one image: shape [1, C, H, W] (NCHW) or
// [1, H, W, C] (NHWC), dtype per spec.
Tensor load_image(const std::string& path, const PreprocessSpec& spec);
// Several images stacked along the batch dimension (all must preprocess to
// the same shape, which a resize or crop in the spec guarantees).
Tensor load_images(const std::vector<std::string>& paths, const PreprocessSpec& spec);

}  // namespace bitnpu::calib
