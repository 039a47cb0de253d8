// libFuzzer harness: the sweep (archsweep spec) target of targets.hpp (any exception other than
// bitnpu::UserError, or a sanitizer report, is a finding).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string problem = bitnpu::fuzz::run_input("sweep", std::string(reinterpret_cast<const char*>(data), size));
    if (!problem.empty()) {
        std::fprintf(stderr, "fuzz: %s\n", problem.c_str());
        std::abort();
    }
    return 0;
}
