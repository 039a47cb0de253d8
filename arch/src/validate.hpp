// Step 2 of loading: every value range and every rule that ties several
// fields together (docs/arch.md "Rules"). Works on a parsed ArchSpec and
// reports positions through the SourceMap the parser built; with an empty
// SourceMap (a spec built in code) messages carry only the field path.
#pragma once

#include <string>

#include "bitnpu/arch/arch_spec.hpp"
#include "source_map.hpp"

namespace bitnpu::arch::detail {

void validate(const ArchSpec& spec, const SourceMap& sources, const std::string& origin);

// Op types a mac_array can run, and those a vector engine needs a LUT for.
bool is_mac_op(const std::string& op);
bool needs_lut(const std::string& op);

}  // namespace bitnpu::arch::detail
