// Whole-file reads and atomic writes.
#include "file_util.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bitnpu/calib/tensor_io.hpp"
#include "bitnpu/errors.hpp"

namespace bitnpu::calib {

std::string io_util::read_file(const std::string& path, const std::string& what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UserError("cannot open " + what + " '" + path + "' (missing or unreadable)");
    std::ostringstream buf;
    buf << in.rdbuf();
    if (in.bad()) throw UserError("error reading " + what + " '" + path + "'");
    return buf.str();
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
    namespace fs = std::filesystem;
    static std::atomic<unsigned> counter{0};
    const fs::path target(path);
    // Same directory as the target, so rename() never crosses file systems.
    const fs::path temp = target.parent_path() / (target.filename().string() + ".tmp." +
                                                  std::to_string(::getpid()) + "." + std::to_string(counter++));
    {
        std::ofstream out(temp, std::ios::binary | std::ios::trunc);
        if (!out) throw UserError("cannot write '" + temp.string() + "' (does the directory exist?)");
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        out.flush();
        if (!out) {
            out.close();
            std::remove(temp.c_str());
            throw UserError("error writing '" + temp.string() + "' (disk full?)");
        }
    }
    std::error_code ec;
    fs::rename(temp, target, ec);
    if (ec) {
        std::remove(temp.c_str());
        throw UserError("cannot rename '" + temp.string() + "' to '" + path + "': " + ec.message());
    }
}

}  // namespace bitnpu::calib
