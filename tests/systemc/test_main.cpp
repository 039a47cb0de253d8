// libsystemc exports main() and calls sc_main: the Catch2 runner lives here.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdlib>

#include <systemc>  // declares sc_main extern "C"

int sc_main(int argc, char** argv) {
    setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);  // the banner is printed when the model is elaborated
    return Catch::Session().run(argc, argv);
}
