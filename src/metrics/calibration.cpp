// The calibration family: ExpectedCalibrationError (TorchMetrics' CalibrationError) and
// BrierScore (scikit-learn's brier_score_loss). docs/metrics.md, "Calibration".

#include "tally/metrics/calibration.h"

#include <algorithm>
#include <cmath>

#include "metrics/kernels/mean_update.h"
#include "metrics/kernels/row_inputs.h"

namespace tally::metrics {
namespace {

using kernels::who;

// Probabilities as float64 rows and the true class of each row. classes == 1 is the
// binary task: p holds P(class 1) and label the 0/1 target.
struct ProbRows {
  std::vector<double> p;
  std::vector<std::int64_t> label;
  std::int64_t rows = 0, classes = 1;
};

ProbRows prob_rows(std::string_view me, const TensorView& y_true, const TensorView& y_pred, bool from_logits) {
  internal::check_not_empty(me, "y_true", y_true);
  internal::check_not_empty(me, "y_pred", y_pred);
  if (y_pred.ndim() < 1 || y_pred.ndim() > 2) {
    throw ShapeError(internal::str_cat(me, ": argument `y_pred` must have shape [N] (binary) or [N, C]; received ",
                                       shape_string(y_pred.shape())));
  }
  internal::check_same_rows(me, "y_true", y_true, "y_pred", y_pred);
  ProbRows out;
  out.rows = y_pred.shape()[0];
  out.classes = y_pred.ndim() == 2 ? y_pred.shape()[1] : 1;
  out.p = Tensor::copy_of(y_pred).to_doubles();
  const std::int64_t n = out.rows, c = out.classes;
  // y_true: one value per row (0/1 targets or class ids), or one-hot rows of the same shape.
  const bool one_hot = c > 1 && y_true.ndim() == 2 && y_true.shape()[1] == c;
  if (!one_hot && y_true.numel() != n) {
    throw ShapeError(internal::str_cat(me, ": argument `y_true` must hold one label per row (shape [N] or [N, 1])",
                                       c > 1 ? " or one-hot rows [N, C]" : "", "; received shape ",
                                       shape_string(y_true.shape()), " for y_pred shape ",
                                       shape_string(y_pred.shape())));
  }
  const std::vector<double> t = Tensor::copy_of(y_true).to_doubles();
  out.label.resize(static_cast<std::size_t>(n));
  for (std::int64_t r = 0; r < n; ++r) {
    std::int64_t label = 0;
    if (one_hot) {
      const double* row = t.data() + r * c;
      label = std::max_element(row, row + c) - row;
    } else {
      const double v = t[static_cast<std::size_t>(r)];
      const double top = c > 1 ? static_cast<double>(c) : 2.0;
      if (!(v >= 0.0 && v < top && v == std::floor(v))) {
        throw InvalidArgument(internal::str_cat(me, ": argument `y_true` must hold ",
                                                c > 1 ? "class ids in [0, " + std::to_string(c) + ")" : "labels 0 or 1",
                                                "; received ", v, " at row ", r));
      }
      label = static_cast<std::int64_t>(v);
    }
    out.label[static_cast<std::size_t>(r)] = label;
  }
  if (from_logits) {
    for (std::int64_t r = 0; r < n; ++r) {
      double* row = out.p.data() + r * c;
      if (c == 1) {
        row[0] = 1.0 / (1.0 + std::exp(-row[0]));
        continue;
      }
      const double m = *std::max_element(row, row + c);
      double s = 0.0;
      for (std::int64_t j = 0; j < c; ++j) s += (row[j] = std::exp(row[j] - m));
      for (std::int64_t j = 0; j < c; ++j) row[j] /= s;
    }
  }
  for (std::size_t i = 0; i < out.p.size(); ++i) {
    if (!(out.p[i] >= 0.0 && out.p[i] <= 1.0)) {
      throw InvalidArgument(internal::str_cat(me, ": argument `y_pred` must hold probabilities in [0, 1]",
                                              from_logits ? "" : " (pass from_logits=True for logits)", "; received ",
                                              out.p[i], " at flat index ", i));
    }
  }
  return out;
}

const InputContract kProbabilities{"binary|sparse_ids|one_hot", "probabilities|logits", {1, 2}};

}  // namespace

// --- ExpectedCalibrationError ---------------------------------------------------------------

namespace {
constexpr std::size_t kBinWeight = 0, kBinConfidence = 1, kBinAccuracy = 2;
}  // namespace

const MetricSpec<ExpectedCalibrationErrorOptions>& ExpectedCalibrationError::spec() {
  using O = ExpectedCalibrationErrorOptions;
  static const MetricSpec<O> spec{
      "ExpectedCalibrationError",
      "expected_calibration_error",
      "Binned calibration error (ECE, RMSCE or MCE), as TorchMetrics' CalibrationError.",
      Direction::kLowerIsBetter,
      kProbabilities,
      "scalar",
      OptionTable<O>{
          field("num_bins", &O::num_bins, "Equal-width confidence bins over [0, 1] (TorchMetrics' n_bins).",
                rules::in_range(1, static_cast<double>(kMaxStateElements / 3 - 1))),
          enum_field("norm", &O::norm, "How per-bin gaps combine: l1 (ECE), l2 (RMSCE) or max (MCE).",
                     std::vector<Spelling<CalibrationNorm>>{
                         {"l1", CalibrationNorm::kL1}, {"l2", CalibrationNorm::kL2}, {"max", CalibrationNorm::kMax}},
                     "one of \"l1\", \"l2\", \"max\""),
          field("from_logits", &O::from_logits, "y_pred are logits: sigmoid (binary) or softmax (multiclass) first."),
          name_and_dtype<O>()}};
  return spec;
}

ExpectedCalibrationError::ExpectedCalibrationError(const Options& options) : ConfiguredMetric(options) {
  const Shape bins{options.num_bins + 1};  // the last bin holds confidence exactly 1
  add_variable("bin_weight", bins, DType::kFloat64, Aggregation::kSum, Domain::kNonNegative);
  add_variable("bin_confidence", bins, DType::kFloat64, Aggregation::kSum, Domain::kNonNegative);
  add_variable("bin_accuracy", bins, DType::kFloat64, Aggregation::kSum, Domain::kNonNegative);
}

void ExpectedCalibrationError::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  const ProbRows in = prob_rows(me, batch.y_true, batch.y_pred, options().from_logits);
  const std::vector<double> w = kernels::row_weights(me, batch.sample_weight, in.rows);
  const std::int64_t bins = options().num_bins, c = in.classes;
  std::vector<double> weight(static_cast<std::size_t>(bins + 1)), conf(weight), acc(weight);
  for (std::int64_t r = 0; r < in.rows; ++r) {
    const auto rr = static_cast<std::size_t>(r);
    const double* row = in.p.data() + r * c;
    double confidence = 0.0, accuracy = 0.0;
    if (c == 1) {  // binary: confidence P(class 1), accuracy the target itself
      confidence = row[0];
      accuracy = static_cast<double>(in.label[rr]);
    } else {  // top label: the first maximum, as torch.max
      const std::int64_t top = std::max_element(row, row + c) - row;
      confidence = row[top];
      accuracy = top == in.label[rr] ? 1.0 : 0.0;
    }
    // bucketize(right=True) - 1 over linspace(0, 1, bins + 1): bin b holds [b/B, (b+1)/B).
    const auto b = static_cast<std::size_t>(
        std::min<double>(std::floor(confidence * static_cast<double>(bins)), static_cast<double>(bins)));
    weight[b] += w[rr];
    conf[b] += w[rr] * confidence;
    acc[b] += w[rr] * accuracy;
  }
  for (std::size_t b = 0; b < weight.size(); ++b) {
    vars.f64(kBinWeight)[b] += weight[b];
    vars.f64(kBinConfidence)[b] += conf[b];
    vars.f64(kBinAccuracy)[b] += acc[b];
  }
}

Tensor ExpectedCalibrationError::result_from(const Variables& vars) const {
  const auto weight = vars.f64(kBinWeight), conf = vars.f64(kBinConfidence), acc = vars.f64(kBinAccuracy);
  double total = 0.0;
  for (const double x : weight) total += x;
  if (total == 0.0) return Tensor::scalar(0.0);
  double l1 = 0.0, l2 = 0.0, mx = 0.0;
  for (std::size_t b = 0; b < weight.size(); ++b) {
    if (weight[b] == 0.0) continue;  // TorchMetrics' nan_to_num: an empty bin has gap 0
    const double gap = std::fabs(acc[b] / weight[b] - conf[b] / weight[b]);
    const double share = weight[b] / total;
    l1 += gap * share;
    l2 += gap * gap * share;
    mx = std::max(mx, gap);
  }
  switch (options().norm) {
    case CalibrationNorm::kL2:
      return Tensor::scalar(std::sqrt(l2));
    case CalibrationNorm::kMax:
      return Tensor::scalar(mx);
    case CalibrationNorm::kL1:
      break;
  }
  return Tensor::scalar(l1);
}

// --- BrierScore ----------------------------------------------------------------------------

const MetricSpec<BasicOptions>& BrierScore::spec() {
  static const MetricSpec<BasicOptions> spec{
      "BrierScore",
      "brier_score",
      "Mean squared error of probabilities against one-hot targets, as scikit-learn's brier_score_loss.",
      Direction::kLowerIsBetter,
      InputContract{"binary|sparse_ids|one_hot", "probabilities", {1, 2}},
      "scalar",
      OptionTable<BasicOptions>{}};
  return spec;
}

BrierScore::BrierScore(const Options& options) : ConfiguredMetric(options) {}

void BrierScore::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  const ProbRows in = prob_rows(me, batch.y_true, batch.y_pred, false);
  Tensor values(DType::kFloat64, {in.rows});
  double* out = values.data_as<double>();
  for (std::int64_t r = 0; r < in.rows; ++r) {
    const double* row = in.p.data() + r * in.classes;
    const std::int64_t label = in.label[static_cast<std::size_t>(r)];
    if (in.classes == 1) {
      const double d = row[0] - static_cast<double>(label);
      out[r] = d * d;
      continue;
    }
    double s = 0.0;
    for (std::int64_t j = 0; j < in.classes; ++j) {
      const double d = row[j] - (j == label ? 1.0 : 0.0);
      s += d * d;
    }
    out[r] = s;
  }
  kernels::add_samplewise(vars, me, values, batch.sample_weight);
}

}  // namespace tally::metrics
