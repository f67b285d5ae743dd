#!/usr/bin/env bash
# Installs every Debian 12 package tally needs. Idempotent: runs apt-get only when
# a package is missing, and says nothing when everything is already present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev libfmt-dev
  libopenmpi-dev openmpi-bin
  librandom123-dev libdlpack-dev
  libhwy-dev  # Google Highway: SIMD kernels dispatched at run time (docs/performance.md)
  python3 python3-dev pybind11-dev python3-numpy python3-pytest python3-sklearn
  python3-protobuf python3-mpi4py
  zlib1g-dev libminizip-dev help2man  # the CLI: .csv.gz and .npz input, its man page
  python3-pip python3-venv python3-build python3-mypy  # pip install / wheel build / type-stub tests
  python3-torch  # the torch (DLPack) tests; about 9 MB download, 47 MB installed plus libtorch
  python3-dask python3-distributed python3-pandas  # tally.dask: dask arrays/dataframes, LocalCluster tests
  clang-14 clang-format-14 libclang-rt-14-dev libomp-14-dev lld-14  # the sanitizer and fuzzing pass (libFuzzer is in libclang-rt; lld links it)
  r-base-dev r-cran-rcpp r-cran-testthat r-cran-jsonlite r-cran-rmpi  # the R package (r/, docs/r.md)
)
# Extra packages for optional checks can be added with TALLY_EXTRA_PACKAGES="a b".
if [[ -n "${TALLY_EXTRA_PACKAGES:-}" ]]; then
  read -r -a extra <<<"${TALLY_EXTRA_PACKAGES}"
  packages+=("${extra[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "setup-debian: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
