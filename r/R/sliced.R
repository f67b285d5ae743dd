# Sliced evaluation: a thin wrapper over tally::SlicedCollection (docs/r.md, "Sliced
# evaluation"), mirroring Python's tally.SlicedCollection.

#' Every metric per slice of the data
#'
#' \code{sliced_collection(list(metric_auc(), metric_binary_accuracy()), slice_names =
#' c("country", "device"))} evaluates the metrics on every slice of the data: each value of
#' one slicing feature (\code{country=FR}), each combination of several
#' (\code{country=FR,device=phone}) and the overall slice, as \code{slices} asks. Each
#' slice gets its own state when first seen; states merge slice by slice.
#'
#' \code{s$update_state(y_true, y_pred, sample_weight = NULL, slice_ids =)} adds a batch:
#' \code{slice_ids} is one vector (one feature) or a data frame or list of vectors named
#' by (or in the order of) \code{slice_names}, one value per row; integer, whole numeric,
#' character and factor vectors are ids. NA ids, a column of the wrong length and more
#' than \code{max_slices} distinct slices are errors that leave the state unchanged.
#' \code{s$result(min_slice_size =)} is a named list, one entry per slice in canonical
#' order (each slicing in turn, values sorted, numbers before strings), each
#' \code{list(samples =, metrics = list(<name> = value, ...))}; slices with fewer rows than
#' \code{min_slice_size} are left out. \code{s$merge_state(other)} merges another sliced
#' collection of the same metrics and slicings (slices seen on one side only are kept);
#' \code{s$reset_state()} forgets every slice; \code{s$num_slices()} counts them.
#' @param metrics A \code{metric_collection()}, one metric, or a list of metrics (copied;
#'   their states are ignored).
#' @param slice_names The slicing features, a character vector.
#' @param slices Which features to slice by: a list of character vectors (one name: that
#'   feature alone; several: their cross; \code{character(0)}: the overall slice).
#'   \code{NULL}: the overall slice plus each feature alone.
#' @param max_slices The most distinct slices (all slicings together).
#' @param min_slice_size The default \code{min_slice_size} of \code{$result()}.
#' @return A sliced collection object.
#' @export
sliced_collection <- function(metrics, slice_names, slices = NULL, max_slices = 10000, min_slice_size = 0) {
  if (inherits(metrics, "tally_metric")) metrics <- list(metrics)
  collection <- if (inherits(metrics, "tally_collection")) metrics else metric_collection(metrics)
  if (!is.null(slices)) slices <- lapply(as.list(slices), as.character)
  ptr <- .Call(tally_r_sliced_new, .self_of(collection)$.ptr, as.character(slice_names), slices, max_slices)
  info <- .Call(tally_r_sliced_info, ptr)
  features <- info$slice_names
  default_min <- min_slice_size
  self <- new.env(parent = emptyenv())
  self$.ptr <- ptr
  self$slice_names <- function() features
  self$slices <- function() .Call(tally_r_sliced_info, ptr)$slices
  self$num_slices <- function() .Call(tally_r_sliced_info, ptr)$num_slices
  self$update_state <- function(y_true, y_pred, sample_weight = NULL, slice_ids) {
    if (missing(slice_ids) || is.null(slice_ids)) {
      stop(tally_condition("invalid_argument", "sliced_collection: update_state needs `slice_ids`"))
    }
    columns <- .slice_columns(slice_ids, features)
    .Call(tally_r_sliced_update, ptr, .as_input(y_true), .as_input(y_pred), .as_input(sample_weight), columns)
    invisible(NULL)
  }
  self$result <- function(min_slice_size = default_min) {
    r <- .Call(tally_r_sliced_result, ptr, min_slice_size)
    out <- Map(function(n, m) list(samples = n, metrics = m), r$samples, r$metrics)
    names(out) <- r$names
    out
  }
  self$merge_state <- function(other) {
    if (!inherits(other, "tally_sliced")) {
      stop(tally_condition("invalid_argument", "sliced_collection: merge_state takes another sliced_collection"))
    }
    invisible(.Call(tally_r_sliced_merge, ptr, .self_of(other)$.ptr))
  }
  self$reset_state <- function() invisible(.Call(tally_r_sliced_reset, ptr))
  self$metric_names <- function() info$metrics
  obj <- function(y_true, y_pred, sample_weight = NULL, slice_ids) {
    self$update_state(y_true, y_pred, sample_weight, slice_ids)
    self$result()
  }
  class(obj) <- c("tally_sliced", "function")
  obj
}

# slice_ids as a list of columns in `features` order: a bare vector for one feature, or a
# data frame / list named by feature (any order) or unnamed in feature order.
.slice_columns <- function(slice_ids, features) {
  if (is.data.frame(slice_ids) || (is.list(slice_ids) && !is.factor(slice_ids))) {
    columns <- as.list(slice_ids)
    if (!is.null(names(columns)) && all(nzchar(names(columns)))) {
      missing <- setdiff(features, names(columns))
      if (length(missing) > 0L) {
        stop(tally_condition("invalid_argument", sprintf(
          "sliced_collection: no slice column for %s", paste(missing, collapse = ", "))))
      }
      columns <- columns[features]
    }
  } else {
    columns <- list(slice_ids)
  }
  if (length(columns) != length(features)) {
    stop(tally_condition("invalid_argument", sprintf(
      "sliced_collection: expected %d slice columns (one per feature); received %d",
      length(features), length(columns))))
  }
  unname(columns)
}

#' @export
`$.tally_sliced` <- function(x, name) get0(name, envir = .self_of(x), inherits = FALSE)

#' @export
print.tally_sliced <- function(x, ...) {
  self <- .self_of(x)
  cat(sprintf("<tally sliced collection: %s by %s; %d slices>\n", paste(self$metric_names(), collapse = ", "),
              paste(vapply(self$slices(), function(s) if (length(s)) paste(s, collapse = " x ") else "overall",
                           character(1)), collapse = ", "),
              as.integer(self$num_slices())))
  invisible(x)
}
