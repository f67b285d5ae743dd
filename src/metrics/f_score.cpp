#include "tally/metrics/f_score.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "internal/check.h"
#include "internal/parallel.h"
#include "metrics/kernels/class_confusion.h"
#include "metrics/kernels/f_score_counts.h"

namespace tally::metrics {
namespace {

using kernels::kernel_pred;
using kernels::kernel_true;
using kernels::Partial;
using kernels::round_to_dtype;
using kernels::weight_array;
using kernels::WeightArray;

using internal::str_cat;

constexpr const char* kVariableNames[4] = {"true_positives", "false_positives", "false_negatives",
                                           "intermediate_weights"};

std::int64_t state_classes(const Variables& vars) {
  const Shape& shape = vars.layout()[0].shape;
  return shape.empty() ? -1 : shape[0];  // -1: micro (scalars)
}

std::shared_ptr<const VariableLayout> layout_for(Shape shape) {
  auto layout = std::make_shared<VariableLayout>();
  for (const char* name : kVariableNames) layout->push_back(Variable{name, shape, DType::kFloat64, Aggregation::kSum});
  return layout;
}

// Keras's spellings of `average`; null (absent) is FScoreAverage::kNone.
const std::vector<Spelling<FScoreAverage>>& average_spellings() {
  static const std::vector<Spelling<FScoreAverage>> spellings{
      {"micro", FScoreAverage::kMicro}, {"macro", FScoreAverage::kMacro}, {"weighted", FScoreAverage::kWeighted}};
  return spellings;
}

constexpr const char* kAverageRule = "one of null, \"micro\", \"macro\", \"weighted\"";

// The options F1Score and FBetaScore share, declared once for both tables.
template <class O>
OptionField<O> average_field() {
  OptionField<O> f = enum_field("average", &O::average,
                                "How per-class scores combine: null (one per class), micro, macro or weighted.",
                                average_spellings(), kAverageRule);
  f.info.nullable = true;  // null is Keras's None: one score per class
  return f;
}

template <class O>
OptionField<O> threshold_field() {
  return field(
      "threshold", &O::threshold,
      "Scores strictly above it are positive; null: the row's maximum (ties give several ones).",
      OptionRule{"in (0, 1]",
                 [](const Json& v) { return v.is_number() && v.get<double>() > 0.0 && v.get<double>() <= 1.0; },
                 RuleError::kValue});
}

template <class O>
OptionField<O> num_classes_field() {
  // Four variables per class must fit tally's state limit.
  constexpr std::int64_t kMaxClasses = kMaxStateElements / 4;
  return listed_when_set(field(
      "num_classes", &O::num_classes,
      "tally extension: the class count, fixing the state before the first batch (needed to merge states).",
      rules::at_least(1),
      OptionRule{str_cat("<= ", kMaxClasses, " (4 state entries per class, within tally's limit of ", kMaxStateElements,
                         " elements)"),
                 [](const Json& v) { return v.is_number() && v.get<double>() <= static_cast<double>(kMaxClasses); },
                 RuleError::kValue}));
}

// Rows per chunk: fixed by the class count, so sums do not depend on the thread count (and
// the id path adds in the same order as the one-hot path).
std::int64_t rows_per_chunk(std::int64_t classes) { return std::max<std::int64_t>(1, internal::kChunkSize / classes); }

// Rows per chunk of an unweighted batch of class ids (counts are exact in any order).
constexpr std::int64_t kUnweightedIdChunk = std::int64_t{1} << 16;

// Chunk partials [tp | predicted positive | support] -> totals [tp | fp | fn | support].
std::vector<double> combine_partials(const std::vector<Partial>& partials, std::int64_t classes) {
  const std::size_t c_size = static_cast<std::size_t>(classes);
  std::vector<double> total(4 * c_size, 0.0);
  for (const Partial& part : partials) {
    for (std::size_t c = 0; c < c_size; ++c) {
      const double tp = part.sums[c];
      const double predicted = part.sums[c_size + c];
      const double support = part.sums[2 * c_size + c];
      total[c] += tp;
      total[c_size + c] += predicted - tp;
      total[2 * c_size + c] += support - tp;
      total[3 * c_size + c] += support;
    }
  }
  return total;
}

// Rows of labels (one-hot, multi-label or soft) against rows of scores.
InputContract f_score_inputs() { return InputContract{"one_hot|binary", "probabilities", {2}}; }

}  // namespace

Json f_score_average_to_json(FScoreAverage average) {
  for (const auto& s : average_spellings()) {
    if (s.value == average) return std::string(s.name);
  }
  return nullptr;
}

FScoreAverage f_score_average_from_json(const Json& value, std::string_view owner) {
  if (value.is_null()) return FScoreAverage::kNone;
  if (value.is_string()) {
    for (const auto& s : average_spellings()) {
      if (s.name == value.get<std::string>()) return s.value;
    }
  }
  detail::throw_option(RuleError::kConfig, detail::option_owner(owner, {}), "average", kAverageRule, value);
}

// --- FScoreMetric ------------------------------------------------------------------

FScoreMetric::FScoreMetric(std::string name, DType dtype, FScoreAverage average, double beta,
                           std::optional<double> threshold, std::optional<std::int64_t> num_classes)
    : Metric(std::move(name), dtype), average_(average), beta_(beta), threshold_(threshold), num_classes_(num_classes) {
  // Micro holds scalars; otherwise one entry per class, or none until the first batch fixes C.
  const Shape shape = average_ == FScoreAverage::kMicro ? Shape{} : Shape{num_classes_.value_or(0)};
  for (const char* var : kVariableNames) add_variable(var, shape);
}

void FScoreMetric::accumulate(Variables& vars, const Batch& input) const {
  const std::string me = str_cat(class_name(), " \"", name(), "\"");
  // 0. Integer labels (tally extension, docs/keras-differences.md §18): with num_classes, y_true of class ids [N] (or
  // [N, 1]) is scored against y_pred [N] ids or [N, C] scores, the predicted class being the argmax (ties to the first
  // index) unless a threshold is set, as scikit-learn scores labels. They are counted from the ids directly; a batch
  // that path cannot take (scores with a threshold, other score dtypes) or rejects (a bad id, NaN, a bad weight)
  // becomes one-hot rows below, counted as multi-label rows and rejected with their errors.
  const std::int64_t held = state_classes(vars);
  Batch batch = input;
  Tensor truth_rows, pred_rows;
  const bool ids =
      num_classes_ && input.y_true.has_value() &&
      (input.y_true.ndim() == 1 || (input.y_true.ndim() == 2 && input.y_true.shape()[1] == 1 && *num_classes_ > 1));
  if (ids) {
    if (const auto total = id_totals(me, input, held)) {
      add_totals(vars, *total, *num_classes_, held);
      return;
    }
    internal::check_present(me, "y_pred", input.y_pred);
    truth_rows = kernels::one_hot_ids(me, "y_true", input.y_true, *num_classes_);
    batch.y_true = truth_rows.view();
    TensorView pred = input.y_pred;
    if (pred.ndim() == 2 && pred.shape()[1] == 1 && *num_classes_ > 1) pred = pred.squeeze(1);
    if (pred.ndim() == 1) {
      pred_rows = kernels::one_hot_ids(me, "y_pred", pred, *num_classes_);
      batch.y_pred = pred_rows.view();
    } else if (pred.ndim() == 2 && pred.shape()[1] == *num_classes_ && !threshold_) {
      pred_rows = kernels::one_hot_argmax(me, "y_pred", pred);
      batch.y_pred = pred_rows.view();
    }
  }
  // 1. Validate everything before computing or writing.
  internal::check_present(me, "y_true", batch.y_true);
  internal::check_present(me, "y_pred", batch.y_pred);
  if (batch.y_true.ndim() != 2 || batch.y_pred.ndim() != 2) {
    throw ShapeError(str_cat(me,
                             ": expects 2D inputs of shape (batch_size, num_classes), or class ids [N] with the "
                             "num_classes option; received y_true shape ",
                             shape_string(batch.y_true.shape()), ", y_pred shape ",
                             shape_string(batch.y_pred.shape())));
  }
  internal::check_same_rows(me, "y_true", batch.y_true, "y_pred", batch.y_pred);
  internal::check_same_shape(me, "y_true", batch.y_true, "y_pred", batch.y_pred);
  const std::int64_t rows = batch.y_pred.shape()[0];
  const std::int64_t classes = batch.y_pred.shape()[1];
  if (classes < 1) {
    throw ShapeError(str_cat(me, ": argument `y_pred` must have at least one class column; received shape ",
                             shape_string(batch.y_pred.shape())));
  }
  internal::check_not_empty(me, "y_pred", batch.y_pred);  // an empty batch is an error (docs/guide.md)
  if (classes > kMaxStateElements / 4) {
    throw ShapeError(str_cat(me, ": argument `y_pred` has ", classes,
                             " class columns; the state would pass tally's limit of ", kMaxStateElements, " elements"));
  }
  if (num_classes_ && classes != *num_classes_) {
    throw ShapeError(str_cat(me, ": argument `y_pred` must have num_classes = ", *num_classes_,
                             " columns; received shape ", shape_string(batch.y_pred.shape())));
  }
  if (held > 0 && classes != held) {
    throw ShapeError(str_cat(me, ": the first batch fixed the number of classes at ", held,
                             "; argument `y_pred` has shape ", shape_string(batch.y_pred.shape())));
  }
  const TensorView weight = broadcast_weight(me, batch.sample_weight, rows, classes);
  // Kernel inputs: y_pred float32/float64 already in the metric dtype, y_true float or int,
  // contiguous. Anything else (strided views, other dtypes) is converted once here.
  Tensor pred_copy;
  Tensor true_copy;
  const DType dt = dtype();
  const TensorView y_pred = kernel_pred(batch.y_pred, dt, pred_copy);
  const TensorView y_true = kernel_true(batch.y_true, true_copy);
  const WeightArray w = weight_array(weight, rows, classes);

  // 2. The batch's contribution, chunked by rows so the sums do not depend on threads.
  const std::optional<double> threshold =
      threshold_ ? std::optional<double>(round_to_dtype(*threshold_, dt)) : std::nullopt;
  const double zero_guard = round_to_dtype(1e-9, dt);
  const std::size_t c_size = static_cast<std::size_t>(classes);
  Partial init;
  init.sums.assign(3 * c_size, 0.0);
  std::vector<Partial> partials = internal::chunk_partials(
      rows, init,
      [&](std::int64_t rb, std::int64_t re, Partial& acc) {
        acc.nan = count_rows(y_pred, y_true, w, threshold, zero_guard, rb, re, classes, acc.sums.data());
      },
      rows_per_chunk(classes));
  for (const Partial& part : partials) {
    if (part.nan) {
      throw InvalidArgument(str_cat(me, ": arguments `y_true` and `y_pred` must not contain NaN; received y_true ",
                                    batch.y_true.describe(), ", y_pred ", batch.y_pred.describe()));
    }
  }
  // 3. Add it to the state (the first batch fixes C when num_classes was not given).
  add_totals(vars, combine_partials(partials, classes), classes, held);
}

TensorView FScoreMetric::broadcast_weight(const std::string& me, const TensorView& sample_weight, std::int64_t rows,
                                          std::int64_t classes) const {
  if (!sample_weight.has_value()) return {};
  TensorView w = sample_weight;
  // Keras expands a lower-rank weight with trailing unit axes, then broadcasts to [N, C].
  while (w.ndim() < 2) w = w.expand_dims(w.ndim());
  TensorView weight;
  try {
    weight = w.broadcast_to(Shape{rows, classes});
  } catch (const ShapeError&) {
    throw ShapeError(str_cat(me,
                             ": argument `sample_weight` must be a scalar or have shape [N], [N, 1] or [N, C] "
                             "for inputs of shape ",
                             shape_string(Shape{rows, classes}), "; received shape ",
                             shape_string(sample_weight.shape())));
  }
  internal::check_sample_weight_values(me, sample_weight);
  return weight;
}

std::optional<std::vector<double>> FScoreMetric::id_totals(const std::string& me, const Batch& input,
                                                           std::int64_t held) const {
  const std::int64_t classes = *num_classes_;
  TensorView truth = input.y_true;
  if (truth.ndim() == 2) truth = truth.squeeze(1);  // [N, 1] (the caller admits no other 2D form)
  TensorView pred = input.y_pred;
  if (!pred.has_value()) return std::nullopt;
  if (pred.ndim() == 2 && pred.shape()[1] == 1 && classes > 1) pred = pred.squeeze(1);
  const bool scores = pred.ndim() == 2;
  if (scores && (pred.shape()[1] != classes || threshold_ ||
                 (pred.dtype() != DType::kFloat32 && pred.dtype() != DType::kFloat64))) {
    return std::nullopt;  // thresholded scores, or a dtype the SIMD argmax does not read
  }
  if (pred.ndim() == 0 || pred.ndim() > 2) return std::nullopt;
  const std::int64_t rows = truth.shape()[0];
  if (rows == 0 || pred.shape()[0] != rows || (held > 0 && held != classes)) return std::nullopt;
  TensorView weight;
  try {
    weight = broadcast_weight(me, input.sample_weight, rows, classes);
  } catch (const Error&) {
    return std::nullopt;  // the one-hot path reports bad ids first, then this
  }
  kernels::IdRows id_rows(truth, pred, classes, weight);
  kernels::IdRowsInput& in = id_rows.in;
  // Predicted ids are the 1 of a one-hot row, positive unless a threshold rounds to 1 or above.
  in.predict = !threshold_ || 1.0 > round_to_dtype(*threshold_, dtype());
  Partial init;
  init.sums.assign(static_cast<std::size_t>(3 * classes), 0.0);
  // Weighted sums are chunked as the one-hot path chunks them (same order); unweighted ones
  // are whole numbers, exact in any order, so they take longer chunks (fewer partials and
  // count tables per batch: 1e7 rows of 10 classes were 3052 chunks).
  const std::int64_t chunk =
      in.weight == nullptr ? std::max(rows_per_chunk(classes), kUnweightedIdChunk) : rows_per_chunk(classes);
  const std::vector<Partial> partials = internal::chunk_partials(
      rows, init,
      [&](std::int64_t rb, std::int64_t re, Partial& acc) {
        acc.nan = !kernels::count_id_rows(in, rb, re, acc.sums.data());
      },
      chunk);
  for (const Partial& part : partials) {
    if (part.nan) return std::nullopt;
  }
  return combine_partials(partials, classes);
}

void FScoreMetric::add_totals(Variables& vars, const std::vector<double>& total, std::int64_t classes,
                              std::int64_t held) const {
  const std::size_t c_size = static_cast<std::size_t>(classes);
  if (average_ == FScoreAverage::kMicro) {
    for (std::size_t k = 0; k < 4; ++k) {
      double s = 0.0;
      for (std::size_t c = 0; c < c_size; ++c) s += total[k * c_size + c];
      vars.f64(k)[0] += s;
    }
    return;
  }
  if (held == 0) vars = Variables(layout_for(Shape{classes}));
  for (std::size_t k = 0; k < 4; ++k) {
    std::span<double> v = vars.f64(k);
    for (std::size_t c = 0; c < c_size; ++c) v[c] += total[k * c_size + c];
  }
}

Tensor FScoreMetric::result_from(const Variables& vars) const {
  const double beta2 = beta_ * beta_;
  const std::span<const double> tp = vars.f64(0);
  const std::span<const double> fp = vars.f64(1);
  const std::span<const double> fn = vars.f64(2);
  const std::span<const double> support = vars.f64(3);
  std::vector<double> f(tp.size());
  for (std::size_t c = 0; c < tp.size(); ++c) f[c] = kernels::f_beta_from_counts(tp[c], fp[c], fn[c], beta2);
  switch (average_) {
    case FScoreAverage::kNone:
      return Tensor::from_vector(std::span<const double>(f));
    case FScoreAverage::kMicro:
      return Tensor::scalar(f[0]);
    case FScoreAverage::kMacro: {
      if (f.empty()) return Tensor::scalar(0.0);
      double s = 0.0;
      for (const double x : f) s += x;
      return Tensor::scalar(s / static_cast<double>(f.size()));
    }
    case FScoreAverage::kWeighted: {
      double total = 0.0;
      for (const double x : support) total += x;
      double s = 0.0;
      for (std::size_t c = 0; c < f.size(); ++c) s += f[c] * (support[c] / (total + kernels::kKerasEpsilon));
      return Tensor::scalar(s);
    }
  }
  return Tensor::scalar(0.0);
}

// --- FBetaScore and F1Score ----------------------------------------------------------

const MetricSpec<FBetaScoreOptions>& FBetaScore::spec() {
  using O = FBetaScoreOptions;
  static const MetricSpec<O> spec{
      "FBetaScore", "fbeta_score",
      "F-beta score per class or averaged (micro, macro, weighted), threshold or argmax binarisation.",
      Direction::kHigherIsBetter, f_score_inputs(), "vector",
      OptionTable<O>{
          average_field<O>(),
          field("beta", &O::beta, "Weight of recall against precision.", rules::greater_than(0.0), rules::finite()),
          threshold_field<O>(), name_and_dtype<O>(), num_classes_field<O>()},
      // Fixed classes, so that a fresh metric can take any state (an unbuilt one holds nothing).
      Json{{"num_classes", 3}}};
  return spec;
}

FBetaScore::FBetaScore(const Options& options)
    : ConfiguredMetric(options, options.average, options.beta, options.threshold, options.num_classes) {}

const MetricSpec<F1ScoreOptions>& F1Score::spec() {
  using O = F1ScoreOptions;
  static const MetricSpec<O> spec{
      "F1Score",
      "f1_score",
      "F1 score per class or averaged (micro, macro, weighted), threshold or argmax binarisation.",
      Direction::kHigherIsBetter,
      f_score_inputs(),
      "vector",
      OptionTable<O>{average_field<O>(), threshold_field<O>(), name_and_dtype<O>(), num_classes_field<O>()},
      Json{{"num_classes", 3}}};
  return spec;
}

F1Score::F1Score(const Options& options)
    : ConfiguredMetric(options, options.average, 1.0, options.threshold, options.num_classes) {}

}  // namespace tally::metrics
