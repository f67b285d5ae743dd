#include "tally/metrics/classification.h"

#include <bit>
#include <cmath>

#include "internal/check.h"
#include "metrics/kernels/class_confusion.h"
#include "metrics/kernels/class_confusion_math.h"
#include "metrics/kernels/mean_update.h"

namespace tally::metrics {
namespace {

using internal::str_cat;
using kernels::who;

kernels::ClassConfusionOptions kernel_options(std::int64_t classes, bool multilabel, double threshold) {
  return kernels::ClassConfusionOptions{classes, multilabel, threshold};
}

// The class count: at least 2 classes (1 label for multi-label), and a table within the state limit.
template <class O>
OptionField<O> classes_field(std::int64_t O::*member, const char* key, std::string doc, double min) {
  constexpr std::int64_t kMax =
      8192;  // C * C, twice (int64 and float64), within kMaxStateElements (2^27); 4 L + 2 is smaller
  return field(key, member, std::move(doc), rules::at_least(min),
               OptionRule{str_cat("<= ", kMax, " (the count table, twice, within tally's state limit of ",
                                  kMaxStateElements, " elements)"),
                          [](const Json& v) { return v.is_number() && v.get<double>() <= static_cast<double>(kMax); },
                          RuleError::kValue});
}

template <class O>
OptionField<O> threshold_field() {
  return field("threshold", &O::threshold,
               "Binary probabilities (num_classes = 2, y_pred [N]) and multi-label scores are positive when strictly "
               "above it.",
               rules::in_range(0.0, 1.0));
}

// Class ids, or binary labels, against scores, probabilities or predicted ids.
InputContract multiclass_inputs() { return InputContract{"binary|sparse_ids", "probabilities|scores|ids", {1, 2}}; }

Tensor vector_or_scalar(const std::vector<double>& v, bool vector) {
  if (vector) return Tensor::from_vector(std::span<const double>(v));
  return Tensor::scalar(v.empty() ? 0.0 : v[0]);
}

}  // namespace

// --- the base ---------------------------------------------------------------------------

ClassConfusionMetric::ClassConfusionMetric(std::string name, DType dtype, const std::string& owner,
                                           std::int64_t classes, bool multilabel, double threshold)
    : Metric(std::move(name), dtype), classes_(classes), multilabel_(multilabel), threshold_(threshold) {
  const std::int64_t cells = kernels::class_confusion_size(kernel_options(classes, multilabel, threshold));
  if (2 * cells > kMaxStateElements) {
    throw InvalidArgument(str_cat(owner, ": ", classes, " classes need ", 2 * cells,
                                  " state elements, past tally's limit of ", kMaxStateElements));
  }
  const Shape shape = multilabel ? Shape{cells} : Shape{classes, classes};
  add_variable("confusion_matrix", shape, DType::kInt64);
  add_variable("weighted_confusion_matrix", shape, DType::kFloat64, Aggregation::kSum, Domain::kNonNegative);
}

std::string ClassConfusionMetric::shared_work_key() const {
  return str_cat("class_confusion|", classes_, "|", multilabel_, "|", std::bit_cast<std::uint64_t>(threshold_));
}

std::shared_ptr<const SharedWork> ClassConfusionMetric::prepare_shared(const Batch& batch) const {
  return std::make_shared<kernels::ClassConfusion>(
      kernels::count_class_confusion(who(*this), kernel_options(classes_, multilabel_, threshold_), batch));
}

void ClassConfusionMetric::accumulate_shared(Variables& vars, const Batch& /*batch*/, const SharedWork& work) const {
  const auto& w = static_cast<const kernels::ClassConfusion&>(work);
  if (w.weighted) {
    const auto out = vars.f64(1);
    for (std::size_t i = 0; i < out.size(); ++i) out[i] += w.weights[i];
  } else {
    const auto out = vars.i64(0);
    for (std::size_t i = 0; i < out.size(); ++i) out[i] += w.counts[i];
  }
}

void ClassConfusionMetric::accumulate(Variables& vars, const Batch& batch) const {
  const kernels::ClassConfusion work =
      kernels::count_class_confusion(who(*this), kernel_options(classes_, multilabel_, threshold_), batch);
  accumulate_shared(vars, batch, work);
}

std::vector<double> ClassConfusionMetric::table(const Variables& vars) const {
  const auto ints = vars.i64(0);
  const auto floats = vars.f64(1);
  std::vector<double> out(ints.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(ints[i]) + floats[i];
  return out;
}

// --- ConfusionMatrix ----------------------------------------------------------------------

const MetricSpec<ConfusionMatrixOptions>& ConfusionMatrix::spec() {
  using O = ConfusionMatrixOptions;
  static const MetricSpec<O> spec{
      "ConfusionMatrix",
      "confusion_matrix",
      "Counts of (true, predicted) class pairs, [C, C]; multi-label: [[tn, fp], [fn, tp]] per label, [L, 2, 2].",
      Direction::kNone,
      InputContract{"sparse_ids|binary", "scores|ids|probabilities", {1, 2}},
      "matrix",
      OptionTable<O>{
          required(classes_field(&O::num_classes, "num_classes", "Classes (multi-class) or labels (multi-label).", 1)),
          enum_field("normalize", &O::normalize,
                     "null: counts; \"true\": rows sum to 1; \"pred\": columns sum to 1; \"all\": the table sums to 1.",
                     {{"true", ConfusionNormalize::kTrue},
                      {"pred", ConfusionNormalize::kPred},
                      {"all", ConfusionNormalize::kAll}},
                     "one of null, \"true\", \"pred\", \"all\"", CaseFold::kExact, RuleError::kConfig,
                     std::optional(ConfusionNormalize::kNone)),
          threshold_field<O>(),
          field("multilabel", &O::multilabel, "Rows of 0/1 labels against scores: one 2 x 2 matrix per label."),
          name_and_dtype<O>()},
      Json{{"num_classes", 3}}};
  return spec;
}

ConfusionMatrix::ConfusionMatrix(const Options& options)
    : ConfiguredMetric(options, spec().class_name, options.num_classes, options.multilabel, options.threshold) {
  if (!options.multilabel && options.num_classes < 2) {
    throw InvalidArgument(str_cat("ConfusionMatrix: multi-class inputs need num_classes >= 2; received num_classes=",
                                  options.num_classes));
  }
}

Tensor ConfusionMatrix::result_from(const Variables& vars) const {
  const std::vector<double> t = table(vars);
  const std::int64_t C = classes();
  if (multilabel()) {
    std::vector<double> out(t.begin(), t.begin() + 4 * C);
    for (std::int64_t l = 0; l < C; ++l) {
      kernels::normalize_matrix(std::span<double>(out).subspan(static_cast<std::size_t>(4 * l), 4), 2,
                                options().normalize == ConfusionNormalize::kTrue,
                                options().normalize == ConfusionNormalize::kPred,
                                options().normalize == ConfusionNormalize::kAll);
    }
    return Tensor::from_vector(std::span<const double>(out), Shape{C, 2, 2});
  }
  std::vector<double> out = t;
  kernels::normalize_matrix(out, C, options().normalize == ConfusionNormalize::kTrue,
                            options().normalize == ConfusionNormalize::kPred,
                            options().normalize == ConfusionNormalize::kAll);
  return Tensor::from_vector(std::span<const double>(out), Shape{C, C});
}

// --- MatthewsCorrelationCoefficient and BalancedAccuracy ------------------------------------

namespace {

MetricSpec<ClassCountOptions> count_spec(std::string class_name, std::string default_name, std::string doc) {
  using O = ClassCountOptions;
  return MetricSpec<O>{
      std::move(class_name),
      std::move(default_name),
      std::move(doc),
      Direction::kHigherIsBetter,
      multiclass_inputs(),
      "scalar",
      OptionTable<O>{classes_field(&O::num_classes, "num_classes", "Classes of y_true (2: binary).", 2),
                     threshold_field<O>(), name_and_dtype<O>()}};
}

}  // namespace

const MetricSpec<ClassCountOptions>& MatthewsCorrelationCoefficient::spec() {
  static const MetricSpec<ClassCountOptions> spec =
      count_spec("MatthewsCorrelationCoefficient", "matthews_correlation_coefficient",
                 "Matthews correlation coefficient (multi-class R_K); 0 where undefined.");
  return spec;
}

MatthewsCorrelationCoefficient::MatthewsCorrelationCoefficient(const Options& options)
    : ConfiguredMetric(options, spec().class_name, options.num_classes, false, options.threshold) {}

Tensor MatthewsCorrelationCoefficient::result_from(const Variables& vars) const {
  return Tensor::scalar(kernels::matthews_from_matrix(table(vars), classes()));
}

const MetricSpec<ClassCountOptions>& BalancedAccuracy::spec() {
  static const MetricSpec<ClassCountOptions> spec = count_spec(
      "BalancedAccuracy", "balanced_accuracy", "Mean recall over the classes present in y_true; 0 before any.");
  return spec;
}

BalancedAccuracy::BalancedAccuracy(const Options& options)
    : ConfiguredMetric(options, spec().class_name, options.num_classes, false, options.threshold) {}

Tensor BalancedAccuracy::result_from(const Variables& vars) const {
  return Tensor::scalar(kernels::balanced_accuracy_from_matrix(table(vars), classes()));
}

// --- CohenKappa -------------------------------------------------------------------------------

const MetricSpec<CohenKappaOptions>& CohenKappa::spec() {
  using O = CohenKappaOptions;
  static const MetricSpec<O> spec{
      "CohenKappa",
      "cohen_kappa",
      "Cohen's kappa: agreement beyond chance, unweighted or with linear/quadratic disagreement weights.",
      Direction::kHigherIsBetter,
      multiclass_inputs(),
      "scalar",
      OptionTable<O>{classes_field(&O::num_classes, "num_classes", "Classes of y_true (the rating scale 0..C-1).", 2),
                     enum_field("weights", &O::weights,
                                "null: every disagreement counts 1; \"linear\": |i - j|; \"quadratic\": (i - j)^2.",
                                {{"linear", KappaWeights::kLinear}, {"quadratic", KappaWeights::kQuadratic}},
                                "one of null, \"linear\", \"quadratic\"", CaseFold::kExact, RuleError::kConfig,
                                std::optional(KappaWeights::kNone)),
                     threshold_field<O>(), name_and_dtype<O>()}};
  return spec;
}

CohenKappa::CohenKappa(const Options& options)
    : ConfiguredMetric(options, spec().class_name, options.num_classes, false, options.threshold) {}

Tensor CohenKappa::result_from(const Variables& vars) const {
  const int power = options().weights == KappaWeights::kNone ? 0 : options().weights == KappaWeights::kLinear ? 1 : 2;
  return Tensor::scalar(kernels::kappa_from_matrix(table(vars), classes(), power));
}

// --- Specificity ------------------------------------------------------------------------------

const MetricSpec<SpecificityOptions>& Specificity::spec() {
  using O = SpecificityOptions;
  static const MetricSpec<O> spec{
      "Specificity",
      "specificity",
      "tn / (tn + fp): of class 1 (binary), per class (null) or averaged (micro, macro, weighted).",
      Direction::kHigherIsBetter,
      multiclass_inputs(),
      "vector",
      OptionTable<O>{classes_field(&O::num_classes, "num_classes", "Classes of y_true (2: binary).", 2),
                     enum_field("average", &O::average,
                                "\"binary\": class 1 of two; null: one per class; \"micro\", \"macro\", "
                                "\"weighted\" (by support).",
                                {{"binary", SpecificityAverage::kBinary},
                                 {"micro", SpecificityAverage::kMicro},
                                 {"macro", SpecificityAverage::kMacro},
                                 {"weighted", SpecificityAverage::kWeighted}},
                                "one of \"binary\", null, \"micro\", \"macro\", \"weighted\"", CaseFold::kExact,
                                RuleError::kConfig, std::optional(SpecificityAverage::kNone)),
                     threshold_field<O>(), name_and_dtype<O>()}};
  return spec;
}

Specificity::Specificity(const Options& options)
    : ConfiguredMetric(options, spec().class_name, options.num_classes, false, options.threshold) {
  if (options.average == SpecificityAverage::kBinary && options.num_classes != 2) {
    throw InvalidArgument(str_cat("Specificity: average \"binary\" needs num_classes = 2; received num_classes=",
                                  options.num_classes, " (pass average null, \"micro\", \"macro\" or \"weighted\")"));
  }
}

Tensor Specificity::result_from(const Variables& vars) const {
  const std::vector<double> t = table(vars);
  const std::int64_t C = classes();
  const kernels::PerClass pc = kernels::per_class_counts(t, C);
  switch (options().average) {
    case SpecificityAverage::kBinary:
      return Tensor::scalar(kernels::ratio_or_zero(pc.tn[1], pc.tn[1] + pc.fp[1]));
    case SpecificityAverage::kNone: {
      std::vector<double> out(static_cast<std::size_t>(C));
      for (std::size_t c = 0; c < out.size(); ++c) out[c] = kernels::ratio_or_zero(pc.tn[c], pc.tn[c] + pc.fp[c]);
      return vector_or_scalar(out, true);
    }
    case SpecificityAverage::kMicro: {
      double tn = 0.0, fp = 0.0;
      for (std::size_t c = 0; c < pc.tn.size(); ++c) {
        tn += pc.tn[c];
        fp += pc.fp[c];
      }
      return Tensor::scalar(kernels::ratio_or_zero(tn, tn + fp));
    }
    case SpecificityAverage::kMacro:
    case SpecificityAverage::kWeighted: {
      const bool weighted = options().average == SpecificityAverage::kWeighted;
      double num = 0.0, den = 0.0;
      for (std::size_t c = 0; c < pc.tn.size(); ++c) {
        const double wc = weighted ? pc.tp[c] + pc.fn[c] : 1.0;
        num += wc * kernels::ratio_or_zero(pc.tn[c], pc.tn[c] + pc.fp[c]);
        den += wc;
      }
      return Tensor::scalar(kernels::ratio_or_zero(num, den));
    }
  }
  return Tensor::scalar(0.0);
}

// --- HammingLoss and ExactMatch ---------------------------------------------------------------

namespace {

MetricSpec<MultilabelCountOptions> multilabel_spec(std::string class_name, std::string default_name, std::string doc,
                                                   Direction direction) {
  using O = MultilabelCountOptions;
  return MetricSpec<O>{
      std::move(class_name),
      std::move(default_name),
      std::move(doc),
      direction,
      InputContract{"binary", "probabilities", {1, 2}},
      "scalar",
      OptionTable<O>{required(classes_field(&O::num_labels, "num_labels", "Label columns of y_true and y_pred.", 1)),
                     threshold_field<O>(), name_and_dtype<O>()},
      Json{{"num_labels", 1}}};
}

}  // namespace

const MetricSpec<MultilabelCountOptions>& HammingLoss::spec() {
  static const MetricSpec<MultilabelCountOptions> spec =
      multilabel_spec("HammingLoss", "hamming_loss", "Fraction of labels predicted wrong (multi-label rows).",
                      Direction::kLowerIsBetter);
  return spec;
}

HammingLoss::HammingLoss(const Options& options)
    : ConfiguredMetric(options, spec().class_name, options.num_labels, true, options.threshold) {}

Tensor HammingLoss::result_from(const Variables& vars) const {
  const std::vector<double> t = table(vars);
  double wrong = 0.0, all = 0.0;
  for (std::int64_t l = 0; l < classes(); ++l) {
    const auto* cell = t.data() + 4 * l;
    wrong += cell[1] + cell[2];
    all += cell[0] + cell[1] + cell[2] + cell[3];
  }
  return Tensor::scalar(kernels::ratio_or_zero(wrong, all));
}

const MetricSpec<MultilabelCountOptions>& ExactMatch::spec() {
  static const MetricSpec<MultilabelCountOptions> spec =
      multilabel_spec("ExactMatch", "exact_match", "Fraction of rows whose labels all match (subset accuracy).",
                      Direction::kHigherIsBetter);
  return spec;
}

ExactMatch::ExactMatch(const Options& options)
    : ConfiguredMetric(options, spec().class_name, options.num_labels, true, options.threshold) {}

Tensor ExactMatch::result_from(const Variables& vars) const {
  const std::vector<double> t = table(vars);
  return Tensor::scalar(kernels::ratio_or_zero(t[t.size() - 2], t[t.size() - 1]));
}

}  // namespace tally::metrics
