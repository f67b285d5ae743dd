# The R examples of docs/r.md run as written (the MPI one runs as r_mpi_n2 instead; the
# model checkpoint writes a file in place of a model).

test_that("docs/r.md examples run", {
  root <- Sys.getenv("TALLY_SOURCE_DIR")
  path <- file.path(root, "docs", "r.md")
  if (!nzchar(root) || !file.exists(path)) skip("TALLY_SOURCE_DIR not set")
  text <- paste(readLines(path), collapse = "\n")
  blocks <- regmatches(text, gregexpr("```r\n.*?```", text))[[1]]
  blocks <- gsub("^```r\n|```$", "", blocks)
  blocks <- blocks[!grepl("mpirun", blocks)]
  expect_gt(length(blocks), 5)
  code <- gsub('saveRDS(model, file.path(folder, "model.rds"))', 'writeLines("model", file.path(folder, "model.txt"))',
               paste(blocks, collapse = "\n"), fixed = TRUE)
  old <- setwd(tempdir())
  on.exit(setwd(old))
  env <- new.env(parent = globalenv())
  expect_no_error(capture.output(eval(parse(text = code), envir = env)))
  expect_equal(env$m$result(), 2)  # the custom metric example's last line
})

test_that("update_state reads R memory in place: no copy of numeric, integer or logical input", {
  skip_if_not(capabilities("profmem"), "R built without memory profiling")
  p <- runif(1000)
  y <- rbinom(1000, 1, 0.5) == 1
  scores <- matrix(runif(3000), ncol = 3)
  labels <- sample(0:2, 1000, replace = TRUE)
  for (x in list(p, y, scores, labels)) tracemem(x)
  m <- metric_binary_accuracy()
  expect_silent(m$update_state(y, p))
  expect_silent(metric_sparse_categorical_accuracy()$update_state(labels, scores))
  for (x in list(p, y, scores, labels)) untracemem(x)
})
