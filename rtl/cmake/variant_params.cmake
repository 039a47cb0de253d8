# bitnpu_rtl_variant_params(VARIANTS OUT): writes OUT, a CMake file setting
# BITNPU_RTL_PARAMS_<variant> to npu_tile's -G parameters, by compiling and
# running rtl/gen/variant_params.cpp with the arch loader (try_run). The
# result is reused while the YAML files and the generator's sources are
# unchanged (a SHA-256 over all of them is kept in the cache).
function(bitnpu_rtl_variant_params variants out)
  set(rtl_dir ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/..)
  file(GLOB arch_sources ${PROJECT_SOURCE_DIR}/arch/src/*.cpp)
  file(GLOB arch_headers ${PROJECT_SOURCE_DIR}/arch/src/*.hpp ${PROJECT_SOURCE_DIR}/arch/include/bitnpu/*.hpp
       ${PROJECT_SOURCE_DIR}/arch/include/bitnpu/arch/*.hpp)
  set(gen_sources ${rtl_dir}/gen/variant_params.cpp ${rtl_dir}/bench/tile_config.cpp)
  set(args "")
  set(inputs ${arch_sources} ${arch_headers} ${gen_sources} ${rtl_dir}/bench/tile_config.hpp)
  foreach(v ${variants})
    if(NOT v MATCHES "^([A-Za-z0-9_]+)=([^@]+)(@.*)?$")
      message(FATAL_ERROR "BITNPU_RTL_VARIANTS: bad entry '${v}' (want NAME=CONFIG.yaml[@ENGINE])")
    endif()
    set(yaml ${PROJECT_SOURCE_DIR}/${CMAKE_MATCH_2})
    list(APPEND args "${CMAKE_MATCH_1}=${yaml}${CMAKE_MATCH_3}")
    list(APPEND inputs ${yaml})
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${yaml})
  endforeach()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${gen_sources})

  set(digest "${args}")
  foreach(f ${inputs})
    file(SHA256 ${f} h)
    string(APPEND digest ${h})
  endforeach()
  string(SHA256 digest "${digest}")
  if(EXISTS ${out} AND "${digest}" STREQUAL "${BITNPU_RTL_PARAMS_DIGEST}")
    return()
  endif()

  message(STATUS "bitnpu rtl: deriving Verilog parameters from the arch YAML files")
  try_run(run_rc compile_ok ${CMAKE_CURRENT_BINARY_DIR}/variant_params_build
    SOURCES ${gen_sources} ${arch_sources}
    CMAKE_FLAGS "-DINCLUDE_DIRECTORIES=${PROJECT_SOURCE_DIR}/arch/include;${PROJECT_SOURCE_DIR}/arch/src;${rtl_dir}/bench"
    LINK_LIBRARIES yaml-cpp fmt::fmt
    CXX_STANDARD 17
    COMPILE_OUTPUT_VARIABLE compile_out
    RUN_OUTPUT_VARIABLE run_out
    ARGS ${out} ${args})
  if(NOT compile_ok)
    message(FATAL_ERROR "bitnpu rtl: could not compile rtl/gen/variant_params.cpp with the arch loader:\n${compile_out}")
  endif()
  if(NOT run_rc EQUAL 0)
    message(FATAL_ERROR "bitnpu rtl: deriving the RTL variants failed:\n${run_out}")
  endif()
  set(BITNPU_RTL_PARAMS_DIGEST "${digest}" CACHE INTERNAL "inputs of ${out}")
endfunction()
