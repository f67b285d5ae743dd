#include "tally/ops.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

#include "tally/error.h"

namespace tally::ops {
namespace {

template <class T>
T from_double(double v) {
  if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>) {
    return T(static_cast<float>(v));
  } else if constexpr (std::is_same_v<T, bool>) {
    return v != 0.0;
  } else {
    return static_cast<T>(v);
  }
}

// Writes doubles (already valid for the dtype) into a new tensor of `dtype`.
Tensor make(DType dtype, Shape shape, std::span<const double> values) {
  Tensor out(dtype, std::move(shape));
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data_as<T>();
    for (std::size_t i = 0; i < values.size(); ++i) p[i] = from_double<T>(values[i]);
  });
  return out;
}

std::string shape_str(const Shape& s) {
  std::string r = "[";
  for (std::size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

void check_order(double order, const char* fn) {
  if (!(order >= 1.0)) {
    throw InvalidArgument(std::string(fn) + ": argument `order` must be >= 1 or infinity; received " +
                          std::to_string(order));
  }
}

// Accumulates sum |x|^p (or max |x| for infinity) over values.
void accumulate_norm(const std::vector<double>& v, double order, double& acc) {
  for (double x : v) {
    const double a = std::fabs(x);
    if (std::isinf(order)) {
      acc = std::max(acc, a);
    } else if (order == 1.0) {
      acc += a;
    } else if (order == 2.0) {
      acc += a * a;
    } else {
      acc += std::pow(a, order);
    }
  }
}

double finish_norm(double acc, double order) {
  if (std::isinf(order) || order == 1.0) return acc;
  if (order == 2.0) return std::sqrt(acc);
  return std::pow(acc, 1.0 / order);
}

}  // namespace

Shape get_shape(const TensorView& tensor) { return tensor.shape(); }

Flattened flatten(std::span<const Tensor> tensors) {
  Flattened f;
  for (std::size_t t = 0; t < tensors.size(); ++t) {
    const Tensor& x = tensors[t];
    if (x.dtype() == DType::kInt64) {
      const Tensor c = Tensor::copy_of(x);
      const auto* p = c.data_as<std::int64_t>();
      for (std::int64_t i = 0; i < c.numel(); ++i) {
        if (std::llabs(p[i]) > (std::int64_t{1} << 53)) {
          throw InvalidArgument("flatten: argument `tensors`[" + std::to_string(t) +
                                "] holds an int64 beyond 2^53 that float64 cannot hold exactly; received " +
                                std::to_string(p[i]));
        }
      }
    }
    const auto v = x.to_doubles();
    f.values.insert(f.values.end(), v.begin(), v.end());
    f.shapes.push_back(x.shape());
    f.dtypes.push_back(x.dtype());
  }
  return f;
}

std::vector<Tensor> reshape(std::span<const double> values, std::span<const Shape> shapes,
                            std::span<const DType> dtypes) {
  if (shapes.size() != dtypes.size()) {
    throw InvalidArgument("reshape: arguments `shapes` and `dtypes` must have equal lengths; received " +
                          std::to_string(shapes.size()) + " and " + std::to_string(dtypes.size()));
  }
  std::size_t total = 0;
  for (const auto& s : shapes) total += static_cast<std::size_t>(shape_numel(s));
  if (total != values.size()) {
    throw ShapeError("reshape: argument `values` must hold " + std::to_string(total) +
                     " elements for the given shapes; received " + std::to_string(values.size()));
  }
  std::vector<Tensor> out;
  std::size_t at = 0;
  for (std::size_t t = 0; t < shapes.size(); ++t) {
    const auto n = static_cast<std::size_t>(shape_numel(shapes[t]));
    out.push_back(make(dtypes[t], shapes[t], values.subspan(at, n)));
    at += n;
  }
  return out;
}

double norm(const TensorView& tensor, double order) {
  check_order(order, "norm");
  double acc = 0.0;
  accumulate_norm(Tensor::copy_of(tensor).to_doubles(), order, acc);
  return finish_norm(acc, order);
}

double global_norm(std::span<const Tensor> tensors, double order) {
  check_order(order, "global_norm");
  double acc = 0.0;
  for (const auto& t : tensors) accumulate_norm(t.to_doubles(), order, acc);
  return finish_norm(acc, order);
}

Tensor one_hot(const TensorView& indices, std::int64_t depth) {
  if (depth <= 0) throw InvalidArgument("one_hot: argument `depth` must be > 0; received " + std::to_string(depth));
  if (!is_integral(indices.dtype())) {
    throw DTypeError("one_hot: argument `indices` must be integral; received " + indices.describe());
  }
  const auto idx = Tensor::copy_of(indices).to_doubles();
  Shape shape = indices.shape();
  shape.push_back(depth);
  Tensor out(DType::kFloat32, shape);
  float* p = out.data_as<float>();
  for (std::size_t i = 0; i < idx.size(); ++i) {
    const auto k = static_cast<std::int64_t>(idx[i]);
    if (k < 0 || k >= depth) {
      throw InvalidArgument("one_hot: argument `indices` must be in [0, " + std::to_string(depth) + "); received " +
                            std::to_string(k) + " at flat index " + std::to_string(i));
    }
    p[static_cast<std::int64_t>(i) * depth + k] = 1.0f;
  }
  return out;
}

Tensor concatenate(std::span<const Tensor> tensors, std::int64_t axis) {
  if (tensors.empty()) throw InvalidArgument("concatenate: argument `tensors` is empty");
  const Shape& first = tensors[0].shape();
  const auto nd = static_cast<std::int64_t>(first.size());
  const std::int64_t ax = axis < 0 ? axis + nd : axis;
  if (nd == 0 || ax < 0 || ax >= nd) {
    throw ShapeError("concatenate: argument `axis` " + std::to_string(axis) + " is out of range for " +
                     tensors[0].describe());
  }
  Shape out_shape = first;
  out_shape[static_cast<std::size_t>(ax)] = 0;
  for (std::size_t t = 0; t < tensors.size(); ++t) {
    const Tensor& x = tensors[t];
    if (x.dtype() != tensors[0].dtype()) {
      throw DTypeError("concatenate: argument `tensors` must share a dtype; received " + tensors[0].describe() +
                       " and " + x.describe() + " at index " + std::to_string(t));
    }
    bool ok = x.ndim() == nd;
    for (std::int64_t d = 0; ok && d < nd; ++d) ok = d == ax || x.shape()[d] == first[d];
    if (!ok) {
      throw ShapeError("concatenate: shapes must match except on axis " + std::to_string(ax) + "; received " +
                       shape_str(first) + " and " + shape_str(x.shape()) + " at index " + std::to_string(t));
    }
    out_shape[static_cast<std::size_t>(ax)] += x.shape()[ax];
  }
  std::int64_t outer = 1, inner = 1;
  for (std::int64_t d = 0; d < ax; ++d) outer *= first[d];
  for (std::int64_t d = ax + 1; d < nd; ++d) inner *= first[d];
  Tensor out(tensors[0].dtype(), out_shape);
  const std::size_t es = dtype_size(out.dtype());
  auto* dst = static_cast<unsigned char*>(out.mutable_data());
  std::vector<Tensor> contiguous;
  for (const auto& x : tensors) contiguous.push_back(Tensor::copy_of(x));
  for (std::int64_t o = 0; o < outer; ++o) {
    for (const auto& x : contiguous) {
      const auto bytes = static_cast<std::size_t>(x.shape()[ax] * inner) * es;
      std::memcpy(dst, static_cast<const unsigned char*>(x.data()) + static_cast<std::size_t>(o) * bytes, bytes);
      dst += bytes;
    }
  }
  return out;
}

std::vector<Tensor> clone(std::span<const Tensor> tensors) {
  std::vector<Tensor> out;
  for (const auto& t : tensors) out.push_back(Tensor::copy_of(t));
  return out;
}

void assign_variable(Tensor& reference, const TensorView& value) {
  if (reference.dtype() != value.dtype() || reference.shape() != value.shape()) {
    throw ShapeError("assign_variable: argument `value` must match the reference " + reference.describe() +
                     "; received " + value.describe());
  }
  // Tensors are values (copies are deep), so assignment replaces the contents.
  reference = Tensor::copy_of(value);
}

void exponential_moving_average_update(std::span<const Tensor> variables, std::span<Tensor> ema_variables,
                                       double decay) {
  if (variables.size() != ema_variables.size()) {
    throw InvalidArgument(
        "exponential_moving_average_update: `variables` and `ema_variables` must have equal lengths; "
        "received " +
        std::to_string(variables.size()) + " and " + std::to_string(ema_variables.size()));
  }
  for (std::size_t i = 0; i < variables.size(); ++i) {
    if (!is_floating(ema_variables[i].dtype()) || variables[i].shape() != ema_variables[i].shape()) {
      throw ShapeError("exponential_moving_average_update: ema " + ema_variables[i].describe() +
                       " must be floating and match variable " + variables[i].describe() + " at index " +
                       std::to_string(i));
    }
  }
  for (std::size_t i = 0; i < variables.size(); ++i) {
    const auto v = variables[i].to_doubles();
    auto e = ema_variables[i].to_doubles();
    for (std::size_t k = 0; k < e.size(); ++k) e[k] -= (1.0 - decay) * (e[k] - v[k]);
    ema_variables[i] = make(ema_variables[i].dtype(), ema_variables[i].shape(), e);
  }
}

std::vector<Tensor> simulate_bfloat16_transport(std::span<const Tensor> tensors) {
  std::vector<Tensor> out;
  for (const auto& t : tensors) {
    auto v = t.to_doubles();
    for (double& x : v) x = static_cast<double>(static_cast<float>(BFloat16(static_cast<float>(x))));
    out.push_back(make(t.dtype(), t.shape(), v));
  }
  return out;
}

std::pair<std::vector<Tensor>, double> clip_by_global_norm(std::span<const Tensor> tensors, double max_norm) {
  if (!(max_norm >= 0.0)) {
    throw InvalidArgument("clip_by_global_norm: argument `max_norm` must be >= 0; received " +
                          std::to_string(max_norm));
  }
  const double g = global_norm(tensors, 2.0);
  if (g <= max_norm) return {clone(tensors), g};
  const double f = max_norm / g;
  std::vector<Tensor> out;
  for (const auto& t : tensors) {
    auto v = t.to_doubles();
    for (double& x : v) x *= f;
    out.push_back(make(t.dtype(), t.shape(), v));
  }
  return {std::move(out), g};
}

GradAccumulationState::GradAccumulationState(std::int64_t num_steps, std::int64_t accumulation_steps)
    : num_steps_(num_steps), accumulation_steps_(accumulation_steps) {
  if (num_steps <= 0 || accumulation_steps <= 0) {
    throw InvalidArgument(
        "GradAccumulationState: arguments `num_steps` and `accumulation_steps` must be > 0; received " +
        std::to_string(num_steps) + " and " + std::to_string(accumulation_steps));
  }
}

bool GradAccumulationState::optimizer_should_update() const {
  // As pfl: checked after increment(), true every accumulation_steps steps and at the last.
  return steps_ % accumulation_steps_ == 0 || steps_ == num_steps_;
}

}  // namespace tally::ops
