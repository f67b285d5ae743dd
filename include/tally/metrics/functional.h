#pragma once
// Per-sample functions (Keras losses and metric functions): each returns one float64
// value per sample, shape [N], for inputs whose first axis is the batch. They are also
// metrics by name: get("huber") is a MeanMetricWrapper around functional::huber, and its
// config {"fn": "huber", "delta": ...} rebuilds it.
//
// Rank rule (docs/keras-differences.md §9): a rank-1 y_true / y_pred of length N is N samples of one
// output, as Keras treats shape [N, 1]; functions over a vector or class axis (cosine
// similarity, categorical crossentropy, KL divergence) read a rank-1 input as one vector.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tally/config.h"
#include "tally/metrics/reduction.h"

namespace tally::metrics::functional {

/// Builds a per-sample function from its keyword arguments (Keras fn_kwargs). The factory
/// reads its keys from `kwargs` (which reports unknown keys) and returns the bound function
/// together with the kwargs as they should appear in get_config().
struct BoundFunction {
  PerSampleFn fn;
  Json kwargs = Json::object();
};
using FunctionFactory = std::function<BoundFunction(ConfigReader& kwargs)>;

/// One named per-sample function: its registry row.
struct FunctionInfo {
  std::string name;                  ///< Keras function name, e.g. "huber"
  std::vector<std::string> aliases;  ///< other accepted names
  std::string family;
  Direction direction = Direction::kNone;
  std::string doc;
  FunctionFactory factory;
};

/// The named function, or nullopt.
std::optional<FunctionInfo> find_function(std::string_view name);
/// Every named function, in catalog order.
std::vector<FunctionInfo> functions();
/// A MeanMetricWrapper around the named function; `config` holds name, dtype and the
/// function's kwargs (the Keras MeanMetricWrapper config minus "fn").
std::unique_ptr<MeanMetricWrapper> make_wrapper(std::string_view fn_name, const Json& config);

// --- accuracy ---
/// Keras accuracy: 1 where y_true == y_pred, per element of the aligned inputs.
Tensor accuracy(const TensorView& y_true, const TensorView& y_pred);
/// Keras binary_accuracy: 1 where (y_pred > threshold) == y_true, per element.
Tensor binary_accuracy(const TensorView& y_true, const TensorView& y_pred, double threshold = 0.5);
/// Keras categorical_accuracy: 1 per row where argmax(y_true) == argmax(y_pred).
Tensor categorical_accuracy(const TensorView& y_true, const TensorView& y_pred);
/// Keras sparse_categorical_accuracy: 1 per row where the integer label == argmax(y_pred).
Tensor sparse_categorical_accuracy(const TensorView& y_true, const TensorView& y_pred);
/// Keras top_k_categorical_accuracy: 1 per row where argmax(y_true) is in the top k (ties hit).
Tensor top_k_categorical_accuracy(const TensorView& y_true, const TensorView& y_pred, std::int64_t k = 5);
/// Keras sparse_top_k_categorical_accuracy: integer targets in the top k, or among the first
/// k ids when y_pred holds ids sorted by score.
Tensor sparse_top_k_categorical_accuracy(const TensorView& y_true, const TensorView& y_pred, std::int64_t k = 5,
                                         bool from_sorted_ids = false);
// --- regression ---
/// Keras mean_squared_error: mean over the last axis of (y_true - y_pred)^2.
Tensor mean_squared_error(const TensorView& y_true, const TensorView& y_pred);
/// Keras mean_absolute_error: mean over the last axis of |y_true - y_pred|.
Tensor mean_absolute_error(const TensorView& y_true, const TensorView& y_pred);
/// Keras mean_absolute_percentage_error: 100 · mean(|y_true - y_pred| / max(|y_true|, 1e-7)).
Tensor mean_absolute_percentage_error(const TensorView& y_true, const TensorView& y_pred);
/// Keras mean_squared_logarithmic_error (negatives clamped to 1e-7).
Tensor mean_squared_logarithmic_error(const TensorView& y_true, const TensorView& y_pred);
/// Keras log_cosh: mean over the last axis of log(cosh(y_pred - y_true)).
Tensor log_cosh(const TensorView& y_true, const TensorView& y_pred);
/// Keras huber: mean of 0.5 e^2 where |e| <= delta, else delta |e| - 0.5 delta^2.
Tensor huber(const TensorView& y_true, const TensorView& y_pred, double delta = 1.0);
/// Keras cosine_similarity: Σ along `axis` of the L2-normalised y_true · y_pred.
Tensor cosine_similarity(const TensorView& y_true, const TensorView& y_pred, std::int64_t axis = -1);
// --- probabilistic ---
// Keras's losses of the probabilistic family. `dtype` is the Keras dtype that rounds the
// clipping constants ε = 1e-7 and 1 − ε (docs/keras-differences.md §11); arithmetic is float64. Inputs
// of rank > 2 give Keras's loss shape (the input shape without the reduced axis).

/// Keras binary_crossentropy: per sample, the mean over `axis` of −[y ln p + (1−y) ln(1−p)]
/// (p clipped; exact log-sigmoid form with from_logits; y smoothed to y(1−ls) + ls/2).
Tensor binary_crossentropy(const TensorView& y_true, const TensorView& y_pred, bool from_logits = false,
                           double label_smoothing = 0.0, std::int64_t axis = -1, DType dtype = DType::kFloat32);
/// Keras categorical_crossentropy: −Σ y ln p along the class `axis`, p renormalised and
/// clipped (log-softmax with from_logits), y smoothed to y(1−ls) + ls/C. Rank 1 is one vector.
Tensor categorical_crossentropy(const TensorView& y_true, const TensorView& y_pred, bool from_logits = false,
                                double label_smoothing = 0.0, std::int64_t axis = -1, DType dtype = DType::kFloat32);
/// Keras sparse_categorical_crossentropy: −ln p[label]; positions labelled ignore_class give 0
/// (through MeanMetricWrapper they still count, as in Keras without weights; the
/// SparseCategoricalCrossentropy class excludes them).
Tensor sparse_categorical_crossentropy(const TensorView& y_true, const TensorView& y_pred, bool from_logits = false,
                                       std::optional<std::int64_t> ignore_class = std::nullopt, std::int64_t axis = -1,
                                       DType dtype = DType::kFloat32);
/// Keras kl_divergence: Σ over the last axis of y ln(y/p), y and p clipped to [ε, 1].
Tensor kl_divergence(const TensorView& y_true, const TensorView& y_pred, DType dtype = DType::kFloat32);
/// Keras poisson: mean over the last axis of p − y ln(p + ε).
Tensor poisson(const TensorView& y_true, const TensorView& y_pred, DType dtype = DType::kFloat32);
/// Keras binary_focal_crossentropy: mean over `axis` of (1 − p_t)^γ · bce, times
/// y·α + (1−y)(1−α) with apply_class_balancing; with from_logits p = sigmoid(x), then clipped
/// as Keras does (not the exact log-sigmoid form).
Tensor binary_focal_crossentropy(const TensorView& y_true, const TensorView& y_pred, bool apply_class_balancing = false,
                                 double alpha = 0.25, double gamma = 2.0, bool from_logits = false,
                                 double label_smoothing = 0.0, std::int64_t axis = -1, DType dtype = DType::kFloat32);
/// Keras categorical_focal_crossentropy: Σ along `axis` of α(1 − o)^γ · (−y ln o), o the
/// renormalised, clipped probability (softmax first with from_logits).
Tensor categorical_focal_crossentropy(const TensorView& y_true, const TensorView& y_pred, double alpha = 0.25,
                                      double gamma = 2.0, bool from_logits = false, double label_smoothing = 0.0,
                                      std::int64_t axis = -1, DType dtype = DType::kFloat32);
// --- hinge ---
// Keras's hinge losses. hinge and squared_hinge map labels {0, 1} to {−1, 1} only when every
// label of the call is 0 or 1 (Keras convert_binary_labels_to_hinge, decided per call).

/// Keras hinge: mean over the last axis of max(1 − y·p, 0).
Tensor hinge(const TensorView& y_true, const TensorView& y_pred);
/// Keras squared_hinge: mean over the last axis of max(1 − y·p, 0)².
Tensor squared_hinge(const TensorView& y_true, const TensorView& y_pred);
/// Keras categorical_hinge: max(max((1 − y)·p) − Σ y·p + 1, 0) over the last axis; rank 1 is one vector.
Tensor categorical_hinge(const TensorView& y_true, const TensorView& y_pred);
// --- correlation ---
/// Keras pearson_correlation: one coefficient per position along `axis` (population std).
Tensor pearson_correlation(const TensorView& y_true, const TensorView& y_pred, std::int64_t axis = -1);
/// Keras concordance_correlation: 2 cov / (var_t + var_p + (mean_t - mean_p)^2 + eps) along `axis`.
Tensor concordance_correlation(const TensorView& y_true, const TensorView& y_pred, std::int64_t axis = -1);

}  // namespace tally::metrics::functional
