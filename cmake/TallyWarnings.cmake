# Warning and sanitizer flags, applied per target so consumers never inherit them.

if(TALLY_SANITIZE)
  set(TALLY_SANITIZER_COMPILE_FLAGS -fsanitize=address,undefined -fno-omit-frame-pointer
                                    -fno-sanitize-recover=undefined)
  set(TALLY_SANITIZER_LINK_FLAGS -fsanitize=address,undefined)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # The shared runtime lets python3 load the sanitized module (LD_PRELOAD it, as
    # scripts/test-sanitizers.sh does); the rpath lets every test binary find it.
    execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-runtime-dir OUTPUT_VARIABLE TALLY_CLANG_RUNTIME_DIR
                    OUTPUT_STRIP_TRAILING_WHITESPACE)
    list(APPEND TALLY_SANITIZER_LINK_FLAGS -shared-libasan "-Wl,-rpath,${TALLY_CLANG_RUNTIME_DIR}")
    set(TALLY_ASAN_RUNTIME "${TALLY_CLANG_RUNTIME_DIR}/libclang_rt.asan-x86_64.so" CACHE INTERNAL "")
  else()
    execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libasan.so OUTPUT_VARIABLE _tally_asan
                    OUTPUT_STRIP_TRAILING_WHITESPACE)
    set(TALLY_ASAN_RUNTIME "${_tally_asan}" CACHE INTERNAL "")
  endif()
endif()

# Coverage for libFuzzer (TALLY_FUZZ), on the parsers of outside input only: the fuzz targets
# and the sources they exist to explore (tally_add_fuzz_coverage). The metric kernels and the
# test drivers stay uninstrumented, which keeps the sanitizer pass's build and run short
# (docs/performance.md, "Compile time"); their code is still under ASan and UBSan.
function(tally_add_fuzz_coverage)
  if(TALLY_FUZZ)
    set_source_files_properties(${ARGN} PROPERTIES COMPILE_OPTIONS -fsanitize=fuzzer-no-link)
  endif()
endfunction()

function(tally_apply_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wnon-virtual-dtor)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    target_compile_options(${target} PRIVATE -Wshadow-uncaptured-local)
  else()
    target_compile_options(${target} PRIVATE -Wshadow=local)
  endif()
  tally_apply_sanitizer_link(${target})
endfunction()

# Sanitizer flags for targets that link the sanitized library.
function(tally_apply_sanitizer_link target)
  if(TALLY_SANITIZE)
    target_compile_options(${target} PRIVATE ${TALLY_SANITIZER_COMPILE_FLAGS})
    target_link_options(${target} PRIVATE ${TALLY_SANITIZER_LINK_FLAGS})
  endif()
endfunction()
