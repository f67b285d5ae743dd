#!/usr/bin/env bash
# The second pass of the test command (issue 10): the whole test suite again, built with
# clang's AddressSanitizer and UndefinedBehaviorSanitizer (any report fails the test that
# made it), then the threaded tests under ThreadSanitizer, then every libFuzzer target for
# TALLY_FUZZ_SECONDS (default 30: CI time; longer campaigns set it) from its committed seed corpus in tests/fuzz/corpus/.
# Any crash, leak or sanitizer report fails.
#   test-sanitizers.sh [build|run]   (no argument: both)
# scripts/test.sh runs `build` in the background at the lowest priority while the Release pass
# builds and tests, so the sanitizer builds use the CPU that pass leaves idle, then `run`.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}
case $mode in build | run | all) ;; *) echo "usage: $0 [build|run]" >&2; exit 2 ;; esac
build_dir=${TALLY_SANITIZE_BUILD_DIR:-build-sanitize}
fuzz_seconds=${TALLY_FUZZ_SECONDS:-30}
# How many fuzz targets run at once: all five by default, sharing the cores for
# TALLY_FUZZ_SECONDS (CI time: 30 s instead of three rounds of 30 s on 2 cores); campaigns that
# want each target on a core of its own set it to the core count.
fuzz_jobs=${TALLY_FUZZ_JOBS:-5}
jobs=$(nproc)

# CI time (docs/performance.md, "Compile time"): the library at -O0, where clang with ASan and
# UBSan compiles it about three times faster than at -O1, and a shared libtally linked with lld,
# so each of the ~50 test and fuzz executables links in about a second instead of 13 s of CPU
# (GNU ld reading the 500 MB static archive for each). Each test executable runs once with all
# its cases (TALLY_TEST_PER_CASE=OFF): a sanitized process costs about 0.3 s just to start.
build_asan() {
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -gline-tables-only" \
    -DBUILD_SHARED_LIBS=ON -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld -DCMAKE_SHARED_LINKER_FLAGS=-fuse-ld=lld \
    -DCMAKE_MODULE_LINKER_FLAGS=-fuse-ld=lld -DTALLY_TEST_PER_CASE=OFF -DTALLY_SANITIZE=ON -DTALLY_FUZZ=ON -DTALLY_BUILD_BENCHMARKS=OFF -DTALLY_BUILD_EXAMPLES=OFF \
    -DTALLY_WITH_PYTHON=OFF -DPython3_EXECUTABLE=/usr/bin/python3 -DPYTHON_EXECUTABLE=/usr/bin/python3 >/dev/null
  cmake --build "$build_dir" -j"$jobs"
}

run_asan() {
  export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=0
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export LSAN_OPTIONS=suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0
  export TALLY_STRESS_SAMPLES=20000000  # the 1e9-sample stress runs in the main pass
  # install_consumer checks packaging with an unsanitized consumer; the main pass runs it. The
  # Python module and the examples are not built here (CI time, docs/performance.md "Compile
  # time"): pytest over the whole package exceeds its 600 s limit under ASan on 2 cores, and the
  # C++ code Python and the examples reach is covered here by the C++ suites, the CLI runs and
  # the fuzzers; the main pass runs both.
  ctest --test-dir "$build_dir" --output-on-failure -j"$jobs" -E '^install_consumer$'
}

# ThreadSanitizer over the threaded tests only (docs/reliability.md, "Threads"): the library
# and thread_test alone, in their own build folder, to keep CI time small. The OpenMP
# runtime (clang's libomp) is not instrumented, so its barriers would look like races:
# OMP_NUM_THREADS=1 keeps tally's kernels serial (no parallel region forks), and every
# thread TSan sees is the test's own. -O0: thread_test runs for under a second, and the library
# compiles three times faster than at -O1 under TSan.
tsan_dir=${TALLY_TSAN_BUILD_DIR:-build-tsan}
build_tsan() {
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$tsan_dir" -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS="-fsanitize=thread -O0 -gline-tables-only" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" \
    -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=thread" -DTALLY_BUILD_BENCHMARKS=OFF -DTALLY_WITH_PYTHON=OFF \
    -DTALLY_WITH_MPI=OFF >/dev/null
  cmake --build "$tsan_dir" -j"$jobs" --target thread_test
}

run_tsan() {
  OMP_NUM_THREADS=1 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1 \
    "$tsan_dir/tests/thread_test"
}

run_fuzzers() {
  corpus_dir="$build_dir/fuzz-corpus"
  mkdir -p "$corpus_dir"
  fuzz_one() {
    local name=$1 dir=$2 seconds=$3
    mkdir -p "$dir/$name" "$dir/artifacts"
    # The JSON readers get a dictionary with nesting runs (tests/fuzz/json.dict).
    local dict=()
    case $name in spec | state | selection) dict=(-dict=tests/fuzz/json.dict) ;; esac
    # New inputs go to the build folder; the committed seeds are only read. The targets use the
    # shared ASan runtime (tests/fuzz/CMakeLists.txt), which has to be loaded first.
    if ! LD_PRELOAD=$ASAN_RUNTIME "$BUILD/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
        -malloc_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/artifacts/$name-" "${dict[@]}" \
        "$dir/$name" "tests/fuzz/corpus/$name" >"$dir/$name.log" 2>&1; then
      tail -60 "$dir/$name.log"
      echo "fuzz_$name FAILED (reproducer in $dir/artifacts/)" >&2
      return 1
    fi
    echo "fuzz_$name: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$dir/$name.log" | grep -o '[0-9]*$') runs in ${seconds} s, no findings"
  }
  export -f fuzz_one
  export BUILD=$build_dir
  ASAN_RUNTIME="$(clang++-14 -print-runtime-dir)/libclang_rt.asan-x86_64.so"
  export ASAN_RUNTIME
  printf '%s\n' npy csv spec state selection |
    xargs -P "$fuzz_jobs" -I{} bash -c 'fuzz_one "$1" "$2" "$3"' _ {} "$corpus_dir" "$fuzz_seconds"
}

if [[ $mode != run ]]; then
  build_asan
  build_tsan
fi
if [[ $mode != build ]]; then
  run_asan
  run_tsan
  run_fuzzers
fi
