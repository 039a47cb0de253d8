// The main() wrapper every bitnpu CLI shares (archinfo, calib, npusim,
// cosim): one place that parses the command line and turns what goes wrong
// into the same exit codes and messages everywhere.
//
//   exit 0  success (also --help)
//   exit 2  bad input, printed as "error: WHAT" on stderr:
//           a command-line error (CLI::ParseError, also when body throws one,
//           e.g. CLI::ValidationError for flags that do not go together) or a
//           bitnpu::UserError (a bad file, model, arch, CTable, ...; the arch
//           loader reports every problem as one)
//   exit 1  anything else, printed as "internal error: WHAT": a bug
//   body's return value otherwise (cosim returns 1 when the RTL mismatches)
//
// Usage, in a tool's main():
//   CLI::App app{"archinfo: ..."};
//   Options opt;
//   app.add_option(...);
//   return bitnpu::cli::run_cli(app, argc, argv, [&] { return run(opt); });
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <iostream>

namespace bitnpu::cli {

// Parses argv into app, then returns body()'s exit code; maps exceptions
// from either step as above. The wrapper's own messages (errors, --help) go
// to out/err; body writes where it likes.
int run_cli(CLI::App& app, int argc, char** argv, const std::function<int()>& body, std::ostream& out = std::cout,
            std::ostream& err = std::cerr);

}  // namespace bitnpu::cli
