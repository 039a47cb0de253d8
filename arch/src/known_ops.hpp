// ONNX op type names arch/ accepts in `ops:` lists, `mapping:` and `host.ops`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bitnpu::arch::detail {

bool is_known_onnx_op(std::string_view op);
std::vector<std::string> known_onnx_ops();

}  // namespace bitnpu::arch::detail
