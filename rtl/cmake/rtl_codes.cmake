# bitnpu_rtl_codes(SVH CMAKE): writes SVH, the localparams ROUND_* and
# REQUANT_* that rtl/bitnpu_rtl_pkg.sv `include`s, and CMAKE, the same codes
# as variables (BITNPU_RTL_ROUND_HALF_UP, ...), by compiling and running
# rtl/gen/rtl_codes.cpp (try_run) against arch/include/bitnpu/arch/types.hpp,
# whose X-macro lists are the one table of these codes. Re-run whenever
# types.hpp or the generator changes (CMAKE_CONFIGURE_DEPENDS); the result is
# reused while both are unchanged (a SHA-256 of them is kept in the cache).
function(bitnpu_rtl_codes svh cmake_out)
  set(inputs ${PROJECT_SOURCE_DIR}/arch/include/bitnpu/arch/types.hpp
             ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/../gen/rtl_codes.cpp)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${inputs})
  set(digest "${svh};${cmake_out}")
  foreach(f ${inputs})
    file(SHA256 ${f} h)
    string(APPEND digest ${h})
  endforeach()
  string(SHA256 digest "${digest}")
  if(EXISTS ${svh} AND EXISTS ${cmake_out} AND "${digest}" STREQUAL "${BITNPU_RTL_CODES_DIGEST}")
    return()
  endif()

  message(STATUS "bitnpu rtl: writing the RTL codes of RoundingMode / RequantKind")
  get_filename_component(svh_dir ${svh} DIRECTORY)
  file(MAKE_DIRECTORY ${svh_dir})
  try_run(run_rc compile_ok ${CMAKE_CURRENT_BINARY_DIR}/rtl_codes_build
    SOURCES ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/../gen/rtl_codes.cpp
    CMAKE_FLAGS "-DINCLUDE_DIRECTORIES=${PROJECT_SOURCE_DIR}/arch/include"
    CXX_STANDARD 17
    COMPILE_OUTPUT_VARIABLE compile_out
    RUN_OUTPUT_VARIABLE run_out
    ARGS ${svh} ${cmake_out})
  if(NOT compile_ok)
    message(FATAL_ERROR "bitnpu rtl: could not compile rtl/gen/rtl_codes.cpp:\n${compile_out}")
  endif()
  if(NOT run_rc EQUAL 0)
    message(FATAL_ERROR "bitnpu rtl: writing the RTL codes failed:\n${run_out}")
  endif()
  set(BITNPU_RTL_CODES_DIGEST "${digest}" CACHE INTERNAL "inputs of ${svh}")
endfunction()
