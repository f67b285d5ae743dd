# The small keras3 functions that metric bodies written in R use (shape(), op_cast(),
# op_sum(), ...), working on R vectors and arrays. Axes are 1-based as in keras3 (negative
# axes count from the end); results of op_* keep a dim attribute, so shape() of a result
# is its shape even when it has one element.

#' Shapes and array helpers for metric bodies (keras3's shape() and op_*())
#'
#' \code{shape()} builds a shape (\code{shape()} is a scalar's, \code{shape(3, 4)} a 3 x 4
#' shape) or returns the shape of an array or op result (\code{shape(x)}). The
#' \code{op_*} functions follow keras3 on R vectors and arrays: \code{op_cast(x, dtype)}
#' (\code{"bool"}, \code{"int32"}, \code{"float32"}, ...), \code{op_sum()}, \code{op_mean()},
#' \code{op_broadcast_to()} (numpy broadcasting), \code{op_square()}, \code{op_abs()},
#' \code{op_greater()}, \code{op_equal()}, \code{op_where()}, \code{op_argmax()}.
#' @param ... Dimensions, or one array.
#' @param x,x1,x2 Arrays, vectors or variables.
#' @param dtype A keras dtype name.
#' @param shape A shape (from \code{shape()}) or integer dimensions.
#' @param axis 1-based axis (negative counts from the end); \code{NULL} for all.
#' @param keepdims Keep reduced axes with length one.
#' @param condition A logical array.
#' @param zero_indexed Return 0-based indices (keras3 default \code{FALSE}: 1-based).
#' @return An array, or a shape (an integer vector of class \code{tally_shape}).
#' @name ops
NULL

.as_tensor <- function(x) {
  x <- .value_of(x)
  if (is.factor(x)) x <- .as_input(x)
  if (is.data.frame(x)) x <- as.matrix(x)
  if (is.null(dim(x))) dim(x) <- length(x)
  x
}

.dims <- function(x) {
  d <- dim(x)
  if (is.null(d)) length(x) else d
}

#' @rdname ops
#' @export
shape <- function(...) {
  args <- list(...)
  if (length(args) == 1L) {
    a <- args[[1L]]
    if (inherits(a, "tally_variable")) return(structure(as.integer(a$shape), class = "tally_shape"))
    if (inherits(a, "tally_shape")) return(a)
    if (!is.null(dim(a)) || length(a) != 1L || is.logical(a)) {
      return(structure(as.integer(.dims(a)), class = "tally_shape"))
    }
  }
  structure(as.integer(unlist(args)), class = "tally_shape")
}

#' @export
print.tally_shape <- function(x, ...) {
  cat("shape(", paste(unclass(x), collapse = ", "), ")\n", sep = "")
  invisible(x)
}

#' @rdname ops
#' @export
op_cast <- function(x, dtype) {
  x <- .as_tensor(x)
  d <- dim(x)
  out <- switch(dtype,
    bool = x != 0,
    int8 = , int16 = , int32 = , int64 = , uint8 = as.integer(x),
    float16 = , bfloat16 = , float32 = , float64 = as.double(x),
    stop(tally_condition("dtype", sprintf("op_cast: unknown dtype \"%s\"", dtype))))
  dim(out) <- d
  out
}

.axis <- function(axis, rank) {
  axis <- as.integer(axis)
  ifelse(axis < 0L, rank + axis + 1L, axis)
}

.reduce <- function(x, axis, keepdims, f) {
  x <- .as_tensor(x)
  d <- dim(x)
  if (is.null(axis)) {
    out <- f(as.vector(x))
    if (keepdims) dim(out) <- rep(1L, length(d)) else dim(out) <- NULL
    return(out)
  }
  axis <- .axis(axis, length(d))
  keep <- setdiff(seq_along(d), axis)
  out <- if (length(keep) == 0L) f(as.vector(x)) else apply(x, keep, f)
  if (keepdims) {
    nd <- d
    nd[axis] <- 1L
    dim(out) <- nd
  } else if (length(keep) > 0L) {
    dim(out) <- d[keep]
  }
  out
}

#' @rdname ops
#' @export
op_sum <- function(x, axis = NULL, keepdims = FALSE) .reduce(x, axis, keepdims, sum)

#' @rdname ops
#' @export
op_mean <- function(x, axis = NULL, keepdims = FALSE) .reduce(x, axis, keepdims, mean)

#' @rdname ops
#' @export
op_square <- function(x) {
  x <- .as_tensor(x)
  x * x
}

#' @rdname ops
#' @export
op_abs <- function(x) abs(.as_tensor(x))

#' @rdname ops
#' @export
op_greater <- function(x1, x2) .broadcast_op(x1, x2, `>`)

#' @rdname ops
#' @export
op_equal <- function(x1, x2) .broadcast_op(x1, x2, `==`)

#' @rdname ops
#' @export
op_where <- function(condition, x1, x2) {
  condition <- .as_tensor(condition)
  d <- .broadcast_shape(.broadcast_shape(dim(condition), .dims(.as_tensor(x1))), .dims(.as_tensor(x2)))
  out <- ifelse(as.vector(op_broadcast_to(condition, d)), as.vector(op_broadcast_to(x1, d)),
                as.vector(op_broadcast_to(x2, d)))
  dim(out) <- d
  out
}

#' @rdname ops
#' @export
op_argmax <- function(x, axis = -1L, keepdims = FALSE, zero_indexed = FALSE) {
  offset <- if (zero_indexed) 1L else 0L
  .reduce(x, axis, keepdims, function(v) which.max(v) - offset)
}

.broadcast_shape <- function(a, b) {
  n <- max(length(a), length(b))
  a <- c(rep(1L, n - length(a)), a)
  b <- c(rep(1L, n - length(b)), b)
  if (any(a != b & a != 1L & b != 1L)) {
    stop(tally_condition("shape", sprintf("cannot broadcast shapes (%s) and (%s)",
                                          paste(a, collapse = ", "), paste(b, collapse = ", "))))
  }
  as.integer(pmax(a, b))
}

.broadcast_op <- function(x1, x2, f) {
  x1 <- .as_tensor(x1)
  x2 <- .as_tensor(x2)
  d <- .broadcast_shape(dim(x1), dim(x2))
  out <- f(as.vector(op_broadcast_to(x1, d)), as.vector(op_broadcast_to(x2, d)))
  dim(out) <- d
  out
}

#' @rdname ops
#' @export
op_broadcast_to <- function(x, shape) {
  x <- .as_tensor(x)
  target <- as.integer(unclass(shape))
  s <- dim(x)
  if (length(s) > length(target) || !identical(.broadcast_shape(s, target), target)) {
    stop(tally_condition("shape", sprintf("op_broadcast_to: cannot broadcast shape (%s) to (%s)",
                                          paste(s, collapse = ", "), paste(target, collapse = ", "))))
  }
  if (identical(s, target)) return(x)
  # numpy aligns the trailing axes; R arrays index the same axes (column-major storage).
  s <- c(rep(1L, length(target) - length(s)), s)
  total <- prod(target)
  pos <- seq_len(total) - 1
  src <- numeric(total)
  block <- 1
  src_stride <- 1
  for (k in seq_along(target)) {
    component <- (pos %/% block) %% target[k]
    if (s[k] != 1L) src <- src + component * src_stride
    block <- block * target[k]
    src_stride <- src_stride * s[k]
  }
  out <- as.vector(x)[src + 1]
  dim(out) <- target
  out
}
