#include "source_map.hpp"

#include "bitnpu/errors.hpp"

namespace bitnpu::arch::detail {

namespace {

// "a.b[2].c" -> "a.b[2]" -> "a.b" -> "a" -> "".
std::string parent_path(const std::string& path) {
    const std::size_t cut = path.find_last_of(".[");
    return cut == std::string::npos ? std::string() : path.substr(0, cut);
}

}  // namespace

void SourceMap::record(const std::string& path, Location key, Location value) {
    entries_[path] = Entry{key, value};
}

const SourceMap::Entry* SourceMap::nearest(std::string path) const {
    while (!path.empty()) {
        if (auto it = entries_.find(path); it != entries_.end()) return &it->second;
        path = parent_path(path);
    }
    return nullptr;
}

Location SourceMap::value_of(const std::string& path) const {
    const Entry* e = nearest(path);
    return e ? e->value : Location{};
}

Location SourceMap::key_of(const std::string& path) const {
    const Entry* e = nearest(path);
    return e ? e->key : Location{};
}

std::string format_error(const std::string& origin, Location at, const std::string& path,
                         const std::string& what) {
    std::string message;
    if (!origin.empty()) {
        message += origin;
        if (at.known()) message += ":" + std::to_string(at.line) + ":" + std::to_string(at.column);
        message += ": ";
    }
    if (!path.empty()) message += path + ": ";
    return message + what;
}

void fail(const std::string& origin, Location at, const std::string& path, const std::string& what) {
    throw UserError(format_error(origin, at, path, what));
}

}  // namespace bitnpu::arch::detail
