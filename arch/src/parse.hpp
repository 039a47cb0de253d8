// Step 1 of loading: YAML text -> ArchSpec, checking structure (which keys,
// which types, which names) and filling defaults. Value ranges and rules that
// involve several fields are checked afterwards by validate.hpp, which finds
// their positions in the SourceMap built here.
#pragma once

#include <string>

#include "bitnpu/arch/arch_spec.hpp"
#include "source_map.hpp"

namespace bitnpu::arch::detail {

struct ParsedArch {
    ArchSpec spec;
    SourceMap sources;
};

ParsedArch parse_document(const std::string& yaml_text, const std::string& origin);

// The ops a mac_array runs when its `ops:` list is omitted.
const std::vector<std::string>& default_mac_ops();

}  // namespace bitnpu::arch::detail
