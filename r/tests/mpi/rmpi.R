# Run by ctest as `mpirun -n 2 ... Rscript rmpi.R` (r_mpi_rmpi_n2): tally's MPI context
# next to Rmpi (Debian's r-cran-rmpi). Rmpi initialises MPI; mpi_context() then uses it and
# leaves finalising to Rmpi. Ranks agree through both: tally's all-reduce and Rmpi's own
# allreduce give the same sum.
suppressPackageStartupMessages(library(Rmpi))
library(tally)
ctx <- mpi_context(timeout = 60)
rank <- ctx$global_rank
stopifnot(ctx$world_size == 2, rank == mpi.comm.rank(0))
m <- metric_sum()
m$update_state(NULL, as.double(seq_len(10) + 10 * rank))
all_reduce_metrics(m, ctx)
via_rmpi <- mpi.allreduce(sum(as.double(seq_len(10) + 10 * rank)), type = 2, op = "sum", comm = 0)
if (!isTRUE(all.equal(m$result(), sum(1:20))) || !isTRUE(all.equal(via_rmpi, sum(1:20)))) {
  cat(sprintf("rank %d: FAILED: tally %g, Rmpi %g, want %d\n", rank, m$result(), via_rmpi, sum(1:20)))
  quit(status = 1)
}
ctx$close()
cat(sprintf("rank %d: tally and Rmpi agree (%g)\n", rank, m$result()))
invisible(mpi.finalize())
