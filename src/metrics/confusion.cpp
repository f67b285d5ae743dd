#include "tally/metrics/confusion.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>

#include "internal/check.h"
#include "internal/memory.h"
#include "metrics/kernels/confusion_counts.h"
#include "metrics/kernels/mean_update.h"
#include "tally/config.h"

namespace tally::metrics {
namespace {

using kernels::who;

constexpr double kEpsilon = 1e-7;  // Keras backend.epsilon()

const char* count_name(ConfusionCount c) {
  switch (c) {
    case ConfusionCount::kTruePositives:
      return "true_positives";
    case ConfusionCount::kFalsePositives:
      return "false_positives";
    case ConfusionCount::kTrueNegatives:
      return "true_negatives";
    case ConfusionCount::kFalseNegatives:
      break;
  }
  return "false_negatives";
}

// The Keras class name of a count metric, for messages raised before the object exists.
const char* count_class(ConfusionCount c) {
  switch (c) {
    case ConfusionCount::kTruePositives:
      return "TruePositives";
    case ConfusionCount::kFalsePositives:
      return "FalsePositives";
    case ConfusionCount::kTrueNegatives:
      return "TrueNegatives";
    case ConfusionCount::kFalseNegatives:
      break;
  }
  return "FalseNegatives";
}

double divide_no_nan(double a, double b) { return b == 0.0 ? 0.0 : a / b; }

void check_thresholds(const char* owner, const std::vector<double>& thresholds) {
  if (thresholds.empty()) throw InvalidArgument(std::string(owner) + ": argument `thresholds` must not be empty");
  for (const double t : thresholds) {
    if (!(t >= 0.0 && t <= 1.0)) {
      throw InvalidArgument(internal::str_cat(owner, ": Threshold values must be in [0, 1]. Received: ", t));
    }
  }
}

Json thresholds_json(const std::optional<std::vector<double>>& t) {
  if (!t) return Json();
  if (t->size() == 1) return Json(t->front());
  return Json(*t);
}

Shape count_shape(const ConfusionOptions& o) {
  const auto t = static_cast<std::int64_t>(o.thresholds.size());
  if (o.multi_label) return {t, o.num_labels};
  return {t};
}

}  // namespace

// --- ConfusionMetric ---------------------------------------------------------------------

ConfusionMetric::ConfusionMetric(std::string name, DType dtype, ConfusionOptions options,
                                 std::vector<ConfusionCount> counts, bool keras_accumulator)
    : Metric(std::move(name), dtype), options_(std::move(options)), counts_(std::move(counts)) {
  check_state_budget(2 * static_cast<std::int64_t>(counts_.size()) * shape_numel(count_shape(options_)));
  for (const ConfusionCount c : counts_) {
    const std::string n = keras_accumulator ? "accumulator" : count_name(c);
    add_variable(n, count_shape(options_), DType::kInt64);
    add_variable("weighted_" + n, count_shape(options_), DType::kFloat64, Aggregation::kSum, Domain::kNonNegative);
  }
}

std::string ConfusionMetric::shared_work_key() const {
  // Equal keys mean equal counts: thresholds (exact bits), grid kind, top_k, class_id,
  // logits, label weights, labels and the arithmetic of the bucketing.
  std::string key = "confusion";
  for (const double t : options_.thresholds) {
    key += ':';
    key += std::to_string(std::bit_cast<std::uint64_t>(t));
  }
  key += internal::str_cat("|e", options_.evenly_spaced, options_.epsilon_endpoints, "|k", options_.top_k.value_or(-1),
                           "|c", options_.class_id.value_or(-1), "|l", options_.from_logits, options_.multi_label,
                           options_.num_labels, "|d", dtype() == DType::kFloat64);
  for (const double w : options_.label_weights) {
    key += ':';
    key += std::to_string(std::bit_cast<std::uint64_t>(w));
  }
  return key;
}

std::shared_ptr<const SharedWork> ConfusionMetric::prepare_shared(const Batch& batch) const {
  const std::int64_t labels = options_.multi_label ? variables()[0].shape.back() : 1;
  return std::make_shared<kernels::ConfusionCounts>(
      kernels::count_confusion(who(*this), options_, dtype(), labels, batch));
}

void ConfusionMetric::accumulate_shared(Variables& vars, const Batch& /*batch*/, const SharedWork& work) const {
  const auto& w = static_cast<const kernels::ConfusionCounts&>(work);
  if (options_.multi_label && vars.layout()[0].shape.back() != w.labels) {
    // A multi-label AUC without num_labels fixes its label count on the first batch (Keras
    // builds its variables the same way).
    auto layout = std::make_shared<VariableLayout>(vars.layout());
    for (Variable& v : *layout) v.shape = {w.thresholds, w.labels};
    vars = Variables(std::move(layout));
  }
  const auto L = static_cast<std::size_t>(w.labels);
  const auto n = static_cast<std::size_t>(w.thresholds) * L;
  for (std::size_t k = 0; k < counts_.size(); ++k) {
    const ConfusionCount c = counts_[k];
    if (w.weighted) {
      auto out = vars.f64(2 * k + 1);
      for (std::size_t i = 0; i < n; ++i) {
        const std::size_t l = i % L;
        switch (c) {
          case ConfusionCount::kTruePositives:
            out[i] += w.tp_w[i];
            break;
          case ConfusionCount::kFalsePositives:
            out[i] += w.fp_w[i];
            break;
          case ConfusionCount::kFalseNegatives:
            out[i] += w.positives_w[l] - w.tp_w[i];
            break;
          case ConfusionCount::kTrueNegatives:
            out[i] += w.negatives_w[l] - w.fp_w[i];
            break;
        }
      }
    } else {
      auto out = vars.i64(2 * k);
      for (std::size_t i = 0; i < n; ++i) {
        const std::size_t l = i % L;
        switch (c) {
          case ConfusionCount::kTruePositives:
            out[i] += w.tp[i];
            break;
          case ConfusionCount::kFalsePositives:
            out[i] += w.fp[i];
            break;
          case ConfusionCount::kFalseNegatives:
            out[i] += w.positives[l] - w.tp[i];
            break;
          case ConfusionCount::kTrueNegatives:
            out[i] += w.negatives[l] - w.fp[i];
            break;
        }
      }
    }
  }
}

void ConfusionMetric::accumulate(Variables& vars, const Batch& batch) const {
  const std::int64_t labels = options_.multi_label ? vars.layout()[0].shape.back() : 1;
  const kernels::ConfusionCounts work = kernels::count_confusion(who(*this), options_, dtype(), labels, batch);
  accumulate_shared(vars, batch, work);
}

std::vector<double> ConfusionMetric::count(const Variables& vars, ConfusionCount which) const {
  for (std::size_t k = 0; k < counts_.size(); ++k) {
    if (counts_[k] != which) continue;
    const auto ints = vars.i64(2 * k);
    const auto floats = vars.f64(2 * k + 1);
    std::vector<double> out(ints.size());
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(ints[i]) + floats[i];
    return out;
  }
  throw StateError(name() + ": this metric does not keep " + count_name(which));
}

// --- counts ------------------------------------------------------------------------------

namespace {
ConfusionOptions plain_options(const char* owner, const std::optional<std::vector<double>>& thresholds,
                               std::optional<std::int64_t> top_k = std::nullopt,
                               std::optional<std::int64_t> class_id = std::nullopt) {
  ConfusionOptions o;
  if (thresholds) check_thresholds(owner, *thresholds);
  if (top_k && *top_k < 1)
    throw InvalidArgument(internal::str_cat(owner, ": argument `top_k` must be >= 1; received ", *top_k));
  if (class_id && *class_id < 0) {
    throw InvalidArgument(internal::str_cat(owner, ": argument `class_id` must be >= 0; received ", *class_id));
  }
  // Keras: default 0.5, or "in the top k" (NEG_INF) when top_k is set.
  o.thresholds = thresholds ? *thresholds : std::vector<double>{top_k ? -1e10 : 0.5};
  o.top_k = top_k;
  o.class_id = class_id;
  return o;
}
}  // namespace

ConfusionCountMetric::ConfusionCountMetric(std::string name, DType dtype, std::optional<std::vector<double>> thresholds,
                                           ConfusionCount which)
    : ConfusionMetric(std::move(name), dtype, plain_options(count_class(which), thresholds), {which}, true),
      thresholds_config_(std::move(thresholds)),
      which_(which) {}

Json ConfusionCountMetric::get_config() const {
  Json c = Metric::get_config();
  c["thresholds"] = thresholds_json(thresholds_config_);
  return c;
}

Tensor ConfusionCountMetric::result_from(const Variables& vars) const {
  const std::vector<double> v = count(vars, which_);
  if (v.size() == 1) return Tensor::scalar(v[0]);
  return Tensor::from_vector(v);
}

#define TALLY_DEFINE_COUNT(Class, snake, kind)                                                  \
  Class::Class(std::optional<std::vector<double>> thresholds, std::string name, DType dtype)    \
      : MetricWithClone(std::move(name), dtype, std::move(thresholds), ConfusionCount::kind) {} \
  std::unique_ptr<Metric> Class::from_config(const Json& config) {                              \
    ConfigReader r(#Class, config);                                                             \
    const std::string name = r.name(snake);                                                     \
    const DType dtype = r.dtype();                                                              \
    auto thresholds = r.get_optional_doubles("thresholds");                                     \
    r.finish();                                                                                 \
    return std::make_unique<Class>(std::move(thresholds), name, dtype);                         \
  }
TALLY_DEFINE_COUNT(TruePositives, "true_positives", kTruePositives)
TALLY_DEFINE_COUNT(FalsePositives, "false_positives", kFalsePositives)
TALLY_DEFINE_COUNT(TrueNegatives, "true_negatives", kTrueNegatives)
TALLY_DEFINE_COUNT(FalseNegatives, "false_negatives", kFalseNegatives)
#undef TALLY_DEFINE_COUNT

// --- Precision and Recall ------------------------------------------------------------------

namespace {
Tensor ratio_result(const std::vector<double>& tp, const std::vector<double>& other) {
  std::vector<double> out(tp.size());
  for (std::size_t i = 0; i < tp.size(); ++i) out[i] = divide_no_nan(tp[i], tp[i] + other[i]);
  if (out.size() == 1) return Tensor::scalar(out[0]);
  return Tensor::from_vector(out);
}

Json pr_config(const Metric& m, const std::optional<std::vector<double>>& t, const ConfusionOptions& o) {
  Json c = m.Metric::get_config();
  c["thresholds"] = thresholds_json(t);
  c["top_k"] = o.top_k ? Json(*o.top_k) : Json();
  c["class_id"] = o.class_id ? Json(*o.class_id) : Json();
  return c;
}

template <class M>
std::unique_ptr<Metric> pr_from_config(const char* owner, const char* default_name, const Json& config) {
  ConfigReader r(owner, config);
  const std::string name = r.name(default_name);
  const DType dtype = r.dtype();
  auto thresholds = r.get_optional_doubles("thresholds");
  auto top_k = r.get_optional_int("top_k");
  auto class_id = r.get_optional_int("class_id");
  r.finish();
  return std::make_unique<M>(std::move(thresholds), top_k, class_id, name, dtype);
}
}  // namespace

Precision::Precision(std::optional<std::vector<double>> thresholds, std::optional<std::int64_t> top_k,
                     std::optional<std::int64_t> class_id, std::string name, DType dtype)
    : MetricWithClone(std::move(name), dtype, plain_options("Precision", thresholds, top_k, class_id),
                      {ConfusionCount::kTruePositives, ConfusionCount::kFalsePositives}),
      thresholds_config_(std::move(thresholds)) {}

std::unique_ptr<Metric> Precision::from_config(const Json& config) {
  return pr_from_config<Precision>("Precision", "precision", config);
}
Json Precision::get_config() const { return pr_config(*this, thresholds_config_, options()); }
Tensor Precision::result_from(const Variables& vars) const {
  return ratio_result(count(vars, ConfusionCount::kTruePositives), count(vars, ConfusionCount::kFalsePositives));
}

Recall::Recall(std::optional<std::vector<double>> thresholds, std::optional<std::int64_t> top_k,
               std::optional<std::int64_t> class_id, std::string name, DType dtype)
    : MetricWithClone(std::move(name), dtype, plain_options("Recall", thresholds, top_k, class_id),
                      {ConfusionCount::kTruePositives, ConfusionCount::kFalseNegatives}),
      thresholds_config_(std::move(thresholds)) {}

std::unique_ptr<Metric> Recall::from_config(const Json& config) {
  return pr_from_config<Recall>("Recall", "recall", config);
}
Json Recall::get_config() const { return pr_config(*this, thresholds_config_, options()); }
Tensor Recall::result_from(const Variables& vars) const {
  return ratio_result(count(vars, ConfusionCount::kTruePositives), count(vars, ConfusionCount::kFalseNegatives));
}

// --- AUC -------------------------------------------------------------------------------------

namespace {

// The threshold grid and eight count variables per threshold must fit the state limit
// (2^24 thresholds), checked before the grid is built.
void check_threshold_count(std::string_view owner, std::int64_t num_thresholds) {
  constexpr std::int64_t kMaxThresholds = kMaxStateElements / 8;
  if (num_thresholds > kMaxThresholds) {
    throw InvalidArgument(
        internal::str_cat(owner, ": Argument `num_thresholds` must be at most ", kMaxThresholds,
                          " (the state holds 8 counts per threshold). Received: num_thresholds=", num_thresholds));
  }
  // The memory limit (tally/memory.h), before any per-threshold vector is built.
  internal::check_state_size(owner, 8 * 8 * num_thresholds);
}

ConfusionOptions auc_confusion(const AucOptions& a) {
  ConfusionOptions o;
  std::vector<double> interior;
  if (a.thresholds) {
    check_thresholds("AUC", *a.thresholds);
    interior = *a.thresholds;
    std::sort(interior.begin(), interior.end());
  } else {
    if (a.num_thresholds <= 1) {
      throw InvalidArgument(
          internal::str_cat("AUC: Argument `num_thresholds` must be an integer > 1. Received: "
                            "num_thresholds=",
                            a.num_thresholds));
    }
    check_threshold_count("AUC", a.num_thresholds);
    for (std::int64_t i = 1; i < a.num_thresholds - 1; ++i) {
      interior.push_back(static_cast<double>(i) / static_cast<double>(a.num_thresholds - 1));
    }
  }
  std::vector<double> with_ends{0.0};
  with_ends.insert(with_ends.end(), interior.begin(), interior.end());
  with_ends.push_back(1.0);
  o.evenly_spaced = kernels::evenly_spaced(with_ends);
  o.epsilon_endpoints = true;
  o.thresholds = {-kEpsilon};
  o.thresholds.insert(o.thresholds.end(), interior.begin(), interior.end());
  o.thresholds.push_back(1.0 + kEpsilon);
  o.from_logits = a.from_logits;
  if (a.num_labels && !a.multi_label) {
    throw InvalidArgument("AUC: `num_labels` is set but `multi_label` is False; pass multi_label=True");
  }
  if (a.num_labels && *a.num_labels < 1) {
    throw InvalidArgument(internal::str_cat("AUC: argument `num_labels` must be >= 1; received ", *a.num_labels));
  }
  o.multi_label = a.multi_label;
  o.num_labels = a.multi_label ? a.num_labels.value_or(0) : 1;
  if (a.label_weights) {
    for (const double w : *a.label_weights) {
      if (!(w >= 0.0) || std::isinf(w)) {
        throw InvalidArgument(
            internal::str_cat("AUC: All values of `label_weights` must be non-negative; received ", w));
      }
    }
    if (!a.multi_label) o.label_weights = *a.label_weights;  // multi-label: only the final average
    if (a.multi_label && a.num_labels && static_cast<std::int64_t>(a.label_weights->size()) != *a.num_labels) {
      throw InvalidArgument("AUC: label_weights must have num_labels entries");
    }
  }
  return o;
}

std::string curve_name(AucCurve c) { return c == AucCurve::kROC ? "ROC" : (c == AucCurve::kPR ? "PR" : "PRGAIN"); }
std::string summation_name(AucSummation s) {
  return s == AucSummation::kInterpolation ? "interpolation" : (s == AucSummation::kMinoring ? "minoring" : "majoring");
}

}  // namespace

AUC::AUC(AucOptions options)
    : MetricWithClone(options.name, options.dtype, auc_confusion(options),
                      {ConfusionCount::kTruePositives, ConfusionCount::kFalsePositives, ConfusionCount::kTrueNegatives,
                       ConfusionCount::kFalseNegatives}),
      auc_(std::move(options)) {
  if (auc_.thresholds) auc_.num_thresholds = static_cast<std::int64_t>(auc_.thresholds->size()) + 2;
}

std::unique_ptr<Metric> AUC::from_config(const Json& config) {
  ConfigReader r("AUC", config);
  AucOptions o;
  o.num_thresholds = r.get_int("num_thresholds", 200);
  std::string curve = r.get_string("curve", "ROC");
  std::transform(curve.begin(), curve.end(), curve.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  if (curve == "ROC")
    o.curve = AucCurve::kROC;
  else if (curve == "PR")
    o.curve = AucCurve::kPR;
  else if (curve == "PRGAIN")
    o.curve = AucCurve::kPRGain;
  else
    throw ConfigError("AUC: Invalid AUC curve value: \"" + curve + "\". Expected values are ROC, PR or PRGAIN");
  std::string summation = r.get_string("summation_method", "interpolation");
  std::transform(summation.begin(), summation.end(), summation.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  if (summation == "interpolation")
    o.summation_method = AucSummation::kInterpolation;
  else if (summation == "minoring")
    o.summation_method = AucSummation::kMinoring;
  else if (summation == "majoring")
    o.summation_method = AucSummation::kMajoring;
  else
    throw ConfigError("AUC: Invalid AUC summation method value: \"" + summation +
                      "\". Expected values are interpolation, minoring or majoring");
  o.name = r.name("auc");
  o.dtype = r.dtype();
  o.thresholds = r.get_optional_doubles("thresholds");
  o.multi_label = r.get_bool("multi_label", false);
  o.num_labels = r.get_optional_int("num_labels");
  o.label_weights = r.get_optional_doubles("label_weights");
  o.from_logits = r.get_bool("from_logits", false);
  r.finish();
  return std::make_unique<AUC>(o);
}

Json AUC::get_config() const {
  Json c = Metric::get_config();
  c["num_thresholds"] = auc_.num_thresholds;
  c["curve"] = curve_name(auc_.curve);
  c["summation_method"] = summation_name(auc_.summation_method);
  c["multi_label"] = auc_.multi_label;
  c["num_labels"] = auc_.num_labels ? Json(*auc_.num_labels) : Json();
  c["label_weights"] = auc_.label_weights ? Json(*auc_.label_weights) : Json();
  c["from_logits"] = auc_.from_logits;
  if (auc_.thresholds) c["thresholds"] = *auc_.thresholds;  // interior thresholds, only when given
  return c;
}

Tensor AUC::result_from(const Variables& vars) const {
  const std::vector<double> tp = count(vars, ConfusionCount::kTruePositives);
  const std::vector<double> fp = count(vars, ConfusionCount::kFalsePositives);
  const std::vector<double> tn = count(vars, ConfusionCount::kTrueNegatives);
  const std::vector<double> fn = count(vars, ConfusionCount::kFalseNegatives);
  const auto T = static_cast<std::size_t>(options().thresholds.size());
  const std::size_t L = T == 0 ? 1 : tp.size() / T;
  if (L == 0) return Tensor::scalar(0.0);  // multi-label AUC before its first batch
  auto at = [L](std::size_t i, std::size_t l) { return i * L + l; };
  std::vector<double> by_label(L, 0.0);
  for (std::size_t l = 0; l < L; ++l) {
    double area = 0.0;
    if (auc_.curve == AucCurve::kPR && auc_.summation_method == AucSummation::kInterpolation) {
      // Davis & Goadrich interpolation of the PR curve (Keras interpolate_pr_auc).
      for (std::size_t i = 0; i + 1 < T; ++i) {
        const double dtp = tp[at(i, l)] - tp[at(i + 1, l)];
        const double p0 = tp[at(i, l)] + fp[at(i, l)], p1 = tp[at(i + 1, l)] + fp[at(i + 1, l)];
        const double dp = p0 - p1;
        const double slope = divide_no_nan(dtp, std::max(dp, 0.0));
        const double intercept = tp[at(i + 1, l)] - slope * p1;
        const double ratio = (p0 > 0 && p1 > 0) ? divide_no_nan(p0, std::max(p1, 0.0)) : 1.0;
        area += divide_no_nan(slope * (dtp + intercept * std::log(ratio)),
                              std::max(tp[at(i + 1, l)] + fn[at(i + 1, l)], 0.0));
      }
    } else {
      std::vector<double> x(T), y(T);
      for (std::size_t i = 0; i < T; ++i) {
        const double TP = tp[at(i, l)], FP = fp[at(i, l)], TN = tn[at(i, l)], FN = fn[at(i, l)];
        if (auc_.curve == AucCurve::kROC) {
          x[i] = divide_no_nan(FP, FP + TN);
          y[i] = divide_no_nan(TP, TP + FN);
        } else if (auc_.curve == AucCurve::kPR) {
          x[i] = divide_no_nan(TP, TP + FN);
          y[i] = divide_no_nan(TP, TP + FP);
        } else {
          // Precision-recall gain (Flach & Kull), as Keras computes it.
          const double s = divide_no_nan(TP + FN, TN + FP);
          x[i] = TP == 0.0 ? 0.0 : std::max(0.0, 1.0 - s * FN / TP);
          y[i] = TP == 0.0 ? 1.0 : 1.0 - s * FP / TP;
        }
      }
      for (std::size_t i = 0; i + 1 < T; ++i) {
        const double h = auc_.summation_method == AucSummation::kInterpolation ? (y[i] + y[i + 1]) / 2.0
                         : auc_.summation_method == AucSummation::kMinoring    ? std::min(y[i], y[i + 1])
                                                                               : std::max(y[i], y[i + 1]);
        area += (x[i] - x[i + 1]) * h;
      }
    }
    by_label[l] = area;
  }
  if (!auc_.multi_label) return Tensor::scalar(by_label[0]);
  if (auc_.label_weights) {
    double num = 0.0, den = 0.0;
    for (std::size_t l = 0; l < L && l < auc_.label_weights->size(); ++l) {
      num += by_label[l] * (*auc_.label_weights)[l];
      den += (*auc_.label_weights)[l];
    }
    return Tensor::scalar(divide_no_nan(num, den));
  }
  double mean = 0.0;
  for (const double a : by_label) mean += a;
  return Tensor::scalar(mean / static_cast<double>(L));
}

// --- X at Y ----------------------------------------------------------------------------------

namespace {

const char* target_key(RateAtRate k) {
  switch (k) {
    case RateAtRate::kSensitivityAtSpecificity:
      return "specificity";
    case RateAtRate::kSpecificityAtSensitivity:
      return "sensitivity";
    case RateAtRate::kPrecisionAtRecall:
      return "recall";
    case RateAtRate::kRecallAtPrecision:
      break;
  }
  return "precision";
}

const char* rate_class(RateAtRate k) {
  switch (k) {
    case RateAtRate::kSensitivityAtSpecificity:
      return "SensitivityAtSpecificity";
    case RateAtRate::kSpecificityAtSensitivity:
      return "SpecificityAtSensitivity";
    case RateAtRate::kPrecisionAtRecall:
      return "PrecisionAtRecall";
    case RateAtRate::kRecallAtPrecision:
      break;
  }
  return "RecallAtPrecision";
}

ConfusionOptions rate_options(RateAtRate kind, double target, std::int64_t num_thresholds,
                              std::optional<std::int64_t> class_id) {
  const char* owner = rate_class(kind);
  if (!(target >= 0.0 && target <= 1.0)) {
    throw InvalidArgument(internal::str_cat(owner, ": Argument `", target_key(kind),
                                            "` must be in the range [0, 1]. Received: ", target));
  }
  if (num_thresholds <= 0) {
    throw InvalidArgument(
        internal::str_cat(owner, ": Argument `num_thresholds` must be an integer > 0. Received: ", num_thresholds));
  }
  ConfusionOptions o;
  check_threshold_count(owner, num_thresholds);
  if (num_thresholds == 1) {
    o.thresholds = {0.5};
  } else {
    for (std::int64_t i = 0; i < num_thresholds - 1; ++i) {
      o.thresholds.push_back(static_cast<double>(i) / static_cast<double>(num_thresholds - 1));
    }
    o.thresholds.push_back(1.0);
  }
  o.evenly_spaced = num_thresholds >= 3;  // Keras passes thresholds_distributed_evenly=True
  o.class_id = class_id;
  return o;
}

}  // namespace

RateAtRateMetric::RateAtRateMetric(RateAtRate kind, double target, std::int64_t num_thresholds,
                                   std::optional<std::int64_t> class_id, std::string name, DType dtype)
    : ConfusionMetric(std::move(name), dtype, rate_options(kind, target, num_thresholds, class_id),
                      {ConfusionCount::kTruePositives, ConfusionCount::kTrueNegatives, ConfusionCount::kFalsePositives,
                       ConfusionCount::kFalseNegatives}),
      kind_(kind),
      target_(target),
      num_thresholds_(num_thresholds),
      class_id_(class_id) {}

Json RateAtRateMetric::get_config() const {
  Json c = Metric::get_config();
  c["num_thresholds"] = num_thresholds_;
  c["class_id"] = class_id_ ? Json(*class_id_) : Json();
  c[target_key(kind_)] = target_;
  return c;
}

Tensor RateAtRateMetric::result_from(const Variables& vars) const {
  const std::vector<double> tp = count(vars, ConfusionCount::kTruePositives);
  const std::vector<double> tn = count(vars, ConfusionCount::kTrueNegatives);
  const std::vector<double> fp = count(vars, ConfusionCount::kFalsePositives);
  const std::vector<double> fn = count(vars, ConfusionCount::kFalseNegatives);
  double best = 0.0;
  bool found = false;
  for (std::size_t i = 0; i < tp.size(); ++i) {
    const double sensitivity = divide_no_nan(tp[i], tp[i] + fn[i]);
    const double specificity = divide_no_nan(tn[i], tn[i] + fp[i]);
    const double precision = divide_no_nan(tp[i], tp[i] + fp[i]);
    double constrained = 0.0, dependent = 0.0;
    switch (kind_) {
      case RateAtRate::kSensitivityAtSpecificity:
        constrained = specificity;
        dependent = sensitivity;
        break;
      case RateAtRate::kSpecificityAtSensitivity:
        constrained = sensitivity;
        dependent = specificity;
        break;
      case RateAtRate::kPrecisionAtRecall:
        constrained = sensitivity;
        dependent = precision;
        break;
      case RateAtRate::kRecallAtPrecision:
        constrained = precision;
        dependent = sensitivity;
        break;
    }
    if (constrained >= target_) {
      best = found ? std::max(best, dependent) : dependent;
      found = true;
    }
  }
  return Tensor::scalar(found ? best : 0.0);
}

#define TALLY_DEFINE_RATE(Class, snake, kind)                                                                      \
  Class::Class(double target, std::int64_t num_thresholds, std::optional<std::int64_t> class_id, std::string name, \
               DType dtype)                                                                                        \
      : MetricWithClone(RateAtRate::kind, target, num_thresholds, class_id, std::move(name), dtype) {}             \
  std::unique_ptr<Metric> Class::from_config(const Json& config) {                                                 \
    ConfigReader r(#Class, config);                                                                                \
    const std::string name = r.name(snake);                                                                        \
    const DType dtype = r.dtype();                                                                                 \
    const auto target = r.get_optional_double(target_key(RateAtRate::kind));                                       \
    if (!target) {                                                                                                 \
      throw ConfigError(std::string(#Class) + ": config key `" + target_key(RateAtRate::kind) + "` is required");  \
    }                                                                                                              \
    const std::int64_t num_thresholds = r.get_int("num_thresholds", 200);                                          \
    const auto class_id = r.get_optional_int("class_id");                                                          \
    r.finish();                                                                                                    \
    return std::make_unique<Class>(*target, num_thresholds, class_id, name, dtype);                                \
  }
TALLY_DEFINE_RATE(SensitivityAtSpecificity, "sensitivity_at_specificity", kSensitivityAtSpecificity)
TALLY_DEFINE_RATE(SpecificityAtSensitivity, "specificity_at_sensitivity", kSpecificityAtSensitivity)
TALLY_DEFINE_RATE(PrecisionAtRecall, "precision_at_recall", kPrecisionAtRecall)
TALLY_DEFINE_RATE(RecallAtPrecision, "recall_at_precision", kRecallAtPrecision)
#undef TALLY_DEFINE_RATE

}  // namespace tally::metrics
