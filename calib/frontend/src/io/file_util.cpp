// Whole-file reads and atomic writes.
#include "file_util.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bitnpu/frontend/tensor_io.hpp"
#include "bitnpu/errors.hpp"

namespace bitnpu::calib {

std::string io_util::read_file(const std::string& path, const std::string& what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UserError("cannot open " + what + " '" + path + "' (missing or unreadable)");
    // One read of the whole file when its size is known (regular files);
    // streams such as pipes are read to their end.
    std::string bytes;
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    if (size > 0) {
        bytes.resize(static_cast<std::size_t>(size));
        in.seekg(0, std::ios::beg);
        in.read(bytes.data(), size);
        if (in.gcount() != size) throw UserError("error reading " + what + " '" + path + "'");
    } else {
        in.clear();
        in.seekg(0, std::ios::beg);
        std::ostringstream buf;
        buf << in.rdbuf();
        bytes = buf.str();
    }
    if (in.bad()) throw UserError("error reading " + what + " '" + path + "'");
    return bytes;
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
