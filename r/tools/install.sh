#!/bin/sh
# Copies the package sources next to the generated src/Makevars and installs them:
#   install.sh R SOURCE_DIR WORK_DIR LIBRARY INCLUDE_DIR
# Run by the tally_r target (r/CMakeLists.txt); the source tree is never written to.
# Object files of the glue are kept between runs unless a glue source, a tally header
# (INCLUDE_DIR) or the Makevars is newer, so editing R code or help pages does not
# recompile C++; tally.so is always relinked (libtally may have changed).
set -eu
R="$1"; src="$2"; work="$3"; lib="$4"; include="$5"
pkg="$work/tally"
mkdir -p "$work/objects" "$lib"
if [ -f "$work/objects/stamp" ] &&
   [ -z "$(find "$src/src" "$include" "$work/Makevars" -newer "$work/objects/stamp" -type f | head -n 1)" ]; then
  keep=yes
else
  keep=no
  rm -f "$work/objects/"*
fi
rm -rf "$pkg"
mkdir -p "$pkg"
cp -R "$src/R" "$src/man" "$src/src" "$src/tests" "$src/DESCRIPTION" "$src/NAMESPACE" "$src/.Rbuildignore" "$pkg/"
[ -d "$src/inst" ] && cp -R "$src/inst" "$pkg/"
rm -rf "$pkg/tests/mpi"  # run by ctest under mpirun, not by R CMD check
cp "$work/Makevars" "$pkg/src/Makevars"
if [ "$keep" = yes ]; then
  cp "$work/objects/"*.o "$pkg/src/"
  touch "$pkg/src/"*.o  # newer than the copied sources: make keeps them
fi
if ! "$R" CMD INSTALL --no-test-load --no-multiarch --library="$lib" "$pkg" >"$work/install.log" 2>&1; then
  tail -n 60 "$work/install.log" >&2
  exit 1
fi
cp "$pkg/src/"*.o "$work/objects/"
touch "$work/objects/stamp"
