#!/usr/bin/env bash
# Runs mpi_python_fault.py under mpirun -n 3 in one mode and checks that every rank failed
# with the expected error, that the job ended, and that it took at most 30 s.
# Usage: run_mpi_fault.sh MODE SCRIPT MPIRUN [FLAGS...]
set -uo pipefail
mode=$1 script=$2
shift 2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
start=$(date +%s)
TALLY_MPI_TIMEOUT=${TALLY_MPI_TIMEOUT:-3} timeout 60 "$@" -x TALLY_MPI_TIMEOUT -x PYTHONPATH -n 3 \
  /usr/bin/python3 "$script" "$mode" "$out" >"$out/log" 2>&1
rc=$?
elapsed=$(( $(date +%s) - start ))
fail() { echo "FAIL ($mode): $*"; for f in "$out"/rank*.txt; do echo "$f: $(cat "$f")"; done; tail -40 "$out/log"; exit 1; }
[[ $rc -ne 0 ]] || fail "mpirun exited 0"
[[ $rc -ne 124 ]] || fail "the job hung (killed by timeout after 60 s)"
[[ $elapsed -le 30 ]] || fail "took ${elapsed} s"
expect() {  # rank, substring
  [[ -f "$out/rank$1.txt" ]] || fail "rank $1 reported nothing"
  grep -qF -- "$2" "$out/rank$1.txt" || fail "rank $1 did not report '$2'"
}
case $mode in
  polling-uncaught)  # no failure notices over mpi4py alone: the failing rank aborts the job
    grep -qF "tally: rank 1 failed: uncaught RuntimeError: injected failure on rank 1; aborting the job" "$out/log" ||
      fail "rank 1 did not abort the job with its reason" ;;
  *-uncaught)
    for r in 0 2; do expect $r "abandoned: rank 1 failed: uncaught RuntimeError: injected failure on rank 1"; done
    grep -qF "RuntimeError: injected failure on rank 1" "$out/log" || fail "rank 1's traceback is not in the output" ;;
  *-signal)
    expect 1 "signalled injected failure on rank 1"
    for r in 0 2; do expect $r "abandoned: rank 1 failed: caught and signalled: injected failure on rank 1"; done ;;
  *-stall)
    for r in 0 2; do expect $r "timed out"; expect $r "after 3"; done ;;
  *) fail "unknown mode" ;;
esac
echo "ok ($mode): every rank failed clearly in ${elapsed} s"
