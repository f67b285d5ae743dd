#' Set the number of threads tally's kernels use
#'
#' The R counterpart of Python's \code{tally.set_num_threads()} and the CLI's
#' \code{--threads}: one process-wide setting used by every metric's update (and the fused
#' NA check). Kernels split a batch into chunks whose boundaries depend only on its size,
#' so results are identical bit for bit whatever the count.
#' @param threads One whole number \code{>= 0}; \code{0} restores OpenMP's default (every
#'   core unless \code{OMP_NUM_THREADS} says otherwise). Anything else signals a
#'   \code{tally_invalid_argument_error} and leaves the setting unchanged.
#' @return \code{NULL}, invisibly.
#' @examples
#' set_num_threads(1)
#' num_threads()
#' set_num_threads(0)
#' @export
set_num_threads <- function(threads) invisible(.Call(tally_r_set_num_threads, threads))

#' The number of threads tally's kernels use
#'
#' The count set by \code{\link{set_num_threads}}, or OpenMP's default when it is 0.
#' @return An integer.
#' @export
num_threads <- function() .Call(tally_r_num_threads)
