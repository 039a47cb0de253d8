// Strict, position-aware reading of yaml-cpp nodes. Every value that is read
// is recorded in the SourceMap; every problem becomes a UserError of the form
// "FILE:LINE:COLUMN: field.path: what is wrong".
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "source_map.hpp"
#include "suggest.hpp"

namespace bitnpu::arch::detail {

Location location_of(const YAML::Node& node);
Location location_of(const YAML::Mark& mark);

// What the parser carries around: the file's name for messages and the map
// of positions it fills in.
struct ParseContext {
    std::string origin;
    SourceMap sources;

    [[noreturn]] void fail_at(const YAML::Node& node, const std::string& path, const std::string& what) const {
        fail(origin, location_of(node), path, what);
    }
};

// "a mapping", "a list", "the string 'x'", "the number 3", "nothing" — for
// "expected X, got Y" messages.
std::string describe_node(const YAML::Node& node);

// Scalar conversions; each fails with "expected ..., got ..." at the node.
std::string read_string(const ParseContext& ctx, const YAML::Node& node, const std::string& path);
std::int64_t read_integer(const ParseContext& ctx, const YAML::Node& node, const std::string& path);
double read_number(const ParseContext& ctx, const YAML::Node& node, const std::string& path);
bool read_bool(const ParseContext& ctx, const YAML::Node& node, const std::string& path);
// A name from a fixed vocabulary: "'halfup' is not a rounding mode; expected
// one of floor, trunc, ... (did you mean 'half_up'?)".
std::string read_choice(const ParseContext& ctx, const YAML::Node& node, const std::string& path,
                        const std::string& what_it_is, const std::vector<std::string>& choices);
void require_sequence(const ParseContext& ctx, const YAML::Node& node, const std::string& path);

// One YAML mapping with a fixed set of allowed keys. The constructor rejects
// anything that is not a mapping, keys that are not scalars, repeated
// keys and unknown keys (suggesting the closest allowed one), and records the
// position of every entry under "path.key".
class MapReader {
public:
    MapReader(ParseContext& ctx, const YAML::Node& node, std::string path,
              std::vector<std::string> allowed_keys);
    // A mapping whose keys are names the user chooses (mapping, node_mapping).
    struct AnyKeys {};
    MapReader(ParseContext& ctx, const YAML::Node& node, std::string path, AnyKeys);

    const std::string& path() const { return path_; }
    std::string path_of(const std::string& key) const;
    const YAML::Node& node() const { return node_; }
    bool has(const std::string& key) const;
    // The value of key, if present (asserts the key is allowed).
    std::optional<YAML::Node> get(const std::string& key) const;
    // The value of a required key; fails at the mapping when it is absent.
    YAML::Node require(const std::string& key, const std::string& why = "") const;
    // Fails at the key if it is present: `reason` says why it does not belong.
    void forbid(const std::string& key, const std::string& reason) const;

    std::optional<std::string> string(const std::string& key) const;
    std::optional<std::int64_t> integer(const std::string& key) const;
    std::optional<double> number(const std::string& key) const;
    std::optional<bool> boolean(const std::string& key) const;
    std::optional<std::string> choice(const std::string& key, const std::string& what_it_is,
                                      const std::vector<std::string>& choices) const;
    // The keys present, in file order (for free-form maps such as `mapping`).
    std::vector<std::string> keys() const;

private:
    struct Entry {
        std::string key;
        YAML::Node key_node;
        YAML::Node value;
    };
    const Entry* find(const std::string& key) const;

    ParseContext& ctx_;
    YAML::Node node_;
    std::string path_;
    void read_entries(bool any_key);

    std::vector<std::string> allowed_;
    std::vector<Entry> entries_;
};

}  // namespace bitnpu::arch::detail
