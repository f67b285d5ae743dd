#pragma once
// Framework ops on Tensors and lists of Tensors (pfl's internal ops).
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "tally/tensor.h"

namespace tally::ops {

/// The shape of a tensor.
Shape get_shape(const TensorView& tensor);

/// A list of tensors as one float64 vector plus what reshape() needs to restore it.
struct Flattened {
  std::vector<double> values;
  std::vector<Shape> shapes;
  std::vector<DType> dtypes;
};
/// Concatenates all elements in C order; throws InvalidArgument for int64 beyond 2^53.
Flattened flatten(std::span<const Tensor> tensors);
/// Inverse of flatten(): exact for every dtype flatten accepts.
std::vector<Tensor> reshape(std::span<const double> values, std::span<const Shape> shapes,
                            std::span<const DType> dtypes);

/// The p-norm of all elements (p >= 1, or infinity for the max-abs norm).
double norm(const TensorView& tensor, double order = 2.0);
/// The p-norm of all elements of all tensors together.
double global_norm(std::span<const Tensor> tensors, double order = 2.0);

/// float32 tensor of shape indices.shape + [depth] with 1 at each index; integral indices only.
Tensor one_hot(const TensorView& indices, std::int64_t depth);
/// Joins tensors of one dtype along `axis` (negative counts from the end).
Tensor concatenate(std::span<const Tensor> tensors, std::int64_t axis);
/// Deep copies.
std::vector<Tensor> clone(std::span<const Tensor> tensors);
/// Copies value into reference in place; dtype and shape must match.
void assign_variable(Tensor& reference, const TensorView& value);
/// ema -= (1 - decay) * (ema - variable), in place, for floating tensors.
void exponential_moving_average_update(std::span<const Tensor> variables, std::span<Tensor> ema_variables,
                                       double decay);
/// Rounds every element to bfloat16 (nearest, ties to even) and back, keeping dtypes.
std::vector<Tensor> simulate_bfloat16_transport(std::span<const Tensor> tensors);
/// Scales all tensors by max_norm / global L2 norm when that exceeds max_norm; returns (tensors, norm).
std::pair<std::vector<Tensor>, double> clip_by_global_norm(std::span<const Tensor> tensors, double max_norm);

/// Gradient accumulation schedule: update every accumulation_steps steps or at the last step.
class GradAccumulationState {
 public:
  /// num_steps total steps (> 0), accumulation_steps (> 0).
  GradAccumulationState(std::int64_t num_steps, std::int64_t accumulation_steps);
  /// Whether the optimizer should apply the accumulated gradient after the current step.
  bool optimizer_should_update() const;
  /// Advances one step.
  void increment() { ++steps_; }
  /// Steps taken so far.
  std::int64_t steps() const { return steps_; }
  /// The accumulation period.
  std::int64_t accumulation_steps() const { return accumulation_steps_; }

 private:
  std::int64_t num_steps_;
  std::int64_t accumulation_steps_;
  std::int64_t steps_ = 0;
};

}  // namespace tally::ops
