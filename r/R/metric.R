# Metric objects as in keras3 (reference: docs/r.md): a callable object `m` with
# m$update_state(), m$result(), m$reset_state(), m(y_true, y_pred), m$get_config(),
# m$merge_state(), m$to_vector(), m$from_vector(), m$stateless_*(), m$variables,
# m$dtype, m$name. The object is a function (so m(...) updates and returns the result)
# whose environment holds `self`, an environment with the methods and fields.

.metric_object <- function(self) {
  obj <- function(y_true, y_pred, sample_weight = NULL) {
    self$update_state(y_true, y_pred, sample_weight)
    self$result()
  }
  class(obj) <- c("tally_metric", "function")
  obj
}

.self_of <- function(x) environment(unclass(x))$self

#' @export
`$.tally_metric` <- function(x, name) {
  self <- .self_of(x)
  if (!exists(name, envir = self, inherits = FALSE)) {
    return(NULL)
  }
  get(name, envir = self, inherits = FALSE)
}

#' @export
`[[.tally_metric` <- function(x, i, ...) `$.tally_metric`(x, i)

#' @export
`$<-.tally_metric` <- function(x, name, value) {
  assign(name, value, envir = .self_of(x))
  x
}

#' @export
.DollarNames.tally_metric <- function(x, pattern = "") {
  n <- ls(.self_of(x))
  n[grepl(pattern, n)]
}

#' @export
print.tally_metric <- function(x, ...) {
  self <- .self_of(x)
  value <- tryCatch(self$result(), error = function(e) NULL)
  shown <- if (is.null(value)) "(no result)" else
    paste(format(unlist(value), digits = 7), collapse = " ")
  cat(sprintf("<%s name=%s dtype=%s>\nresult: %s\n", self$class_name, self$name, self$dtype, shown))
  invisible(x)
}

# Adds the verbs every metric has (built-in or written in R) to `self`.
.add_common_methods <- function(self) {
  ptr <- function() self$.ptr
  self$update_state <- function(y_true, y_pred, sample_weight = NULL, query_ids = NULL, index = NULL) {
    .Call(tally_r_update, self$.ptr, .as_input(y_true), .as_input(y_pred), .as_input(sample_weight),
          .as_input(query_ids), .as_input(index))
    invisible(NULL)
  }
  self$reset_state <- function() invisible(.Call(tally_r_reset, self$.ptr))
  self$get_config <- function() .Call(tally_r_config, self$.ptr)
  self$merge_state <- function(other) {
    others <- if (inherits(other, "tally_metric")) .self_of(other)$.ptr else
      lapply(other, function(o) .self_of(o)$.ptr)
    .Call(tally_r_merge, self$.ptr, others)
    invisible(NULL)
  }
  self$to_vector <- function() .Call(tally_r_to_vector, self$.ptr)
  self$from_vector <- function(values) invisible(.Call(tally_r_from_vector, self$.ptr, values))
  self$stateless_reset_state <- function() .state_list(.Call(tally_r_stateless_reset, self$.ptr))
  self$stateless_update_state <- function(metric_variables, y_true, y_pred, sample_weight = NULL) {
    vars <- .Call(tally_r_state_from_vector, self$.ptr, .flatten_variables(metric_variables))
    .state_list(.Call(tally_r_stateless_update, self$.ptr, vars, .as_input(y_true), .as_input(y_pred),
                      .as_input(sample_weight)))
  }
  self$stateless_result <- function(metric_variables) {
    vars <- .Call(tally_r_state_from_vector, self$.ptr, .flatten_variables(metric_variables))
    .Call(tally_r_stateless_result, self$.ptr, vars)
  }
  self$serialize <- function() .Call(tally_r_serialize, self$.ptr)
  self$clone <- function() .wrap_ptr(.Call(tally_r_clone, self$.ptr), like = self)
  makeActiveBinding("variables", function() {
    lapply(.Call(tally_r_variables, self$.ptr), function(v) v$value)
  }, self)
  makeActiveBinding("direction", function() .Call(tally_r_info, self$.ptr)$direction, self)
  invisible(self)
}

# The stateless API's metric_variables: a named list of values, as keras3 gives tensors.
.state_list <- function(ptr) lapply(.Call(tally_r_state_variables, ptr), function(v) v$value)

# A list of variable values flattened in declaration order, each in C order (row-major),
# as the C++ state vector is laid out.
.flatten_variables <- function(vars) {
  if (is.numeric(vars) && is.null(dim(vars))) return(as.double(vars))
  unlist(lapply(vars, function(v) {
    v <- .value_of(v)
    if (!is.null(dim(v)) && length(dim(v)) > 1L) as.double(aperm(v)) else as.double(v)
  }), use.names = FALSE)
}

# A built-in metric object around an external pointer from the C++ registry.
.wrap_ptr <- function(ptr, like = NULL) {
  if (!is.null(like) && !is.null(like$.class_def)) {
    return(.custom_from_ptr(like, ptr))
  }
  self <- new.env(parent = emptyenv())
  self$.ptr <- ptr
  info <- .Call(tally_r_info, ptr)
  self$name <- info$name
  self$dtype <- info$dtype
  self$class_name <- info$class_name
  .add_common_methods(self)
  self$result <- function() .Call(tally_r_result, self$.ptr)
  .metric_object(self)
}

#' Get a metric by name, alias or spec
#'
#' \code{metric_get("auc")}, \code{metric_get("AUC")} or
#' \code{metric_get(list(class_name = "AUC", config = list(num_thresholds = 50)))} builds
#' any metric of the catalog (\code{tally list} prints it). Unknown names fail with the
#' closest known names.
#' @param identifier A class name, an alias, JSON text, or a list with \code{class_name}
#'   and \code{config}.
#' @return A metric object.
#' @export
metric_get <- function(identifier) {
  if (inherits(identifier, "tally_metric")) return(identifier)
  if (is.character(identifier) && length(identifier) == 1L && !is.null(.tally_env$classes[[identifier]])) {
    return(.tally_env$classes[[identifier]]())
  }
  if (is.list(identifier) && !is.null(identifier$class_name) &&
      !is.null(.tally_env$classes[[identifier$class_name]])) {
    return(metric_from_config(identifier))
  }
  .wrap_ptr(.Call(tally_r_get, identifier))
}

#' Rebuild a metric from its config
#'
#' \code{metric_from_config(m$get_config(), class_name)} or
#' \code{metric_from_config(m$serialize())} rebuilds a metric with the same configuration
#' (and a fresh state). Metrics written with \code{Metric()} are found by their class name.
#' @param config A config (named list, from \code{m$get_config()}) or a serialized spec
#'   with \code{class_name} and \code{config}.
#' @param class_name The class name when \code{config} is a bare config.
#' @return A metric object.
#' @export
metric_from_config <- function(config, class_name = NULL) {
  if (is.null(class_name)) {
    class_name <- config$class_name
    config <- config$config
  }
  if (is.null(class_name)) stop(tally_condition("config", "metric_from_config: `class_name` is missing"))
  ctor <- .tally_env$classes[[class_name]]
  if (!is.null(ctor)) return(do.call(ctor, as.list(config)))
  .wrap_ptr(.Call(tally_r_get, list(class_name = class_name, config = config)))
}

#' The names of every metric in the catalog
#'
#' @return A character vector of class names and aliases, sorted.
#' @export
metric_names <- function() .Call(tally_r_known_names)

# Builds a catalog metric from the arguments of a generated constructor: NULL arguments are
# left out so the C++ defaults apply, as Keras's None does.
.build_metric <- function(class_name, args) {
  args <- args[!vapply(args, is.null, logical(1))]
  .wrap_ptr(.Call(tally_r_get, list(class_name = class_name, config = args)))
}

# Calls a catalog per-sample function (keras3's metric_huber(y_true, y_pred, ...)).
.call_function <- function(name, y_true, y_pred, args) {
  args <- args[!vapply(args, is.null, logical(1))]
  .Call(tally_r_call_function, name, .as_input(y_true), .as_input(y_pred), args)
}

#' Wrap a per-sample function as a mean metric
#'
#' keras3's \code{metric_mean_wrapper()} (Keras's \code{MeanMetricWrapper}): the weighted
#' mean of \code{fn(y_true, y_pred, ...)}. \code{fn} is the name of a catalog per-sample
#' function (\code{"huber"}, \code{"mean_absolute_error"}, ...; computed in C++) or an R
#' function (see \code{custom_metric()}). With \code{y_true} and \code{y_pred}, returns
#' \code{fn}'s per-sample values instead.
#' @param y_true,y_pred Optional labels and predictions.
#' @param fn A function name or an R function of \code{(y_true, y_pred, ...)}.
#' @param ... Keyword arguments of \code{fn}.
#' @param name,dtype The metric's name and dtype.
#' @return A metric object, or the per-sample values.
#' @export
metric_mean_wrapper <- function(y_true, y_pred, fn, ..., name = NULL, dtype = NULL) {
  if (is.function(fn)) {
    extra <- list(...)
    f <- function(y_true, y_pred) do.call(fn, c(list(y_true, y_pred), extra))
    if (!missing(y_true) && !missing(y_pred)) return(f(y_true, y_pred))
    return(custom_metric(if (is.null(name)) "mean_metric_wrapper" else name, f))
  }
  if (!missing(y_true) && !missing(y_pred)) return(.call_function(fn, y_true, y_pred, list(...)))
  .build_metric("MeanMetricWrapper", c(list(fn = fn), list(...), list(name = name, dtype = dtype)))
}
