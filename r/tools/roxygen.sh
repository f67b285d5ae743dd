#!/bin/sh
# Regenerates the help pages of the hand-written R functions (the roxygen comments in r/R/)
# with roxygen2 (Debian: r-cran-roxygen2), from the package the build installed, since the
# sources cannot be compiled in place. The metric_*() pages come from tools/generate.py.
#   sh r/tools/roxygen.sh [build]
set -eu
build="${1:-build}"
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
cp -R "$here" "$tmp/tally"
R_LIBS="$build/r-lib" Rscript -e "roxygen2::roxygenise('$tmp/tally', roclets = 'rd', load_code = roxygen2::load_installed)"
for f in "$tmp"/tally/man/*.Rd; do
  if head -n 1 "$f" | grep -q roxygen2; then cp "$f" "$here/man/"; fi
done
rm -rf "$tmp"
