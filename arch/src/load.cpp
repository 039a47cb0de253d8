// load_arch / parse_arch (load.hpp): read, parse (parse.hpp), validate
// (validate.hpp), and stamp the spec with its origin and content hash.
#include "bitnpu/arch/load.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bitnpu/arch/hash.hpp"
#include "parse.hpp"
#include "validate.hpp"

namespace bitnpu::arch {

namespace {

std::string read_file(const std::string& path) {
    // An ifstream opens a directory and reads nothing ("the file is empty").
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw UserError(path + ": is a directory, not an architecture file (give the YAML file inside it)");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UserError(path + ": cannot open architecture file: " + std::strerror(errno));
    std::ostringstream bytes;
    bytes << in.rdbuf();
    if (in.bad()) throw UserError(path + ": cannot read architecture file: " + std::strerror(errno));
    return bytes.str();
}

}  // namespace

ArchSpec parse_arch(const std::string& yaml_text, const std::string& origin) {
    detail::ParsedArch parsed = detail::parse_document(yaml_text, origin);
    detail::validate(parsed.spec, parsed.sources, origin);
    parsed.spec.content_hash = sha256_hex(yaml_text);
    return std::move(parsed.spec);
}

ArchSpec load_arch(const std::string& path) { return parse_arch(read_file(path), path); }

void validate_arch(const ArchSpec& spec) { detail::validate(spec, detail::SourceMap{}, spec.source_path); }

}  // namespace bitnpu::arch
