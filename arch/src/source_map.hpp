// Where each field of an architecture file was written. The parser records
// the position of every field path it reads ("engines[0].accumulator.bits");
// checks made afterwards on the parsed ArchSpec look positions up here, so
// every message points at the line that caused it.
#pragma once

#include <map>
#include <string>

namespace bitnpu::arch::detail {

// 1-based, as editors count; line 0 means "unknown".
struct Location {
    int line = 0;
    int column = 0;
    bool known() const { return line > 0; }
};

class SourceMap {
public:
    // key: where the key was written (for a sequence item, the item itself);
    // value: where its value starts.
    void record(const std::string& path, Location key, Location value);
    // The value's location of `path`, or of its nearest recorded ancestor
    // ("a.b[2].c" -> "a.b[2]" -> "a.b" -> "a"); unknown if none.
    Location value_of(const std::string& path) const;
    // The key's location, with the same fallback.
    Location key_of(const std::string& path) const;
    bool has(const std::string& path) const { return entries_.count(path) > 0; }

private:
    struct Entry {
        Location key;
        Location value;
    };
    const Entry* nearest(std::string path) const;
    std::map<std::string, Entry> entries_;
};

// The message every arch error uses: "ORIGIN:LINE:COLUMN: PATH: WHAT", with
// the parts that are unknown (no origin, no location, no path) left out.
std::string format_error(const std::string& origin, Location at, const std::string& path,
                         const std::string& what);
// Throws bitnpu::UserError with format_error's message.
[[noreturn]] void fail(const std::string& origin, Location at, const std::string& path,
                       const std::string& what);

}  // namespace bitnpu::arch::detail
