# Every dependency comes from a Debian package (scripts/setup.sh installs them).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SystemC REQUIRED IMPORTED_TARGET systemc>=2.3.4)
find_package(Eigen3 3.4 REQUIRED NO_MODULE)
find_package(yaml-cpp REQUIRED)
find_package(fmt REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(CLI11 QUIET CONFIG)
if(NOT CLI11_FOUND)
  find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)
  add_library(CLI11::CLI11 INTERFACE IMPORTED)
  target_include_directories(CLI11::CLI11 INTERFACE ${CLI11_INCLUDE_DIR})
endif()
# protobuf must be found before ONNX (ONNX's config expects its targets).
find_package(Protobuf REQUIRED)
find_package(ONNX REQUIRED)
find_package(ZLIB REQUIRED)
find_path(STB_INCLUDE_DIR stb_image.h PATH_SUFFIXES stb REQUIRED)
find_library(STB_LIBRARY stb)
# GLPK (libglpk-dev): the mixed-precision assignment's exact 0-1 integer program.
find_path(GLPK_INCLUDE_DIR glpk.h REQUIRED)
find_library(GLPK_LIBRARY glpk REQUIRED)
if(BITNPU_BUILD_TESTS)
  find_package(Catch2 REQUIRED)
  include(Catch)
endif()
if(BITNPU_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
if(BITNPU_BUILD_RTL)
  find_package(verilator REQUIRED HINTS /usr/share/verilator)
endif()
# The CLIs allocate and free large tensors layer after layer; jemalloc with
# transparent huge pages takes about a tenth off calib's wall time on
# machines whose THP setting is "madvise" (tools/support/allocator.cpp).
# Optional: without it the tools use glibc's malloc. Off under the
# sanitizers, which bring their own allocator.
if(BITNPU_JEMALLOC AND NOT BITNPU_SANITIZE)
  pkg_check_modules(jemalloc IMPORTED_TARGET jemalloc)
  if(NOT jemalloc_FOUND)
    message(WARNING "jemalloc not found (apt install libjemalloc-dev): the tools use glibc malloc")
  endif()
endif()
