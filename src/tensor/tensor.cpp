#include "tally/tensor.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <limits>
#include <sstream>

namespace tally {
namespace {

// Builds a message from streamable parts; the tensor layer is the bottom one and includes
// nothing else of tally's.
template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  out.precision(17);
  (out << ... << parts);
  return out.str();
}

}  // namespace

namespace {

constexpr std::array<std::string_view, 8> kDTypeNames = {"bool",    "uint8",    "int32",   "int64",
                                                         "float16", "bfloat16", "float32", "float64"};

// Contiguous C-order strides, in elements.
Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  std::int64_t step = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = step;
    step *= std::max<std::int64_t>(shape[i], 1);
  }
  return strides;
}

std::int64_t normalize_axis(std::int64_t axis, std::int64_t ndim, const std::string& what) {
  const std::int64_t a = axis < 0 ? axis + ndim : axis;
  if (a < 0 || a >= ndim) {
    throw ShapeError(concat("tensor: axis ", axis, " is out of range for ", what));
  }
  return a;
}

}  // namespace

std::string_view dtype_name(DType dtype) {
  const auto index = static_cast<std::size_t>(dtype);
  if (index >= kDTypeNames.size()) return "unknown";
  return kDTypeNames[index];
}

DType dtype_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kDTypeNames.size(); ++i) {
    if (kDTypeNames[i] == name) return static_cast<DType>(i);
  }
  if (name == "float") return DType::kFloat32;
  if (name == "double") return DType::kFloat64;
  if (name == "half") return DType::kFloat16;
  throw DTypeError(concat("unknown dtype \"", name,
                          "\"; expected one of bool, uint8, int32, int64, float16, bfloat16, float32, "
                          "float64"));
}

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::kBool:
    case DType::kUInt8:
      return 1;
    case DType::kFloat16:
    case DType::kBFloat16:
      return 2;
    case DType::kInt32:
    case DType::kFloat32:
      return 4;
    case DType::kInt64:
    case DType::kFloat64:
      return 8;
  }
  return 0;
}

bool is_floating(DType dtype) {
  return dtype == DType::kFloat16 || dtype == DType::kBFloat16 || dtype == DType::kFloat32 || dtype == DType::kFloat64;
}

bool is_integral(DType dtype) { return !is_floating(dtype); }

// --- half precision -------------------------------------------------------------

Float16::Float16(float value) {
  const std::uint32_t f = std::bit_cast<std::uint32_t>(value);
  const std::uint32_t sign = (f >> 16) & 0x8000u;
  const std::uint32_t abs = f & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // inf or NaN
    bits = static_cast<std::uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
    return;
  }
  if (abs >= 0x477ff000u) {  // rounds to a value above the largest half (65504): inf
    bits = static_cast<std::uint16_t>(sign | 0x7c00u);
    return;
  }
  if (abs < 0x38800000u) {  // subnormal half or zero: round the scaled value to an integer
    const float scaled = std::bit_cast<float>(abs) * 16777216.0f;  // 2^24, exact
    const float rounded = std::nearbyint(scaled);                  // ties to even
    bits = static_cast<std::uint16_t>(sign | static_cast<std::uint32_t>(rounded));
    return;
  }
  // Normal: rebias exponent and round the mantissa to 10 bits, ties to even.
  std::uint32_t rebased = abs - 0x38000000u;
  const std::uint32_t lsb = (rebased >> 13) & 1u;
  rebased += 0xfffu + lsb;
  bits = static_cast<std::uint16_t>(sign | (rebased >> 13));
}

Float16::operator float() const {
  const std::uint32_t sign = (static_cast<std::uint32_t>(bits) & 0x8000u) << 16;
  const std::uint32_t exponent = (bits >> 10) & 0x1fu;
  const std::uint32_t mantissa = bits & 0x3ffu;
  if (exponent == 0) {
    const float magnitude = static_cast<float>(mantissa) * (1.0f / 16777216.0f);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

BFloat16::BFloat16(float value) {
  const std::uint32_t f = std::bit_cast<std::uint32_t>(value);
  if ((f & 0x7fffffffu) > 0x7f800000u) {
    bits = static_cast<std::uint16_t>((f >> 16) | 0x40u);  // quiet NaN, keeps the sign
    return;
  }
  const std::uint32_t lsb = (f >> 16) & 1u;
  bits = static_cast<std::uint16_t>((f + 0x7fffu + lsb) >> 16);
}

BFloat16::operator float() const { return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16); }

// --- shapes ---------------------------------------------------------------------

std::string shape_string(std::span<const std::int64_t> shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

// --- TensorView -----------------------------------------------------------------

TensorView::TensorView(const void* data, DType dtype, Shape shape, Shape strides)
    : data_(data), dtype_(dtype), shape_(std::move(shape)), strides_(std::move(strides)) {
  for (const std::int64_t d : shape_) {
    if (d < 0) throw ShapeError("tensor: negative dimension in shape " + shape_string(shape_));
  }
  if (strides_.empty()) {
    strides_ = contiguous_strides(shape_);
  } else if (strides_.size() != shape_.size()) {
    throw ShapeError(concat("tensor: strides ", shape_string(strides_), " do not match shape ", shape_string(shape_)));
  }
  if (data_ == nullptr && numel() > 0) throw InvalidArgument("tensor: null data pointer for a non-empty view");
  if (static_cast<std::size_t>(dtype_) >= kDTypeNames.size()) throw DTypeError("tensor: invalid dtype code");
}

std::int64_t TensorView::dim(std::int64_t axis) const {
  return shape_[static_cast<std::size_t>(normalize_axis(axis, ndim(), describe()))];
}

bool TensorView::is_contiguous() const {
  std::int64_t step = 1;
  for (std::size_t i = shape_.size(); i-- > 0;) {
    if (shape_[i] != 1 && strides_[i] != step) return false;
    step *= shape_[i];
  }
  return true;
}

double TensorView::value_at(std::int64_t index) const {
  std::int64_t offset = 0;
  for (std::size_t i = shape_.size(); i-- > 0;) {
    const std::int64_t d = shape_[i];
    offset += (index % d) * strides_[i];
    index /= d;
  }
  return visit_dtype(dtype_, [&](auto tag) {
    using T = decltype(tag);
    return to_double(static_cast<const T*>(data_)[offset]);
  });
}

double TensorView::value_at(std::span<const std::int64_t> index) const {
  std::int64_t offset = 0;
  for (std::size_t i = 0; i < shape_.size(); ++i) offset += index[i] * strides_[i];
  return visit_dtype(dtype_, [&](auto tag) {
    using T = decltype(tag);
    return to_double(static_cast<const T*>(data_)[offset]);
  });
}

TensorView TensorView::reshape(Shape shape) const {
  if (!is_contiguous()) throw ShapeError("tensor: cannot reshape a non-contiguous view " + describe());
  TensorView out(data_, dtype_, std::move(shape));
  out.check_numel(numel());
  return out;
}

TensorView TensorView::expand_dims(std::int64_t axis) const {
  const std::int64_t a = normalize_axis(axis, ndim() + 1, describe());
  TensorView out = *this;
  const std::int64_t stride =
      a < ndim() ? strides_[static_cast<std::size_t>(a)] * shape_[static_cast<std::size_t>(a)] : 1;
  out.shape_.insert(out.shape_.begin() + a, 1);
  out.strides_.insert(out.strides_.begin() + a, stride);
  return out;
}

TensorView TensorView::squeeze(std::int64_t axis) const {
  const std::int64_t a = normalize_axis(axis, ndim(), describe());
  if (shape_[static_cast<std::size_t>(a)] != 1) {
    throw ShapeError(concat("tensor: cannot squeeze axis ", axis, " of size ", shape_[static_cast<std::size_t>(a)],
                            " in ", describe()));
  }
  TensorView out = *this;
  out.shape_.erase(out.shape_.begin() + a);
  out.strides_.erase(out.strides_.begin() + a);
  return out;
}

TensorView TensorView::broadcast_to(const Shape& shape) const {
  if (shape.size() < shape_.size()) {
    throw ShapeError("tensor: cannot broadcast " + describe() + " to " + shape_string(shape));
  }
  TensorView out = *this;
  out.shape_ = shape;
  out.strides_.assign(shape.size(), 0);
  const std::size_t lead = shape.size() - shape_.size();
  for (std::size_t i = 0; i < shape_.size(); ++i) {
    const std::int64_t from = shape_[i];
    const std::int64_t to = shape[lead + i];
    if (from == to) {
      out.strides_[lead + i] = from == 1 ? 0 : strides_[i];
    } else if (from != 1) {
      throw ShapeError("tensor: cannot broadcast " + describe() + " to " + shape_string(shape));
    }
  }
  return out;
}

TensorView TensorView::slice_rows(std::int64_t begin, std::int64_t end) const {
  if (ndim() == 0) throw ShapeError("tensor: cannot slice rows of a 0-d view");
  if (begin < 0 || end < begin || end > shape_[0]) {
    throw ShapeError(concat("tensor: row range [", begin, ", ", end, ") is out of range for ", describe()));
  }
  TensorView out = *this;
  out.shape_[0] = end - begin;
  out.data_ = static_cast<const char*>(data_) +
              static_cast<std::ptrdiff_t>(begin * strides_[0]) * static_cast<std::ptrdiff_t>(dtype_size(dtype_));
  return out;
}

TensorView TensorView::move_axis_to_end(std::int64_t axis) const {
  const auto a = static_cast<std::size_t>(normalize_axis(axis, ndim(), describe()));
  TensorView out = *this;
  out.shape_.erase(out.shape_.begin() + static_cast<std::ptrdiff_t>(a));
  out.strides_.erase(out.strides_.begin() + static_cast<std::ptrdiff_t>(a));
  out.shape_.push_back(shape_[a]);
  out.strides_.push_back(strides_[a]);
  return out;
}

std::string TensorView::describe() const {
  if (!has_value()) return "None";
  return std::string(dtype_name(dtype_)) + shape_string(shape_);
}

void TensorView::check_numel(std::int64_t numel_expected) const {
  if (numel() != numel_expected) {
    throw ShapeError(concat("tensor: shape ", shape_string(shape_), " holds ", numel(), " elements but the data has ",
                            numel_expected));
  }
}

void TensorView::throw_dtype_mismatch(DType requested) const {
  throw DTypeError(concat("tensor: requested ", dtype_name(requested), " data from a ", dtype_name(dtype_), " view"));
}

// --- Tensor ---------------------------------------------------------------------

Tensor::Tensor() : Tensor(DType::kFloat64, Shape{}) {}

Tensor::Tensor(DType dtype, Shape shape) {
  std::int64_t n = 1;
  for (const std::int64_t d : shape) {
    if (d < 0) throw ShapeError("tensor: negative dimension in shape " + shape_string(shape));
    n *= d;
  }
  const std::size_t bytes = static_cast<std::size_t>(std::max<std::int64_t>(n, 1)) * dtype_size(dtype);
  // Allocated as doubles so every element type is suitably aligned.
  auto* memory = new double[(bytes + sizeof(double) - 1) / sizeof(double)]();
  storage_ = std::shared_ptr<void>(memory, [](void* p) { delete[] static_cast<double*>(p); });
  view_ = TensorView(memory, dtype, std::move(shape));
}

Tensor Tensor::from_vector(std::span<const double> values, Shape shape) {
  if (shape.empty()) shape = {static_cast<std::int64_t>(values.size())};
  Tensor out(DType::kFloat64, std::move(shape));
  if (out.numel() != static_cast<std::int64_t>(values.size())) {
    throw ShapeError(concat("tensor: shape ", shape_string(out.shape()), " does not hold ", values.size(), " values"));
  }
  std::copy(values.begin(), values.end(), out.data_as<double>());
  return out;
}

Tensor Tensor::from_vector(std::span<const std::int64_t> values, Shape shape) {
  if (shape.empty()) shape = {static_cast<std::int64_t>(values.size())};
  Tensor out(DType::kInt64, std::move(shape));
  if (out.numel() != static_cast<std::int64_t>(values.size())) {
    throw ShapeError(concat("tensor: shape ", shape_string(out.shape()), " does not hold ", values.size(), " values"));
  }
  std::copy(values.begin(), values.end(), out.data_as<std::int64_t>());
  return out;
}

Tensor Tensor::scalar(double value) {
  Tensor out(DType::kFloat64, Shape{});
  *out.data_as<double>() = value;
  return out;
}

Tensor Tensor::copy_of(const TensorView& view) {
  Tensor out(view.dtype(), view.shape());
  const std::size_t size = dtype_size(view.dtype());
  auto* dst = static_cast<char*>(out.mutable_data());
  if (view.numel() == 0) return out;  // an empty view may hold no pointer, and memcpy needs one (fuzz_npy)
  if (view.is_contiguous()) {
    std::memcpy(dst, view.data(), static_cast<std::size_t>(view.numel()) * size);
    return out;
  }
  const Shape& shape = view.shape();
  Shape index(shape.size(), 0);
  const auto* src = static_cast<const char*>(view.data());
  for (std::int64_t i = 0; i < view.numel(); ++i) {
    std::int64_t offset = 0;
    for (std::size_t d = 0; d < shape.size(); ++d) offset += index[d] * view.strides()[d];
    std::memcpy(dst + static_cast<std::size_t>(i) * size, src + offset * static_cast<std::int64_t>(size), size);
    for (std::size_t d = shape.size(); d-- > 0;) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

Tensor Tensor::adopt(void* data, DType dtype, Shape shape, Shape strides, std::shared_ptr<void> keep_alive) {
  Tensor out;
  out.storage_ = std::move(keep_alive);
  out.view_ = TensorView(data, dtype, std::move(shape), std::move(strides));
  return out;
}

Tensor::Tensor(const Tensor& other) : Tensor(copy_of(other.view_)) {}

Tensor& Tensor::operator=(const Tensor& other) {
  if (this != &other) *this = copy_of(other.view_);
  return *this;
}

double Tensor::item() const {
  if (numel() != 1) throw ShapeError("tensor: item() needs exactly one element; received " + describe());
  return view_.value_at(std::int64_t{0});
}

std::vector<double> Tensor::to_doubles() const {
  std::vector<double> out(static_cast<std::size_t>(numel()));
  for (std::int64_t i = 0; i < numel(); ++i) out[static_cast<std::size_t>(i)] = view_.value_at(i);
  return out;
}

Tensor Tensor::reshaped(Shape shape) const {
  Tensor out = *this;
  out.view_ = out.view_.reshape(std::move(shape));
  return out;
}

}  // namespace tally
