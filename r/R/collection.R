# Collections, distributed all-reduce, state files and model selection: thin wrappers over
# tally::MetricCollection, tally::all_reduce_metrics (with tally::MpiContext),
# tally::save_state / load_state and tally::ModelSelector.

#' A collection of metrics updated together
#'
#' \code{metric_collection(metric_auc(), metric_binary_accuracy())} holds copies of the
#' given metrics (with their current states) under their names. \code{col$update_state()}
#' updates all of them, all or nothing; \code{col$result()} is a named list;
#' \code{col$metric(name)} is a member (changes through it change the collection);
#' \code{col$merge_state()}, \code{col$to_vector()}, \code{col$from_vector()},
#' \code{col$reset_state()} as for one metric. Metrics written in R join like built-ins.
#' @param ... Metric objects, or a single list of them.
#' @return A collection object.
#' @export
metric_collection <- function(...) {
  metrics <- list(...)
  if (length(metrics) == 1L && is.list(metrics[[1L]]) && !inherits(metrics[[1L]], "tally_metric")) {
    metrics <- metrics[[1L]]
  }
  ok <- vapply(metrics, inherits, logical(1), what = "tally_metric")
  if (!all(ok)) stop(tally_condition("invalid_argument", "metric_collection: every argument must be a metric"))
  .wrap_collection(.Call(tally_r_collection_new, lapply(metrics, function(m) .self_of(m)$.ptr)), metrics)
}

.wrap_collection <- function(ptr, templates = NULL) {
  self <- new.env(parent = emptyenv())
  self$.ptr <- ptr
  names_ <- .Call(tally_r_collection_names, ptr)
  members <- lapply(names_, function(n) {
    member <- .Call(tally_r_collection_metric, ptr, n)
    like <- NULL
    for (t in templates) if (identical(t$name, n)) like <- .self_of(t)
    .wrap_ptr(member, like = like)
  })
  names(members) <- names_
  self$names <- function() names_
  self$metric <- function(name) {
    m <- members[[name]]
    if (is.null(m)) stop(tally_condition("invalid_argument", sprintf(
      "metric_collection: no metric called \"%s\"; the names are %s", name, paste(names_, collapse = ", "))))
    m
  }
  self$metrics <- function() members
  self$update_state <- function(y_true, y_pred, sample_weight = NULL, query_ids = NULL, index = NULL) {
    .Call(tally_r_collection_update, ptr, .as_input(y_true), .as_input(y_pred), .as_input(sample_weight),
          .as_input(query_ids), .as_input(index))
    invisible(NULL)
  }
  self$result <- function() lapply(members, function(m) m$result())
  self$reset_state <- function() invisible(.Call(tally_r_collection_reset, ptr))
  self$merge_state <- function(other) {
    invisible(.Call(tally_r_collection_merge, ptr, .self_of(other)$.ptr))
  }
  self$to_vector <- function() .Call(tally_r_collection_to_vector, ptr)
  self$from_vector <- function(values) invisible(.Call(tally_r_collection_from_vector, ptr, values))
  obj <- function(y_true, y_pred, sample_weight = NULL) {
    self$update_state(y_true, y_pred, sample_weight)
    self$result()
  }
  class(obj) <- c("tally_collection", "function")
  obj
}

#' @export
`$.tally_collection` <- function(x, name) get0(name, envir = .self_of(x), inherits = FALSE)

#' @export
`[[.tally_collection` <- function(x, i, ...) .self_of(x)$metric(i)

#' @export
length.tally_collection <- function(x) length(.self_of(x)$names())

#' @export
print.tally_collection <- function(x, ...) {
  self <- .self_of(x)
  cat(sprintf("<tally metric collection: %s>\n", paste(self$names(), collapse = ", ")))
  invisible(x)
}

#' An MPI context for all_reduce_metrics()
#'
#' tally's C++ MPI context over MPI_COMM_WORLD (MPI is initialised if nobody has, e.g.
#' Rmpi, and finalised by \code{ctx$close()} only if tally initialised it). Run the script
#' under \code{mpirun -n K Rscript script.R}. A collective waits at most
#' \code{timeout} seconds for the other ranks, then fails with a
#' \code{tally_distributed_error}.
#' @param timeout Seconds, or \code{NULL} for \code{$TALLY_MPI_TIMEOUT}, else 600.
#' @return A context with \code{global_rank}, \code{world_size}, \code{local_rank},
#'   \code{local_size} and \code{close()}.
#' @export
mpi_context <- function(timeout = NULL) {
  ptr <- .Call(tally_r_mpi_new, timeout)
  info <- .Call(tally_r_mpi_info, ptr)
  ctx <- list2env(info)
  ctx$.ptr <- ptr
  ctx$close <- function() invisible(.Call(tally_r_mpi_close, ptr))
  class(ctx) <- "tally_mpi_context"
  ctx
}

#' @export
print.tally_mpi_context <- function(x, ...) {
  cat(sprintf("<tally MPI context: rank %d of %d>\n", x$global_rank, x$world_size))
  invisible(x)
}

#' Whether this build of the package has MPI
#' @return \code{TRUE} or \code{FALSE}.
#' @export
mpi_available <- function() .Call(tally_r_mpi_available)

#' Merge every rank's metrics
#'
#' pfl's \code{all_reduce_metrics}: afterwards every rank holds the state over all ranks'
#' data, in one collective after a layout check that fails on every rank when they differ.
#' @param collection A collection from \code{metric_collection()} or one metric.
#' @param context An \code{mpi_context()}, or \code{NULL} for a single process.
#' @return The collection, invisibly.
#' @export
all_reduce_metrics <- function(collection, context = NULL) {
  target <- .self_of(collection)$.ptr
  if (is.null(context)) {
    if (inherits(collection, "tally_metric")) return(invisible(collection))
    .Call(tally_r_all_reduce_local, target)
  } else if (inherits(collection, "tally_metric")) {
    .Call(tally_r_mpi_all_reduce_metric, target, context$.ptr)
  } else {
    .Call(tally_r_all_reduce_mpi, target, context$.ptr)
  }
  invisible(collection)
}

#' Save and load metric state
#'
#' \code{save_state(x, path)} writes a metric's or a collection's configuration, layout and
#' state atomically; \code{load_state(path)} builds what was saved, and
#' \code{load_state(path, into = x)} restores into an existing metric or collection of the
#' same configuration. \code{user_data} (e.g. the next batch index) comes back as
#' \code{attr(result, "user_data")}.
#' @param x A metric or a collection.
#' @param path The file.
#' @param user_data A named list stored alongside.
#' @param into A metric or collection to restore into, or \code{NULL}.
#' @return \code{save_state}: \code{x}, invisibly; \code{load_state}: the metric or collection.
#' @export
save_state <- function(x, path, user_data = NULL) {
  ptr <- .self_of(x)$.ptr
  if (inherits(x, "tally_collection")) {
    .Call(tally_r_save_collection, ptr, path.expand(path), user_data)
  } else {
    .Call(tally_r_save_metric, ptr, path.expand(path), user_data)
  }
  invisible(x)
}

#' @rdname save_state
#' @export
load_state <- function(path, into = NULL) {
  target <- if (is.null(into)) NULL else .self_of(into)$.ptr
  loaded <- .Call(tally_r_load, path.expand(path), target)
  out <- if (!is.null(into)) into else if (loaded[[1L]] == "collection") .wrap_collection(loaded[[2L]]) else
    .wrap_ptr(loaded[[2L]])
  attr(out, "user_data") <- loaded[[3L]]
  out
}

#' Model selection on a metric (ashpy)
#'
#' Keeps the best value of a metric: \code{sel$update(value_or_metric, step, checkpoint)}
#' returns whether the value improved; on improvement it first calls
#' \code{checkpoint(sel$best_folder)} and then records the value in
#' \code{<logdir>/best/<metric_name>/<metric_name>.json} (atomically). A new selector over
#' the same logdir continues from the record.
#' @param metric_name The metric's name (a metric object gives its name and direction).
#' @param model_selection_operator \code{"greater"}, \code{"less"}, \code{"auto"} (from the
#'   metric's direction) or \code{NULL} (no selection).
#' @param logdir The log directory.
#' @return A selector object.
#' @export
model_selector <- function(metric_name, model_selection_operator = "auto", logdir = getwd()) {
  metric <- if (inherits(metric_name, "tally_metric")) metric_name else NULL
  name <- if (is.null(metric)) metric_name else metric$name
  op <- model_selection_operator
  if (is.null(op)) op <- "none"
  if (identical(op, "auto")) {
    if (is.null(metric)) {
      stop(tally_condition("invalid_argument",
                           "model_selector: \"auto\" needs a metric object; pass \"greater\" or \"less\""))
    }
    op <- .Call(tally_r_selector_direction_op, .self_of(metric)$.ptr)
  }
  ptr <- .Call(tally_r_selector_new, name, op, path.expand(logdir))
  self <- new.env(parent = emptyenv())
  self$update <- function(value, step, checkpoint = NULL) {
    if (inherits(value, "tally_metric")) value <- value$result()
    cb <- if (is.null(checkpoint)) NULL else function(folder) {
      tryCatch({
        checkpoint(folder)
        TRUE
      }, error = function(e) .callback_failure(e))
    }
    .Call(tally_r_selector_update, ptr, as.double(value), step, cb)
  }
  for (field in c("metric_name", "best_value", "best_step", "best_folder", "best_model_sel_file")) {
    local({
      f <- field
      makeActiveBinding(f, function() .Call(tally_r_selector_info, ptr)[[f]], self)
    })
  }
  class(self) <- "tally_model_selector"
  self
}

#' @export
print.tally_model_selector <- function(x, ...) {
  cat(sprintf("<tally model selector on %s: best %s at step %s>\n", x$metric_name,
              format(x$best_value), format(x$best_step)))
  invisible(x)
}
