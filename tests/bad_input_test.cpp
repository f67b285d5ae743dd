// The bad-input matrix (issue 10): every built-in metric of the registry is fed one
// valid batch, then each bad batch of a fixed list. The outcome of every (metric, case)
// pair is pinned in expected() below and documented in docs/reliability.md. Whatever the
// outcome, a rejected batch must throw a tally::Error subclass whose message names the
// metric's class and the argument at fault, and must leave the state and the result
// bit for bit as they were. Bad configs are checked through the registry.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tally/error.h"
#include "tally/metric.h"
#include "tally/registry.h"

namespace tally {
namespace {

constexpr std::int64_t kRows = 6;
constexpr std::int64_t kClasses = 3;

// How a metric's inputs look.
enum class Kind {
  kValues,      // y_true absent, y_pred [N] values (Mean, Sum)
  kRegression,  // y_true, y_pred [N, 2] positive floats
  kRows4,       // y_true, y_pred [N, 4] floats (correlations, cosine similarity)
  kColumn,      // y_true, y_pred [N, 1] floats (R2Score)
  kBinary,      // y_true [N, 1] in {0, 1}, y_pred [N, 1] scores in [0, 1)
  kOneHot,      // y_true [N, C] one-hot, y_pred [N, C] probabilities
  kSparse,      // y_true [N] int64 ids, y_pred [N, C] probabilities
  kIds,         // y_true, y_pred [N] int64 ids
  kRanking,     // y_true [N, 1] in {0, 1}, y_pred [N, 1] scores, query_ids [N] (queries of 3 rows)
};

bool has_classes(Kind k) { return k == Kind::kBinary || k == Kind::kSparse || k == Kind::kIds || k == Kind::kRanking; }

struct Setup {
  Kind kind;
  Json config;
};

// A config that makes each built-in metric usable, and the inputs it takes.
const std::map<std::string, Setup>& setups() {
  static const std::map<std::string, Setup> table = {
      {"Sum", {Kind::kValues, Json::object()}},
      {"Mean", {Kind::kValues, Json::object()}},
      {"MeanMetricWrapper", {Kind::kRegression, Json{{"fn", "mean_squared_error"}}}},
      {"Accuracy", {Kind::kIds, Json::object()}},
      {"BinaryAccuracy", {Kind::kBinary, Json::object()}},
      {"CategoricalAccuracy", {Kind::kOneHot, Json::object()}},
      {"SparseCategoricalAccuracy", {Kind::kSparse, Json::object()}},
      {"TopKCategoricalAccuracy", {Kind::kOneHot, Json{{"k", 2}}}},
      {"SparseTopKCategoricalAccuracy", {Kind::kSparse, Json{{"k", 2}}}},
      {"MeanSquaredError", {Kind::kRegression, Json::object()}},
      {"MeanAbsoluteError", {Kind::kRegression, Json::object()}},
      {"MeanAbsolutePercentageError", {Kind::kRegression, Json::object()}},
      {"MeanSquaredLogarithmicError", {Kind::kRegression, Json::object()}},
      {"RootMeanSquaredError", {Kind::kRegression, Json::object()}},
      {"LogCoshError", {Kind::kRegression, Json::object()}},
      {"CosineSimilarity", {Kind::kRows4, Json::object()}},
      {"R2Score", {Kind::kColumn, Json::object()}},
      {"BinaryCrossentropy", {Kind::kBinary, Json::object()}},
      {"CategoricalCrossentropy", {Kind::kOneHot, Json::object()}},
      {"SparseCategoricalCrossentropy", {Kind::kSparse, Json::object()}},
      {"KLDivergence", {Kind::kOneHot, Json::object()}},
      {"Poisson", {Kind::kRegression, Json::object()}},
      {"MeanPinballLoss", {Kind::kRegression, Json{{"alpha", 0.9}}}},
      {"Hinge", {Kind::kBinary, Json::object()}},
      {"SquaredHinge", {Kind::kBinary, Json::object()}},
      {"CategoricalHinge", {Kind::kOneHot, Json::object()}},
      {"PearsonCorrelation", {Kind::kRows4, Json::object()}},
      {"ConcordanceCorrelation", {Kind::kRows4, Json::object()}},
      {"TruePositives", {Kind::kBinary, Json::object()}},
      {"FalsePositives", {Kind::kBinary, Json::object()}},
      {"TrueNegatives", {Kind::kBinary, Json::object()}},
      {"FalseNegatives", {Kind::kBinary, Json::object()}},
      {"Precision", {Kind::kBinary, Json::object()}},
      {"Recall", {Kind::kBinary, Json::object()}},
      {"AUC", {Kind::kBinary, Json::object()}},
      {"SensitivityAtSpecificity", {Kind::kBinary, Json{{"specificity", 0.5}}}},
      {"SpecificityAtSensitivity", {Kind::kBinary, Json{{"sensitivity", 0.5}}}},
      {"PrecisionAtRecall", {Kind::kBinary, Json{{"recall", 0.5}}}},
      {"RecallAtPrecision", {Kind::kBinary, Json{{"precision", 0.5}}}},
      {"F1Score", {Kind::kOneHot, Json::object()}},
      {"FBetaScore", {Kind::kOneHot, Json::object()}},
      {"IoU", {Kind::kIds, Json{{"num_classes", kClasses}, {"target_class_ids", {0, 1}}}}},
      {"BinaryIoU", {Kind::kBinary, Json::object()}},
      {"MeanIoU", {Kind::kIds, Json{{"num_classes", kClasses}}}},
      {"OneHotIoU", {Kind::kOneHot, Json{{"num_classes", kClasses}, {"target_class_ids", {0, 1}}}}},
      {"OneHotMeanIoU", {Kind::kOneHot, Json{{"num_classes", kClasses}}}},
      {"ROCCurve", {Kind::kBinary, Json::object()}},
      {"PrecisionRecallCurve", {Kind::kBinary, Json::object()}},
      {"ConfusionMatrix", {Kind::kSparse, Json{{"num_classes", kClasses}}}},
      {"MatthewsCorrelationCoefficient", {Kind::kBinary, Json::object()}},
      {"CohenKappa", {Kind::kBinary, Json::object()}},
      {"BalancedAccuracy", {Kind::kBinary, Json::object()}},
      {"Specificity", {Kind::kBinary, Json::object()}},
      {"HammingLoss", {Kind::kBinary, Json{{"num_labels", 1}}}},
      {"ExactMatch", {Kind::kBinary, Json{{"num_labels", 1}}}},
      // Beyond Keras (issue 17).
      {"ExplainedVariance", {Kind::kRegression, Json{{"num_outputs", 2}}}},
      {"MaxError", {Kind::kRegression, Json::object()}},
      {"SymmetricMeanAbsolutePercentageError", {Kind::kRegression, Json::object()}},
      {"WeightedMeanAbsolutePercentageError", {Kind::kRegression, Json::object()}},
      {"TweedieDeviance", {Kind::kRegression, Json{{"power", 1.5}}}},
      {"ExpectedCalibrationError", {Kind::kBinary, Json::object()}},
      {"BrierScore", {Kind::kBinary, Json::object()}},
      {"Classwise",
       {Kind::kOneHot, Json{{"metric", {{"class_name", "F1Score"}, {"config", {{"num_classes", kClasses}}}}},
                            {"labels", {"a", "b", "c"}}}}},
      // Function entries of the catalog (MeanMetricWrapper over a Keras function).
      {"log_cosh", {Kind::kRegression, Json::object()}},
      {"huber", {Kind::kRegression, Json::object()}},
      {"binary_focal_crossentropy", {Kind::kBinary, Json::object()}},
      {"categorical_focal_crossentropy", {Kind::kOneHot, Json::object()}},
      {"NDCG", {Kind::kRanking, Json::object()}},
      {"MeanAveragePrecision", {Kind::kRanking, Json::object()}},
      {"MeanReciprocalRank", {Kind::kRanking, Json::object()}},
      {"PrecisionAtK", {Kind::kRanking, Json{{"k", 2}}}},
      {"RecallAtK", {Kind::kRanking, Json{{"k", 2}}}},
      {"HitRate", {Kind::kRanking, Json{{"k", 2}}}},
      {"BootstrapInterval", {Kind::kBinary, Json{{"metric", "binary_accuracy"}, {"num_resamples", 20}}}},
  };
  return table;
}

// The bad-input cases, in the column order of expected() and of docs/reliability.md.
enum Case : int {
  kRank0,          // y_true and y_pred 0-d
  kRankPlusOne,    // y_true and y_pred with an extra trailing axis of size 2
  kRowMismatch,    // y_pred has one row less than y_true
  kWeightShape,    // sample_weight has one row more than the batch
  kBoolPred,       // y_pred of dtype bool
  kIntPred,        // y_pred of dtype int64 (values 0 and 1)
  kNanPred,        // one y_pred element NaN
  kInfPred,        // one y_pred element +inf
  kNanWeight,      // one sample_weight NaN
  kNegWeight,      // one sample_weight -1
  kEmpty,          // 0 rows
  kLabelTooBig,    // a label >= num_classes (2 for binary labels)
  kLabelNegative,  // a label -1
  kNanTrue,        // one y_true element NaN (class ids given as float64)
  kHugeLabel,      // a y_true class id of 1e30 as float64 (no integer type holds it)
  kNumCases,
};

const char* const kCaseNames[kNumCases] = {"rank 0",      "rank + 1",        "rows differ", "weight shape",
                                           "bool y_pred", "int64 y_pred",    "NaN y_pred",  "+inf y_pred",
                                           "NaN weight",  "negative weight", "empty batch", "label >= C",
                                           "label < 0",   "NaN y_true",      "label 1e30"};

// The argument a message must name for each case (any of the listed).
const std::vector<std::string>& case_arguments(int c) {
  static const std::vector<std::string> both{"y_true", "y_pred", "values"};
  static const std::vector<std::string> pred{"y_pred", "values"};
  static const std::vector<std::string> weight{"sample_weight"};
  static const std::vector<std::string> truth{"y_true"};
  switch (c) {
    case kWeightShape:
    case kNanWeight:
    case kNegWeight:
      return weight;
    case kBoolPred:
    case kIntPred:
    case kNanPred:
    case kInfPred:
      return pred;
    case kLabelTooBig:
    case kLabelNegative:
    case kNanTrue:
    case kHugeLabel:
      return truth;
    default:
      return both;
  }
}

// Outcome codes (one character each, so a metric's row reads at a glance):
//   A  accepted, finite result        N  accepted, result NaN or infinite
//   S  ShapeError                     D  DTypeError
//   I  InvalidArgument (exactly)      C  ConfigError
//   E  another tally::Error           X  an exception that is not a tally::Error (a defect)
//   -  not applicable (no class ids, or no y_true to mismatch)
// An accepted empty batch must also be a no-op (checked separately).
using Row = std::string;

// Column order: rank0, rank+1, rows, weight shape, bool, int64, NaN, +inf, NaN w, neg w,
// empty, label >= C, label < 0, NaN y_true, label 1e30. docs/reliability.md explains each family's row; a change
// here is a behaviour change and must be made there too.
const std::map<std::string, Row>& expected() {
  static const std::map<std::string, Row> table = {
      {"Sum", "AA-SAANNIII----"},
      {"Mean", "AA-SAANNIII----"},
      {"MeanMetricWrapper", "SASSAANNIII--N-"},
      {"Accuracy", "AASSAAAAIIIAAAA"},
      {"BinaryAccuracy", "AASSAAAAIIIAAAA"},
      {"CategoricalAccuracy", "SASSAAAAIII--A-"},
      {"SparseCategoricalAccuracy", "SSSSAAAAIIIAAAA"},
      {"TopKCategoricalAccuracy", "SASSAAAAIII--A-"},
      {"SparseTopKCategoricalAccuracy", "SSSSAAAAIIIAAAA"},
      {"MeanSquaredError", "AASSAANNIII--N-"},
      {"MeanAbsoluteError", "AASSAANNIII--N-"},
      {"MeanPinballLoss", "AASSAANNIII--N-"},
      {"MeanAbsolutePercentageError", "AASSAANNIII--N-"},
      {"MeanSquaredLogarithmicError", "AASSAANNIII--N-"},
      {"RootMeanSquaredError", "AASSAANNIII--N-"},
      {"LogCoshError", "AASSAANNIII--N-"},
      {"CosineSimilarity", "SASSAANNIII--N-"},
      {"R2Score", "SSSSAANAIII--N-"},
      {"BinaryCrossentropy", "SASSDANAIIIAANA"},
      {"CategoricalCrossentropy", "SASSDNNNIII--N-"},
      {"SparseCategoricalCrossentropy", "SSSSDNNNIIIIIII"},
      {"KLDivergence", "SASSDANAIII--N-"},
      {"Poisson", "SASSDANNIII--N-"},
      {"Hinge", "SASSDANNIIIAANA"},
      {"SquaredHinge", "SASSDANNIIIAANA"},
      {"CategoricalHinge", "SASSDANAIII--N-"},
      {"PearsonCorrelation", "INSSAANNIII--N-"},
      {"ConcordanceCorrelation", "IASSAANNIII--N-"},
      {"TruePositives", "AASSAAIAIIIAAAA"},
      {"FalsePositives", "AASSAAIAIIIAAAA"},
      {"TrueNegatives", "AASSAAIAIIIAAAA"},
      {"FalseNegatives", "AASSAAIAIIIAAAA"},
      {"Precision", "AASSAAIAIIIAAAA"},
      {"Recall", "AASSAAIAIIIAAAA"},
      {"AUC", "AASSAAIAIIIAAAA"},
      {"SensitivityAtSpecificity", "AASSAAIAIIIAAAA"},
      {"SpecificityAtSensitivity", "AASSAAIAIIIAAAA"},
      {"PrecisionAtRecall", "AASSAAIAIIIAAAA"},
      {"RecallAtPrecision", "AASSAAIAIIIAAAA"},
      {"F1Score", "SSSSAAIAIII--I-"},
      {"FBetaScore", "SSSSAAIAIII--I-"},
      {"IoU", "AASSAAIAIIIAAIA"},
      {"BinaryIoU", "AASSAAIAIIIAAIA"},
      {"MeanIoU", "AASSAAIAIIIAAIA"},
      {"OneHotIoU", "SASSAAIAIII--I-"},
      {"OneHotMeanIoU", "SASSAAIAIII--I-"},
      {"ROCCurve", "AASSAAIAIIIAAAA"},
      {"PrecisionRecallCurve", "AASSAAIAIIIAAAA"},
      {"ConfusionMatrix", "SSSSAAIAIIIIIII"},
      {"MatthewsCorrelationCoefficient", "SSSSAAIAIIIIIII"},
      {"CohenKappa", "SSSSAAIAIIIIIII"},
      {"BalancedAccuracy", "SSSSAAIAIIIIIII"},
      {"Specificity", "SSSSAAIAIIIIIII"},
      {"HammingLoss", "SSSSAAIAIIIIIII"},
      {"ExactMatch", "SSSSAAIAIIIIIII"},
      {"ExplainedVariance", "SSSSAANNIII--N-"},
      {"MaxError", "SSSSAANNIII--N-"},
      {"SymmetricMeanAbsolutePercentageError", "SSSSAANNIII--N-"},
      {"WeightedMeanAbsolutePercentageError", "SSSSAANNIII--N-"},
      {"TweedieDeviance", "SSSSIIINIII--I-"},
      {"ExpectedCalibrationError", "SSSSAAIIIIIIIII"},
      {"BrierScore", "SSSSAAIIIIIIIII"},
      {"Classwise", "SSSSAAIAIII--I-"},
      {"log_cosh", "SASSAANNIII--N-"},
      {"huber", "SASSAANNIII--N-"},
      {"binary_focal_crossentropy", "SASSDANNIIIAANA"},
      {"categorical_focal_crossentropy", "SASSDNNNIII--N-"},
      {"NDCG", "SSSIAAIAIIIAIIA"},
      {"MeanAveragePrecision", "SSSIAAIAIIIIIII"},
      {"MeanReciprocalRank", "SSSIAAIAIIIIIII"},
      {"PrecisionAtK", "SSSIAAIAIIIIIII"},
      {"RecallAtK", "SSSIAAIAIIIIIII"},
      {"HitRate", "SSSIAAIAIIIIIII"},
      {"BootstrapInterval", "SASSAAAAIIIAAAA"},
  };
  return table;
}

// ---------------------------------------------------------------- input builders

Tensor make(DType dtype, Shape shape, const std::vector<double>& values) {
  Tensor t(dtype, std::move(shape));
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    const double v = values.at(static_cast<std::size_t>(i));
    switch (dtype) {
      case DType::kBool:
        t.data_as<bool>()[i] = v != 0.0;
        break;
      case DType::kInt64:
        t.data_as<std::int64_t>()[i] = static_cast<std::int64_t>(v);
        break;
      case DType::kFloat32:
        t.data_as<float>()[i] = static_cast<float>(v);
        break;
      case DType::kFloat64:
        t.data_as<double>()[i] = v;
        break;
      default:
        ADD_FAILURE() << "unsupported dtype in make()";
        break;
    }
  }
  return t;
}

struct Inputs {
  std::optional<Tensor> y_true;  // absent for value-reducing metrics
  Tensor y_pred;
  std::optional<Tensor> sample_weight;
};

// Deterministic valid data of `rows` rows for a kind.
Inputs valid_inputs(Kind kind, std::int64_t rows) {
  const auto n = static_cast<std::size_t>(rows);
  auto frac = [](std::size_t i) { return 0.05 + 0.9 * static_cast<double>((i * 7) % 11) / 11.0; };
  auto seq = [&](std::size_t count) {
    std::vector<double> v(count);
    for (std::size_t i = 0; i < count; ++i) v[i] = frac(i);
    return v;
  };
  auto seq2 = [&](std::size_t count) {
    std::vector<double> v(count);
    for (std::size_t i = 0; i < count; ++i) v[i] = frac(i + 5);
    return v;
  };
  auto labels = [&](std::int64_t classes) {
    std::vector<double> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<double>(i % static_cast<std::size_t>(classes));
    return v;
  };
  auto probs = [&]() {
    std::vector<double> v = seq(n * kClasses);
    for (std::size_t r = 0; r < n; ++r) {
      double s = 0;
      for (std::size_t c = 0; c < kClasses; ++c) s += v[r * kClasses + c];
      for (std::size_t c = 0; c < kClasses; ++c) v[r * kClasses + c] /= s;
    }
    return v;
  };
  Inputs in;
  switch (kind) {
    case Kind::kValues:
      in.y_pred = make(DType::kFloat64, {rows}, seq(n));
      break;
    case Kind::kRegression:
      in.y_true = make(DType::kFloat64, {rows, 2}, seq(2 * n));
      in.y_pred = make(DType::kFloat64, {rows, 2}, seq2(2 * n));
      break;
    case Kind::kRows4:
      in.y_true = make(DType::kFloat64, {rows, 4}, seq(4 * n));
      in.y_pred = make(DType::kFloat64, {rows, 4}, seq2(4 * n));
      break;
    case Kind::kColumn:
      in.y_true = make(DType::kFloat64, {rows, 1}, seq(n));
      in.y_pred = make(DType::kFloat64, {rows, 1}, seq2(n));
      break;
    case Kind::kBinary:
    case Kind::kRanking:
      in.y_true = make(DType::kFloat64, {rows, 1}, labels(2));
      in.y_pred = make(DType::kFloat64, {rows, 1}, seq(n));
      break;
    case Kind::kOneHot: {
      std::vector<double> onehot(n * kClasses, 0.0);
      for (std::size_t r = 0; r < n; ++r) onehot[r * kClasses + r % kClasses] = 1.0;
      in.y_true = make(DType::kFloat64, {rows, kClasses}, onehot);
      in.y_pred = make(DType::kFloat64, {rows, kClasses}, probs());
      break;
    }
    case Kind::kSparse:
      in.y_true = make(DType::kInt64, {rows}, labels(kClasses));
      in.y_pred = make(DType::kFloat64, {rows, kClasses}, probs());
      break;
    case Kind::kIds: {
      in.y_true = make(DType::kInt64, {rows}, labels(kClasses));
      std::vector<double> p = labels(kClasses);
      if (p.size() >= 2) std::swap(p[0], p[1]);
      in.y_pred = make(DType::kInt64, {rows}, p);
      break;
    }
  }
  return in;
}

Tensor with_value_at(const Tensor& t, std::int64_t index, double value) {
  std::vector<double> v = t.to_doubles();
  v.at(static_cast<std::size_t>(index)) = value;
  return make(t.dtype(), t.shape(), v);
}

Tensor as_dtype(const Tensor& t, DType dtype) {
  std::vector<double> v = t.to_doubles();
  for (double& x : v) x = x >= 0.5 ? 1.0 : 0.0;
  return make(dtype, t.shape(), v);
}

// Each element duplicated along a new trailing axis of size 2.
Tensor plus_axis(const Tensor& t) {
  std::vector<double> v = t.to_doubles();
  std::vector<double> out;
  for (double x : v) {
    out.push_back(x);
    out.push_back(x);
  }
  Shape s = t.shape();
  s.push_back(2);
  return make(t.dtype(), s, out);
}

Tensor first_rows(const Tensor& t, std::int64_t rows) {
  std::vector<double> v = t.to_doubles();
  Shape s = t.shape();
  const std::int64_t per_row = s[0] == 0 ? 0 : t.numel() / s[0];
  s[0] = rows;
  v.resize(static_cast<std::size_t>(rows * per_row));
  return make(t.dtype(), s, v);
}

Tensor first_element(const Tensor& t) { return make(t.dtype(), {}, {t.to_doubles().at(0)}); }

// The bad inputs of case `c`, or nullopt when the case does not apply to this kind.
std::optional<Inputs> bad_inputs(Kind kind, int c) {
  Inputs in = valid_inputs(kind, kRows);
  const std::vector<double> ones(kRows, 1.0);
  switch (c) {
    case kRank0:
      if (in.y_true) in.y_true = first_element(*in.y_true);
      in.y_pred = first_element(in.y_pred);
      break;
    case kRankPlusOne:
      if (in.y_true) in.y_true = plus_axis(*in.y_true);
      in.y_pred = plus_axis(in.y_pred);
      break;
    case kRowMismatch:
      if (!in.y_true) return std::nullopt;
      in.y_pred = first_rows(in.y_pred, kRows - 1);
      break;
    case kWeightShape:
      in.sample_weight = make(DType::kFloat64, {kRows + 1}, std::vector<double>(kRows + 1, 1.0));
      break;
    case kBoolPred:
      in.y_pred = as_dtype(in.y_pred, DType::kBool);
      break;
    case kIntPred:
      in.y_pred = as_dtype(in.y_pred, DType::kInt64);
      break;
    case kNanPred:
      in.y_pred = make(DType::kFloat64, in.y_pred.shape(), in.y_pred.to_doubles());
      in.y_pred = with_value_at(in.y_pred, 0, std::numeric_limits<double>::quiet_NaN());
      break;
    case kInfPred:
      in.y_pred = make(DType::kFloat64, in.y_pred.shape(), in.y_pred.to_doubles());
      in.y_pred = with_value_at(in.y_pred, 0, std::numeric_limits<double>::infinity());
      break;
    case kNanWeight:
      in.sample_weight =
          with_value_at(make(DType::kFloat64, {kRows}, ones), 2, std::numeric_limits<double>::quiet_NaN());
      break;
    case kNegWeight:
      in.sample_weight = with_value_at(make(DType::kFloat64, {kRows}, ones), 2, -1.0);
      break;
    case kEmpty:
      in = valid_inputs(kind, 0);
      break;
    case kLabelTooBig:
    case kLabelNegative: {
      if (!has_classes(kind)) return std::nullopt;
      const double bad = c == kLabelNegative ? -1.0 : (kind == Kind::kBinary ? 2.0 : static_cast<double>(kClasses));
      in.y_true = with_value_at(*in.y_true, 1, bad);
      break;
    }
    case kNanTrue:
    case kHugeLabel: {
      if (!in.y_true) return std::nullopt;
      if (c == kHugeLabel && !has_classes(kind)) return std::nullopt;
      const Tensor as_float = make(DType::kFloat64, in.y_true->shape(), in.y_true->to_doubles());
      in.y_true = with_value_at(as_float, 1, c == kNanTrue ? std::numeric_limits<double>::quiet_NaN() : 1e30);
      break;
    }
    default:
      return std::nullopt;
  }
  return in;
}

// ---------------------------------------------------------------- running the matrix

std::unique_ptr<Metric> build(const std::string& class_name, const Setup& setup) {
  return metrics::get(Json{{"class_name", class_name}, {"config", setup.config}});
}

void update(Metric& m, const Inputs& in) {
  // Metrics that require query ids get queries of 3 rows, one id per row of y_pred.
  std::vector<std::int64_t> ids;
  AuxInputs aux;
  if (m.aux_use(kAuxQueryIds) == AuxUse::kRequired) {
    const std::int64_t rows = in.y_pred.ndim() > 0 ? in.y_pred.shape()[0] : 1;
    for (std::int64_t i = 0; i < rows; ++i) ids.push_back(i / 3);
    aux.query_ids = TensorView(ids);
  }
  m.update_state(in.y_true ? in.y_true->view() : TensorView(), in.y_pred.view(),
                 in.sample_weight ? in.sample_weight->view() : TensorView(), aux);
}

bool bitwise_equal(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Runs one case on a metric that has seen one valid batch; returns its outcome code and
// checks the invariants that hold whatever the code.
char run_case(const std::string& class_name, const Setup& setup, int c) {
  const std::optional<Inputs> bad = bad_inputs(setup.kind, c);
  if (!bad) return '-';
  std::unique_ptr<Metric> m = build(class_name, setup);
  update(*m, valid_inputs(setup.kind, kRows));
  const std::vector<double> state_before = m->to_vector();
  const std::vector<double> result_before = m->result().to_doubles();
  const std::string where = class_name + " / " + kCaseNames[c];

  char code = '?';
  std::string message;
  try {
    update(*m, *bad);
    const std::vector<double> r = m->result().to_doubles();
    code = 'A';
    for (double x : r) {
      if (!std::isfinite(x)) code = 'N';
    }
    if (c == kEmpty) {
      EXPECT_TRUE(bitwise_equal(state_before, m->to_vector()))
          << where << ": an accepted empty batch changed the state";
    }
    return code;
  } catch (const ShapeError& e) {
    code = 'S';
    message = e.what();
  } catch (const DTypeError& e) {
    code = 'D';
    message = e.what();
  } catch (const ConfigError& e) {
    code = 'C';
    message = e.what();
  } catch (const InvalidArgument& e) {
    code = 'I';
    message = e.what();
  } catch (const Error& e) {
    code = 'E';
    message = e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << where << ": threw a non-tally exception: " << e.what();
    return 'X';
  }
  // A rejected batch: clear message, untouched state.
  EXPECT_TRUE(contains(message, m->class_name()) || contains(message, m->name()))
      << where << ": message does not name the metric: " << message;
  bool names_argument = false;
  for (const std::string& arg : case_arguments(c)) names_argument = names_argument || contains(message, arg);
  EXPECT_TRUE(names_argument) << where << ": message does not name the argument: " << message;
  EXPECT_TRUE(bitwise_equal(state_before, m->to_vector())) << where << ": a failed update changed the state";
  EXPECT_TRUE(bitwise_equal(result_before, m->result().to_doubles()))
      << where << ": a failed update changed the result";
  // The metric still works after the rejected batch.
  EXPECT_NO_THROW(update(*m, valid_inputs(setup.kind, kRows))) << where;
  return code;
}

// The same bad batch as the first batch of a fresh metric (some metrics fix their layout
// or rank from the first batch): it may be accepted or rejected, but never with anything
// other than a tally::Error, and a rejection leaves the fresh state as it was.
void run_case_on_fresh_metric(const std::string& class_name, const Setup& setup, int c) {
  const std::optional<Inputs> bad = bad_inputs(setup.kind, c);
  if (!bad) return;
  std::unique_ptr<Metric> m = build(class_name, setup);
  const std::vector<double> state_before = m->to_vector();
  const std::string where = class_name + " / " + kCaseNames[c] + " (first batch)";
  try {
    update(*m, *bad);
    (void)m->result();
  } catch (const Error& e) {
    EXPECT_TRUE(bitwise_equal(state_before, m->to_vector())) << where << ": a failed update changed the state";
    EXPECT_TRUE(contains(e.what(), m->class_name()) || contains(e.what(), m->name())) << where << ": " << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << where << ": threw a non-tally exception: " << e.what();
  }
}

TEST(BadInput, EveryBuiltinMetricIsCovered) {
  for (const metrics::MetricInfo& info : metrics::catalog()) {
    if (!info.builtin) continue;
    EXPECT_TRUE(setups().count(info.class_name)) << info.class_name << " has no entry in the bad-input setups";
    EXPECT_TRUE(expected().count(info.class_name)) << info.class_name << " has no row in the bad-input matrix";
  }
}

TEST(BadInput, MatrixOfBatchesMatchesTheDocumentedOutcomes) {
  // TALLY_PRINT_BAD_INPUT=1 prints the observed matrix in the form of the rows of expected().
  const bool print = std::getenv("TALLY_PRINT_BAD_INPUT") != nullptr;
  for (const metrics::MetricInfo& info : metrics::catalog()) {
    if (!info.builtin) continue;
    const auto setup = setups().find(info.class_name);
    if (setup == setups().end()) continue;
    std::string observed;
    for (int c = 0; c < kNumCases; ++c) {
      SCOPED_TRACE(info.class_name + " / " + kCaseNames[c]);
      observed += run_case(info.class_name, setup->second, c);
      run_case_on_fresh_metric(info.class_name, setup->second, c);
    }
    if (print) std::cout << "    {\"" << info.class_name << "\", \"" << observed << "\"},\n";
    const auto row = expected().find(info.class_name);
    if (row == expected().end()) continue;
    if (row->second.size() != static_cast<std::size_t>(kNumCases)) {
      ADD_FAILURE() << info.class_name << ": the row has " << row->second.size() << " cells, not " << kNumCases;
      continue;
    }
    for (int c = 0; c < kNumCases; ++c) {
      EXPECT_EQ(row->second[static_cast<std::size_t>(c)], observed[static_cast<std::size_t>(c)])
          << info.class_name << " / " << kCaseNames[c];
    }
  }
}

// ---------------------------------------------------------------- configs

struct BadConfig {
  std::string class_name;
  Json config;
  std::string mention;  // the key or value the message must name
  char type;            // 'C' ConfigError, 'I' InvalidArgument (exactly), 'A' accepted
};

void expect_config_outcome(const BadConfig& bad) {
  const std::string where = bad.class_name + " " + bad.config.dump();
  // A MeanMetricWrapper's config errors name its function.
  const std::string owner = bad.config.contains("fn") ? bad.config["fn"].get<std::string>() : bad.class_name;
  try {
    metrics::get(Json{{"class_name", bad.class_name}, {"config", bad.config}});
    EXPECT_EQ(bad.type, 'A') << where << ": accepted";
  } catch (const InvalidArgument& e) {  // ConfigError is an InvalidArgument
    const std::string message = e.what();
    const char type = dynamic_cast<const ConfigError*>(&e) != nullptr ? 'C' : 'I';
    EXPECT_EQ(bad.type, type) << where << ": " << message;
    EXPECT_TRUE(contains(message, owner)) << where << ": message does not name the metric: " << message;
    EXPECT_TRUE(contains(message, bad.mention))
        << where << ": message does not name `" << bad.mention << "`: " << message;
  } catch (const std::exception& e) {
    ADD_FAILURE() << where << ": threw something other than ConfigError/InvalidArgument: " << e.what();
  }
}

TEST(BadInput, UnknownKeysAndWrongValueTypesAreConfigErrors) {
  for (const auto& [class_name, setup] : setups()) {
    // A MeanMetricWrapper's messages name its function.
    const std::string owner = setup.config.contains("fn") ? setup.config["fn"].get<std::string>() : class_name;
    Json unknown = setup.config;
    unknown["no_such_key"] = 1;
    try {
      metrics::get(Json{{"class_name", class_name}, {"config", unknown}});
      ADD_FAILURE() << class_name << ": unknown key accepted";
    } catch (const ConfigError& e) {
      EXPECT_TRUE(contains(e.what(), owner)) << e.what();
      EXPECT_TRUE(contains(e.what(), "no_such_key")) << e.what();
    }
    Json wrong_type = setup.config;
    wrong_type["name"] = 5;
    try {
      metrics::get(Json{{"class_name", class_name}, {"config", wrong_type}});
      ADD_FAILURE() << class_name << ": a numeric name accepted";
    } catch (const ConfigError& e) {
      EXPECT_TRUE(contains(e.what(), owner)) << e.what();
      EXPECT_TRUE(contains(e.what(), "name")) << e.what();
    }
    Json bad_dtype = setup.config;
    bad_dtype["dtype"] = "complex128";
    EXPECT_THROW(metrics::get(Json{{"class_name", class_name}, {"config", bad_dtype}}), ConfigError) << class_name;
  }
}

TEST(BadInput, InvalidConfigValuesAreRejectedAtConstruction) {
  const std::vector<BadConfig> cases = {
      {"AUC", Json{{"num_thresholds", -5}}, "num_thresholds", 'I'},
      {"AUC", Json{{"num_thresholds", 1}}, "num_thresholds", 'I'},
      {"AUC", Json{{"thresholds", {0.5, 1.5}}}, "Threshold", 'I'},  // Keras's wording
      {"AUC", Json{{"thresholds", {-0.1}}}, "Threshold", 'I'},
      {"AUC", Json{{"curve", "XY"}}, "curve", 'C'},
      {"AUC", Json{{"summation_method", "simpson"}}, "summation method", 'C'},
      {"AUC", Json{{"num_thresholds", "many"}}, "num_thresholds", 'C'},
      {"Precision", Json{{"thresholds", 1.5}}, "Threshold", 'I'},
      {"Recall", Json{{"thresholds", {-0.5}}}, "Threshold", 'I'},
      {"TruePositives", Json{{"thresholds", {2.0}}}, "Threshold", 'I'},
      {"SensitivityAtSpecificity", Json{{"specificity", 1.5}}, "specificity", 'I'},
      {"SensitivityAtSpecificity", Json{{"specificity", 0.5}, {"num_thresholds", 0}}, "num_thresholds", 'I'},
      {"SpecificityAtSensitivity", Json{{"sensitivity", -0.1}}, "sensitivity", 'I'},
      {"PrecisionAtRecall", Json{{"recall", 2.0}}, "recall", 'I'},
      {"RecallAtPrecision", Json::object(), "precision", 'C'},
      {"TopKCategoricalAccuracy", Json{{"k", 0}}, "k", 'C'},
      {"TopKCategoricalAccuracy", Json{{"k", -1}}, "k", 'C'},
      {"SparseTopKCategoricalAccuracy", Json{{"k", 0}}, "k", 'C'},
      {"TopKCategoricalAccuracy", Json{{"k", "two"}}, "k", 'C'},
      {"BinaryAccuracy", Json{{"threshold", 1.5}}, "threshold", 'I'},
      {"F1Score", Json{{"average", "median"}}, "average", 'C'},
      {"FBetaScore", Json{{"average", "median"}}, "average", 'C'},
      {"FBetaScore", Json{{"beta", 0.0}}, "beta", 'I'},
      {"FBetaScore", Json{{"beta", -1.0}}, "beta", 'I'},
      {"F1Score", Json{{"threshold", 1.5}}, "threshold", 'I'},
      {"F1Score", Json{{"threshold", 0.0}}, "threshold", 'I'},
      {"R2Score", Json{{"class_aggregation", "median"}}, "class_aggregation", 'C'},
      {"R2Score", Json{{"num_regressors", -1}}, "num_regressors", 'I'},
      {"IoU", Json{{"num_classes", 0}, {"target_class_ids", {0}}}, "num_classes", 'I'},
      {"IoU", Json{{"num_classes", 3}, {"target_class_ids", {5}}}, "target_class_ids", 'I'},
      {"IoU", Json{{"num_classes", 3}, {"target_class_ids", Json::array()}}, "target_class_ids", 'I'},
      {"MeanIoU", Json::object(), "num_classes", 'C'},
      {"MeanIoU", Json{{"num_classes", -2}}, "num_classes", 'I'},
      {"OneHotIoU", Json{{"num_classes", 3}, {"target_class_ids", {-1}}}, "target_class_ids", 'I'},
      {"BinaryIoU", Json{{"target_class_ids", {2}}}, "target_class_ids", 'I'},
      {"MeanMetricWrapper", Json{{"fn", "no_such_function"}}, "no_such_function", 'C'},
      // Function kwargs are checked when the wrapper is built, as the classes' configs are.
      {"MeanMetricWrapper", Json{{"fn", "top_k_categorical_accuracy"}, {"k", 0}}, "k", 'C'},
      {"MeanMetricWrapper", Json{{"fn", "sparse_top_k_categorical_accuracy"}, {"k", -3}}, "k", 'C'},
      {"MeanMetricWrapper", Json{{"fn", "huber"}, {"delta", -1.0}}, "delta", 'C'},
      // Keras's binary_accuracy function takes any threshold; only the class checks [0, 1].
      {"MeanMetricWrapper", Json{{"fn", "binary_accuracy"}, {"threshold", 1.5}}, "threshold", 'A'},
      {"MeanMetricWrapper", Json{{"fn", "mean_squared_error"}, {"k", 2}}, "k", 'C'},
      {"Precision", Json{{"top_k", 0}}, "top_k", 'I'},
      {"AUC", Json{{"thresholds", "low"}}, "thresholds", 'C'},
      {"Hinge", Json{{"from_logits", true}}, "from_logits", 'C'},
      {"ExplainedVariance", Json{{"multioutput", "median"}}, "multioutput", 'C'},
      {"ExplainedVariance", Json{{"num_outputs", 0}}, "num_outputs", 'I'},
      {"TweedieDeviance", Json{{"power", 0.5}}, "power", 'I'},
      {"ExpectedCalibrationError", Json{{"num_bins", 0}}, "num_bins", 'I'},
      {"ExpectedCalibrationError", Json{{"norm", "l3"}}, "norm", 'C'},
      {"Classwise", Json::object(), "metric", 'C'},
      {"Classwise", Json{{"metric", "no_such_metric"}}, "metric", 'C'},
      {"Classwise", Json{{"metric", "f1_score"}, {"labels", Json::array()}}, "labels", 'C'},
      {"Classwise", Json{{"metric", "mean_squared_error"}}, "metric", 'C'},
  };
  for (const BadConfig& bad : cases) expect_config_outcome(bad);
  // The same checks through from_config (Keras's deserialisation path).
  EXPECT_THROW(metrics::from_config("TopKCategoricalAccuracy", Json{{"k", 0}}), ConfigError);
  EXPECT_THROW(metrics::from_config("F1Score", Json{{"average", "median"}}), ConfigError);
  EXPECT_THROW(metrics::from_config("AUC", Json{{"num_thresholds", -1}}), InvalidArgument);
}

}  // namespace
}  // namespace tally
