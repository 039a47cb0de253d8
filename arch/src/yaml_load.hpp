// YAML text -> the one document it holds, with every failure turned into a
// positioned UserError: syntax errors, an empty file, several documents.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

namespace bitnpu::arch::detail {

// Never returns a null node: an empty (or all-comment, or `~`) file is an
// error. Safe on any input: yaml-cpp 0.7's LoadAll loops forever (allocating)
// on some malformed text, e.g. a ',' at the start of a document, so it is not
// used (upstream yaml-cpp PR #1319).
YAML::Node load_one_document(const std::string& text, const std::string& origin);

}  // namespace bitnpu::arch::detail
