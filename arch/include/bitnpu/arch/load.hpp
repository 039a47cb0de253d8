// Loading and validating an architecture YAML file (docs/arch.md).
#pragma once

#include <string>

#include "bitnpu/arch/arch_spec.hpp"
#include "bitnpu/errors.hpp"

namespace bitnpu::arch {

// Parses and validates. source_path is set to `path`, content_hash to the
// hex SHA-256 of the file's bytes (hash.hpp). Throws UserError whose message starts with
// "FILE:LINE:COLUMN: field.path: " and says what is wrong, e.g.
// "configs/x.yaml:12:5: engines[0].accumulator.bits: 70 is outside 2..64".
ArchSpec load_arch(const std::string& path);
// Same, from text already in memory; `origin` names it in messages.
ArchSpec parse_arch(const std::string& yaml_text, const std::string& origin);
// The same checks for a spec built in code (tests, sweeps that edit a loaded
// spec). Messages carry the field path but no line (spec.source_path, if
// set, is named). content_hash is left as it is.
void validate_arch(const ArchSpec& spec);

}  // namespace bitnpu::arch
