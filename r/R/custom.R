# Metrics written in R, as keras3's Metric(): a class with initialize(), update_state()
# and result(); state variables come from self$add_variable() / self$add_weight() and are
# tally variables held by the C++ core (an RMetric, src/metric.cpp), so such a metric
# merges, flattens to a vector, joins a collection and all-reduces like a built-in.
# update_state() runs on a copy of the state that is committed only when it returns, so
# a failing update leaves the state unchanged.

#' Define a custom metric class
#'
#' As keras3's \code{Metric()}: returns a constructor of metric objects. In the methods,
#' \code{self} is the instance, \code{super} the parent class (\code{super$initialize(name =
#' , dtype = )}), \code{private} an environment of the instance hidden from tally, and
#' \code{__class__} (and the class name) the constructor.
#' @param classname The class name (CamelCase by convention).
#' @param initialize,update_state,result The methods; \code{initialize} declares the state
#'   with \code{self$add_variable()} or \code{self$add_weight()}.
#' @param ... Further methods or fields.
#' @param public A named list of further methods or fields.
#' @param private A named list of objects put into each instance's \code{private} environment.
#' @param inherit A constructor made by \code{Metric()} to subclass, or \code{NULL}.
#' @param parent_env The environment the methods are evaluated in (as grandparent).
#' @return A constructor function.
#' @export
Metric <- function(classname, initialize = NULL, update_state = NULL, result = NULL, ...,
                   public = list(), private = list(), inherit = NULL, parent_env = parent.frame()) {
  members <- c(list(initialize = initialize, update_state = update_state, result = result), list(...), public)
  members <- members[!vapply(members, is.null, logical(1))]
  parent <- if (is.null(inherit)) NULL else attr(inherit, "tally_class", exact = TRUE)
  if (!is.null(inherit) && is.null(parent)) {
    stop(tally_condition("invalid_argument", "Metric: `inherit` must be a constructor made by Metric()"))
  }
  def <- list(classname = classname, members = members, private = private, parent = parent,
              parent_env = parent_env)
  ctor <- function(...) .new_custom(def, ctor, ...)
  attr(ctor, "tally_class") <- def
  class(ctor) <- c("tally_metric_class", "function")
  .tally_env$classes[[classname]] <- ctor
  .Call(tally_r_register_class, classname)
  ctor
}

# Called by the C++ registry (src/metric.cpp, tally_r_register_class) to build a metric of a
# Metric() class from a config; returns its external pointer, or a callback failure.
.tally_build_class <- function(classname, config) {
  tryCatch({
    ctor <- .tally_env$classes[[classname]]
    if (is.null(ctor)) stop(sprintf("no Metric() class called \"%s\" in this R session", classname))
    .self_of(do.call(ctor, as.list(config)))$.ptr
  }, error = function(e) .callback_failure(e))
}

#' @export
print.tally_metric_class <- function(x, ...) {
  cat(sprintf("<tally Metric class %s>\n", attr(x, "tally_class")$classname))
  invisible(x)
}

.snake_case <- function(x) {
  x <- gsub("([a-z0-9])([A-Z])", "\\1_\\2", x)
  x <- gsub("([A-Z]+)([A-Z][a-z])", "\\1_\\2", x)
  tolower(x)
}

# The base class's methods: initialize(name, dtype) and the variable declarations.
.base_methods <- function(self, def) {
  list(initialize = function(name = NULL, dtype = NULL, ...) {
    self$name <- if (is.null(name)) .snake_case(self$class_name) else name
    self$dtype <- if (is.null(dtype)) "float32" else dtype
    invisible(NULL)
  })
}

# Binds the methods of a class chain to one instance: each method's environment holds
# self, super (the parent's bound methods), private and __class__.
.bind_class <- function(def, self, private, ctor) {
  super <- if (is.null(def$parent)) list2env(.base_methods(self, def)) else
    .bind_class(def$parent, self, private, ctor)
  bound <- new.env(parent = emptyenv())
  # the parent's methods are inherited unless overridden
  for (n in ls(super)) assign(n, get(n, envir = super), envir = bound)
  for (n in names(def$members)) {
    member <- def$members[[n]]
    if (is.function(member)) {
      scope <- new.env(parent = def$parent_env)
      scope$self <- self
      scope$super <- super
      scope$private <- private
      scope$`__class__` <- ctor
      assign(def$classname, ctor, envir = scope)
      environment(member) <- scope
    }
    assign(n, member, envir = bound)
  }
  bound
}

.new_custom <- function(def, ctor, ...) {
  self <- new.env(parent = emptyenv())
  private <- list2env(def$private, parent = emptyenv())
  methods <- .bind_class(def, self, private, ctor)
  self$.class_def <- def
  self$.methods <- methods
  self$.decls <- list()
  self$.vars <- list()
  self$.cur <- NULL
  self$.ptr <- NULL
  self$class_name <- def$classname
  self$add_variable <- function(shape = NULL, initializer = "zeros", dtype = NULL, aggregation = "sum",
                                name = NULL) {
    .declare_variable(self, shape, initializer, dtype, aggregation, name)
  }
  self$add_weight <- function(shape = NULL, initializer = "zeros", dtype = NULL, aggregation = "sum",
                              name = NULL) {
    .declare_variable(self, shape, initializer, dtype, aggregation, name)
  }
  for (n in ls(methods)) {
    if (!n %in% c("initialize", "update_state", "result")) assign(n, get(n, envir = methods), envir = self)
  }
  if (is.null(methods$update_state) || is.null(methods$result)) {
    stop(tally_condition("invalid_argument", sprintf(
      "Metric %s: update_state() and result() must be defined", def$classname)))
  }
  methods$initialize(...)
  if (is.null(self$name)) methods$initialize()  # initialize() never called super$initialize()
  .finish_custom(self)
}

# Creates the C++ metric from the declared variables and installs the verbs.
.finish_custom <- function(self, ptr = NULL) {
  methods <- self$.methods
  update_cb <- function(vars, y_true, y_pred, sample_weight) {
    old <- self$.cur
    self$.cur <- vars
    on.exit(self$.cur <- old)
    tryCatch({
      methods$update_state(y_true, y_pred, sample_weight)
      TRUE
    }, error = function(e) .callback_failure(e))
  }
  result_cb <- function(vars) {
    old <- self$.cur
    self$.cur <- vars
    on.exit(self$.cur <- old)
    tryCatch({
      value <- unlist(.value_of(methods$result()), use.names = FALSE)
      as.double(value)
    }, error = function(e) .callback_failure(e))
  }
  if (is.null(ptr)) {
    config <- list()
    ptr <- .Call(tally_r_rmetric_new, self$class_name, self$name, self$dtype, unname(self$.decls),
                 update_cb, result_cb, config)
  }
  self$.ptr <- ptr
  .add_common_methods(self)
  self$result <- function() {
    old <- self$.cur
    self$.cur <- NULL
    on.exit(self$.cur <- old)
    .value_of(methods$result())
  }
  .metric_object(self)
}

# A clone (m$clone()) or a collection member of a metric written in R: its C++ copy calls
# the original's R methods on its own variables; result() returns numbers.
.custom_from_ptr <- function(like, ptr) {
  self <- new.env(parent = emptyenv())
  self$.ptr <- ptr
  self$name <- like$name
  self$dtype <- like$dtype
  self$class_name <- like$class_name
  .add_common_methods(self)
  self$result <- function() .Call(tally_r_result, self$.ptr)
  .metric_object(self)
}

.callback_failure <- function(e) {
  .tally_env$pending <- e
  structure(list(FALSE, conditionMessage(e)), class = "tally_callback_failure")
}

.declare_variable <- function(self, shape, initializer, dtype, aggregation, name) {
  if (!is.null(self$.ptr)) {
    stop(tally_condition("invalid_argument", sprintf(
      "%s: add_variable() must be called in initialize(), before the metric is used", self$class_name)))
  }
  if (!is.null(initializer) && !identical(initializer, "zeros")) {
    stop(tally_condition("invalid_argument", sprintf(
      "%s: only the \"zeros\" initializer is supported (a state must start at the identity of its merge); received %s",
      self$class_name, format(initializer))))
  }
  index <- length(self$.decls)
  if (is.null(name)) name <- paste0("variable_", index)
  dtype <- if (is.null(dtype) || dtype %in% c("float16", "bfloat16", "float32", "float64")) "float64" else
    if (dtype %in% c("int32", "int64", "uint8", "bool")) "int64" else
      stop(tally_condition("dtype", sprintf("%s: variable \"%s\": unknown dtype \"%s\"",
                                            self$class_name, name, dtype)))
  shape <- as.double(unclass(if (is.null(shape)) integer(0) else shape))
  self$.decls[[index + 1L]] <- list(name, shape, dtype, aggregation)
  v <- .new_variable(self, index, name, shape, dtype, aggregation)
  self$.vars[[index + 1L]] <- v
  v
}

# A state variable of a metric written in R (keras3's KerasVariable): read it as a value
# (arithmetic and comparisons use its value), change it with assign(), assign_add(),
# assign_sub().
.new_variable <- function(owner, index, name, shape, dtype, aggregation) {
  v <- new.env(parent = emptyenv())
  v$.owner <- owner
  v$.index <- index
  v$name <- name
  v$shape <- shape
  v$dtype <- dtype
  v$aggregation <- aggregation
  v$numpy <- function() {
    if (is.null(owner$.ptr)) {
      if (length(shape) == 0L) return(0)
      return(array(0, dim = shape))
    }
    .Call(tally_r_var_get, owner$.ptr, owner$.cur, index)
  }
  v$assign <- function(value) {
    value <- .value_of(value)
    .Call(tally_r_var_set, owner$.ptr, owner$.cur, index, as.double(value) + 0 * .shape_like(value))
    invisible(v)
  }
  v$assign_add <- function(value) v$assign(v$numpy() + .value_of(value))
  v$assign_sub <- function(value) v$assign(v$numpy() - .value_of(value))
  makeActiveBinding("value", function() v$numpy(), v)
  class(v) <- "tally_variable"
  v
}

.shape_like <- function(value) {
  if (is.null(dim(value))) return(0)
  array(0, dim = dim(value))
}

# Values of variables (recursively through lists), as result() returns them.
.value_of <- function(x) {
  if (inherits(x, "tally_variable")) return(x$numpy())
  if (is.list(x) && !is.data.frame(x)) return(lapply(x, .value_of))
  x
}

#' @export
print.tally_variable <- function(x, ...) {
  cat(sprintf("<tally variable %s %s[%s] %s>\n", x$name, x$dtype, paste(x$shape, collapse = ", "),
              x$aggregation))
  print(x$numpy())
  invisible(x)
}

#' @export
Ops.tally_variable <- function(e1, e2) {
  e1 <- .value_of(e1)
  if (!missing(e2)) e2 <- .value_of(e2)
  get(.Generic)(e1, e2)
}

#' @export
Math.tally_variable <- function(x, ...) get(.Generic)(x$numpy(), ...)

#' @export
Summary.tally_variable <- function(..., na.rm = FALSE) {
  get(.Generic)(unlist(lapply(list(...), .value_of)), na.rm = na.rm)
}

#' @export
as.double.tally_variable <- function(x, ...) as.double(x$numpy())

#' @export
as.vector.tally_variable <- function(x, mode = "any") as.vector(x$numpy(), mode)

#' @export
as.array.tally_variable <- function(x, ...) as.array(x$numpy())

#' Wrap an R function of (y_true, y_pred) as a mean metric
#'
#' As keras3's \code{custom_metric()} and Keras's \code{MeanMetricWrapper}: the metric is
#' the (sample-weighted) mean of \code{fn}'s per-sample values. It is a metric written in
#' R (see \code{Metric()}), so it merges, joins collections and all-reduces.
#' @param name The metric's name.
#' @param fn A function of \code{(y_true, y_pred)} returning one value per sample.
#' @return A metric object.
#' @export
custom_metric <- function(name, fn) {
  force(fn)
  ctor <- Metric(
    classname = "MeanMetricWrapper",
    initialize = function(name = NULL, dtype = NULL, ...) {
      super$initialize(name = name, dtype = dtype)
      self$total <- self$add_variable(shape = shape(), name = "total")
      self$count <- self$add_variable(shape = shape(), name = "count")
    },
    update_state = function(y_true, y_pred, sample_weight = NULL) {
      values <- as.double(fn(y_true, y_pred))
      weights <- if (is.null(sample_weight)) rep(1, length(values)) else
        rep_len(as.double(sample_weight), length(values))
      self$total$assign_add(sum(values * weights))
      self$count$assign_add(sum(weights))
    },
    result = function() {
      count <- as.double(self$count)
      if (count == 0) 0 else as.double(self$total) / count
    })
  .tally_env$classes[["MeanMetricWrapper"]] <- NULL  # not rebuildable without fn
  ctor(name = name)
}
