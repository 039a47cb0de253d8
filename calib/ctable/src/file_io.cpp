// Reading and atomically writing CTable files.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "bitnpu/ctable/ctable.hpp"
#include "bitnpu/errors.hpp"

namespace bitnpu::calib {

namespace {

std::string errno_text() { return std::strerror(errno); }

// Writes text to path via a temporary file in the same directory and
// rename(2), so readers see the old file or the new one, never half of one.
void write_atomically(const std::string& path, const std::string& text) {
    static std::atomic<unsigned> counter{0};
    const std::string tmp = fmt::format("{}.tmp.{}.{}", path, static_cast<long>(::getpid()), counter++);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) throw UserError(fmt::format("{}: cannot write CTable: {}", path, errno_text()));
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const std::string why = errno_text();
            ::close(fd);
            ::unlink(tmp.c_str());
            throw UserError(fmt::format("{}: cannot write CTable: {}", path, why));
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        const std::string why = errno_text();
        ::unlink(tmp.c_str());
        throw UserError(fmt::format("{}: cannot write CTable: {}", path, why));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string why = errno_text();
        ::unlink(tmp.c_str());
        throw UserError(fmt::format("{}: cannot write CTable: {}", path, why));
    }
}

}  // namespace

void write_ctable(const CTable& table, const std::string& path, std::optional<CTableFormat> format) {
    const CTableFormat f = format.value_or(format_for_path(path));
    write_atomically(path, f == CTableFormat::json ? to_json(table) : to_yaml(table));
}

CTable read_ctable(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UserError(fmt::format("{}: cannot open CTable: {}", path, errno_text()));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw UserError(fmt::format("{}: cannot read CTable", path));
    return parse_ctable(text.str(), path);
}

}  // namespace bitnpu::calib
