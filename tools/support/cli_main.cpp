#include "cli_main.hpp"

#include <exception>
#include <string>

#include "bitnpu/errors.hpp"

namespace bitnpu::cli {

int run_cli(CLI::App& app, int argc, char** argv, const std::function<int()>& body, std::ostream& out,
            std::ostream& err) {
    // CLI11's own message ("WHAT\nRun with --help for more information."),
    // prefixed like every other error.
    app.failure_message([](const CLI::App* a, const CLI::Error& e) {
        return "error: " + CLI::FailureMessage::simple(a, e);
    });
    try {
        try {
            app.parse(argc, argv);
            return body();
        } catch (const CLI::ParseError& e) {
            // --help and friends exit 0 (after printing to out); every other
            // parse error is bad input.
            return app.exit(e, out, err) == 0 ? 0 : 2;
        }
    } catch (const UserError& e) {
        err << "error: " << e.what() << "\n" << std::flush;
        return 2;
    } catch (const std::exception& e) {
        err << "internal error: " << e.what() << "\n" << std::flush;
        return 1;
    } catch (...) {
        err << "internal error: unknown exception\n" << std::flush;
        return 1;
    }
}

}  // namespace bitnpu::cli
