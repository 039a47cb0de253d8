// Shape checks of the reference layers (sim/reference/): a UserError naming
// what is wrong, as the functional layers report it.
#pragma once

#include <string>

#include "bitnpu/errors.hpp"

namespace bitnpu::sim::reference {

inline void check(bool ok, const std::string& what) {
    if (!ok) throw UserError(what);
}

}  // namespace bitnpu::sim::reference
