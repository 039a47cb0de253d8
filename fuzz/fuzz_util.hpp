// Shared by the libFuzzer harnesses: bad input must end in bitnpu::UserError
// (what every CLI reports as "error: ..." with exit 2); any other exception
// is a finding, reported like a crash.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "bitnpu/errors.hpp"

namespace bitnpu::fuzz {

// Runs body(); UserError is the expected outcome for bad input.
template <class Body>
int expect_user_error_only(Body&& body) {
    try {
        body();
    } catch (const UserError&) {
        // expected: bad input, clear message
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fuzz: not a UserError: %s\n", e.what());
        std::abort();
    } catch (...) {
        std::fprintf(stderr, "fuzz: unknown exception\n");
        std::abort();
    }
    return 0;
}

// Loaders that only take a path read the input from a file in a directory
// private to this process (removed at exit).
class InputFile {
public:
    explicit InputFile(const std::string& name) {
        dir_ = std::filesystem::temp_directory_path() / ("bitnpu_fuzz_" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
        path_ = (dir_ / name).string();
    }
    ~InputFile() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    const std::string& write(const std::uint8_t* data, std::size_t size) {
        std::ofstream out(path_, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
        return path_;
    }

private:
    std::filesystem::path dir_;
    std::string path_;
};

}  // namespace bitnpu::fuzz
