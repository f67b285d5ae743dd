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
cmake --build "$build_dir" -j"$(nproc)"
ctest --test-dir "$build_dir" --output-on-failure -j"$(nproc)"
if [[ "${TALLY_SKIP_SANITIZERS:-0}" != 1 ]]; then
  ./scripts/test-sanitizers.sh
fi
