#!/usr/bin/env bash
# Runs mpi_fault_test under mpirun -n 3 in one mode and checks that every rank failed with
# the expected error within the time bound. Usage: run_fault_test.sh MODE EXE MPIRUN [FLAGS...]
set -uo pipefail
mode=$1 exe=$2
shift 2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
start=$(date +%s)
TALLY_MPI_TIMEOUT=2 timeout 60 "$@" -x TALLY_MPI_TIMEOUT -n 3 "$exe" "$mode" "$out"
rc=$?
elapsed=$(( $(date +%s) - start ))
fail() { echo "FAIL ($mode): $*"; for f in "$out"/rank*.txt; do echo "$f: $(cat "$f")"; done; exit 1; }
[[ $rc -ne 0 ]] || fail "mpirun exited 0"
[[ $rc -ne 124 ]] || fail "the job hung (killed by timeout after 60 s)"
[[ $elapsed -le 30 ]] || fail "took ${elapsed} s"
expect() {  # rank, substring
  [[ -f "$out/rank$1.txt" ]] || fail "rank $1 reported nothing"
  grep -qF -- "$2" "$out/rank$1.txt" || fail "rank $1 did not report '$2'"
}
case $mode in
  throw)
    expect 1 "injected failure on rank 1 before the collective"
    for r in 0 2; do expect $r "abandoned: rank 1 failed: rank 1 left its MpiContext with an exception"; done ;;
  signal)
    expect 1 "injected failure on rank 1, caught and signalled"
    for r in 0 2; do expect $r "abandoned: rank 1 failed: injected failure on rank 1, caught and signalled"; done ;;
  stall)
    # The first rank to time out tells the others, so each reports its own timeout or that one.
    for r in 0 2; do expect $r "after 2 s"; expect $r "timed out"; done
    # Rank 1 sleeps through it all: mpirun ends it once the others exit with an error, or it
    # wakes first and is refused at once, quoting the timeout.
    [[ ! -f "$out/rank1.txt" ]] || expect 1 "timed out in MPI_Allreduce" ;;
  *) fail "unknown mode" ;;
esac
echo "ok ($mode): every rank failed clearly in ${elapsed} s"
