#!/usr/bin/env bash
# Fails when a tracked C++ file differs from what .clang-format makes of it (part of the test command).
set -euo pipefail
cd "$(dirname "$0")/.."
cf=$(command -v clang-format-14 || command -v clang-format || true)
if [[ -z "$cf" ]]; then
  echo "check-format: clang-format not found (scripts/setup-debian.sh installs clang-format-14)" >&2
  exit 1
fi
bad=$(git ls-files '*.cpp' '*.h' | while read -r f; do "$cf" --dry-run -Werror "$f" >/dev/null 2>&1 || echo "$f"; done)
if [[ -n "$bad" ]]; then
  echo "check-format: these files are not formatted (run: git ls-files '*.cpp' '*.h' | xargs $cf -i):" >&2
  echo "$bad" >&2
  exit 1
fi
echo "check-format: $(git ls-files '*.cpp' '*.h' | wc -l) files formatted"
