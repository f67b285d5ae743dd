#!/usr/bin/env bash
# Installs what is needed, builds, and runs the main job on the bundled example data.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-debian.sh
build_dir=${TALLY_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE=/usr/bin/python3 \
      -DPYTHON_EXECUTABLE=/usr/bin/python3 >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
"$build_dir"/examples/quickstart
"$build_dir"/tools/tally/tally demo --out-dir "$build_dir"/tally-demo
