#pragma once
// The tensor layer: element types, a non-owning strided view, and an owning tensor.
// Metrics read their inputs through TensorView, so numpy, torch, DLPack producers
// and plain C++ containers all hand data in without a copy.

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "tally/error.h"

namespace tally {

/// Element types a tensor can hold.
enum class DType : std::uint8_t {
  kBool,
  kUInt8,
  kInt32,
  kInt64,
  kFloat16,
  kBFloat16,
  kFloat32,
  kFloat64,
};

/// Lower-case name of a dtype as numpy spells it ("float32", "bfloat16", "bool").
std::string_view dtype_name(DType dtype);
/// Parses a dtype name ("float32", "int64", ...); throws DTypeError for unknown names.
DType dtype_from_name(std::string_view name);
/// Size of one element in bytes.
std::size_t dtype_size(DType dtype);
/// True for float16, bfloat16, float32 and float64.
bool is_floating(DType dtype);
/// True for bool, uint8, int32 and int64.
bool is_integral(DType dtype);

/// IEEE 754 binary16 value; converts to and from float exactly where float can.
struct Float16 {
  std::uint16_t bits = 0;
  Float16() = default;
  /// Rounds a float to the nearest binary16 value, ties to even.
  explicit Float16(float value);
  /// Widens to float exactly.
  operator float() const;  // NOLINT(google-explicit-constructor): arithmetic promotes like a float
};

/// bfloat16 value: the upper 16 bits of a binary32.
struct BFloat16 {
  std::uint16_t bits = 0;
  BFloat16() = default;
  /// Rounds a float to the nearest bfloat16 value, ties to even; NaN stays NaN.
  explicit BFloat16(float value);
  /// Widens to float exactly.
  operator float() const;  // NOLINT(google-explicit-constructor)
};

/// The DType of a C++ element type, for the types tally reads.
template <class T>
constexpr DType dtype_of() {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_same_v<U, bool>)
    return DType::kBool;
  else if constexpr (std::is_same_v<U, std::uint8_t>)
    return DType::kUInt8;
  else if constexpr (std::is_same_v<U, std::int32_t>)
    return DType::kInt32;
  else if constexpr (std::is_same_v<U, std::int64_t>)
    return DType::kInt64;
  else if constexpr (std::is_same_v<U, Float16>)
    return DType::kFloat16;
  else if constexpr (std::is_same_v<U, BFloat16>)
    return DType::kBFloat16;
  else if constexpr (std::is_same_v<U, float>)
    return DType::kFloat32;
  else if constexpr (std::is_same_v<U, double>)
    return DType::kFloat64;
  else
    static_assert(sizeof(T) == 0, "tally: unsupported element type");
}

/// True when T is one of the element types tally reads.
template <class T>
inline constexpr bool is_element_type_v =
    std::is_same_v<std::remove_cv_t<T>, bool> || std::is_same_v<std::remove_cv_t<T>, std::uint8_t> ||
    std::is_same_v<std::remove_cv_t<T>, std::int32_t> || std::is_same_v<std::remove_cv_t<T>, std::int64_t> ||
    std::is_same_v<std::remove_cv_t<T>, Float16> || std::is_same_v<std::remove_cv_t<T>, BFloat16> ||
    std::is_same_v<std::remove_cv_t<T>, float> || std::is_same_v<std::remove_cv_t<T>, double>;

/// Dimensions of a tensor; each entry is >= 0.
using Shape = std::vector<std::int64_t>;

/// Formats a shape as "[8, 2]" for error messages.
std::string shape_string(std::span<const std::int64_t> shape);
/// Number of elements of a shape (1 for a 0-d shape). Inline: Variable::numel() calls it on
/// hot paths (all_reduce_metrics, per variable).
inline std::int64_t shape_numel(std::span<const std::int64_t> shape) {
  std::int64_t n = 1;
  for (const std::int64_t d : shape) n *= d;
  return n;
}

/// Non-owning view of strided memory: pointer, dtype, shape and strides counted in
/// elements. A default-constructed view is "absent" (used for an omitted sample_weight).
/// The viewed memory must outlive the view.
class TensorView {
 public:
  /// An absent view (has_value() is false).
  TensorView() = default;
  /// A view of `data` with the given shape; strides default to C-contiguous.
  TensorView(const void* data, DType dtype, Shape shape, Shape strides = {});
  /// A rank-1 view of a span.
  template <class T, std::size_t N, class = std::enable_if_t<is_element_type_v<T>>>
  TensorView(std::span<T, N> values)  // NOLINT(google-explicit-constructor): containers convert like arrays
      : TensorView(values.data(), dtype_of<T>(), Shape{static_cast<std::int64_t>(values.size())}) {}
  /// A rank-1 view of a vector (not vector<bool>, which has no contiguous storage).
  template <class T, class A, class = std::enable_if_t<is_element_type_v<T> && !std::is_same_v<T, bool>>>
  TensorView(const std::vector<T, A>& values)  // NOLINT(google-explicit-constructor)
      : TensorView(values.data(), dtype_of<T>(), Shape{static_cast<std::int64_t>(values.size())}) {}
  /// A rank-1 view of a braced list; valid only for the full expression it appears in.
  template <class T, class = std::enable_if_t<is_element_type_v<T>>>
  TensorView(std::initializer_list<T> values)  // NOLINT(google-explicit-constructor)
      : TensorView(values.begin(), dtype_of<T>(), Shape{static_cast<std::int64_t>(values.size())}) {}
  /// A view of a vector reshaped to `shape` (numel must match; throws ShapeError).
  template <class T, class A, class = std::enable_if_t<is_element_type_v<T> && !std::is_same_v<T, bool>>>
  TensorView(const std::vector<T, A>& values, Shape shape)
      : TensorView(values.data(), dtype_of<T>(), std::move(shape)) {
    check_numel(static_cast<std::int64_t>(values.size()));
  }

  /// False for a default-constructed (absent) view.
  bool has_value() const { return data_ != nullptr || !shape_.empty(); }
  const void* data() const { return data_; }
  /// Typed pointer to the first element; throws DTypeError if T is not the view's dtype.
  template <class T>
  const T* data_as() const {
    if (dtype_of<T>() != dtype_) throw_dtype_mismatch(dtype_of<T>());
    return static_cast<const T*>(data_);
  }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  std::int64_t ndim() const { return static_cast<std::int64_t>(shape_.size()); }
  /// Size of dimension `axis`; negative axes count from the end. Throws ShapeError if out of range.
  std::int64_t dim(std::int64_t axis) const;
  std::int64_t numel() const { return shape_numel(shape_); }
  /// True when the elements are laid out C-contiguously (the fast path of every kernel).
  bool is_contiguous() const;
  /// Element at flat C-order position `index`, converted to double.
  double value_at(std::int64_t index) const;
  /// Element at a multi-index, converted to double.
  double value_at(std::span<const std::int64_t> index) const;

  /// A view with new shape over the same contiguous memory; throws ShapeError on size mismatch.
  TensorView reshape(Shape shape) const;
  /// A view with a unit axis inserted at `axis` (negative counts from the end of the result).
  TensorView expand_dims(std::int64_t axis) const;
  /// A view with the unit axis `axis` removed; throws ShapeError if that axis is not 1.
  TensorView squeeze(std::int64_t axis) const;
  /// A view broadcast to `shape` by numpy rules (stride 0 on repeated axes); throws ShapeError.
  TensorView broadcast_to(const Shape& shape) const;
  /// Rows [begin, end) of the first axis.
  TensorView slice_rows(std::int64_t begin, std::int64_t end) const;
  /// A view with the dims reordered so that `axis` becomes the last one.
  TensorView move_axis_to_end(std::int64_t axis) const;

  /// Describes the view as "float32[8, 2]" for messages.
  std::string describe() const;

 private:
  void check_numel(std::int64_t numel) const;
  [[noreturn]] void throw_dtype_mismatch(DType requested) const;

  const void* data_ = nullptr;
  DType dtype_ = DType::kFloat64;
  Shape shape_;
  Shape strides_;
};

/// Owning, C-contiguous tensor. Copies are deep; moves are cheap. Converts to TensorView.
class Tensor {
 public:
  /// An empty 0-d float64 tensor holding 0.
  Tensor();
  /// A zero-filled tensor of the given dtype and shape.
  Tensor(DType dtype, Shape shape);
  /// A rank-1 float64 tensor holding `values`.
  static Tensor from_vector(std::span<const double> values, Shape shape = {});
  /// A rank-1 int64 tensor holding `values`.
  static Tensor from_vector(std::span<const std::int64_t> values, Shape shape = {});
  /// A 0-d float64 tensor holding `value`.
  static Tensor scalar(double value);
  /// A contiguous copy of any view, keeping its dtype.
  static Tensor copy_of(const TensorView& view);
  /// A tensor that adopts memory owned elsewhere; `keep_alive` is released with the tensor.
  static Tensor adopt(void* data, DType dtype, Shape shape, Shape strides, std::shared_ptr<void> keep_alive);

  Tensor(const Tensor& other);
  Tensor& operator=(const Tensor& other);
  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;
  ~Tensor() = default;

  const TensorView& view() const { return view_; }
  operator const TensorView&() const { return view_; }  // NOLINT(google-explicit-constructor)
  DType dtype() const { return view_.dtype(); }
  const Shape& shape() const { return view_.shape(); }
  std::int64_t ndim() const { return view_.ndim(); }
  std::int64_t numel() const { return view_.numel(); }
  void* mutable_data() { return const_cast<void*>(view_.data()); }
  const void* data() const { return view_.data(); }
  template <class T>
  T* data_as() {
    return const_cast<T*>(view_.data_as<T>());
  }
  template <class T>
  const T* data_as() const {
    return view_.data_as<T>();
  }
  /// The single element of a tensor with numel 1, as double; throws ShapeError otherwise.
  double item() const;
  /// All elements in C order, converted to double.
  std::vector<double> to_doubles() const;
  /// The same data as a new shape (numel must match).
  Tensor reshaped(Shape shape) const;
  /// Describes the tensor as "float64[3]" for messages.
  std::string describe() const { return view_.describe(); }

 private:
  std::shared_ptr<void> storage_;
  TensorView view_;
};

/// Calls `fn(T{})` with the C++ element type matching `dtype` (a type tag; the value is unused).
template <class Fn>
decltype(auto) visit_dtype(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::kBool:
      return fn(bool{});
    case DType::kUInt8:
      return fn(std::uint8_t{});
    case DType::kInt32:
      return fn(std::int32_t{});
    case DType::kInt64:
      return fn(std::int64_t{});
    case DType::kFloat16:
      return fn(Float16{});
    case DType::kBFloat16:
      return fn(BFloat16{});
    case DType::kFloat32:
      return fn(float{});
    case DType::kFloat64:
      return fn(double{});
  }
  throw DTypeError("tally: unknown dtype code " + std::to_string(static_cast<int>(dtype)));
}

/// Converts one element to double; the kernels' single widening point.
template <class T>
inline double to_double(T value) {
  if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>) {
    return static_cast<double>(static_cast<float>(value));
  } else {
    return static_cast<double>(value);
  }
}

}  // namespace tally
