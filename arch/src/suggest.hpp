// "Did you mean ...?" for misspelled keys, enum values and op names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bitnpu::arch::detail {

// Levenshtein distance, case-insensitive (so "maxpool" is close to "MaxPool").
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`, or "" when none is close enough to be a
// plausible typo (at most max(2, len/3) edits).
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "" when there is no plausible match.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

// "a, b, c" for messages that list the allowed values.
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");

}  // namespace bitnpu::arch::detail
