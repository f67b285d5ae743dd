# The rest of the keras3 object API: stateless_*, configs, variables, print; collections,
# state files and model selection.

test_that("stateless API equals the stateful one and leaves the metric untouched", {
  m <- metric_mean_squared_error()
  vars <- m$stateless_reset_state()
  expect_equal(vars, list(total = 0, count = 0))
  vars <- m$stateless_update_state(vars, c(1, 2), c(1, 4))
  vars <- m$stateless_update_state(vars, c(0), c(1), sample_weight = 2)
  expect_equal(m$stateless_result(vars), (0 + 4 + 2) / 4)
  expect_equal(m$result(), 0)
  expect_equal(m$variables, list(total = 0, count = 0))
  m$update_state(c(1, 2), c(1, 4))
  m$update_state(c(0), c(1), sample_weight = 2)
  expect_equal(unname(unlist(m$variables)), unname(unlist(vars)))
  # matrix-shaped variables round-trip in keras3 indexing
  iou <- metric_mean_iou(num_classes = 3)
  s <- iou$stateless_update_state(iou$stateless_reset_state(), c(0, 1, 2, 2), c(0, 1, 1, 2))
  iou$update_state(c(0, 1, 2, 2), c(0, 1, 1, 2))
  expect_equal(iou$stateless_result(s), iou$result())
  expect_equal(s[[1]], iou$variables[[1]])
})

test_that("every keras3 constructor of the reference document exists", {
  keras3 <- c("auc", "binary_accuracy", "binary_crossentropy", "binary_focal_crossentropy", "binary_iou",
              "categorical_accuracy", "categorical_crossentropy", "categorical_focal_crossentropy",
              "categorical_hinge", "concordance_correlation", "cosine_similarity", "f1_score", "false_negatives",
              "false_positives", "fbeta_score", "hinge", "huber", "iou", "kl_divergence", "log_cosh",
              "log_cosh_error", "mean", "mean_absolute_error", "mean_absolute_percentage_error", "mean_iou",
              "mean_squared_error", "mean_squared_logarithmic_error", "mean_wrapper", "one_hot_iou",
              "one_hot_mean_iou", "pearson_correlation", "poisson", "precision", "precision_at_recall",
              "r2_score", "recall", "recall_at_precision", "root_mean_squared_error",
              "sensitivity_at_specificity", "sparse_categorical_accuracy", "sparse_categorical_crossentropy",
              "sparse_top_k_categorical_accuracy", "specificity_at_sensitivity", "squared_hinge", "sum",
              "top_k_categorical_accuracy", "true_negatives", "true_positives")
  exported <- getNamespaceExports("tally")
  expect_equal(setdiff(paste0("metric_", keras3), exported), character(0))
  expect_true(all(c("custom_metric", "Metric", "metric_get") %in% exported))
  # each builds the metric of its name (functions only: huber, log_cosh and the focal losses)
  for (k in setdiff(keras3, c("huber", "log_cosh", "binary_focal_crossentropy", "categorical_focal_crossentropy",
                              "mean_wrapper", "iou", "one_hot_iou", "one_hot_mean_iou", "mean_iou", "binary_iou",
                              "sensitivity_at_specificity", "specificity_at_sensitivity", "precision_at_recall",
                              "recall_at_precision"))) {
    m <- get(paste0("metric_", k), envir = asNamespace("tally"))()
    expect_s3_class(m, "tally_metric")
  }
  expect_equal(metric_precision_at_recall(recall = 0.5)$class_name, "PrecisionAtRecall")
  expect_equal(metric_mean_iou(num_classes = 3)$class_name, "MeanIoU")
  expect_equal(metric_iou(num_classes = 3, target_class_ids = c(0, 1))$class_name, "IoU")
})

test_that("configs round-trip through get_config and metric_from_config", {
  m <- metric_auc(num_thresholds = 17, curve = "PR", name = "pr_auc")
  cfg <- m$get_config()
  expect_equal(cfg$num_thresholds, 17)
  expect_equal(cfg$curve, "PR")
  expect_equal(cfg$name, "pr_auc")
  m2 <- metric_from_config(cfg, "AUC")
  expect_equal(m2$get_config(), cfg)
  m3 <- metric_from_config(m$serialize())
  expect_equal(m3$get_config(), cfg)
  expect_equal(metric_get(list(class_name = "AUC", config = list(num_thresholds = 17)))$get_config()$num_thresholds,
               17)
  expect_equal(metric_get("AUC")$name, metric_get("auc")$name)
  expect_equal(m$dtype, "float32")
  expect_equal(m$name, "pr_auc")
  expect_output(print(metric_mean()), "<Mean name=mean dtype=float32>")
  expect_true("auc" %in% metric_names())
})

test_that("save_state and load_state restore a metric and a collection", {
  path <- tempfile(fileext = ".tally")
  m <- metric_auc()
  m$update_state(c(1, 0, 1, 0), c(0.9, 0.2, 0.6, 0.7))
  save_state(m, path, user_data = list(batch = 4))
  loaded <- load_state(path)
  expect_equal(loaded$result(), m$result())
  expect_equal(attr(loaded, "user_data")$batch, 4)
  fresh <- metric_auc()
  load_state(path, into = fresh)
  expect_equal(fresh$result(), m$result())
  expect_error(load_state(path, into = metric_auc(num_thresholds = 10)), class = "tally_state_error")

  col <- metric_collection(metric_auc(), metric_binary_accuracy())
  col$update_state(c(1, 0, 1, 0), c(0.9, 0.2, 0.6, 0.7))
  save_state(col, path)
  back <- load_state(path)
  expect_equal(back$result(), col$result())
  unlink(path)
})

test_that("model_selector keeps the best value with ashpy's semantics", {
  logdir <- tempfile("logdir")
  auc <- metric_auc()
  sel <- model_selector(auc, logdir = logdir)  # "auto": AUC is better when higher
  saved <- character(0)
  expect_true(sel$update(0.7, step = 1, checkpoint = function(folder) saved <<- c(saved, folder)))
  expect_false(sel$update(0.6, step = 2))
  expect_false(sel$update(0.7, step = 3))  # ties do not improve
  expect_true(sel$update(0.8, step = 4, checkpoint = function(folder) saved <<- c(saved, folder)))
  expect_equal(sel$best_value, 0.8)
  expect_equal(sel$best_step, 4)
  expect_length(saved, 2)
  expect_true(file.exists(sel$best_model_sel_file))
  again <- model_selector("auc", "greater", logdir)
  expect_equal(again$best_value, 0.8)
  expect_false(again$update(0.75, step = 5))
  # a failing checkpoint records nothing
  expect_error(again$update(0.9, step = 6, checkpoint = function(folder) stop("disk full")), "disk full")
  expect_equal(model_selector("auc", "greater", logdir)$best_value, 0.8)
  loss <- model_selector("loss", "less", logdir)
  expect_true(loss$update(1.0, 1))
  expect_true(loss$update(0.5, 2))
  expect_error(model_selector(metric_sum(), logdir = logdir), class = "tally_invalid_argument_error")
  unlink(logdir, recursive = TRUE)
})
