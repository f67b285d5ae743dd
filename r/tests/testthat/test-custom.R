# Metrics written in R with Metric(): the reference document's example, as written.

metric_binary_true_positives <- Metric(
  classname = "BinaryTruePositives", initialize = function(name = 'binary_true_positives', ...) {
    super$initialize(name = name, ...)
    self$true_positives <-
      self$add_weight(shape = shape(),
                      initializer = 'zeros',
                      name = 'true_positives')
  },
  update_state = function(y_true, y_pred, sample_weight = NULL) {
    y_true <- op_cast(y_true, "bool")
    y_pred <- op_cast(y_pred, "bool")
    values <- y_true & y_pred # `&` calls op_logical_and()
    values <- op_cast(values, self$dtype)
    if (!is.null(sample_weight)) {
      sample_weight <- op_cast(sample_weight, self$dtype)
      sample_weight <- op_broadcast_to(sample_weight, shape(values))
      values <- values * sample_weight # `*` calls op_multiply()
    }
    self$true_positives$assign(self$true_positives + op_sum(values))
  },
  result = function() {
    self$true_positives
  }
)

y_true <- c(1, 0, 1, 1, 0, 1)
y_pred <- c(1, 1, 0, 1, 0, 1)
w <- c(0.5, 1, 1, 2, 1, 3)

test_that("the document's metric_binary_true_positives runs as written", {
  m <- metric_binary_true_positives()
  expect_equal(m$name, "binary_true_positives")
  expect_equal(m$dtype, "float32")
  m$update_state(y_true, y_pred)
  expect_equal(m$result(), 3)
  m$update_state(y_true, y_pred, w)
  expect_equal(m$result(), 3 + 0.5 + 2 + 3)
  expect_equal(m(c(1, 1), c(1, 1)), 10.5)
  m$reset_state()
  expect_equal(m$result(), 0)
  expect_equal(m$variables, list(true_positives = 0))
  expect_equal(m$get_config()[c("name", "dtype")], list(name = "binary_true_positives", dtype = "float32"))
  expect_output(print(m), "BinaryTruePositives")
  expect_equal(metric_binary_true_positives(name = "tp")$name, "tp")
  # the stateless API runs the R methods on the given variables
  vars <- m$stateless_update_state(m$stateless_reset_state(), y_true, y_pred, w)
  expect_equal(vars, list(true_positives = 5.5))
  expect_equal(m$stateless_result(vars), 5.5)
  expect_equal(m$result(), 0)
})

test_that("a metric written in R merges, flattens and joins a collection like a built-in", {
  a <- metric_binary_true_positives()
  b <- metric_binary_true_positives()
  a$update_state(y_true[1:3], y_pred[1:3])
  b$update_state(y_true[4:6], y_pred[4:6])
  expect_equal(a$to_vector() + b$to_vector(), 3)
  a$merge_state(b)
  expect_equal(a$result(), 3)
  expect_error(a$merge_state(metric_true_positives()), class = "tally_state_error")

  col <- metric_collection(metric_binary_true_positives(), metric_true_positives(), metric_precision())
  col$update_state(y_true, y_pred, w)
  r <- col$result()
  expect_equal(names(r), c("binary_true_positives", "true_positives", "precision"))
  expect_equal(r$binary_true_positives, r$true_positives)
  expect_equal(r$binary_true_positives, 0.5 + 2 + 3)
  all_reduce_metrics(col)  # a single process: the identity
  expect_equal(col$result()$binary_true_positives, 5.5)
  v <- col$to_vector()
  col2 <- metric_collection(metric_binary_true_positives(), metric_true_positives(), metric_precision())
  col2$from_vector(v)
  expect_equal(col2$result(), r)
})

test_that("a metric written in R saves, loads and is found by name", {
  col <- metric_collection(metric_binary_true_positives(), metric_auc())
  col$update_state(y_true, y_pred, w)
  path <- tempfile(fileext = ".tally")
  save_state(col, path, user_data = list(step = 3))
  back <- load_state(path)  # built through the C++ registry, which calls the R class
  expect_equal(back$result(), col$result())
  expect_equal(back$metric("binary_true_positives")$to_vector(), 5.5)
  expect_equal(attr(back, "user_data")$step, 3)
  unlink(path)
  expect_equal(metric_get("BinaryTruePositives")$name, "binary_true_positives")
  expect_equal(metric_from_config(list(class_name = "BinaryTruePositives", config = list(name = "tp")))$name, "tp")
})

test_that("a failed update of a metric written in R leaves its state unchanged", {
  failing <- Metric(
    "Failing",
    initialize = function(...) {
      super$initialize(...)
      self$total <- self$add_variable(shape = shape(2), name = "total")
    },
    update_state = function(y_true, y_pred, sample_weight = NULL) {
      self$total$assign_add(c(1, 1))
      if (any(y_pred > 1)) stop("y_pred above 1")
    },
    result = function() self$total)
  m <- failing()
  m$update_state(1, 0.5)
  expect_equal(m$result(), c(1, 1))
  expect_error(m$update_state(1, 2), "y_pred above 1")
  expect_equal(m$result(), c(1, 1))
  col <- metric_collection(m, metric_mean())
  expect_error(col$update_state(1, 2), "y_pred above 1")
  expect_equal(col$to_vector(), c(1, 1, 0, 0))
})

test_that("private, public methods, inherit and custom_metric", {
  counter <- Metric(
    "Counter",
    initialize = function(...) {
      super$initialize(...)
      private$calls <- 0
      self$n <- self$add_variable(shape(), name = "n", dtype = "int64")
    },
    update_state = function(y_true, y_pred, sample_weight = NULL) {
      private$calls <- private$calls + 1
      self$n$assign_add(length(y_pred))
    },
    result = function() self$n,
    calls = function() private$calls)
  m <- counter()
  m$update_state(1:3, 1:3)
  m$update_state(1:2, 1:2)
  expect_equal(m$result(), 5)
  expect_equal(m$calls(), 2)
  expect_equal(m$name, "counter")

  doubled <- Metric("Doubled", inherit = counter, result = function() 2 * super$result())
  d <- doubled()
  d$update_state(1:3, 1:3)
  expect_equal(d$result(), 6)

  mae <- custom_metric("my_mae", function(y_true, y_pred) abs(y_true - y_pred))
  mae$update_state(c(1, 2, 3), c(1, 2, 5))
  expect_equal(mae$result(), 2 / 3)
  ref <- metric_mean_absolute_error()
  ref$update_state(c(1, 2, 3), c(1, 2, 5))
  expect_equal(mae$result(), ref$result())
  wrapped <- metric_mean_wrapper(fn = function(y_true, y_pred) (y_true - y_pred)^2, name = "sq")
  wrapped$update_state(c(0, 0), c(1, 3))
  expect_equal(wrapped$result(), 5)
  by_name <- metric_mean_wrapper(fn = "mean_absolute_error")
  by_name$update_state(c(1, 2, 3), c(1, 2, 5))
  expect_equal(by_name$result(), 2 / 3)
})

test_that("op helpers follow keras3 on R arrays", {
  x <- matrix(c(1, 5, 3, 2, 4, 6), nrow = 2)  # (2, 3)
  expect_equal(unclass(shape(x)), c(2L, 3L))
  expect_equal(unclass(shape(2, 3)), c(2L, 3L))
  expect_equal(length(shape()), 0L)
  expect_equal(as.vector(op_sum(x, axis = 1)), c(6, 5, 10))
  expect_equal(as.vector(op_sum(x, axis = -1)), c(8, 13))
  expect_equal(as.vector(op_mean(x, axis = 2)), c(8, 13) / 3)
  expect_equal(as.vector(op_argmax(x)), c(3, 3))
  expect_equal(as.vector(op_argmax(x, zero_indexed = TRUE)), c(2, 2))
  expect_equal(dim(op_broadcast_to(c(1, 2, 3), shape(2, 3))), c(2L, 3L))
  expect_equal(op_broadcast_to(c(1, 2, 3), shape(2, 3))[2, ], c(1, 2, 3))
  expect_equal(as.vector(op_where(op_greater(x, 2), x, 0)), c(0, 5, 3, 0, 4, 6))
  expect_equal(as.vector(op_equal(x, 3)), as.vector(x == 3))
  expect_equal(as.vector(op_square(c(-2, 3))), c(4, 9))
  expect_equal(as.vector(op_abs(c(-2, 3))), c(2, 3))
  expect_error(op_broadcast_to(1:3, shape(2)), class = "tally_shape_error")
})
