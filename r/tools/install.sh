#!/bin/sh
# Copies the package sources next to the generated src/Makevars and installs them:
#   install.sh R SOURCE_DIR WORK_DIR LIBRARY
# Run by the tally_r target (r/CMakeLists.txt); the source tree is never written to.
set -eu
R="$1"; src="$2"; work="$3"; lib="$4"
pkg="$work/tally"
rm -rf "$pkg"
mkdir -p "$pkg" "$lib"
cp -R "$src/R" "$src/man" "$src/src" "$src/tests" "$src/DESCRIPTION" "$src/NAMESPACE" "$src/.Rbuildignore" "$pkg/"
[ -d "$src/inst" ] && cp -R "$src/inst" "$pkg/"
rm -rf "$pkg/tests/mpi"  # run by ctest under mpirun, not by R CMD check
cp "$work/Makevars" "$pkg/src/Makevars"
if ! "$R" CMD INSTALL --no-test-load --no-multiarch --library="$lib" "$pkg" >"$work/install.log" 2>&1; then
  tail -n 60 "$work/install.log" >&2
  exit 1
fi
