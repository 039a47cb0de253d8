// UTF-8 validation for the YAML files bitnpu reads (arch, CTable): YAML
// text must be UTF-8, and a stray byte would otherwise travel into names
// that the JSON writers (nlohmann::json) refuse with an uncaught type_error.
#pragma once

#include <string>

namespace bitnpu::arch {

// Throws UserError "ORIGIN:LINE:COL: byte 0xXX is not valid UTF-8 ..." at the
// first byte that does not start or continue a well-formed UTF-8 sequence
// (overlong forms, surrogates and code points above U+10FFFF included).
void check_utf8(const std::string& text, const std::string& origin);

}  // namespace bitnpu::arch
