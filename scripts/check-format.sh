#!/usr/bin/env bash
# Fails when a tracked C++ file differs from what .clang-format makes of it (part of the test command).
set -euo pipefail
cd "$(dirname "$0")/.."
cf=$(command -v clang-format-14 || command -v clang-format || true)
if [[ -z "$cf" ]]; then
  echo "check-format: clang-format not found (scripts/setup-debian.sh installs clang-format-14)" >&2
  exit 1
fi
# One clang-format per batch of files on every core (CI time); each unformatted file is named in
# its "file:line:col: error: code should be clang-formatted" lines. Any other failure is shown.
status=0
out=$(git ls-files -z '*.cpp' '*.h' | xargs -0 -P "$(nproc)" -n 16 "$cf" --dry-run -Werror 2>&1 >/dev/null) || status=$?
bad=$(sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' <<<"$out" | sort -u)
if [[ $status -ne 0 && -z "$bad" ]]; then
  echo "check-format: clang-format failed:" >&2
  echo "$out" >&2
  exit 1
fi
if [[ -n "$bad" ]]; then
  echo "check-format: these files are not formatted (run: git ls-files '*.cpp' '*.h' | xargs $cf -i):" >&2
  echo "$bad" >&2
  exit 1
fi
echo "check-format: $(git ls-files '*.cpp' '*.h' | wc -l) files formatted"
