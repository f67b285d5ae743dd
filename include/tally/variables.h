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

/// Which values a variable may hold, checked whenever a state comes from outside
/// (from_vector, set_state, set_variable_values, load_state): see docs/reliability.md.
enum class Domain : std::uint8_t {
  kAny,          ///< any float64 (NaN and infinities included); any int64
  kNonNegative,  ///< finite and >= 0: counts and sums of (non-negative) sample weights
};

/// The domain a variable gets when its declaration names none: int64 sum variables are
/// counts (kNonNegative); everything else kAny.
Domain default_domain(DType dtype, Aggregation aggregation);

/// Declaration of one state variable: name, shape, dtype (float64 or int64), aggregation,
/// and the domain of its values.
struct Variable {
  std::string name;
  Shape shape;
  DType dtype = DType::kFloat64;
  Aggregation aggregation = Aggregation::kSum;
  Domain domain = Domain::kAny;

  std::int64_t numel() const { return shape_numel(shape); }
  /// Equal layouts merge; the domain is a check on incoming values, not part of the layout
  /// (state files and other ranks describe variables without it).
  friend bool operator==(const Variable& a, const Variable& b) {
    return a.name == b.name && a.shape == b.shape && a.dtype == b.dtype && a.aggregation == b.aggregation;
  }
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
  /// Adds `variable` at its identity value, leaving the others' values as they are. The storage
  /// grows geometrically, so declaring k variables costs O(total elements), not O(k x total).
  void append(Variable variable);

  /// The declared variables (an empty layout for a default-constructed state). Inline, as are
  /// f64() and i64(): all_reduce_metrics calls them per variable on its hot path.
  const VariableLayout& layout() const { return layout_ ? *layout_ : empty_layout(); }
  /// Shared pointer to the layout, for building states with the same declaration.
  const std::shared_ptr<const VariableLayout>& layout_ptr() const { return layout_; }
  /// Number of declared variables.
  std::size_t size() const { return offsets_.size(); }
  /// Index of the variable called `name`; throws StateError if there is none.
  std::size_t index_of(std::string_view name) const;

  /// Mutable values of float64 variable `index` (throws StateError if it is int64).
  std::span<double> f64(std::size_t index) {
    const Variable& v = checked(index, DType::kFloat64);
    return {f64_.data() + offsets_[index], static_cast<std::size_t>(v.numel())};
  }
  /// Values of float64 variable `index` (throws StateError if it is int64).
  std::span<const double> f64(std::size_t index) const {
    const Variable& v = checked(index, DType::kFloat64);
    return {f64_.data() + offsets_[index], static_cast<std::size_t>(v.numel())};
  }
  /// Mutable values of int64 variable `index` (throws StateError if it is float64).
  std::span<std::int64_t> i64(std::size_t index) {
    const Variable& v = checked(index, DType::kInt64);
    return {i64_.data() + offsets_[index], static_cast<std::size_t>(v.numel())};
  }
  /// Values of int64 variable `index` (throws StateError if it is float64).
  std::span<const std::int64_t> i64(std::size_t index) const {
    const Variable& v = checked(index, DType::kInt64);
    return {i64_.data() + offsets_[index], static_cast<std::size_t>(v.numel())};
  }
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
  /// length, a non-integral value for an int64 variable, or a value outside a variable's
  /// domain. Unchanged on error.
  void assign_vector(std::span<const double> values, std::string_view owner);
  /// Throws StateError naming `owner`, the variable and the element when a value lies
  /// outside its variable's domain (a negative or NaN count). With `declared` (a layout of
  /// as many variables), its domains apply instead of this layout's.
  void check_domains(std::string_view owner, const VariableLayout* declared = nullptr) const;
  /// Replaces the layout by an equal one (same_layout), for example the metric's own
  /// declaration with its domains; throws StateError when the layouts differ.
  void adopt_layout(std::shared_ptr<const VariableLayout> layout);
  /// Merges `other` into this by each variable's aggregation; throws StateError on layout mismatch.
  void merge(const Variables& other, std::string_view owner);
  /// Resets every variable to its identity value.
  void reset();
  /// True when both have the same declared variables.
  bool same_layout(const Variables& other) const;

 private:
  static const VariableLayout& empty_layout();
  // Variable `index`, which must exist and hold `dtype` (else StateError, thrown out of line).
  const Variable& checked(std::size_t index, DType dtype) const {
    if (index >= offsets_.size() || (*layout_)[index].dtype != dtype) throw_wrong_type(index, dtype);
    return (*layout_)[index];
  }
  [[noreturn]] void throw_wrong_type(std::size_t index, DType wanted) const;

  std::shared_ptr<const VariableLayout> layout_;
  std::vector<double> f64_;
  std::vector<std::int64_t> i64_;
  std::vector<std::size_t> offsets_;  // into f64_ or i64_ by the variable's dtype
};

}  // namespace tally
