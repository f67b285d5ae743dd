#' @useDynLib tally, .registration = TRUE
NULL

# Package-level mutable state: the R condition raised inside a metric written in R,
# kept until guard() in src/glue.h re-signals it, and the classes made by Metric().
.tally_env <- new.env(parent = emptyenv())
.tally_env$pending <- NULL
.tally_env$classes <- list()

# The methods of Metric() classes see self, super and private (R/custom.R binds them).
utils::globalVariables(c("self", "super", "private"))
