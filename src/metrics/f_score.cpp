#include "tally/metrics/f_score.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "internal/check.h"
#include "internal/parallel.h"
#include "metrics/kernels/f_score_math.h"
#include "tally/config.h"

namespace tally::metrics {
namespace {

using internal::str_cat;

constexpr const char* kVariableNames[4] = {"true_positives", "false_positives", "false_negatives",
                                           "intermediate_weights"};

// Rounds a value the way Keras's cast of y_pred (and of a Python float compared with it)
// to the metric dtype does.
double round_to_dtype(double x, DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return static_cast<double>(static_cast<float>(x));
    case DType::kFloat16: return static_cast<double>(static_cast<float>(Float16(static_cast<float>(x))));
    case DType::kBFloat16: return static_cast<double>(static_cast<float>(BFloat16(static_cast<float>(x))));
    default: return x;
  }
}

void round_buffer(double* p, std::int64_t n, DType dtype) {
  switch (dtype) {
    case DType::kFloat64: return;
    case DType::kFloat32:
      for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<double>(static_cast<float>(p[i]));
      return;
    default:
      for (std::int64_t i = 0; i < n; ++i) p[i] = round_to_dtype(p[i], dtype);
      return;
  }
}

// Rows [rb, re) of a contiguous [N, C] view as doubles; returns true if any is NaN.
bool load_rows(const TensorView& v, std::int64_t rb, std::int64_t re, std::int64_t classes, double* out) {
  return visit_dtype(v.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = static_cast<const T*>(v.data()) + rb * classes;
    const std::int64_t n = (re - rb) * classes;
    bool nan = false;
    for (std::int64_t i = 0; i < n; ++i) {
      out[i] = to_double(p[i]);
      nan |= out[i] != out[i];
    }
    return nan;
  });
}

// Rows [rb, re) of a (possibly broadcast) [N, C] weight view as doubles.
void load_weight_rows(const TensorView& w, std::int64_t rb, std::int64_t re, std::int64_t classes, double* out) {
  visit_dtype(w.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = static_cast<const T*>(w.data());
    const std::int64_t s0 = w.strides()[0];
    const std::int64_t s1 = w.strides()[1];
    for (std::int64_t r = rb; r < re; ++r) {
      for (std::int64_t c = 0; c < classes; ++c) out[(r - rb) * classes + c] = to_double(p[r * s0 + c * s1]);
    }
  });
}

// The batch's contribution: four per-class sums laid out [tp | fp | fn | support].
struct Partial {
  std::vector<double> sums;
  bool nan = false;
};

std::int64_t state_classes(const Variables& vars) {
  const Shape& shape = vars.layout()[0].shape;
  return shape.empty() ? -1 : shape[0];  // -1: micro (scalars)
}

std::shared_ptr<const VariableLayout> layout_for(Shape shape) {
  auto layout = std::make_shared<VariableLayout>();
  for (const char* name : kVariableNames) layout->push_back(Variable{name, shape, DType::kFloat64, Aggregation::kSum});
  return layout;
}

}  // namespace

Json f_score_average_to_json(FScoreAverage average) {
  switch (average) {
    case FScoreAverage::kMicro: return "micro";
    case FScoreAverage::kMacro: return "macro";
    case FScoreAverage::kWeighted: return "weighted";
    case FScoreAverage::kNone: break;
  }
  return nullptr;
}

FScoreAverage f_score_average_from_json(const Json& value, std::string_view owner) {
  if (value.is_null()) return FScoreAverage::kNone;
  if (value.is_string()) {
    const std::string s = value.get<std::string>();
    if (s == "micro") return FScoreAverage::kMicro;
    if (s == "macro") return FScoreAverage::kMacro;
    if (s == "weighted") return FScoreAverage::kWeighted;
  }
  throw ConfigError(str_cat(owner, ": argument `average` must be one of null, \"micro\", \"macro\", \"weighted\"; "
                                   "received ",
                            value.dump()));
}

// --- FBetaScore -------------------------------------------------------------------

FBetaScore::FBetaScore(FScoreAverage average, double beta, std::optional<double> threshold, std::string name,
                       DType dtype, std::optional<std::int64_t> num_classes)
    : FBetaScore("FBetaScore", average, beta, threshold, std::move(name), dtype, num_classes) {}

FBetaScore::FBetaScore(std::string class_name, FScoreAverage average, double beta, std::optional<double> threshold,
                       std::string name, DType dtype, std::optional<std::int64_t> num_classes)
    : MetricWithClone(std::move(name), dtype),
      class_name_(std::move(class_name)),
      average_(average),
      beta_(beta),
      threshold_(threshold),
      num_classes_(num_classes) {
  const std::string me = str_cat(class_name_, " \"", this->name(), "\"");
  if (!(beta_ > 0.0) || std::isinf(beta_)) {
    throw InvalidArgument(str_cat(me, ": argument `beta` must be a finite number > 0; received ", beta_));
  }
  if (threshold_ && !(*threshold_ > 0.0 && *threshold_ <= 1.0)) {
    throw InvalidArgument(
        str_cat(me, ": argument `threshold` must satisfy 0 < threshold <= 1 (or be null); received ", *threshold_));
  }
  if (num_classes_ && *num_classes_ < 1) {
    throw InvalidArgument(str_cat(me, ": argument `num_classes` must be >= 1 (or null); received ", *num_classes_));
  }
  // Micro holds scalars; otherwise one entry per class, or none until the first batch fixes C.
  const Shape shape = average_ == FScoreAverage::kMicro ? Shape{} : Shape{num_classes_.value_or(0)};
  for (const char* var : kVariableNames) add_variable(var, shape);
}

std::unique_ptr<Metric> FBetaScore::from_config(const Json& config) {
  ConfigReader reader("FBetaScore", config);
  const std::string name = reader.name("fbeta_score");
  const DType dtype = reader.dtype();
  const FScoreAverage average = f_score_average_from_json(reader.get_json("average"), "FBetaScore");
  const double beta = reader.get_double("beta", 1.0);
  const std::optional<double> threshold = reader.get_optional_double("threshold");
  const std::optional<std::int64_t> num_classes = reader.get_optional_int("num_classes");
  reader.finish();
  return std::make_unique<FBetaScore>(average, beta, threshold, name, dtype, num_classes);
}

Json FBetaScore::get_config() const {
  Json config = Metric::get_config();
  config["average"] = f_score_average_to_json(average_);
  config["beta"] = beta_;
  config["threshold"] = threshold_ ? Json(*threshold_) : Json(nullptr);
  if (num_classes_) config["num_classes"] = *num_classes_;
  return config;
}

void FBetaScore::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = str_cat(class_name_, " \"", name(), "\"");
  // 1. Validate everything before computing or writing.
  internal::check_present(me, "y_true", batch.y_true);
  internal::check_present(me, "y_pred", batch.y_pred);
  if (batch.y_true.ndim() != 2 || batch.y_pred.ndim() != 2) {
    throw ShapeError(str_cat(me, ": expects 2D inputs of shape (batch_size, num_classes); received y_true shape ",
                             shape_string(batch.y_true.shape()), ", y_pred shape ", shape_string(batch.y_pred.shape())));
  }
  internal::check_same_rows(me, "y_true", batch.y_true, "y_pred", batch.y_pred);
  internal::check_same_shape(me, "y_true", batch.y_true, "y_pred", batch.y_pred);
  const std::int64_t rows = batch.y_pred.shape()[0];
  const std::int64_t classes = batch.y_pred.shape()[1];
  if (classes < 1) {
    throw ShapeError(str_cat(me, ": argument `y_pred` must have at least one class column; received shape ",
                             shape_string(batch.y_pred.shape())));
  }
  const std::int64_t held = state_classes(vars);
  if (num_classes_ && classes != *num_classes_) {
    throw ShapeError(str_cat(me, ": argument `y_pred` must have num_classes = ", *num_classes_,
                             " columns; received shape ", shape_string(batch.y_pred.shape())));
  }
  if (held > 0 && classes != held) {
    throw ShapeError(str_cat(me, ": the first batch fixed the number of classes at ", held,
                             "; argument `y_pred` has shape ", shape_string(batch.y_pred.shape())));
  }
  TensorView weight;
  if (batch.sample_weight.has_value()) {
    TensorView w = batch.sample_weight;
    // Keras expands a lower-rank weight with trailing unit axes, then broadcasts to [N, C].
    while (w.ndim() < 2) w = w.expand_dims(w.ndim());
    try {
      weight = w.broadcast_to(Shape{rows, classes});
    } catch (const ShapeError&) {
      throw ShapeError(str_cat(me, ": argument `sample_weight` must be a scalar or have shape [N], [N, 1] or [N, C] "
                                   "for inputs of shape ",
                               shape_string(batch.y_pred.shape()), "; received shape ",
                               shape_string(batch.sample_weight.shape())));
    }
    internal::check_sample_weight_values(me, batch.sample_weight);
  }
  // Contiguous copies only for strided inputs; the usual case reads the caller's memory.
  Tensor true_copy;
  Tensor pred_copy;
  TensorView y_true = batch.y_true;
  TensorView y_pred = batch.y_pred;
  if (!y_true.is_contiguous()) {
    true_copy = Tensor::copy_of(y_true);
    y_true = true_copy.view();
  }
  if (!y_pred.is_contiguous()) {
    pred_copy = Tensor::copy_of(y_pred);
    y_pred = pred_copy.view();
  }

  // 2. The batch's contribution, chunked by rows so the sums do not depend on threads.
  const DType dt = dtype();
  const bool has_threshold = threshold_.has_value();
  const double threshold = has_threshold ? round_to_dtype(*threshold_, dt) : 0.0;
  const double zero_guard = round_to_dtype(1e-9, dt);
  const bool weighted = weight.has_value();
  const std::int64_t rows_per_chunk = std::max<std::int64_t>(1, internal::kChunkSize / classes);
  const std::size_t c_size = static_cast<std::size_t>(classes);
  Partial init;
  init.sums.assign(4 * c_size, 0.0);
  std::vector<Partial> partials = internal::chunk_partials(
      rows, init,
      [&](std::int64_t rb, std::int64_t re, Partial& acc) {
        const std::size_t n = static_cast<std::size_t>((re - rb) * classes);
        std::vector<double> p(n);
        std::vector<double> y(n);
        std::vector<double> w;
        acc.nan = load_rows(y_pred, rb, re, classes, p.data());
        acc.nan |= load_rows(y_true, rb, re, classes, y.data());
        round_buffer(p.data(), static_cast<std::int64_t>(n), dt);
        if (weighted) {
          w.resize(n);
          load_weight_rows(weight, rb, re, classes, w.data());
        }
        double* tp = acc.sums.data();
        double* fp = tp + c_size;
        double* fn = fp + c_size;
        double* support = fn + c_size;
        for (std::int64_t r = 0; r < re - rb; ++r) {
          const double* pr = p.data() + r * classes;
          const double* yr = y.data() + r * classes;
          double cut = threshold;
          if (!has_threshold) {
            cut = pr[0];
            for (std::int64_t c = 1; c < classes; ++c) cut = std::max(cut, pr[c]);
          }
          for (std::int64_t c = 0; c < classes; ++c) {
            // Keras: p > threshold, or (without one) p >= row max and |p| > 1e-9.
            const double yhat = has_threshold ? static_cast<double>(pr[c] > cut)
                                              : static_cast<double>(pr[c] >= cut && std::fabs(pr[c]) > zero_guard);
            const double wc = weighted ? w[static_cast<std::size_t>(r * classes + c)] : 1.0;
            kernels::f_score_add(yhat, yr[c], wc, tp[c], fp[c], fn[c], support[c]);
          }
        }
      },
      rows_per_chunk);
  std::vector<double> total(4 * c_size, 0.0);
  for (const Partial& part : partials) {
    if (part.nan) {
      throw InvalidArgument(str_cat(me, ": arguments `y_true` and `y_pred` must not contain NaN; received y_true ",
                                    batch.y_true.describe(), ", y_pred ", batch.y_pred.describe()));
    }
    for (std::size_t i = 0; i < total.size(); ++i) total[i] += part.sums[i];
  }

  // 3. Add it to the state (the first batch fixes C when num_classes was not given).
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

Tensor FBetaScore::result_from(const Variables& vars) const {
  const double beta2 = beta_ * beta_;
  const std::span<const double> tp = vars.f64(0);
  const std::span<const double> fp = vars.f64(1);
  const std::span<const double> fn = vars.f64(2);
  const std::span<const double> support = vars.f64(3);
  std::vector<double> f(tp.size());
  for (std::size_t c = 0; c < tp.size(); ++c) f[c] = kernels::f_beta_from_counts(tp[c], fp[c], fn[c], beta2);
  switch (average_) {
    case FScoreAverage::kNone: return Tensor::from_vector(std::span<const double>(f));
    case FScoreAverage::kMicro: return Tensor::scalar(f[0]);
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
      for (std::size_t c = 0; c < f.size(); ++c) s += f[c] * (support[c] / (total + kernels::kFScoreEpsilon));
      return Tensor::scalar(s);
    }
  }
  return Tensor::scalar(0.0);
}

// --- F1Score ----------------------------------------------------------------------

F1Score::F1Score(FScoreAverage average, std::optional<double> threshold, std::string name, DType dtype,
                 std::optional<std::int64_t> num_classes)
    : MetricWithClone("F1Score", average, 1.0, threshold, std::move(name), dtype, num_classes) {}

std::unique_ptr<Metric> F1Score::from_config(const Json& config) {
  ConfigReader reader("F1Score", config);
  const std::string name = reader.name("f1_score");
  const DType dtype = reader.dtype();
  const FScoreAverage average = f_score_average_from_json(reader.get_json("average"), "F1Score");
  const std::optional<double> threshold = reader.get_optional_double("threshold");
  const std::optional<std::int64_t> num_classes = reader.get_optional_int("num_classes");
  reader.finish();
  return std::make_unique<F1Score>(average, threshold, name, dtype, num_classes);
}

Json F1Score::get_config() const {
  Json config = FBetaScore::get_config();
  config.erase("beta");
  return config;
}

}  // namespace tally::metrics
