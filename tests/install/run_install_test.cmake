# Installs the built tree into WORK_DIR/prefix, configures and builds the consumer
# project against it (CMake package and pkg-config file), and runs it.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${TALLY_BINARY_DIR} --prefix ${WORK_DIR}/prefix
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${WORK_DIR}/build
                        -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the consumer against the installed package failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the consumer failed (${rc})")
endif()
execute_process(COMMAND ${WORK_DIR}/build/consumer RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the consumer failed (${rc})")
endif()
file(GLOB pc_file ${WORK_DIR}/prefix/lib*/pkgconfig/tally.pc ${WORK_DIR}/prefix/lib/*/pkgconfig/tally.pc)
if(NOT pc_file)
  message(FATAL_ERROR "tally.pc was not installed")
endif()
# The Python package, when built, is installed where Debian's python3 looks for that prefix.
file(GLOB py_init ${WORK_DIR}/prefix/lib/python3.*/dist-packages/tally/__init__.py)
if(py_init)
  get_filename_component(py_pkg ${py_init} DIRECTORY)
  get_filename_component(py_site ${py_pkg} DIRECTORY)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env PYTHONPATH=${py_site} /usr/bin/python3 -c
                          "import tally; assert tally.metrics.AUC()([0, 1], [0.2, 0.9]) == 1.0"
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the installed Python package does not import (${rc})")
  endif()
endif()
