#include "yaml_reader.hpp"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace bitnpu::arch::detail {

namespace {

// yaml-cpp tags plain scalars "?" and quoted ones "!": a quoted "24" is a
// string, not a number, and silently accepting it would hide typos.
bool is_quoted(const YAML::Node& node) { return node.Tag() == "!"; }

bool is_plain_scalar(const YAML::Node& node) { return node.IsScalar() && !is_quoted(node); }

std::optional<std::int64_t> parse_integer(const std::string& text) {
    std::string_view digits = text;
    bool negative = false;
    if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
        negative = digits[0] == '-';
        digits.remove_prefix(1);
    }
    int base = 10;
    if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
        base = 16;
        digits.remove_prefix(2);
    }
    std::uint64_t magnitude = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
    if (digits.empty() || error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
    constexpr std::uint64_t kLimit = std::uint64_t{1} << 63;
    if (magnitude > kLimit || (!negative && magnitude == kLimit)) return std::nullopt;
    if (negative) return static_cast<std::int64_t>(0 - magnitude);
    return static_cast<std::int64_t>(magnitude);
}

std::optional<double> parse_number(const std::string& text) {
    if (text.empty()) return std::nullopt;
    errno = 0;
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(value)) return std::nullopt;
    return value;
}

std::optional<bool> parse_bool(const std::string& text) {
    // YAML 1.2 core schema: true/false only (not yes/no/on/off).
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
    return std::nullopt;
}

}  // namespace

Location location_of(const YAML::Mark& mark) {
    if (mark.line < 0 || mark.column < 0) return {};
    return {mark.line + 1, mark.column + 1};
}

Location location_of(const YAML::Node& node) { return location_of(node.Mark()); }

std::string describe_node(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Map: return "a mapping";
        case YAML::NodeType::Sequence: return "a list";
        case YAML::NodeType::Scalar:
            return is_quoted(node) ? "the string \"" + node.Scalar() + "\"" : "'" + node.Scalar() + "'";
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined: return "nothing";
    }
    return "something else";
}

std::string read_string(const ParseContext& ctx, const YAML::Node& node, const std::string& path) {
    if (!node.IsScalar() || node.Scalar().empty()) {
        ctx.fail_at(node, path, "expected a non-empty string, got " + describe_node(node));
    }
    return node.Scalar();
}

std::int64_t read_integer(const ParseContext& ctx, const YAML::Node& node, const std::string& path) {
    const std::optional<std::int64_t> value = is_plain_scalar(node) ? parse_integer(node.Scalar()) : std::nullopt;
    if (!value) ctx.fail_at(node, path, "expected an integer, got " + describe_node(node));
    return *value;
}

double read_number(const ParseContext& ctx, const YAML::Node& node, const std::string& path) {
    const std::optional<double> value = is_plain_scalar(node) ? parse_number(node.Scalar()) : std::nullopt;
    if (!value) ctx.fail_at(node, path, "expected a number, got " + describe_node(node));
    return *value;
}

bool read_bool(const ParseContext& ctx, const YAML::Node& node, const std::string& path) {
    const std::optional<bool> value = is_plain_scalar(node) ? parse_bool(node.Scalar()) : std::nullopt;
    if (!value) ctx.fail_at(node, path, "expected true or false, got " + describe_node(node));
    return *value;
}

std::string read_choice(const ParseContext& ctx, const YAML::Node& node, const std::string& path,
                        const std::string& what_it_is, const std::vector<std::string>& choices) {
    if (!node.IsScalar()) {
        ctx.fail_at(node, path, "expected one of " + join(choices) + ", got " + describe_node(node));
    }
    const std::string& value = node.Scalar();
    if (std::find(choices.begin(), choices.end(), value) == choices.end()) {
        ctx.fail_at(node, path, "'" + value + "' is not " + what_it_is + "; expected one of " + join(choices) +
                                    did_you_mean(value, choices));
    }
    return value;
}

void require_sequence(const ParseContext& ctx, const YAML::Node& node, const std::string& path) {
    if (!node.IsSequence()) ctx.fail_at(node, path, "expected a list, got " + describe_node(node));
}

MapReader::MapReader(ParseContext& ctx, const YAML::Node& node, std::string path,
                     std::vector<std::string> allowed_keys)
    : ctx_(ctx), node_(node), path_(std::move(path)), allowed_(std::move(allowed_keys)) {
    read_entries(/*any_key=*/false);
}

MapReader::MapReader(ParseContext& ctx, const YAML::Node& node, std::string path, AnyKeys)
    : ctx_(ctx), node_(node), path_(std::move(path)) {
    read_entries(/*any_key=*/true);
}

void MapReader::read_entries(bool any_key) {
    if (!node_.IsMap()) ctx_.fail_at(node_, path_, "expected a mapping (key: value), got " + describe_node(node_));
    for (auto it = node_.begin(); it != node_.end(); ++it) {
        // Copies: yaml-cpp's iterator hands out a temporary proxy.
        const YAML::Node key_node = it->first;
        const YAML::Node value = it->second;
        if (!key_node.IsScalar()) {
            ctx_.fail_at(key_node, path_, "keys must be names, got " + describe_node(key_node));
        }
        const std::string key = key_node.Scalar();
        const std::string key_path = path_of(key);
        if (const Entry* earlier = find(key)) {
            const Location first = location_of(earlier->key_node);
            ctx_.fail_at(key_node, key_path,
                         "duplicate key (first given at line " + std::to_string(first.line) + ")");
        }
        if (!any_key && std::find(allowed_.begin(), allowed_.end(), key) == allowed_.end()) {
            ctx_.fail_at(key_node, key_path,
                         "unknown key '" + key + "'" + did_you_mean(key, allowed_) + "; allowed here: " +
                             join(allowed_));
        }
        entries_.push_back(Entry{key, key_node, value});
        ctx_.sources.record(key_path, location_of(key_node), location_of(value));
    }
}

std::string MapReader::path_of(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

const MapReader::Entry* MapReader::find(const std::string& key) const {
    for (const Entry& e : entries_) {
        if (e.key == key) return &e;
    }
    return nullptr;
}

bool MapReader::has(const std::string& key) const { return find(key) != nullptr; }

std::optional<YAML::Node> MapReader::get(const std::string& key) const {
    assert((allowed_.empty() || std::find(allowed_.begin(), allowed_.end(), key) != allowed_.end()) &&
           "the parser asked for a key it does not allow");
    if (const Entry* e = find(key)) return e->value;
    return std::nullopt;
}

YAML::Node MapReader::require(const std::string& key, const std::string& why) const {
    if (std::optional<YAML::Node> value = get(key)) return *value;
    ctx_.fail_at(node_, path_of(key), "missing (required" + (why.empty() ? "" : ": " + why) + ")");
}

void MapReader::forbid(const std::string& key, const std::string& reason) const {
    if (const Entry* e = find(key)) ctx_.fail_at(e->key_node, path_of(key), reason);
}

std::optional<std::string> MapReader::string(const std::string& key) const {
    if (auto v = get(key)) return read_string(ctx_, *v, path_of(key));
    return std::nullopt;
}

std::optional<std::int64_t> MapReader::integer(const std::string& key) const {
    if (auto v = get(key)) return read_integer(ctx_, *v, path_of(key));
    return std::nullopt;
}

std::optional<double> MapReader::number(const std::string& key) const {
    if (auto v = get(key)) return read_number(ctx_, *v, path_of(key));
    return std::nullopt;
}

std::optional<bool> MapReader::boolean(const std::string& key) const {
    if (auto v = get(key)) return read_bool(ctx_, *v, path_of(key));
    return std::nullopt;
}

std::optional<std::string> MapReader::choice(const std::string& key, const std::string& what_it_is,
                                             const std::vector<std::string>& choices) const {
    if (auto v = get(key)) return read_choice(ctx_, *v, path_of(key), what_it_is, choices);
    return std::nullopt;
}

std::vector<std::string> MapReader::keys() const {
    std::vector<std::string> out;
    for (const Entry& e : entries_) out.push_back(e.key);
    return out;
}

}  // namespace bitnpu::arch::detail
