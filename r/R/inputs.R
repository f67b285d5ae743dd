# Inputs as the C++ library reads them (docs/r.md, "Inputs"):
# - numeric vectors, matrices and arrays are float64 views with no copy; integer and
#   logical ones are int32 views with no copy. An R array of dim (d1, ..., dk) has the
#   keras3 shape (d1, ..., dk): a matrix with one row per sample and one column per class
#   is (N, C), as keras3 converts it, read in place through column-major strides.
# - factors are class ids, 0-based as in Keras: level i (1-based in R) is class i - 1.
# - data frames are converted with as.matrix() (one column: that column).
# - variables of metrics written in R are read as their values.
#' Turn the NA check of inputs off or on
#'
#' Every update scans its inputs for \code{NA} (bad input: an error, state unchanged). For
#' inputs known to be complete, \code{tally_check_na(FALSE)} skips that scan (large inputs
#' are scanned in cache, chunk by chunk, as the update reads them, so the saving is small;
#' docs/performance.md, "R"); an \code{NA} then reaches the metric as the
#' NaN R stores it as.
#' @param check \code{TRUE} (the default) or \code{FALSE}.
#' @return The previous setting, invisibly.
#' @export
tally_check_na <- function(check = TRUE) invisible(.Call(tally_r_check_na, isTRUE(check)))

.as_input <- function(x) {
  if (is.null(x) || is.double(x) || is.integer(x) && !is.factor(x) || is.logical(x)) return(x)
  if (is.factor(x)) {
    ids <- as.integer(x) - 1L
    dim(ids) <- dim(x)
    return(ids)
  }
  if (is.data.frame(x)) {
    if (ncol(x) == 1L) return(.as_input(x[[1L]]))
    return(.as_input(as.matrix(x)))
  }
  if (inherits(x, "tally_variable")) return(x$numpy())
  stop(tally_condition("dtype", sprintf(
    "tally: inputs must be numeric, integer, logical or factor vectors, matrices, arrays or data frames; received %s",
    paste(class(x), collapse = "/"))))
}
