#pragma once
// A metric's state: named variables declared at construction (Keras add_variable),
// each float64 or int64 with a fixed shape and an aggregation that says how two
// states merge. The values of all variables live in two flat buffers.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tally/tensor.h"

namespace tally {

/// How a variable merges across batches, workers and states.
enum class Aggregation : std::uint8_t { kSum, kMin, kMax };

/// Lower-case name of an aggregation ("sum", "min", "max").
std::string_view aggregation_name(Aggregation aggregation);

/// Declaration of one state variable: name, shape, dtype (float64 or int64), aggregation.
struct Variable {
  std::string name;
  Shape shape;
  DType dtype = DType::kFloat64;
  Aggregation aggregation = Aggregation::kSum;

  std::int64_t numel() const { return shape_numel(shape); }
  friend bool operator==(const Variable&, const Variable&) = default;
};

/// The declared variables of a metric, shared between its copies.
using VariableLayout = std::vector<Variable>;

/// Values of a metric's variables. Sum variables start at 0, min variables at +inf
/// (int64: the largest value) and max variables at -inf, so a fresh state is the
/// identity of merge. Copies are deep.
class Variables {
 public:
  Variables() = default;
  /// Zero (identity) values for the given layout.
  explicit Variables(std::shared_ptr<const VariableLayout> layout);

  const VariableLayout& layout() const;
  /// Shared pointer to the layout, for building states with the same declaration.
  const std::shared_ptr<const VariableLayout>& layout_ptr() const { return layout_; }
  /// Number of declared variables.
  std::size_t size() const { return offsets_.size(); }
  /// Index of the variable called `name`; throws StateError if there is none.
  std::size_t index_of(std::string_view name) const;

  /// Mutable values of float64 variable `index` (throws StateError if it is int64).
  std::span<double> f64(std::size_t index);
  std::span<const double> f64(std::size_t index) const;
  /// Mutable values of int64 variable `index` (throws StateError if it is float64).
  std::span<std::int64_t> i64(std::size_t index);
  std::span<const std::int64_t> i64(std::size_t index) const;
  /// Copy of variable `index` as a tensor of its dtype and shape.
  Tensor tensor(std::size_t index) const;
  /// Element `element` of variable `index` as double, whatever its dtype.
  double value(std::size_t index, std::int64_t element = 0) const;

  /// Total number of elements over all variables: the length of to_vector().
  std::int64_t vector_size() const;
  /// All variables flattened in declaration order as float64 (int64 values are exact below 2^53).
  std::vector<double> to_vector() const;
  /// Writes to_vector() into `out` (length vector_size()).
  void write_vector(std::span<double> out) const;
  /// Replaces the values from a flat vector; throws StateError naming `owner` on a wrong
  /// length or a non-integral value for an int64 variable. Unchanged on error.
  void assign_vector(std::span<const double> values, std::string_view owner);
  /// Merges `other` into this by each variable's aggregation; throws StateError on layout mismatch.
  void merge(const Variables& other, std::string_view owner);
  /// Resets every variable to its identity value.
  void reset();
  /// True when both have the same declared variables.
  bool same_layout(const Variables& other) const;

 private:
  [[noreturn]] void throw_wrong_type(std::size_t index, std::string_view wanted) const;

  std::shared_ptr<const VariableLayout> layout_;
  std::vector<double> f64_;
  std::vector<std::int64_t> i64_;
  std::vector<std::size_t> offsets_;  // into f64_ or i64_ by the variable's dtype
};

}  // namespace tally
