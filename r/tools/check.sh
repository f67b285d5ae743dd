#!/bin/sh
# R CMD check of the package as the build prepared and installed it (r/tools/install.sh):
#   check.sh PKG_DIR WORK_DIR LIBRARY INSTALL_LOG
# The check reuses that installation (--install=check:INSTALL_LOG, which also scans the
# log for compiler warnings) instead of compiling the glue again; --no-manual (no LaTeX);
# --no-tests (the testthat suites run once, as the r_tests ctest). Fails on any ERROR or
# WARNING.
set -eu
pkg=$(cd "$1" && pwd); work="$2"; lib=$(cd "$3" && pwd); log="$4"
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
cp "$log" "$work/install.log"
cd "$work"
R CMD build --no-build-vignettes --no-manual "$pkg" >build.log 2>&1 || { cat build.log; exit 1; }
tarball=$(ls tally_*.tar.gz)
status=0
_R_CHECK_FORCE_SUGGESTS_=false R CMD check --no-manual --no-tests --no-build-vignettes \
  --install="check:$work/install.log" --library="$lib" "$tarball" >check.log 2>&1 || status=$?
cat check.log
if [ "$status" -ne 0 ] || grep -q "^Status:.*\(ERROR\|WARNING\)" check.log; then
  echo "check.sh: R CMD check reported errors or warnings (details in $work/tally.Rcheck)" >&2
  exit 1
fi
