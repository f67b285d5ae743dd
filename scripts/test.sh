#!/usr/bin/env bash
# Installs what is needed, builds everything, and runs every test (the README's test command):
# the suite as users build it, then again under AddressSanitizer and UndefinedBehaviorSanitizer
# with every fuzz target (scripts/test-sanitizers.sh; TALLY_SKIP_SANITIZERS=1 skips that pass).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-debian.sh
./scripts/check-format.sh
build_dir=${TALLY_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE=/usr/bin/python3 \
      -DPYTHON_EXECUTABLE=/usr/bin/python3 >/dev/null

# The sanitizer builds run meanwhile at the lowest priority (CI time, docs/performance.md
# "Compile time"): they take the CPU the Release build and its tests leave idle (links,
# configure steps, tests that wait) and barely slow them otherwise. They stay in this session:
# with autogroup scheduling (Linux's default) a new session (setsid) would get an equal share
# of the CPU whatever its nice value. Job control (set -m) only gives them a process group of
# their own, so a failure here can stop all of them.
sanitizers=$([[ "${TALLY_SKIP_SANITIZERS:-0}" != 1 ]] && echo on || echo off)
if [[ $sanitizers == on ]]; then
  sanitizer_log=${TALLY_SANITIZE_BUILD_LOG:-sanitizer-build.log}
  set -m
  nice -n 19 ./scripts/test-sanitizers.sh build >"$sanitizer_log" 2>&1 &
  sanitizer_build=$!
  set +m
  trap 'kill -- -"$sanitizer_build" 2>/dev/null || true' EXIT
fi

cmake --build "$build_dir" -j"$(nproc)"
ctest --test-dir "$build_dir" --output-on-failure -j"$(nproc)"

if [[ $sanitizers == on ]]; then
  if ! wait "$sanitizer_build"; then
    tail -n 100 "$sanitizer_log"
    echo "test.sh: the sanitizer builds failed (whole log: $sanitizer_log)" >&2
    exit 1
  fi
  trap - EXIT
  ./scripts/test-sanitizers.sh run
fi
