#include "tally/metrics/confusion.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>

#include "internal/check.h"
#include "internal/memory.h"
#include "metrics/kernels/confusion_counts.h"
#include "metrics/kernels/grouped_confusion.h"
#include "metrics/kernels/keras_constants.h"
#include "metrics/kernels/mean_update.h"

namespace tally::metrics {
namespace {

using kernels::who;

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

double divide_no_nan(double a, double b) { return b == 0.0 ? 0.0 : a / b; }

// Keras's own check and wording ("Threshold values must be in [0, 1]"), kept in the
// constructors rather than in the option tables so that the message keeps Keras's words.
void check_thresholds(std::string_view owner, const std::vector<double>& thresholds) {
  if (thresholds.empty()) throw InvalidArgument(internal::str_cat(owner, ": argument `thresholds` must not be empty"));
  for (const double t : thresholds) {
    if (!(t >= 0.0 && t <= 1.0)) {
      throw InvalidArgument(internal::str_cat(owner, ": Threshold values must be in [0, 1]. Received: ", t));
    }
  }
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
    : Metric(std::move(name), dtype), confusion_(std::move(options)), counts_(std::move(counts)) {
  check_state_budget(2 * static_cast<std::int64_t>(counts_.size()) * shape_numel(count_shape(confusion_)));
  for (const ConfusionCount c : counts_) {
    const std::string n = keras_accumulator ? "accumulator" : count_name(c);
    add_variable(n, count_shape(confusion_), DType::kInt64);
    add_variable("weighted_" + n, count_shape(confusion_), DType::kFloat64, Aggregation::kSum, Domain::kNonNegative);
  }
}

std::string ConfusionMetric::shared_work_key() const {
  // Equal keys mean equal counts: thresholds (exact bits), grid kind, top_k, class_id,
  // logits, label weights, labels and the arithmetic of the bucketing.
  std::string key = "confusion";
  for (const double t : confusion_.thresholds) {
    key += ':';
    key += std::to_string(std::bit_cast<std::uint64_t>(t));
  }
  key += internal::str_cat("|e", confusion_.evenly_spaced, confusion_.epsilon_endpoints, "|k",
                           confusion_.top_k.value_or(-1), "|c", confusion_.class_id.value_or(-1), "|l",
                           confusion_.from_logits, confusion_.multi_label, confusion_.num_labels, "|d",
                           dtype() == DType::kFloat64, "|i", confusion_.class_ids, confusion_.argmax_pred);
  for (const double w : confusion_.label_weights) {
    key += ':';
    key += std::to_string(std::bit_cast<std::uint64_t>(w));
  }
  return key;
}

std::shared_ptr<const SharedWork> ConfusionMetric::prepare_shared(const Batch& batch) const {
  const std::int64_t labels = confusion_.multi_label ? variables()[0].shape.back() : 1;
  return std::make_shared<kernels::ConfusionCounts>(
      kernels::count_confusion(who(*this), confusion_, dtype(), labels, batch));
}

void ConfusionMetric::accumulate_shared(Variables& vars, const Batch& /*batch*/, const SharedWork& work) const {
  const auto& w = static_cast<const kernels::ConfusionCounts&>(work);
  if (confusion_.multi_label && vars.layout()[0].shape.back() != w.labels) {
    // A multi-label AUC without num_labels fixes its label count on the first batch (Keras
    // builds its variables the same way).
    auto layout = std::make_shared<VariableLayout>(vars.layout());
    for (Variable& v : *layout) v.shape = {w.thresholds, w.labels};
    vars = Variables(std::move(layout));
  }
  const auto L = static_cast<std::size_t>(w.labels);
  const auto n = static_cast<std::size_t>(w.thresholds) * L;
  // Counts from class ids leave the weighted negatives out (confusion_counts.h): only a metric
  // that keeps true negatives reads them, and none counts class ids.
  if (std::find(counts_.begin(), counts_.end(), ConfusionCount::kTrueNegatives) != counts_.end() &&
      (w.weighted ? w.negatives_w.size() : w.negatives.size()) != L) {
    throw StateError(name() + ": true negatives were not counted for this batch");
  }
  for (std::size_t k = 0; k < counts_.size(); ++k) {
    const ConfusionCount c = counts_[k];
    // One walk for both variables: derived counts are the label totals minus the direct ones.
    // One label (the common case) walks without the per-element `i % L`.
    auto add = [&](auto out, const auto& tp, const auto& fp, const auto& positives, const auto& negatives) {
      auto walk = [&](auto label_of) {
        for (std::size_t i = 0; i < n; ++i) {
          switch (c) {
            case ConfusionCount::kTruePositives:
              out[i] += tp[i];
              break;
            case ConfusionCount::kFalsePositives:
              out[i] += fp[i];
              break;
            case ConfusionCount::kFalseNegatives:
              out[i] += positives[label_of(i)] - tp[i];
              break;
            case ConfusionCount::kTrueNegatives:
              out[i] += negatives[label_of(i)] - fp[i];
              break;
          }
        }
      };
      if (L == 1) {
        walk([](std::size_t) { return std::size_t{0}; });
      } else {
        walk([L](std::size_t i) { return i % L; });
      }
    };
    if (w.weighted) {
      add(vars.f64(2 * k + 1), w.tp_w, w.fp_w, w.positives_w, w.negatives_w);
    } else {
      add(vars.i64(2 * k), w.tp, w.fp, w.positives, w.negatives);
    }
  }
}

void ConfusionMetric::accumulate(Variables& vars, const Batch& batch) const {
  const std::int64_t labels = confusion_.multi_label ? vars.layout()[0].shape.back() : 1;
  // One label: the kernel may add its counts straight into the int64 state (large evenly
  // spaced grids), saving the per-batch count arrays of T and the walk above.
  kernels::CountTargets into;
  for (std::size_t k = 0; k < counts_.size(); ++k) {
    std::int64_t* target = vars.i64(2 * k).data();
    switch (counts_[k]) {
      case ConfusionCount::kTruePositives:
        into.tp = target;
        break;
      case ConfusionCount::kFalsePositives:
        into.fp = target;
        break;
      case ConfusionCount::kTrueNegatives:
        into.tn = target;
        break;
      case ConfusionCount::kFalseNegatives:
        into.fn = target;
        break;
    }
  }
  const kernels::ConfusionCounts work = kernels::count_confusion(who(*this), confusion_, dtype(), labels, batch,
                                                                 confusion_.multi_label ? nullptr : &into);
  if (!work.added) accumulate_shared(vars, batch, work);
}

std::unique_ptr<GroupedKernel> ConfusionMetric::grouped_kernel(const Batch& batch, std::span<const std::int32_t> group,
                                                               std::size_t groups, std::int64_t /*chunk_rows*/) const {
  if (confusion_.multi_label) return nullptr;  // its label count may be fixed by the first batch
  return kernels::grouped_confusion(who(*this), confusion_, dtype(), batch, group, groups,
                                    [this, batch](Variables& vars, const kernels::ConfusionCounts& counts) {
                                      accumulate_shared(vars, batch, counts);
                                    });
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

// Thresholds as a number or a list; get_config writes a single threshold as a number, as
// the Keras configs it round-trips usually hold it.
template <class O>
OptionField<O> thresholds_field(std::optional<std::vector<double>> O::*member, std::string doc) {
  OptionField<O> f = field("thresholds", member, std::move(doc));
  f.write = [member](const O& o) -> Json {
    const auto& t = o.*member;
    if (!t) return Json();
    if (t->size() == 1) return Json(t->front());
    return Json(*t);
  };
  return f;
}

// The counting options of Precision, Recall and the count metrics. top_k and class_id
// are checked by the option tables; thresholds here, in Keras's words.
ConfusionOptions plain_options(std::string_view owner, const std::optional<std::vector<double>>& thresholds,
                               std::optional<std::int64_t> top_k = std::nullopt,
                               std::optional<std::int64_t> class_id = std::nullopt) {
  ConfusionOptions o;
  if (thresholds) check_thresholds(owner, *thresholds);
  // Keras: default 0.5, or "in the top k" (NEG_INF) when top_k is set.
  o.thresholds = thresholds ? *thresholds : std::vector<double>{top_k ? -1e10 : 0.5};
  o.top_k = top_k;
  o.class_id = class_id;
  return o;
}

// Precision and Recall over integer labels (num_classes, tally extension): one column per
// class at threshold 0.5 of one-hot rows, y_pred scores by their argmax (counted straight from
// the ids to the same counts: confusion_counts.cpp, count_class_ids).
ConfusionOptions pr_options(std::string_view owner, const PrecisionRecallOptions& o) {
  if (!o.num_classes) {
    if (o.average != ClassAverage::kNone) {
      throw InvalidArgument(internal::str_cat(owner, ": `average` needs `num_classes` (integer labels)"));
    }
    return plain_options(owner, o.thresholds, o.top_k, o.class_id);
  }
  if (o.thresholds || o.top_k || o.class_id) {
    throw InvalidArgument(internal::str_cat(
        owner,
        ": `num_classes` (integer labels, argmax predictions) cannot be combined with thresholds, top_k or "
        "class_id"));
  }
  ConfusionOptions c;
  c.thresholds = {0.5};
  c.class_ids = *o.num_classes;
  c.argmax_pred = true;
  c.multi_label = true;
  c.num_labels = *o.num_classes;
  return c;
}

std::vector<ConfusionCount> pr_counts(const PrecisionRecallOptions& o, ConfusionCount other) {
  if (o.num_classes) {
    return {ConfusionCount::kTruePositives, ConfusionCount::kFalsePositives, ConfusionCount::kFalseNegatives};
  }
  return {ConfusionCount::kTruePositives, other};
}

// Per-class ratios tp / (tp + other) combined as scikit-learn's `average` (support = tp + fn).
Tensor class_average(const std::vector<double>& tp, const std::vector<double>& other, const std::vector<double>& fn,
                     ClassAverage average) {
  const std::size_t n = tp.size();
  std::vector<double> per(n);
  double stp = 0.0, sother = 0.0, num = 0.0, den = 0.0, sum = 0.0;
  for (std::size_t c = 0; c < n; ++c) {
    per[c] = divide_no_nan(tp[c], tp[c] + other[c]);
    stp += tp[c];
    sother += other[c];
    num += per[c] * (tp[c] + fn[c]);
    den += tp[c] + fn[c];
    sum += per[c];
  }
  switch (average) {
    case ClassAverage::kNone:
      return Tensor::from_vector(std::span<const double>(per));
    case ClassAverage::kMicro:
      return Tensor::scalar(divide_no_nan(stp, stp + sother));
    case ClassAverage::kMacro:
      return Tensor::scalar(n == 0 ? 0.0 : sum / static_cast<double>(n));
    case ClassAverage::kWeighted:
      return Tensor::scalar(divide_no_nan(num, den));
  }
  return Tensor::scalar(0.0);
}

const std::vector<Spelling<ClassAverage>>& class_average_spellings() {
  static const std::vector<Spelling<ClassAverage>> spellings{
      {"micro", ClassAverage::kMicro}, {"macro", ClassAverage::kMacro}, {"weighted", ClassAverage::kWeighted}};
  return spellings;
}

// The spec of one count metric: they differ only in names and doc.
MetricSpec<ConfusionCountOptions> count_spec(std::string class_name, std::string default_name, std::string doc) {
  using O = ConfusionCountOptions;
  return MetricSpec<O>{
      std::move(class_name),
      std::move(default_name),
      std::move(doc),
      Direction::kNone,
      InputContract{"binary", "probabilities", {1, 2, 3}},
      "vector",
      OptionTable<O>{thresholds_field(&O::thresholds,
                                      "Scores strictly above a threshold are positive; one count per threshold "
                                      "(a scalar result for one). Default 0.5."),
                     name_and_dtype<O>()}};
}

}  // namespace

ConfusionCountMetric::ConfusionCountMetric(std::string name, DType dtype, const std::string& owner,
                                           const std::optional<std::vector<double>>& thresholds, ConfusionCount which)
    : ConfusionMetric(std::move(name), dtype, plain_options(owner, thresholds), {which}, true), which_(which) {}

Tensor ConfusionCountMetric::result_from(const Variables& vars) const {
  const std::vector<double> v = count(vars, which_);
  if (v.size() == 1) return Tensor::scalar(v[0]);
  return Tensor::from_vector(v);
}

#define TALLY_DEFINE_COUNT(Class, snake, kind, doc)                                       \
  const MetricSpec<ConfusionCountOptions>& Class::spec() {                                \
    static const MetricSpec<ConfusionCountOptions> spec = count_spec(#Class, snake, doc); \
    return spec;                                                                          \
  }                                                                                       \
  Class::Class(const Options& options)                                                    \
      : ConfiguredMetric(options, spec().class_name, options.thresholds, ConfusionCount::kind) {}
TALLY_DEFINE_COUNT(TruePositives, "true_positives", kTruePositives,
                   "Weighted count of positive labels predicted positive, per threshold.")
TALLY_DEFINE_COUNT(FalsePositives, "false_positives", kFalsePositives,
                   "Weighted count of negative labels predicted positive, per threshold.")
TALLY_DEFINE_COUNT(TrueNegatives, "true_negatives", kTrueNegatives,
                   "Weighted count of negative labels predicted negative, per threshold.")
TALLY_DEFINE_COUNT(FalseNegatives, "false_negatives", kFalseNegatives,
                   "Weighted count of positive labels predicted negative, per threshold.")
#undef TALLY_DEFINE_COUNT

// --- Precision and Recall ------------------------------------------------------------------

namespace {

Tensor ratio_result(const std::vector<double>& tp, const std::vector<double>& other) {
  std::vector<double> out(tp.size());
  for (std::size_t i = 0; i < tp.size(); ++i) out[i] = divide_no_nan(tp[i], tp[i] + other[i]);
  if (out.size() == 1) return Tensor::scalar(out[0]);
  return Tensor::from_vector(out);
}

// Precision and Recall share their options; only names and doc differ.
MetricSpec<PrecisionRecallOptions> pr_spec(std::string class_name, std::string default_name, std::string doc) {
  using O = PrecisionRecallOptions;
  return MetricSpec<O>{
      std::move(class_name),
      std::move(default_name),
      std::move(doc),
      Direction::kHigherIsBetter,
      InputContract{"binary", "probabilities", {1, 2, 3}},
      "vector",
      OptionTable<O>{
          thresholds_field(&O::thresholds,
                           "Scores strictly above a threshold are positive; one value per threshold (a scalar "
                           "result for one). Default 0.5, or \"in the top k\" with top_k."),
          field("top_k", &O::top_k, "Only the k highest scores of each row can be positive.", rules::at_least(1)),
          field("class_id", &O::class_id, "Count only this column of multi-class inputs.", rules::at_least(0)),
          name_and_dtype<O>(),
          listed_when_set(field("num_classes", &O::num_classes,
                                "tally extension: y_true holds class ids in [0, num_classes); y_pred is [N, C] scores "
                                "(argmax) or [N] ids.",
                                rules::at_least(1))),
          listed_when_set(enum_field("average", &O::average,
                                     "With num_classes: null (one per class), micro, macro or weighted (by support).",
                                     class_average_spellings(), "one of null, \"micro\", \"macro\", \"weighted\"",
                                     CaseFold::kExact, RuleError::kConfig, std::optional(ClassAverage::kNone)))}};
}

}  // namespace

const MetricSpec<PrecisionRecallOptions>& Precision::spec() {
  static const MetricSpec<PrecisionRecallOptions> spec =
      pr_spec("Precision", "precision", "tp / (tp + fp) per threshold, optionally in the top k or for one class.");
  return spec;
}

Precision::Precision(const Options& options)
    : ConfiguredMetric(options, pr_options(spec().class_name, options),
                       pr_counts(options, ConfusionCount::kFalsePositives)) {}

Tensor Precision::result_from(const Variables& vars) const {
  if (options().num_classes) {
    return class_average(count(vars, ConfusionCount::kTruePositives), count(vars, ConfusionCount::kFalsePositives),
                         count(vars, ConfusionCount::kFalseNegatives), options().average);
  }
  return ratio_result(count(vars, ConfusionCount::kTruePositives), count(vars, ConfusionCount::kFalsePositives));
}

const MetricSpec<PrecisionRecallOptions>& Recall::spec() {
  static const MetricSpec<PrecisionRecallOptions> spec =
      pr_spec("Recall", "recall", "tp / (tp + fn) per threshold, optionally in the top k or for one class.");
  return spec;
}

Recall::Recall(const Options& options)
    : ConfiguredMetric(options, pr_options(spec().class_name, options),
                       pr_counts(options, ConfusionCount::kFalseNegatives)) {}

Tensor Recall::result_from(const Variables& vars) const {
  if (options().num_classes) {
    const std::vector<double> fn = count(vars, ConfusionCount::kFalseNegatives);
    return class_average(count(vars, ConfusionCount::kTruePositives), fn, fn, options().average);
  }
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

// Keras's checks of num_thresholds (only without explicit thresholds), label_weights and
// num_labels against multi_label stay here, with Keras's wording: a table rule sees one key.
ConfusionOptions auc_confusion(const AucOptions& a) {
  ConfusionOptions o;
  // The thresholds are built in place in o.thresholds ([0, interior..., 1] for the evenly
  // spaced test, then the endpoints become -eps and 1 + eps): at 1e6 thresholds each
  // temporary copy cost 8 MB of fresh pages (docs/performance.md, "Constructing a metric").
  if (a.thresholds) {
    check_thresholds("AUC", *a.thresholds);
    o.thresholds.reserve(a.thresholds->size() + 2);
    o.thresholds.push_back(0.0);
    o.thresholds.insert(o.thresholds.end(), a.thresholds->begin(), a.thresholds->end());
    std::sort(o.thresholds.begin() + 1, o.thresholds.end());
  } else {
    if (a.num_thresholds <= 1) {
      throw InvalidArgument(
          internal::str_cat("AUC: Argument `num_thresholds` must be an integer > 1. Received: "
                            "num_thresholds=",
                            a.num_thresholds));
    }
    check_threshold_count("AUC", a.num_thresholds);
    o.thresholds.reserve(static_cast<std::size_t>(a.num_thresholds));
    o.thresholds.push_back(0.0);
    for (std::int64_t i = 1; i < a.num_thresholds - 1; ++i) {
      o.thresholds.push_back(static_cast<double>(i) / static_cast<double>(a.num_thresholds - 1));
    }
  }
  o.thresholds.push_back(1.0);
  o.evenly_spaced = kernels::evenly_spaced(o.thresholds);
  o.epsilon_endpoints = true;
  o.thresholds.front() = -kernels::kKerasEpsilon;
  o.thresholds.back() = 1.0 + kernels::kKerasEpsilon;
  o.from_logits = a.from_logits;
  if (a.multi_class == AucMultiClass::kOvr) {
    // One-vs-rest over integer labels (tally extension): one column per class.
    if (!a.num_classes) throw InvalidArgument("AUC: multi_class=\"ovr\" needs `num_classes`");
    if (a.multi_label || a.num_labels || a.label_weights) {
      throw InvalidArgument(
          "AUC: multi_class=\"ovr\" cannot be combined with multi_label, num_labels or label_weights");
    }
    const auto t = static_cast<std::int64_t>(o.thresholds.size());
    if (*a.num_classes > kMaxStateElements / 8 / t) {
      throw InvalidArgument(internal::str_cat("AUC: ", t, " thresholds x num_classes = ", *a.num_classes,
                                              " x 8 counts would take the state past tally's limit of ",
                                              kMaxStateElements, " elements"));
    }
    o.multi_label = true;
    o.num_labels = *a.num_classes;
    o.class_ids = *a.num_classes;
    return o;
  }
  if (a.num_classes || a.average != ClassAverage::kMacro) {
    throw InvalidArgument("AUC: `num_classes` and `average` apply to multi_class=\"ovr\" only");
  }
  if (a.num_labels && !a.multi_label) {
    throw InvalidArgument("AUC: `num_labels` is set but `multi_label` is False; pass multi_label=True");
  }
  o.multi_label = a.multi_label;
  o.num_labels = a.multi_label ? a.num_labels.value_or(0) : 1;
  // Eight count variables of thresholds x labels must fit the state limit: checked before
  // the first of them is allocated (Metric::add_variable would only refuse a later one).
  const auto t = static_cast<std::int64_t>(o.thresholds.size());
  if (o.num_labels > kMaxStateElements / 8 / t) {
    throw InvalidArgument(internal::str_cat("AUC: ", t, " thresholds x num_labels = ", o.num_labels,
                                            " labels x 8 counts would take the state past tally's limit of ",
                                            kMaxStateElements, " elements"));
  }
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

// Keras sets num_thresholds to the count of explicit thresholds + 2.
AucOptions with_threshold_count(AucOptions o) {
  if (o.thresholds) o.num_thresholds = static_cast<std::int64_t>(o.thresholds->size()) + 2;
  return o;
}

}  // namespace

const MetricSpec<AucOptions>& AUC::spec() {
  using O = AucOptions;
  static const MetricSpec<O> spec{
      "AUC",
      "auc",
      "Area under the ROC, PR or PR-gain curve over binned thresholds.",
      Direction::kHigherIsBetter,
      InputContract{"binary", "probabilities|logits", {1, 2, 3}},
      "scalar",
      OptionTable<O>{
          field("num_thresholds", &O::num_thresholds,
                "Evenly spaced thresholds in [0, 1] (an integer > 1; ignored when thresholds is given)."),
          enum_field("curve", &O::curve, "The curve integrated (case-insensitive).",
                     {{"ROC", AucCurve::kROC}, {"PR", AucCurve::kPR}, {"PRGAIN", AucCurve::kPRGain}},
                     "a curve: ROC, PR or PRGAIN", CaseFold::kUpper),
          enum_field("summation_method", &O::summation_method,
                     "How rectangles between thresholds are summed (case-insensitive).",
                     {{"interpolation", AucSummation::kInterpolation},
                      {"minoring", AucSummation::kMinoring},
                      {"majoring", AucSummation::kMajoring}},
                     "a summation method: interpolation, minoring or majoring", CaseFold::kLower),
          name_and_dtype<O>(),
          // Keras lists the interior thresholds only when they were given.
          listed_when_set(field("thresholds", &O::thresholds,
                                "Interior thresholds in [0, 1], used instead of num_thresholds (0 - eps and "
                                "1 + eps are added).")),
          field("multi_label", &O::multi_label, "One curve per label column, averaged (y_pred of rank 2)."),
          field("num_labels", &O::num_labels,
                "Label columns of a multi-label AUC, fixing its state before the first batch.", rules::at_least(1)),
          field("label_weights", &O::label_weights,
                "Non-negative weight per label: while counting, or in the final average when multi_label."),
          field("from_logits", &O::from_logits, "y_pred holds logits (a sigmoid is applied first)."),
          listed_when_set(
              enum_field("multi_class", &O::multi_class,
                         "tally extension: \"ovr\" scores integer labels one-vs-rest against [N, C] scores.",
                         {{"ovr", AucMultiClass::kOvr}}, "one of null, \"ovr\"", CaseFold::kLower, RuleError::kConfig,
                         std::optional(AucMultiClass::kNone))),
          listed_when_set(field("num_classes", &O::num_classes, "With multi_class=\"ovr\": the classes of y_true.",
                                rules::at_least(2))),
          listed_when_set(enum_field("average", &O::average,
                                     "With multi_class=\"ovr\": macro, or weighted by class support.",
                                     {{"macro", ClassAverage::kMacro}, {"weighted", ClassAverage::kWeighted}},
                                     "one of \"macro\", \"weighted\"", CaseFold::kLower))}};
  return spec;
}

AUC::AUC(const Options& options)
    : ConfiguredMetric(with_threshold_count(options), auc_confusion(options),
                       std::vector<ConfusionCount>{ConfusionCount::kTruePositives, ConfusionCount::kFalsePositives,
                                                   ConfusionCount::kTrueNegatives, ConfusionCount::kFalseNegatives}) {}

Tensor AUC::result_from(const Variables& vars) const {
  // The curve's point from the four counts at one threshold.
  const AucCurve curve = options().curve;
  auto point = [curve](double TP, double FP, double TN, double FN, double& x, double& y) {
    if (curve == AucCurve::kROC) {
      x = divide_no_nan(FP, FP + TN);
      y = divide_no_nan(TP, TP + FN);
    } else if (curve == AucCurve::kPR) {
      x = divide_no_nan(TP, TP + FN);
      y = divide_no_nan(TP, TP + FP);
    } else {
      // Precision-recall gain (Flach & Kull), as Keras computes it.
      const double s = divide_no_nan(TP + FN, TN + FP);
      x = TP == 0.0 ? 0.0 : std::max(0.0, 1.0 - s * FN / TP);
      y = TP == 0.0 ? 1.0 : 1.0 - s * FP / TP;
    }
  };
  const AucSummation summation = options().summation_method;
  auto height = [summation](double y0, double y1) {
    return summation == AucSummation::kInterpolation ? (y0 + y1) / 2.0
           : summation == AucSummation::kMinoring    ? std::min(y0, y1)
                                                     : std::max(y0, y1);
  };
  if (!confusion_options().multi_label && !(curve == AucCurve::kPR && summation == AucSummation::kInterpolation)) {
    // One label: one streaming pass over the state, no copies (with 1e6 thresholds the
    // copies cost more than the integration). Same arithmetic, in the same order, as the
    // general path below. Variables 2k (int64) and 2k + 1 (float64) hold count k of the
    // constructor's list: tp, fp, tn, fn.
    const auto tpi = vars.i64(0), fpi = vars.i64(2), tni = vars.i64(4), fni = vars.i64(6);
    const auto tpf = vars.f64(1), fpf = vars.f64(3), tnf = vars.f64(5), fnf = vars.f64(7);
    auto at = [&](std::size_t i, double& x, double& y) {
      point(static_cast<double>(tpi[i]) + tpf[i], static_cast<double>(fpi[i]) + fpf[i],
            static_cast<double>(tni[i]) + tnf[i], static_cast<double>(fni[i]) + fnf[i], x, y);
    };
    const std::size_t T = tpi.size();
    double area = 0.0, x0 = 0.0, y0 = 0.0, x1 = 0.0, y1 = 0.0;
    if (T > 0) at(0, x0, y0);
    for (std::size_t i = 0; i + 1 < T; ++i) {
      at(i + 1, x1, y1);
      area += (x0 - x1) * height(y0, y1);
      x0 = x1;
      y0 = y1;
    }
    return Tensor::scalar(area);
  }
  const std::vector<double> tp = count(vars, ConfusionCount::kTruePositives);
  const std::vector<double> fp = count(vars, ConfusionCount::kFalsePositives);
  const std::vector<double> tn = count(vars, ConfusionCount::kTrueNegatives);
  const std::vector<double> fn = count(vars, ConfusionCount::kFalseNegatives);
  const auto T = static_cast<std::size_t>(confusion_options().thresholds.size());
  const std::size_t L = T == 0 ? 1 : tp.size() / T;
  if (L == 0) return Tensor::scalar(0.0);  // multi-label AUC before its first batch
  auto at = [L](std::size_t i, std::size_t l) { return i * L + l; };
  std::vector<double> by_label(L, 0.0);
  for (std::size_t l = 0; l < L; ++l) {
    double area = 0.0;
    if (options().curve == AucCurve::kPR && options().summation_method == AucSummation::kInterpolation) {
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
      for (std::size_t i = 0; i < T; ++i) point(tp[at(i, l)], fp[at(i, l)], tn[at(i, l)], fn[at(i, l)], x[i], y[i]);
      for (std::size_t i = 0; i + 1 < T; ++i) area += (x[i] - x[i + 1]) * height(y[i], y[i + 1]);
    }
    by_label[l] = area;
  }
  if (!confusion_options().multi_label) return Tensor::scalar(by_label[0]);
  if (options().multi_class == AucMultiClass::kOvr && options().average == ClassAverage::kWeighted) {
    // Weighted by support: positives of each class (tp + fn at any threshold).
    double num = 0.0, den = 0.0;
    for (std::size_t l = 0; l < L; ++l) {
      const double support = tp[at(0, l)] + fn[at(0, l)];
      num += by_label[l] * support;
      den += support;
    }
    return Tensor::scalar(divide_no_nan(num, den));
  }
  if (options().label_weights) {
    double num = 0.0, den = 0.0;
    for (std::size_t l = 0; l < L && l < options().label_weights->size(); ++l) {
      num += by_label[l] * (*options().label_weights)[l];
      den += (*options().label_weights)[l];
    }
    return Tensor::scalar(divide_no_nan(num, den));
  }
  double mean = 0.0;
  for (const double a : by_label) mean += a;
  return Tensor::scalar(mean / static_cast<double>(L));
}

// --- curves ----------------------------------------------------------------------------------

namespace {

// AUC's grid and counts for a curve of `num_thresholds` points.
ConfusionOptions curve_confusion(const CurveOptions& c) {
  AucOptions a;
  a.num_thresholds = c.num_thresholds;
  return auc_confusion(a);
}

const std::vector<ConfusionCount>& all_counts() {
  static const std::vector<ConfusionCount> counts{ConfusionCount::kTruePositives, ConfusionCount::kFalsePositives,
                                                  ConfusionCount::kTrueNegatives, ConfusionCount::kFalseNegatives};
  return counts;
}

MetricSpec<CurveOptions> curve_spec(std::string class_name, std::string default_name, std::string doc) {
  using O = CurveOptions;
  return MetricSpec<O>{
      std::move(class_name),
      std::move(default_name),
      std::move(doc),
      Direction::kNone,
      InputContract{"binary", "probabilities", {1, 2, 3}},
      "matrix",
      OptionTable<O>{field("num_thresholds", &O::num_thresholds,
                           "Points of the curve: 0 - eps, i / (T - 1) for 0 < i < T - 1, and 1 + eps (as AUC's grid).",
                           rules::at_least(2)),
                     name_and_dtype<O>()}};
}

// Rows: thresholds, then x(tp, fp, tn, fn) and y(...) at each threshold.
template <class X, class Y>
Tensor curve_result(const ConfusionMetric& m, const std::vector<double>& tp, const std::vector<double>& fp,
                    const std::vector<double>& tn, const std::vector<double>& fn, X x, Y y) {
  const std::vector<double>& t = m.confusion_options().thresholds;
  const std::size_t T = t.size();
  std::vector<double> out(3 * T);
  for (std::size_t i = 0; i < T; ++i) {
    out[i] = t[i];
    out[T + i] = x(tp[i], fp[i], tn[i], fn[i]);
    out[2 * T + i] = y(tp[i], fp[i], tn[i], fn[i]);
  }
  return Tensor::from_vector(std::span<const double>(out), Shape{3, static_cast<std::int64_t>(T)});
}

}  // namespace

const MetricSpec<CurveOptions>& ROCCurve::spec() {
  static const MetricSpec<CurveOptions> spec =
      curve_spec("ROCCurve", "roc_curve", "ROC curve: [thresholds; fpr; tpr], a [3, num_thresholds] matrix.");
  return spec;
}

ROCCurve::ROCCurve(const Options& options) : ConfiguredMetric(options, curve_confusion(options), all_counts()) {}

Tensor ROCCurve::result_from(const Variables& vars) const {
  return curve_result(
      *this, count(vars, ConfusionCount::kTruePositives), count(vars, ConfusionCount::kFalsePositives),
      count(vars, ConfusionCount::kTrueNegatives), count(vars, ConfusionCount::kFalseNegatives),
      [](double, double fp, double tn, double) { return divide_no_nan(fp, fp + tn); },
      [](double tp, double, double, double fn) { return divide_no_nan(tp, tp + fn); });
}

const MetricSpec<CurveOptions>& PrecisionRecallCurve::spec() {
  static const MetricSpec<CurveOptions> spec =
      curve_spec("PrecisionRecallCurve", "precision_recall_curve",
                 "Precision-recall curve: [thresholds; precision; recall], a [3, num_thresholds] matrix.");
  return spec;
}

PrecisionRecallCurve::PrecisionRecallCurve(const Options& options)
    : ConfiguredMetric(options, curve_confusion(options), all_counts()) {}

Tensor PrecisionRecallCurve::result_from(const Variables& vars) const {
  return curve_result(
      *this, count(vars, ConfusionCount::kTruePositives), count(vars, ConfusionCount::kFalsePositives),
      count(vars, ConfusionCount::kTrueNegatives), count(vars, ConfusionCount::kFalseNegatives),
      [](double tp, double fp, double, double) { return tp + fp == 0.0 ? 1.0 : tp / (tp + fp); },
      [](double tp, double, double, double fn) { return divide_no_nan(tp, tp + fn); });
}

// --- X at Y ----------------------------------------------------------------------------------

namespace {

// The range and count of num_thresholds are table rules; the state limit is checked here.
ConfusionOptions rate_options(std::string_view owner, std::int64_t num_thresholds,
                              std::optional<std::int64_t> class_id) {
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

// The spec of one X-at-Y metric: they differ in names, doc and the key of their target.
template <class O>
MetricSpec<O> rate_spec(std::string class_name, std::string default_name, std::string doc, const std::string& key,
                        double O::*target, std::string target_doc) {
  return MetricSpec<O>{
      std::move(class_name),
      std::move(default_name),
      std::move(doc),
      Direction::kHigherIsBetter,
      InputContract{"binary", "probabilities", {1, 2, 3}},
      "scalar",
      OptionTable<O>{required(field(key, target, std::move(target_doc), rules::in_range(0.0, 1.0))),
                     field("num_thresholds", &O::num_thresholds,
                           "Evenly spaced thresholds in [0, 1] searched for the best rate.", rules::at_least(1)),
                     field("class_id", &O::class_id, "Count only this column of multi-class inputs."),
                     name_and_dtype<O>()},
      Json{{key, 0.5}}};
}

}  // namespace

RateAtRateMetric::RateAtRateMetric(std::string name, DType dtype, const std::string& owner, RateAtRate kind,
                                   double target, std::int64_t num_thresholds, std::optional<std::int64_t> class_id)
    : ConfusionMetric(std::move(name), dtype, rate_options(owner, num_thresholds, class_id),
                      {ConfusionCount::kTruePositives, ConfusionCount::kTrueNegatives, ConfusionCount::kFalsePositives,
                       ConfusionCount::kFalseNegatives}),
      kind_(kind),
      target_(target) {}

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

#define TALLY_DEFINE_RATE(Class, snake, target, doc, target_doc)                                                   \
  const MetricSpec<Class##Options>& Class::spec() {                                                                \
    static const MetricSpec<Class##Options> spec =                                                                 \
        rate_spec<Class##Options>(#Class, snake, doc, #target, &Class##Options::target, target_doc);               \
    return spec;                                                                                                   \
  }                                                                                                                \
  Class::Class(const Options& options)                                                                             \
      : ConfiguredMetric(options, spec().class_name, RateAtRate::k##Class, options.target, options.num_thresholds, \
                         options.class_id) {}
TALLY_DEFINE_RATE(SensitivityAtSpecificity, "sensitivity_at_specificity", specificity,
                  "Best sensitivity where specificity >= the target.", "The specificity to reach.")
TALLY_DEFINE_RATE(SpecificityAtSensitivity, "specificity_at_sensitivity", sensitivity,
                  "Best specificity where sensitivity >= the target.", "The sensitivity to reach.")
TALLY_DEFINE_RATE(PrecisionAtRecall, "precision_at_recall", recall, "Best precision where recall >= the target.",
                  "The recall to reach.")
TALLY_DEFINE_RATE(RecallAtPrecision, "recall_at_precision", precision, "Best recall where precision >= the target.",
                  "The precision to reach.")
#undef TALLY_DEFINE_RATE

}  // namespace tally::metrics
