// THE catalog: every built-in metric listed once with its Keras class name, aliases
// (snake_case first), family, direction, factory and one-line doc. The registry, the
// command-line `tally list`, docs/metrics.md and the Python __all__ all read this table.

#include "metrics/catalog.h"

#include "internal/check.h"
#include "metrics/loss_function_bindings.h"
#include "tally/config.h"
#include "tally/metrics/accuracy.h"
#include "tally/metrics/bootstrap.h"
#include "tally/metrics/calibration.h"
#include "tally/metrics/classification.h"
#include "tally/metrics/classwise.h"
#include "tally/metrics/confusion.h"
#include "tally/metrics/correlation.h"
#include "tally/metrics/f_score.h"
#include "tally/metrics/functional.h"
#include "tally/metrics/hinge.h"
#include "tally/metrics/iou.h"
#include "tally/metrics/probabilistic.h"
#include "tally/metrics/ranking.h"
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
  rows.push_back(catalog_entry<Sum>({"sum"}, "reduction"));
  rows.push_back(catalog_entry<Mean>({"mean"}, "reduction"));
  MetricInfo wrapper = row(
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
      "Weighted mean of a named per-sample function (config key fn).");
  // The wrapper's keys are fn plus that function's keyword arguments (the "functions" of
  // describe_catalog() list them), so its table is declared here rather than by a struct.
  wrapper.options = {
      OptionInfo{"fn",
                 OptionType::kString,
                 Json(),
                 true,
                 false,
                 "A per-sample function by name; its keyword arguments are further keys.",
                 "",
                 {}},
      OptionInfo{"name", OptionType::kString, Json(), false, true, "The metric's name (default: fn).", "", {}},
      OptionInfo{"dtype",
                 OptionType::kDType,
                 "float32",
                 false,
                 false,
                 "Keras dtype: sets clipping constants; tally accumulates in float64.",
                 "",
                 {"float16", "bfloat16", "float32", "float64"}}};
  wrapper.inputs = {"values", "values", {1, 2, 3}};
  wrapper.example_config = Json{{"fn", "mean_squared_error"}};
  rows.push_back(std::move(wrapper));
  // --- accuracy (issue: catalog I) ---
  rows.push_back(catalog_entry<Accuracy>({"accuracy"}, "accuracy"));
  rows.push_back(catalog_entry<BinaryAccuracy>({"binary_accuracy"}, "accuracy"));
  rows.push_back(catalog_entry<CategoricalAccuracy>({"categorical_accuracy"}, "accuracy"));
  rows.push_back(catalog_entry<SparseCategoricalAccuracy>({"sparse_categorical_accuracy"}, "accuracy"));
  rows.push_back(catalog_entry<TopKCategoricalAccuracy>({"top_k_categorical_accuracy"}, "accuracy"));
  rows.push_back(catalog_entry<SparseTopKCategoricalAccuracy>({"sparse_top_k_categorical_accuracy"}, "accuracy"));
  // --- regression ---
  rows.push_back(catalog_entry<MeanSquaredError>({"mean_squared_error", "mse", "MSE"}, "regression"));
  rows.push_back(catalog_entry<MeanAbsoluteError>({"mean_absolute_error", "mae", "MAE"}, "regression"));
  rows.push_back(
      catalog_entry<MeanAbsolutePercentageError>({"mean_absolute_percentage_error", "mape", "MAPE"}, "regression"));
  rows.push_back(
      catalog_entry<MeanSquaredLogarithmicError>({"mean_squared_logarithmic_error", "msle", "MSLE"}, "regression"));
  rows.push_back(catalog_entry<RootMeanSquaredError>({"root_mean_squared_error", "rmse"}, "regression"));
  rows.push_back(catalog_entry<LogCoshError>({"log_cosh_error", "logcosh"}, "regression"));
  rows.push_back(catalog_entry<CosineSimilarity>({"cosine_similarity"}, "regression"));
  rows.push_back(catalog_entry<MeanPinballLoss>({"mean_pinball_loss", "pinball_loss"}, "regression"));
  rows.push_back(catalog_entry<R2Score>({"r2_score"}, "regression"));
  // --- probabilistic ---
  rows.push_back(catalog_entry<BinaryCrossentropy>({"binary_crossentropy", "bce", "BCE"}, "probabilistic"));
  rows.push_back(catalog_entry<CategoricalCrossentropy>({"categorical_crossentropy"}, "probabilistic"));
  rows.push_back(catalog_entry<SparseCategoricalCrossentropy>({"sparse_categorical_crossentropy"}, "probabilistic"));
  rows.push_back(
      catalog_entry<KLDivergence>({"kl_divergence", "kld", "KLD", "kullback_leibler_divergence"}, "probabilistic"));
  rows.push_back(catalog_entry<Poisson>({"poisson"}, "probabilistic"));
  // --- hinge ---
  rows.push_back(catalog_entry<Hinge>({"hinge"}, "hinge"));
  rows.push_back(catalog_entry<SquaredHinge>({"squared_hinge"}, "hinge"));
  rows.push_back(catalog_entry<CategoricalHinge>({"categorical_hinge"}, "hinge"));
  // --- correlation ---
  rows.push_back(catalog_entry<PearsonCorrelation>({"pearson_correlation"}, "correlation"));
  rows.push_back(catalog_entry<ConcordanceCorrelation>({"concordance_correlation"}, "correlation"));
  // --- functional (loss functions exposed as metrics) ---
  // --- confusion (issue: catalog II) ---
  rows.push_back(catalog_entry<TruePositives>({"true_positives"}, "confusion"));
  rows.push_back(catalog_entry<FalsePositives>({"false_positives"}, "confusion"));
  rows.push_back(catalog_entry<TrueNegatives>({"true_negatives"}, "confusion"));
  rows.push_back(catalog_entry<FalseNegatives>({"false_negatives"}, "confusion"));
  rows.push_back(catalog_entry<Precision>({"precision"}, "confusion"));
  rows.push_back(catalog_entry<Recall>({"recall"}, "confusion"));
  rows.push_back(catalog_entry<AUC>({"auc"}, "confusion"));
  rows.push_back(catalog_entry<ROCCurve>({"roc_curve"}, "confusion"));
  rows.push_back(catalog_entry<PrecisionRecallCurve>({"precision_recall_curve", "pr_curve"}, "confusion"));
  rows.push_back(catalog_entry<SensitivityAtSpecificity>({"sensitivity_at_specificity"}, "confusion"));
  rows.push_back(catalog_entry<SpecificityAtSensitivity>({"specificity_at_sensitivity"}, "confusion"));
  rows.push_back(catalog_entry<PrecisionAtRecall>({"precision_at_recall"}, "confusion"));
  rows.push_back(catalog_entry<RecallAtPrecision>({"recall_at_precision"}, "confusion"));
  // --- f_score ---
  rows.push_back(catalog_entry<F1Score>({"f1_score"}, "f_score"));
  rows.push_back(catalog_entry<FBetaScore>({"f_beta_score", "fbeta_score"}, "f_score"));
  // --- iou ---
  rows.push_back(catalog_entry<IoU>({"io_u", "iou"}, "iou"));
  rows.push_back(catalog_entry<BinaryIoU>({"binary_io_u", "binary_iou"}, "iou"));
  rows.push_back(catalog_entry<MeanIoU>({"mean_io_u", "mean_iou"}, "iou"));
  rows.push_back(catalog_entry<OneHotIoU>({"one_hot_io_u", "one_hot_iou"}, "iou"));
  rows.push_back(catalog_entry<OneHotMeanIoU>({"one_hot_mean_io_u", "one_hot_mean_iou"}, "iou"));
  // --- classification from confusion counts (issue 17) ---
  rows.push_back(catalog_entry<ConfusionMatrix>({"confusion_matrix"}, "classification"));
  rows.push_back(
      catalog_entry<MatthewsCorrelationCoefficient>({"matthews_correlation_coefficient", "mcc"}, "classification"));
  rows.push_back(catalog_entry<CohenKappa>({"cohen_kappa"}, "classification"));
  rows.push_back(catalog_entry<BalancedAccuracy>({"balanced_accuracy"}, "classification"));
  rows.push_back(catalog_entry<Specificity>({"specificity"}, "classification"));
  rows.push_back(catalog_entry<HammingLoss>({"hamming_loss"}, "classification"));
  rows.push_back(catalog_entry<ExactMatch>({"exact_match"}, "classification"));
  // --- beyond Keras (issue 17): regression, calibration, Classwise ---
  rows.push_back(catalog_entry<ExplainedVariance>({"explained_variance", "explained_variance_score"}, "regression"));
  rows.push_back(catalog_entry<MaxError>({"max_error"}, "regression"));
  rows.push_back(catalog_entry<SymmetricMeanAbsolutePercentageError>(
      {"symmetric_mean_absolute_percentage_error", "smape"}, "regression"));
  rows.push_back(catalog_entry<WeightedMeanAbsolutePercentageError>(
      {"weighted_mean_absolute_percentage_error", "wmape"}, "regression"));
  rows.push_back(catalog_entry<TweedieDeviance>({"tweedie_deviance", "mean_tweedie_deviance"}, "regression"));
  rows.push_back(catalog_entry<ExpectedCalibrationError>({"expected_calibration_error", "calibration_error", "ece"},
                                                         "calibration"));
  rows.push_back(catalog_entry<BrierScore>({"brier_score", "brier_score_loss"}, "calibration"));
  MetricInfo classwise = catalog_entry<Classwise>({"classwise", "classwise_wrapper"}, "classwise");
  // Its name defaults to the wrapped metric's (as MeanMetricWrapper's to its fn's), so the
  // described default is null rather than one fixed string.
  for (OptionInfo& o : classwise.options) {
    if (o.key != "name") continue;
    o.default_value = Json();
    o.nullable = true;
    o.doc = "The metric's name and the prefix of its result keys (default: the wrapped metric's name).";
  }
  rows.push_back(std::move(classwise));
  // --- ranking (issue 17: grouped by the auxiliary input query_ids) ---
  rows.push_back(catalog_entry<NDCG>({"ndcg"}, "ranking"));
  rows.push_back(catalog_entry<MeanAveragePrecision>({"mean_average_precision", "map"}, "ranking"));
  rows.push_back(catalog_entry<MeanReciprocalRank>({"mean_reciprocal_rank", "mrr"}, "ranking"));
  rows.push_back(catalog_entry<PrecisionAtK>({"precision_at_k"}, "ranking"));
  rows.push_back(catalog_entry<RecallAtK>({"recall_at_k"}, "ranking"));
  rows.push_back(catalog_entry<HitRate>({"hit_rate"}, "ranking"));
  // --- bootstrap (issue 17: confidence intervals) ---
  rows.push_back(catalog_entry<BootstrapInterval>({"bootstrap_interval"}, "bootstrap"));
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
