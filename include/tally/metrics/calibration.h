#pragma once
// Calibration of predicted probabilities (issue 17, beyond Keras): the expected calibration
// error of TorchMetrics' CalibrationError and the Brier score of scikit-learn.
//
// Both read y_pred as probabilities: shape [N] or [N, 1] is the binary task (the
// probability of class 1, y_true in {0, 1}); [N, C] with C >= 2 is multiclass, with y_true
// class ids ([N] or [N, 1]) or one-hot rows ([N, C]).

#include <cstdint>
#include <string>

#include "tally/metrics/reduction.h"
#include "tally/options.h"

namespace tally::metrics {

/// How the per-bin gaps |accuracy - confidence| combine.
enum class CalibrationNorm : std::uint8_t {
  kL1,   ///< "l1": Σ_b (n_b / n) |acc_b - conf_b| (ECE)
  kL2,   ///< "l2": sqrt(Σ_b (n_b / n) (acc_b - conf_b)²) (RMSCE)
  kMax,  ///< "max": max_b |acc_b - conf_b| over bins with data (MCE)
};

/// Options of ExpectedCalibrationError.
struct ExpectedCalibrationErrorOptions {
  std::int64_t num_bins = 15;                   ///< equal-width confidence bins over [0, 1]
  CalibrationNorm norm = CalibrationNorm::kL1;  ///< how the per-bin gaps combine
  bool from_logits = false;                     ///< y_pred are logits (sigmoid / softmax first)
  std::string name;                             ///< empty: "expected_calibration_error"
  DType dtype = DType::kFloat32;
};

/// TorchMetrics' binary_calibration_error / multiclass_calibration_error. Binary: the
/// confidence is p = P(class 1) and the "accuracy" is y_true. Multiclass (top-label): the
/// confidence is max_c p_c and the accuracy is [argmax_c p_c == y_true]. A confidence c
/// falls in bin floor(c · num_bins); c = 1 has a bin of its own, as torch.bucketize(right=True)
/// gives it, so the state is num_bins + 1 bins of (weight, Σ w·confidence, Σ w·accuracy),
/// all summed. Weights count as repeated rows (TorchMetrics has none).
class ExpectedCalibrationError : public ConfiguredMetric<ExpectedCalibrationError, ExpectedCalibrationErrorOptions> {
 public:
  explicit ExpectedCalibrationError(const Options& options);
  /// An empty name means "expected_calibration_error".
  explicit ExpectedCalibrationError(std::int64_t num_bins = Options{}.num_bins, CalibrationNorm norm = Options{}.norm,
                                    bool from_logits = false, std::string name = {}, DType dtype = DType::kFloat32)
      : ExpectedCalibrationError(Options{num_bins, norm, from_logits, std::move(name), dtype}) {}
  static const MetricSpec<Options>& spec();
  void accumulate(Variables& vars, const Batch& batch) const override;
  Tensor result_from(const Variables& vars) const override;
};

/// The Brier score: the weighted mean over rows of Σ_c (p_c - onehot(y)_c)². Binary inputs
/// give scikit-learn's brier_score_loss, (p - y)²; multiclass inputs the sum over classes
/// (scikit-learn >= 1.7's multiclass brier_score_loss; twice the binary value for C = 2).
/// Probabilities outside [0, 1] and labels outside the classes are InvalidArgument.
class BrierScore : public ConfiguredMetric<BrierScore, BasicOptions, MeanBasedMetric> {
 public:
  explicit BrierScore(const Options& options);
  /// An empty name means "brier_score".
  explicit BrierScore(std::string name = {}, DType dtype = DType::kFloat32)
      : BrierScore(Options{std::move(name), dtype}) {}
  static const MetricSpec<Options>& spec();
  void accumulate(Variables& vars, const Batch& batch) const override;
};

}  // namespace tally::metrics
