# sliced_collection(): every slice's metrics equal the metrics over that slice's rows alone,
# whatever the split into batches and merges; bad slice ids leave the state unchanged.

y <- c(1, 0, 1, 1, 0, 0)
p <- c(0.9, 0.2, 0.4, 0.8, 0.6, 0.1)
country <- c("FR", "FR", "DE", "DE", "DE", "FR")

test_that("each slice holds the metrics of its rows (hand-computed values)", {
  s <- sliced_collection(list(metric_binary_accuracy(), metric_mean_squared_error()), slice_names = "country")
  s$update_state(y, p, slice_ids = country)
  r <- s$result()
  # Canonical order: the overall slice, then country's values sorted.
  expect_identical(names(r), c("overall", "country=DE", "country=FR"))
  expect_identical(r[["country=FR"]]$samples, 3)
  # FR: labels 1, 0, 0 and scores 0.9, 0.2, 0.1: every prediction right; errors 0.1, 0.2, 0.1.
  expect_equal(r[["country=FR"]]$metrics$binary_accuracy, 1)
  expect_equal(r[["country=FR"]]$metrics$mean_squared_error, 0.02, tolerance = 1e-12)
  # DE: labels 1, 1, 0 and scores 0.4, 0.8, 0.6: one right of three; errors 0.6, 0.2, 0.6.
  expect_equal(r[["country=DE"]]$metrics$binary_accuracy, 1 / 3, tolerance = 1e-12)
  expect_equal(r[["country=DE"]]$metrics$mean_squared_error, 0.76 / 3, tolerance = 1e-12)
  expect_equal(r$overall$metrics$binary_accuracy, 4 / 6, tolerance = 1e-12)
  expect_identical(s$num_slices(), 3)
  expect_output(print(s), "binary_accuracy, mean_squared_error by overall, country; 3 slices")
})

test_that("a slice's AUC equals AUC on that slice's rows alone, for every id type", {
  set.seed(7)
  n <- 2000
  yy <- rbinom(n, 1, 0.4)
  pp <- runif(n)
  ww <- runif(n, 0.5, 1.5)
  band <- sample(c(3L, 7L, 11L), n, replace = TRUE)
  device <- sample(c("phone", "desktop", "tablet"), n, replace = TRUE)
  ids <- list(integer = band, numeric = as.numeric(band), factor = factor(band))
  for (kind in names(ids)) {
    s <- sliced_collection(metric_collection(metric_auc(), metric_precision()), slice_names = c("band", "device"),
                           slices = list("band", c("band", "device")))
    s$update_state(yy, pp, ww, slice_ids = data.frame(band = ids[[kind]], device = device))
    r <- s$result()
    expect_length(r, 3 + 9)
    for (b in c(3L, 7L, 11L)) {
      rows <- band == b
      auc <- metric_auc()
      auc$update_state(yy[rows], pp[rows], ww[rows])
      prec <- metric_precision()
      prec$update_state(yy[rows], pp[rows], ww[rows])
      slice <- r[[sprintf("band=%d", b)]]
      expect_identical(slice$samples, as.numeric(sum(rows)), info = kind)
      expect_equal(slice$metrics$auc, auc$result(), tolerance = 1e-12, info = kind)
      expect_equal(slice$metrics$precision, prec$result(), tolerance = 1e-12, info = kind)
    }
    cross <- r[["band=7,device=phone"]]
    rows <- band == 7L & device == "phone"
    auc <- metric_auc()
    auc$update_state(yy[rows], pp[rows], ww[rows])
    expect_identical(cross$samples, as.numeric(sum(rows)))
    expect_equal(cross$metrics$auc, auc$result(), tolerance = 1e-12)
  }
})

test_that("batches and merges give the result of one pass", {
  s_all <- sliced_collection(metric_auc(), slice_names = "country")
  s_all$update_state(y, p, slice_ids = country)
  a <- sliced_collection(metric_auc(), slice_names = "country")
  b <- sliced_collection(metric_auc(), slice_names = "country")
  a$update_state(y[1:2], p[1:2], slice_ids = country[1:2])  # FR only: DE is seen by b alone
  b$update_state(y[3:6], p[3:6], slice_ids = list(country = country[3:6]))
  a$merge_state(b)
  expect_equal(a$result(), s_all$result(), tolerance = 1e-12)
  expect_identical(a$result(min_slice_size = 4)$overall$samples, 6)
  expect_identical(names(a$result(min_slice_size = 4)), "overall")
  a$reset_state()
  expect_identical(a$num_slices(), 0)
  expect_length(a$result(), 0)
  expect_error(a$merge_state(metric_auc()), class = "tally_invalid_argument_error")
})

test_that("bad slice ids are errors and leave the state unchanged", {
  s <- sliced_collection(metric_binary_accuracy(), slice_names = "country", max_slices = 3)
  s$update_state(y, p, slice_ids = country)
  before <- s$result()
  expect_error(s$update_state(y, p, slice_ids = country[1:5]), "has 5 values; y_true has 6 rows",
               class = "tally_shape_error")
  expect_error(s$update_state(y, p, slice_ids = c(1, 2, NA, 1, 2, 1)), "holds NA at row 3",
               class = "tally_invalid_argument_error")
  expect_error(s$update_state(y, p, slice_ids = c("FR", NA, "DE", "DE", "DE", "FR")), "holds NA at row 2")
  expect_error(s$update_state(y, p, slice_ids = factor(c("a", NA, "b", "a", "a", "a"))), "holds NA at row 2")
  expect_error(s$update_state(y, p, slice_ids = c(1.5, 2, 2, 1, 2, 1)), "slice ids must be integers")
  # The overall slice and two countries are 3; a third country would be a fourth slice.
  expect_error(s$update_state(y, p, slice_ids = c("FR", "DE", "IT", "FR", "DE", "FR")),
               "would make 4 distinct slices, more than max_slices=3", class = "tally_invalid_argument_error")
  expect_error(s$update_state(y, p), "needs `slice_ids`")
  expect_error(s$update_state(y, p, slice_ids = list(a = country)), "no slice column for country")
  expect_error(s$update_state(y, p, slice_ids = list(country, country)), "expected 1 slice columns")
  expect_error(s$update_state(y, p, slice_ids = as.complex(1:6)), class = "tally_dtype_error")
  expect_identical(s$result(), before)
  expect_error(sliced_collection(metric_auc(), slice_names = "a", slices = list("b")), "unknown feature \"b\"")
  expect_error(sliced_collection(metric_auc(), slice_names = "a", max_slices = 0), "max_slices")
})
