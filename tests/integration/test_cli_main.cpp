// The main() wrapper every CLI shares (tools/support/cli_main.hpp), called
// directly: the internal-error path (exit 1) cannot be provoked through a
// CLI without planting a bug, so it is checked here.
#include <catch2/catch.hpp>

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bitnpu/errors.hpp"
#include "cli_main.hpp"

namespace {

struct Outcome {
    int code = -1;
    bool ran = false;
    std::string out, err;
};

// Runs `tool ARGS...` through run_cli with one required option (--arch) and
// the given body.
Outcome run(std::vector<std::string> args, const std::function<int()>& body) {
    CLI::App app{"tool: a test CLI"};
    std::string arch;
    app.add_option("--arch", arch, "arch YAML")->required();
    args.insert(args.begin(), "tool");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    Outcome o;
    std::ostringstream out, err;
    o.code = bitnpu::cli::run_cli(app, static_cast<int>(argv.size()), argv.data(),
                                  [&] {
                                      o.ran = true;
                                      return body();
                                  },
                                  out, err);
    o.out = out.str();
    o.err = err.str();
    return o;
}

}  // namespace

TEST_CASE("run_cli: success returns the body's code", "[cli_main]") {
    const Outcome ok = run({"--arch", "a.yaml"}, [] { return 0; });
    CHECK(ok.code == 0);
    CHECK(ok.ran);
    CHECK(ok.err.empty());
    // cosim returns 1 for mismatches: the body's code passes through.
    CHECK(run({"--arch", "a.yaml"}, [] { return 1; }).code == 1);
}

TEST_CASE("run_cli: --help exits 0 without running the body", "[cli_main]") {
    const Outcome o = run({"--help"}, [] { return 5; });
    CHECK(o.code == 0);
    CHECK_FALSE(o.ran);
    CHECK(o.out.find("tool: a test CLI") != std::string::npos);
    CHECK(o.err.empty());
}

TEST_CASE("run_cli: command-line errors exit 2 with 'error: '", "[cli_main][errors]") {
    const Outcome missing = run({}, [] { return 0; });
    CHECK(missing.code == 2);
    CHECK_FALSE(missing.ran);
    CHECK(missing.err.rfind("error: --arch is required", 0) == 0);

    const Outcome unknown = run({"--arch", "a.yaml", "--nope"}, [] { return 0; });
    CHECK(unknown.code == 2);
    CHECK(unknown.err.rfind("error: ", 0) == 0);
    CHECK(unknown.err.find("--nope") != std::string::npos);

    // A check the body makes after parsing, as calib and npusim do.
    const Outcome invalid =
        run({"--arch", "a.yaml"}, []() -> int { throw CLI::ValidationError("--a and --b go together"); });
    CHECK(invalid.code == 2);
    CHECK(invalid.err.rfind("error: --a and --b go together\n", 0) == 0);
}

TEST_CASE("run_cli: a UserError exits 2, anything else 1", "[cli_main][errors]") {
    const Outcome user =
        run({"--arch", "a.yaml"}, []() -> int { throw bitnpu::UserError("a.yaml:3:7: engines: bad"); });
    CHECK(user.code == 2);
    CHECK(user.err == "error: a.yaml:3:7: engines: bad\n");

    const Outcome bug = run({"--arch", "a.yaml"}, []() -> int { throw std::logic_error("lost a tensor"); });
    CHECK(bug.code == 1);
    CHECK(bug.err == "internal error: lost a tensor\n");

    const Outcome odd = run({"--arch", "a.yaml"}, []() -> int { throw 42; });
    CHECK(odd.code == 1);
    CHECK(odd.err == "internal error: unknown exception\n");
}
