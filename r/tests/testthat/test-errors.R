# Errors are R conditions of class c("tally_<kind>_error", "tally_error", "error",
# "condition") with the C++ message, and a failed update leaves the state unchanged.

test_that("bad input raises classed conditions with the C++ message", {
  m <- metric_binary_accuracy()
  e <- tryCatch(m$update_state(c(1, 0, 1), c(0.2, 0.9)), error = function(e) e)
  expect_s3_class(e, "tally_shape_error")
  expect_identical(class(e), c("tally_shape_error", "tally_error", "error", "condition"))
  expect_match(conditionMessage(e), "binary_accuracy", fixed = TRUE)
  expect_error(metric_get("aucc"), class = "tally_invalid_argument_error")
  expect_error(metric_get("aucc"), "auc")  # the closest known names are listed
  expect_error(metric_auc(num_thresholds = 1), "must be an integer > 1", class = "tally_invalid_argument_error")
  expect_error(metric_auc(bogus = 3), "bogus", class = "tally_config_error")
  expect_error(m$update_state("a", "b"), class = "tally_dtype_error")
  expect_error(m$from_vector(c(1, 2, 3)), class = "tally_state_error")
  expect_error(load_state(tempfile()), class = "tally_io_error")
  expect_error(metric_iou(target_class_ids = 0), "num_classes")
})

test_that("NA is bad input and the state is unchanged", {
  for (m in list(metric_auc(), metric_binary_accuracy(), metric_mean_squared_error())) {
    m$update_state(c(1, 0, 1), c(0.8, 0.3, 0.4))
    before <- m$to_vector()
    expect_error(m$update_state(c(1, NA, 0), c(0.5, 0.5, 0.5)), class = "tally_invalid_argument_error")
    expect_error(m$update_state(c(1, 0, 0), c(0.5, NA, 0.5)), "contains NA")
    expect_error(m$update_state(c(TRUE, NA, FALSE), c(0.5, 0.5, 0.5)), "y_true")
    expect_error(m$update_state(c(1L, NA, 0L), c(0.5, 0.5, 0.5)), "NA")
    expect_error(m$update_state(c(1, 0, 0), c(0.5, 0.5, 0.5), c(1, NA, 1)), "sample_weight")
    expect_identical(m$to_vector(), before)
  }
})

test_that("NA in a large input (scanned by two threads) leaves the state unchanged", {
  # 2^20 elements and more are scanned in two halves at once (r/src/glue.h, scan_na): an NA
  # in either half, of any argument, is found before the update.
  n <- 2^20 + 3
  y <- rep(c(1, 0), length.out = n)
  p <- rep(c(0.75, 0.25, 0.5), length.out = n)
  for (m in list(metric_auc(), metric_binary_accuracy(), metric_mean_squared_error(),
                 metric_collection(metric_auc(), metric_mean_squared_error()))) {
    m$update_state(c(1, 0, 1), c(0.8, 0.3, 0.4))
    before <- m$to_vector()
    bad <- p
    bad[n - 1] <- NA  # in the second half
    expect_error(m$update_state(y, bad), "`y_pred` contains NA", class = "tally_invalid_argument_error")
    w <- rep(1, n)
    w[7] <- NA  # in the first half
    expect_error(m$update_state(y, p, w), "`sample_weight` contains NA")
    expect_identical(m$to_vector(), before)
  }
  m <- metric_mean_squared_error()
  m$update_state(y, p)
  expect_equal(m$result(), mean((p - y)^2), tolerance = 1e-12)
  nan <- p
  nan[3] <- NaN  # NaN is not NA: a loss takes it and propagates it as Keras does
  m$update_state(y, nan)
  expect_true(is.nan(m$result()))
})

test_that("tally_check_na(FALSE) skips the NA scan", {
  old <- tally_check_na(FALSE)
  on.exit(tally_check_na(old))
  expect_true(old)
  m <- metric_mean_squared_error()
  m$update_state(c(1, NA), c(1, 1))  # NA is R's NaN: it propagates as Keras's NaN does
  expect_true(is.na(m$result()))
  expect_false(tally_check_na(TRUE))
  expect_error(m$update_state(c(1, NA), c(1, 1)), "contains NA")
})

test_that("a failed collection update changes no member", {
  col <- metric_collection(metric_auc(), metric_mean_squared_error())
  col$update_state(c(1, 0), c(0.9, 0.1))
  before <- col$to_vector()
  expect_error(col$update_state(c(1, 0), c(0.9, 0.1, 0.5)), class = "tally_error")
  expect_identical(col$to_vector(), before)
})
