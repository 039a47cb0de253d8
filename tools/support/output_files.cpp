#include "output_files.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "bitnpu/errors.hpp"

namespace bitnpu::cli {

namespace fs = std::filesystem;

namespace {

// The file a path names once symlinks are followed; the path itself
// (lexically normalised, absolute) when nothing exists there yet.
std::string resolve(const std::string& path) {
    std::error_code ec;
    const fs::path canonical = fs::weakly_canonical(fs::absolute(path), ec);
    return ec ? fs::absolute(path).lexically_normal().string() : canonical.string();
}

bool same_file(const std::string& a, const std::string& b) {
    struct stat sa {}, sb {};
    if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// The nearest ancestor of dir that exists: where a missing directory would
// be created.
fs::path existing_ancestor(fs::path dir) {
    std::error_code ec;
    while (!dir.empty() && !fs::exists(dir, ec) && dir != dir.parent_path()) dir = dir.parent_path();
    return dir.empty() ? fs::path(".") : dir;
}

// The directory the target goes into exists (or may be created) and is writable.
void check_directory(const std::string& what, const std::string& path, const fs::path& target, bool create_dirs) {
    const fs::path dir = target.parent_path();
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        if (fs::exists(dir, ec))
            throw UserError(what + " " + path + ": '" + dir.string() + "' is not a directory");
        if (!create_dirs)
            throw UserError(what + " " + path + ": the directory '" + dir.string() + "' does not exist");
        const fs::path base = existing_ancestor(dir);
        if (!fs::is_directory(base, ec) || ::access(base.c_str(), W_OK | X_OK) != 0)
            throw UserError(what + " " + path + ": cannot create the directory '" + dir.string() + "' ('" +
                            base.string() + "' is not a writable directory)");
        return;
    }
    if (::access(dir.c_str(), W_OK | X_OK) != 0)
        throw UserError(what + " " + path + ": the directory '" + dir.string() + "' is not writable");
}

// An existing output must be a regular file (through symlinks); a dangling
// symlink is refused rather than guessed at.
void check_existing(const std::string& what, const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return;  // nothing there yet
    if (::stat(path.c_str(), &st) != 0)
        throw UserError(what + " " + path + ": is a symlink to nothing; refusing to write through it");
    if (!S_ISREG(st.st_mode))
        throw UserError(what + " " + path + ": exists and is not a regular file; refusing to replace it");
}

}  // namespace

OutputFiles::~OutputFiles() {
    for (const File& f : outputs_) ::unlink(f.temp.c_str());
}

void OutputFiles::input(const std::string& path, const std::string& what) {
    std::error_code ec;
    if (path.empty() || !fs::exists(path, ec)) return;
    inputs_.push_back({path, what, resolve(path), "", false});
}

void OutputFiles::check_against_inputs(const File& out) const {
    for (const File& in : inputs_)
        if (in.target == out.target || same_file(in.path, out.path))
            throw UserError(out.what + " " + out.path + ": is the same file as the input " + in.what + " " + in.path +
                            "; refusing to overwrite an input");
    for (const File& other : outputs_)
        if (other.target == out.target || same_file(other.path, out.path))
            throw UserError(out.what + " " + out.path + ": is the same file as " + other.what + " " + other.path);
}

std::string OutputFiles::output(const std::string& path, const std::string& what, bool create_dirs) {
    static std::atomic<unsigned> counter{0};
    if (path.empty()) throw UserError(what + ": empty output path");
    check_existing(what, path);
    File f{path, what, resolve(path), "", create_dirs};
    check_against_inputs(f);
    check_directory(what, path, f.target, create_dirs);
    const fs::path target(f.target);
    f.temp = (target.parent_path() / ("." + target.filename().string() + ".tmp." + std::to_string(::getpid()) + "." +
                                      std::to_string(counter++)))
                 .string();
    outputs_.push_back(f);
    return f.temp;
}

void OutputFiles::create_directories() {
    for (const File& f : outputs_) {
        if (!f.create_dirs) continue;
        std::error_code ec;
        fs::create_directories(fs::path(f.target).parent_path(), ec);
        if (ec) throw UserError(f.what + " " + f.path + ": cannot create its directory: " + ec.message());
    }
}

void OutputFiles::commit() {
    for (const File& f : outputs_) {
        std::error_code ec;
        if (!fs::exists(f.temp, ec)) continue;
        fs::rename(f.temp, f.target, ec);
        if (ec) throw UserError(f.what + " " + f.path + ": cannot replace it: " + ec.message());
    }
}

}  // namespace bitnpu::cli
