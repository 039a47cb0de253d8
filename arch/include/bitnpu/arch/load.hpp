// Loading and validating an architecture YAML file (docs/arch.md).
#pragma once

#include <string>

#include "bitnpu/arch/arch_spec.hpp"
#include "bitnpu/errors.hpp"

namespace bitnpu::arch {

// Parses and validates. Throws UserError whose message starts with
// "FILE:LINE:COLUMN: field.path: " and says what is wrong, e.g.
// "configs/x.yaml:12:5: engines[0].accumulator.bits: 70 is outside 2..64".
ArchSpec load_arch(const std::string& path);
// Same, from text already in memory; `origin` names it in messages.
ArchSpec parse_arch(const std::string& yaml_text, const std::string& origin);

}  // namespace bitnpu::arch
