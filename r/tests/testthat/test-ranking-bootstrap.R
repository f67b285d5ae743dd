# Auxiliary per-row inputs from R (docs/metrics.md, "Auxiliary inputs"): query ids for the
# ranking metrics, the global row index for BootstrapInterval.

test_that("NDCG takes query_ids and matches the per-query mean", {
  m <- metric_get(list(class_name = "NDCG", config = list(k = 2)))
  # query 1: relevant document ranked first (1); query 2: ranked second (1 / log2(3))
  m$update_state(c(1, 0, 1, 0), c(0.9, 0.1, 0.4, 0.6), query_ids = c(1, 1, 2, 2))
  expect_equal(m$result(), (1 + 1 / log2(3)) / 2, tolerance = 1e-12)
  expect_error(m$update_state(c(1, 0), c(0.9, 0.1)), "argument `query_ids` is required",
               class = "tally_invalid_argument_error")
  expect_error(m$update_state(c(1, 0), c(0.9, 0.1), query_ids = c(2, 3)), "continues the previous batch's last query")
  expect_error(m$update_state(c(1, 0), c(0.9, 0.1), query_ids = c(3.5, 3.5)), "whole numbers")
  expect_error(metric_binary_accuracy()$update_state(c(1, 0), c(0.9, 0.1), query_ids = c(1L, 1L)),
               "takes no `query_ids`")
})

test_that("BootstrapInterval: offsets and explicit index give the single-process state", {
  spec <- list(class_name = "BootstrapInterval", config = list(metric = "binary_accuracy", num_resamples = 50L))
  y <- rep(c(1, 0, 1, 1, 0), 40)
  p <- rep(c(0.8, 0.3, 0.4, 0.9, 0.6), 40)
  one <- metric_get(spec)
  one$update_state(y, p)
  r <- one$result()
  expect_equal(length(r), 4)
  expect_equal(r[1], 0.6)
  idx <- metric_get(spec)
  idx$update_state(y[101:200], p[101:200], index = 100:199)
  idx$update_state(y[1:100], p[1:100], index = 0:99)
  expect_equal(idx$to_vector(), one$to_vector())
})
