// Whole-file reads for the tensor readers. Private to calib.
#pragma once

#include <string>

namespace bitnpu::calib::io_util {

// The file's bytes; UserError naming `what` and path if it cannot be read.
std::string read_file(const std::string& path, const std::string& what);

}  // namespace bitnpu::calib::io_util
