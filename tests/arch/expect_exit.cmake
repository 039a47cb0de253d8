# cmake -DCOMMAND=<program> -DARGS="a;b" -DEXPECTED=<code> [-DSTDERR_CONTAINS=<text>] -P expect_exit.cmake
# Runs the program and fails unless it exits with exactly EXPECTED (ctest's
# WILL_FAIL would accept any non-zero code, including a crash).
execute_process(COMMAND ${COMMAND} ${ARGS} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT "${code}" STREQUAL "${EXPECTED}")
  message(FATAL_ERROR "${COMMAND} ${ARGS}: exit ${code}, expected ${EXPECTED}\nstdout:\n${out}\nstderr:\n${err}")
endif()
if(DEFINED STDERR_CONTAINS)
  string(FIND "${err}" "${STDERR_CONTAINS}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "stderr does not contain '${STDERR_CONTAINS}':\n${err}")
  endif()
endif()
if(DEFINED STDOUT_CONTAINS)
  string(FIND "${out}" "${STDOUT_CONTAINS}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "stdout does not contain '${STDOUT_CONTAINS}':\n${out}")
  endif()
endif()
