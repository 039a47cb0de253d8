// libsystemc exports main() and calls sc_main: the Catch2 runner lives here.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

int sc_main(int argc, char** argv) { return Catch::Session().run(argc, argv); }
