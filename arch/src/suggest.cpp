#include "suggest.hpp"

#include <algorithm>
#include <cctype>
#include <numeric>

namespace bitnpu::arch::detail {

namespace {
char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b);

namespace {

bool is_prefix(std::string_view word, std::string_view candidate) {
    return word.size() >= 3 && word.size() < candidate.size() &&
           edit_distance(word, candidate.substr(0, word.size())) == 0;
}
}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
    // One row of the classic dynamic programme: row[j] = distance(a[0..i), b[0..j)).
    std::vector<std::size_t> row(b.size() + 1);
    std::iota(row.begin(), row.end(), std::size_t{0});
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t substitute = diagonal + (lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1);
            diagonal = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitute});
        }
    }
    return row[b.size()];
}

std::string closest_match(std::string_view word, const std::vector<std::string>& candidates) {
    // A typo changes a few characters: allow about one edit per three
    // characters (at least two), and never more than half the longer word
    // ('mac' is not a typo of 'a'). A truncated word ('round' for 'rounding')
    // is a plausible slip too; it ranks like a single edit.
    const std::size_t budget = std::max<std::size_t>(2, word.size() / 3);
    std::string best;
    std::size_t best_score = budget + 1;
    for (const std::string& candidate : candidates) {
        const std::size_t d = edit_distance(word, candidate);
        const bool typo = d <= budget && 2 * d < std::max(word.size(), candidate.size());
        const std::size_t score = is_prefix(word, candidate) ? std::min<std::size_t>(d, 1) : d;
        if ((typo || is_prefix(word, candidate)) && score < best_score) {
            best_score = score;
            best = candidate;
        }
    }
    return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
    const std::string best = closest_match(word, candidates);
    return best.empty() ? std::string() : " (did you mean '" + best + "'?)";
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += separator;
        out += items[i];
    }
    return out;
}

}  // namespace bitnpu::arch::detail
