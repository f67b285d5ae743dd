// THE catalog: every built-in metric listed once with its Keras class name, aliases
// (snake_case first), family, direction, factory and one-line doc. The registry, the
// command-line `tally list`, docs/metrics.md and the Python __all__ all read this table.

#include "metrics/catalog.h"

#include "internal/check.h"
#include "metrics/loss_function_bindings.h"
#include "tally/config.h"
#include "tally/metrics/accuracy.h"
#include "tally/metrics/confusion.h"
#include "tally/metrics/correlation.h"
#include "tally/metrics/f_score.h"
#include "tally/metrics/functional.h"
#include "tally/metrics/hinge.h"
#include "tally/metrics/iou.h"
#include "tally/metrics/probabilistic.h"
#include "tally/metrics/reduction.h"
#include "tally/metrics/regression.h"

namespace tally::metrics::detail {
namespace {

MetricInfo row(std::string class_name, std::vector<std::string> aliases, std::string family, Direction direction,
               Factory factory, std::string doc) {
  MetricInfo info;
  info.class_name = std::move(class_name);
  info.aliases = std::move(aliases);
  info.family = std::move(family);
  info.direction = direction;
  info.factory = std::move(factory);
  info.doc = std::move(doc);
  return info;
}

}  // namespace

std::vector<MetricInfo> builtin_catalog() {
  constexpr Direction kNone = Direction::kNone;
  std::vector<MetricInfo> rows;
  // --- reduction ---
  rows.push_back(row("Sum", {"sum"}, "reduction", kNone, &Sum::from_config, "Weighted sum of values."));
  rows.push_back(row("Mean", {"mean"}, "reduction", kNone, &Mean::from_config, "Weighted mean of values."));
  rows.push_back(row(
      "MeanMetricWrapper", {"mean_metric_wrapper"}, "reduction", kNone,
      [](const Json& config) -> std::unique_ptr<Metric> {
        if (!config.is_object() || !config.contains("fn") || !config["fn"].is_string()) {
          throw ConfigError("MeanMetricWrapper: config needs a string \"fn\" naming a per-sample function");
        }
        Json rest = config;
        const std::string fn = rest["fn"].get<std::string>();
        rest.erase("fn");
        return functional::make_wrapper(fn, rest);
      },
      "Weighted mean of a named per-sample function (config key fn)."));
  // --- accuracy (issue: catalog I) ---
  rows.push_back(catalog_entry<Accuracy>({"accuracy"}, "accuracy"));
  rows.push_back(catalog_entry<BinaryAccuracy>({"binary_accuracy"}, "accuracy"));
  rows.push_back(catalog_entry<CategoricalAccuracy>({"categorical_accuracy"}, "accuracy"));
  rows.push_back(catalog_entry<SparseCategoricalAccuracy>({"sparse_categorical_accuracy"}, "accuracy"));
  rows.push_back(catalog_entry<TopKCategoricalAccuracy>({"top_k_categorical_accuracy"}, "accuracy"));
  rows.push_back(catalog_entry<SparseTopKCategoricalAccuracy>({"sparse_top_k_categorical_accuracy"}, "accuracy"));
  // --- regression ---
  constexpr Direction kUp = Direction::kHigherIsBetter;
  constexpr Direction kDown = Direction::kLowerIsBetter;
  rows.push_back(row("MeanSquaredError", {"mean_squared_error", "mse", "MSE"}, "regression", kDown,
                     &MeanSquaredError::from_config, "Mean of (y_true - y_pred)^2."));
  rows.push_back(row("MeanAbsoluteError", {"mean_absolute_error", "mae", "MAE"}, "regression", kDown,
                     &MeanAbsoluteError::from_config, "Mean of |y_true - y_pred|."));
  rows.push_back(row("MeanAbsolutePercentageError", {"mean_absolute_percentage_error", "mape", "MAPE"}, "regression",
                     kDown, &MeanAbsolutePercentageError::from_config,
                     "100 x mean of |y_true - y_pred| / max(|y_true|, eps)."));
  rows.push_back(row("MeanSquaredLogarithmicError", {"mean_squared_logarithmic_error", "msle", "MSLE"}, "regression",
                     kDown, &MeanSquaredLogarithmicError::from_config, "Mean of squared log(1 + x) differences."));
  rows.push_back(row("RootMeanSquaredError", {"root_mean_squared_error", "rmse"}, "regression", kDown,
                     &RootMeanSquaredError::from_config, "Square root of the mean squared error."));
  rows.push_back(row("LogCoshError", {"log_cosh_error", "logcosh"}, "regression", kDown, &LogCoshError::from_config,
                     "Mean of log(cosh(y_pred - y_true))."));
  rows.push_back(row("CosineSimilarity", {"cosine_similarity"}, "regression", kUp, &CosineSimilarity::from_config,
                     "Mean cosine similarity along the last axis."));
  rows.push_back(row("R2Score", {"r2_score"}, "regression", kUp, &R2Score::from_config,
                     "Coefficient of determination (optionally adjusted)."));
  // --- probabilistic ---
  rows.push_back(row("BinaryCrossentropy", {"binary_crossentropy", "bce", "BCE"}, "probabilistic",
                     Direction::kLowerIsBetter, &BinaryCrossentropy::from_config,
                     "Mean binary crossentropy (clipped probabilities or exact log-sigmoid from logits)."));
  rows.push_back(row("CategoricalCrossentropy", {"categorical_crossentropy"}, "probabilistic",
                     Direction::kLowerIsBetter, &CategoricalCrossentropy::from_config,
                     "Mean crossentropy of one-hot or soft labels against class probabilities or logits."));
  rows.push_back(row("SparseCategoricalCrossentropy", {"sparse_categorical_crossentropy"}, "probabilistic",
                     Direction::kLowerIsBetter, &SparseCategoricalCrossentropy::from_config,
                     "Mean crossentropy of integer labels against class probabilities or logits (ignore_class)."));
  rows.push_back(row("KLDivergence", {"kl_divergence", "kld", "KLD", "kullback_leibler_divergence"}, "probabilistic",
                     Direction::kLowerIsBetter, &KLDivergence::from_config,
                     "Mean Kullback-Leibler divergence sum(y * ln(y / p)) over the last axis."));
  rows.push_back(row("Poisson", {"poisson"}, "probabilistic", Direction::kLowerIsBetter, &Poisson::from_config,
                     "Mean Poisson loss p - y * ln(p + eps)."));
  // --- hinge ---
  rows.push_back(row("Hinge", {"hinge"}, "hinge", Direction::kLowerIsBetter, &Hinge::from_config,
                     "Mean hinge loss max(1 - y * p, 0); {0, 1} labels mapped to {-1, 1} per batch."));
  rows.push_back(row("SquaredHinge", {"squared_hinge"}, "hinge", Direction::kLowerIsBetter, &SquaredHinge::from_config,
                     "Mean squared hinge loss max(1 - y * p, 0)^2; {0, 1} labels mapped per batch."));
  rows.push_back(row("CategoricalHinge", {"categorical_hinge"}, "hinge", Direction::kLowerIsBetter,
                     &CategoricalHinge::from_config, "Mean categorical hinge loss max(neg - pos + 1, 0)."));
  // --- correlation ---
  rows.push_back(row("PearsonCorrelation", {"pearson_correlation"}, "correlation", kUp,
                     &PearsonCorrelation::from_config, "Pearson correlation coefficient (per row, or over samples)."));
  rows.push_back(row("ConcordanceCorrelation", {"concordance_correlation"}, "correlation", kUp,
                     &ConcordanceCorrelation::from_config, "Lin's concordance correlation coefficient."));
  // --- functional (loss functions exposed as metrics) ---
  // --- confusion (issue: catalog II) ---
  rows.push_back(row("TruePositives", {"true_positives"}, "confusion", kNone, &TruePositives::from_config,
                     "Weighted count of positive labels predicted positive, per threshold."));
  rows.push_back(row("FalsePositives", {"false_positives"}, "confusion", kNone, &FalsePositives::from_config,
                     "Weighted count of negative labels predicted positive, per threshold."));
  rows.push_back(row("TrueNegatives", {"true_negatives"}, "confusion", kNone, &TrueNegatives::from_config,
                     "Weighted count of negative labels predicted negative, per threshold."));
  rows.push_back(row("FalseNegatives", {"false_negatives"}, "confusion", kNone, &FalseNegatives::from_config,
                     "Weighted count of positive labels predicted negative, per threshold."));
  rows.push_back(row("Precision", {"precision"}, "confusion", kUp, &Precision::from_config,
                     "tp / (tp + fp) per threshold, optionally in the top k or for one class."));
  rows.push_back(row("Recall", {"recall"}, "confusion", kUp, &Recall::from_config,
                     "tp / (tp + fn) per threshold, optionally in the top k or for one class."));
  rows.push_back(row("AUC", {"auc"}, "confusion", kUp, &AUC::from_config,
                     "Area under the ROC, PR or PR-gain curve over binned thresholds."));
  rows.push_back(row("SensitivityAtSpecificity", {"sensitivity_at_specificity"}, "confusion", kUp,
                     &SensitivityAtSpecificity::from_config, "Best sensitivity where specificity >= the target."));
  rows.push_back(row("SpecificityAtSensitivity", {"specificity_at_sensitivity"}, "confusion", kUp,
                     &SpecificityAtSensitivity::from_config, "Best specificity where sensitivity >= the target."));
  rows.push_back(row("PrecisionAtRecall", {"precision_at_recall"}, "confusion", kUp, &PrecisionAtRecall::from_config,
                     "Best precision where recall >= the target."));
  rows.push_back(row("RecallAtPrecision", {"recall_at_precision"}, "confusion", kUp, &RecallAtPrecision::from_config,
                     "Best recall where precision >= the target."));
  // --- f_score ---
  rows.push_back(row("F1Score", {"f1_score"}, "f_score", Direction::kHigherIsBetter, &F1Score::from_config,
                     "F1 score per class or averaged (micro, macro, weighted), threshold or argmax binarisation."));
  rows.push_back(row("FBetaScore", {"f_beta_score", "fbeta_score"}, "f_score", Direction::kHigherIsBetter,
                     &FBetaScore::from_config,
                     "F-beta score per class or averaged (micro, macro, weighted), threshold or argmax binarisation."));
  // --- iou ---
  rows.push_back(row("IoU", {"io_u", "iou"}, "iou", Direction::kHigherIsBetter, &IoU::from_config,
                     "Mean intersection-over-union over target_class_ids, from a confusion matrix."));
  rows.push_back(row("BinaryIoU", {"binary_io_u", "binary_iou"}, "iou", Direction::kHigherIsBetter,
                     &BinaryIoU::from_config, "IoU of two classes with y_pred >= threshold as class 1."));
  rows.push_back(row("MeanIoU", {"mean_io_u", "mean_iou"}, "iou", Direction::kHigherIsBetter, &MeanIoU::from_config,
                     "Mean intersection-over-union over all num_classes classes."));
  rows.push_back(row("OneHotIoU", {"one_hot_io_u", "one_hot_iou"}, "iou", Direction::kHigherIsBetter,
                     &OneHotIoU::from_config, "IoU over target_class_ids with one-hot y_true."));
  rows.push_back(row("OneHotMeanIoU", {"one_hot_mean_io_u", "one_hot_mean_iou"}, "iou", Direction::kHigherIsBetter,
                     &OneHotMeanIoU::from_config, "Mean IoU over all classes with one-hot y_true."));
  return rows;
}

std::vector<functional::FunctionInfo> builtin_functions() {
  std::vector<functional::FunctionInfo> fns;
  // --- accuracy ---
  using functional::BoundFunction;
  using functional::FunctionInfo;
  constexpr Direction kUpFn = Direction::kHigherIsBetter;
  fns.push_back(FunctionInfo{"accuracy", {}, "accuracy", kUpFn, "Per-element y_true == y_pred.", [](ConfigReader&) {
                               return BoundFunction{&functional::accuracy, Json::object()};
                             }});
  fns.push_back(FunctionInfo{
      "binary_accuracy", {}, "accuracy", kUpFn, "Per-element (y_pred > threshold) == y_true.", [](ConfigReader& r) {
        const double t = r.get_double("threshold", 0.5);
        return BoundFunction{
            [t](const TensorView& a, const TensorView& b) { return functional::binary_accuracy(a, b, t); },
            Json{{"threshold", t}}};
      }});
  fns.push_back(FunctionInfo{"categorical_accuracy", {}, "accuracy", kUpFn, "Per-row argmax match.", [](ConfigReader&) {
                               return BoundFunction{&functional::categorical_accuracy, Json::object()};
                             }});
  fns.push_back(
      FunctionInfo{"sparse_categorical_accuracy", {}, "accuracy", kUpFn, "Per-row label == argmax.", [](ConfigReader&) {
                     return BoundFunction{&functional::sparse_categorical_accuracy, Json::object()};
                   }});
  fns.push_back(FunctionInfo{
      "top_k_categorical_accuracy", {}, "accuracy", kUpFn, "Per-row target in the top k.", [](ConfigReader& r) {
        const std::int64_t k = r.get_int("k", 5);
        if (k < 1) {
          throw ConfigError(internal::str_cat("top_k_categorical_accuracy: config key `k` must be >= 1; received ", k));
        }
        return BoundFunction{
            [k](const TensorView& a, const TensorView& b) { return functional::top_k_categorical_accuracy(a, b, k); },
            Json{{"k", k}}};
      }});
  fns.push_back(FunctionInfo{"sparse_top_k_categorical_accuracy",
                             {},
                             "accuracy",
                             kUpFn,
                             "Per-row integer target in the top k.",
                             [](ConfigReader& r) {
                               const std::int64_t k = r.get_int("k", 5);
                               if (k < 1) {
                                 throw ConfigError(internal::str_cat(
                                     "sparse_top_k_categorical_accuracy: config key `k` must be >= 1; received ", k));
                               }
                               const bool sorted = r.get_bool("from_sorted_ids", false);
                               Json kwargs{{"k", k}};
                               if (sorted) kwargs["from_sorted_ids"] = true;
                               return BoundFunction{[k, sorted](const TensorView& a, const TensorView& b) {
                                                      return functional::sparse_top_k_categorical_accuracy(a, b, k,
                                                                                                           sorted);
                                                    },
                                                    kwargs};
                             }});
  // --- regression ---
  constexpr Direction kDownFn = Direction::kLowerIsBetter;
  fns.push_back(FunctionInfo{
      "mean_squared_error", {}, "regression", kDownFn, "Per-sample mean squared error.", [](ConfigReader&) {
        return BoundFunction{&functional::mean_squared_error, Json::object()};
      }});
  fns.push_back(FunctionInfo{
      "mean_absolute_error", {}, "regression", kDownFn, "Per-sample mean absolute error.", [](ConfigReader&) {
        return BoundFunction{&functional::mean_absolute_error, Json::object()};
      }});
  fns.push_back(FunctionInfo{"mean_absolute_percentage_error",
                             {},
                             "regression",
                             kDownFn,
                             "Per-sample mean absolute percentage error.",
                             [](ConfigReader&) {
                               return BoundFunction{&functional::mean_absolute_percentage_error, Json::object()};
                             }});
  fns.push_back(FunctionInfo{"mean_squared_logarithmic_error",
                             {},
                             "regression",
                             kDownFn,
                             "Per-sample mean squared logarithmic error.",
                             [](ConfigReader&) {
                               return BoundFunction{&functional::mean_squared_logarithmic_error, Json::object()};
                             }});
  fns.push_back(FunctionInfo{
      "log_cosh", {}, "regression", kDownFn, "Per-sample mean of log(cosh(y_pred - y_true)).", [](ConfigReader&) {
        return BoundFunction{&functional::log_cosh, Json::object()};
      }});
  fns.push_back(
      FunctionInfo{"huber", {}, "regression", kDownFn, "Per-sample mean Huber loss (delta).", [](ConfigReader& r) {
                     const double delta = r.get_double("delta", 1.0);
                     if (!(delta >= 0.0)) throw ConfigError("huber: config key `delta` must be >= 0");
                     return BoundFunction{
                         [delta](const TensorView& a, const TensorView& b) { return functional::huber(a, b, delta); },
                         Json{{"delta", delta}}};
                   }});
  fns.push_back(FunctionInfo{
      "cosine_similarity", {}, "regression", kUpFn, "Per-sample cosine similarity (axis).", [](ConfigReader& r) {
        const std::int64_t axis = r.get_int("axis", -1);
        return BoundFunction{
            [axis](const TensorView& a, const TensorView& b) { return functional::cosine_similarity(a, b, axis); },
            Json{{"axis", axis}}};
      }});
  // --- probabilistic ---
  fns.push_back({"binary_crossentropy",
                 {"bce", "BCE"},
                 "probabilistic",
                 Direction::kLowerIsBetter,
                 "Per-sample binary crossentropy (from_logits, label_smoothing, axis).",
                 &functional::bindings::bind_binary_crossentropy});
  fns.push_back({"categorical_crossentropy",
                 {},
                 "probabilistic",
                 Direction::kLowerIsBetter,
                 "Per-sample categorical crossentropy (from_logits, label_smoothing, axis).",
                 &functional::bindings::bind_categorical_crossentropy});
  fns.push_back({"sparse_categorical_crossentropy",
                 {},
                 "probabilistic",
                 Direction::kLowerIsBetter,
                 "Per-sample sparse categorical crossentropy (from_logits, ignore_class, axis).",
                 &functional::bindings::bind_sparse_categorical_crossentropy});
  fns.push_back({"kl_divergence",
                 {"kld", "KLD", "kullback_leibler_divergence"},
                 "probabilistic",
                 Direction::kLowerIsBetter,
                 "Per-sample Kullback-Leibler divergence.",
                 &functional::bindings::bind_kl_divergence});
  fns.push_back({"poisson",
                 {},
                 "probabilistic",
                 Direction::kLowerIsBetter,
                 "Per-sample Poisson loss.",
                 &functional::bindings::bind_poisson});
  fns.push_back({"binary_focal_crossentropy",
                 {},
                 "probabilistic",
                 Direction::kLowerIsBetter,
                 "Per-sample binary focal crossentropy (apply_class_balancing, alpha, gamma, from_logits, "
                 "label_smoothing, axis).",
                 &functional::bindings::bind_binary_focal_crossentropy});
  fns.push_back({"categorical_focal_crossentropy",
                 {},
                 "probabilistic",
                 Direction::kLowerIsBetter,
                 "Per-sample categorical focal crossentropy (alpha, gamma, from_logits, label_smoothing, axis).",
                 &functional::bindings::bind_categorical_focal_crossentropy});
  // --- hinge ---
  fns.push_back(
      {"hinge", {}, "hinge", Direction::kLowerIsBetter, "Per-sample hinge loss.", &functional::bindings::bind_hinge});
  fns.push_back({"squared_hinge",
                 {},
                 "hinge",
                 Direction::kLowerIsBetter,
                 "Per-sample squared hinge loss.",
                 &functional::bindings::bind_squared_hinge});
  fns.push_back({"categorical_hinge",
                 {},
                 "hinge",
                 Direction::kLowerIsBetter,
                 "Per-sample categorical hinge loss.",
                 &functional::bindings::bind_categorical_hinge});
  // --- correlation ---
  for (const auto& [fn_name, fn] : {std::pair{"pearson_correlation", &functional::pearson_correlation},
                                    std::pair{"concordance_correlation", &functional::concordance_correlation}}) {
    const auto f = fn;
    fns.push_back(FunctionInfo{
        fn_name, {}, "correlation", kUpFn, "Per-row correlation along axis.", [f](ConfigReader& r) {
          const std::int64_t axis = r.get_int("axis", -1);
          return BoundFunction{[f, axis](const TensorView& a, const TensorView& b) { return f(a, b, axis); },
                               Json{{"axis", axis}}};
        }});
  }
  return fns;
}

}  // namespace tally::metrics::detail
