# C++ errors reach R as conditions of class
#   c("tally_<kind>_error", "tally_error", "error", "condition")
# with the C++ message (kinds: invalid_argument, shape, dtype, config, state, io,
# distributed, other). An error raised by the R code of a metric written with Metric()
# is re-signalled as it was.
.tally_signal <- function(kind, message) {
  if (identical(kind, "callback") && !is.null(.tally_env$pending)) {
    condition <- .tally_env$pending
    .tally_env$pending <- NULL
    stop(condition)
  }
  .tally_env$pending <- NULL
  if (identical(kind, "callback")) kind <- "other"
  stop(tally_condition(kind, message, call = sys.call(-2)))
}

#' Build a tally error condition
#'
#' The conditions tally signals have classes
#' \code{c("tally_<kind>_error", "tally_error", "error", "condition")}; this builds one.
#' @param kind One of \code{"invalid_argument"}, \code{"shape"}, \code{"dtype"},
#'   \code{"config"}, \code{"state"}, \code{"io"}, \code{"distributed"}, \code{"other"}.
#' @param message The message.
#' @param call The call to report.
#' @return A condition object.
#' @export
tally_condition <- function(kind, message, call = NULL) {
  structure(class = c(paste0("tally_", kind, "_error"), "tally_error", "error", "condition"),
            list(message = message, call = call))
}
