#pragma once
// Per-sample functions (Keras losses and metric functions): each returns one float64
// value per sample, shape [N], for inputs whose first axis is the batch. They are also
// metrics by name: get("huber") is a MeanMetricWrapper around functional::huber, and its
// config {"fn": "huber", "delta": ...} rebuilds it.
//
// Rank rule (tally decision 9): a rank-1 y_true / y_pred of length N is N samples of one
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
// --- probabilistic ---
// --- hinge ---
// --- correlation ---

}  // namespace tally::metrics::functional
