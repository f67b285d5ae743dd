#include "tally/variables.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "internal/check.h"

namespace tally {
namespace {

constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53: int64 values travel exactly below this

double identity_f64(Aggregation aggregation) {
  switch (aggregation) {
    case Aggregation::kMin:
      return std::numeric_limits<double>::infinity();
    case Aggregation::kMax:
      return -std::numeric_limits<double>::infinity();
    case Aggregation::kSum:
      break;
  }
  return 0.0;
}

std::int64_t identity_i64(Aggregation aggregation) {
  switch (aggregation) {
    case Aggregation::kMin:
      return std::numeric_limits<std::int64_t>::max();
    case Aggregation::kMax:
      return std::numeric_limits<std::int64_t>::min();
    case Aggregation::kSum:
      break;
  }
  return 0;
}

template <class T>
void merge_values(std::span<T> into, std::span<const T> from, Aggregation aggregation) {
  switch (aggregation) {
    case Aggregation::kSum:
      for (std::size_t i = 0; i < into.size(); ++i) into[i] += from[i];
      break;
    case Aggregation::kMin:
      for (std::size_t i = 0; i < into.size(); ++i) into[i] = std::min(into[i], from[i]);
      break;
    case Aggregation::kMax:
      for (std::size_t i = 0; i < into.size(); ++i) into[i] = std::max(into[i], from[i]);
      break;
  }
}

}  // namespace

Domain default_domain(DType dtype, Aggregation aggregation) {
  return dtype == DType::kInt64 && aggregation == Aggregation::kSum ? Domain::kNonNegative : Domain::kAny;
}

std::string_view aggregation_name(Aggregation aggregation) {
  switch (aggregation) {
    case Aggregation::kSum:
      return "sum";
    case Aggregation::kMin:
      return "min";
    case Aggregation::kMax:
      return "max";
  }
  return "unknown";
}

Variables::Variables(std::shared_ptr<const VariableLayout> layout) : layout_(std::move(layout)) {
  if (!layout_) layout_ = std::make_shared<const VariableLayout>();
  std::size_t f64_size = 0;
  std::size_t i64_size = 0;
  offsets_.reserve(layout_->size());
  for (const Variable& v : *layout_) {
    if (v.dtype == DType::kInt64) {
      offsets_.push_back(i64_size);
      i64_size += static_cast<std::size_t>(v.numel());
    } else {
      offsets_.push_back(f64_size);
      f64_size += static_cast<std::size_t>(v.numel());
    }
  }
  f64_.resize(f64_size);
  i64_.resize(i64_size);
  reset();
}

void Variables::append(Variable variable) {
  auto layout = std::make_shared<VariableLayout>(this->layout());
  layout->push_back(std::move(variable));
  const Variable& v = layout->back();
  const auto n = static_cast<std::size_t>(v.numel());
  // Only the new variable is filled (with its identity); earlier values are kept.
  if (v.dtype == DType::kInt64) {
    offsets_.push_back(i64_.size());
    i64_.resize(i64_.size() + n, identity_i64(v.aggregation));
  } else {
    offsets_.push_back(f64_.size());
    f64_.resize(f64_.size() + n, identity_f64(v.aggregation));
  }
  layout_ = std::move(layout);
}

const VariableLayout& Variables::empty_layout() {
  static const VariableLayout kEmpty;
  return kEmpty;
}

std::size_t Variables::index_of(std::string_view name) const {
  const VariableLayout& vars = layout();
  for (std::size_t i = 0; i < vars.size(); ++i) {
    if (vars[i].name == name) return i;
  }
  throw StateError(internal::str_cat("state has no variable named \"", name, "\""));
}

void Variables::throw_wrong_type(std::size_t index, DType wanted) const {
  if (index >= size()) throw StateError(internal::str_cat("state has no variable ", index));
  throw StateError(internal::str_cat("state variable \"", layout()[index].name, "\" is ",
                                     dtype_name(layout()[index].dtype), ", not ", dtype_name(wanted)));
}

Tensor Variables::tensor(std::size_t index) const {
  const Variable& v = layout().at(index);
  const Shape flat{v.numel()};
  if (v.dtype == DType::kInt64) return Tensor::from_vector(i64(index), flat).reshaped(v.shape);
  return Tensor::from_vector(f64(index), flat).reshaped(v.shape);
}

double Variables::value(std::size_t index, std::int64_t element) const {
  const Variable& v = layout().at(index);
  if (element < 0 || element >= v.numel()) {
    throw StateError(internal::str_cat("state variable \"", v.name, "\" has no element ", element));
  }
  if (v.dtype == DType::kInt64) return static_cast<double>(i64(index)[static_cast<std::size_t>(element)]);
  return f64(index)[static_cast<std::size_t>(element)];
}

std::int64_t Variables::vector_size() const { return static_cast<std::int64_t>(f64_.size() + i64_.size()); }

std::vector<double> Variables::to_vector() const {
  std::vector<double> out(static_cast<std::size_t>(vector_size()));
  write_vector(out);
  return out;
}

void Variables::write_vector(std::span<double> out) const {
  if (static_cast<std::int64_t>(out.size()) != vector_size()) {
    throw StateError(
        internal::str_cat("state vector buffer has ", out.size(), " elements; the state needs ", vector_size()));
  }
  std::size_t pos = 0;
  for (std::size_t i = 0; i < size(); ++i) {
    if (layout()[i].dtype == DType::kInt64) {
      for (const std::int64_t x : i64(i)) out[pos++] = static_cast<double>(x);
    } else {
      for (const double x : f64(i)) out[pos++] = x;
    }
  }
}

void Variables::assign_vector(std::span<const double> values, std::string_view owner) {
  if (static_cast<std::int64_t>(values.size()) != vector_size()) {
    std::string names;
    for (const Variable& v : layout()) {
      if (!names.empty()) names += ", ";
      names += v.name + shape_string(v.shape);
    }
    throw StateError(internal::str_cat(owner, ": state vector has ", values.size(), " elements; expected ",
                                       vector_size(), " (variables ", names, ")"));
  }
  // Validate every int64 slot before writing anything.
  std::size_t pos = 0;
  for (std::size_t i = 0; i < size(); ++i) {
    const Variable& v = layout()[i];
    const auto n = static_cast<std::size_t>(v.numel());
    if (v.dtype == DType::kInt64) {
      for (std::size_t k = 0; k < n; ++k) {
        const double x = values[pos + k];
        const bool identity = (v.aggregation != Aggregation::kSum) && std::isinf(x);
        if (!identity && (!std::isfinite(x) || x != std::floor(x) || std::fabs(x) > kMaxExactInteger)) {
          throw StateError(internal::str_cat(owner, ": state vector element ", pos + k, " (variable \"", v.name,
                                             "\", int64) must be an integer of magnitude <= 2^53; received ", x));
        }
      }
    }
    if (v.domain == Domain::kNonNegative) {
      for (std::size_t k = 0; k < n; ++k) {
        const double x = values[pos + k];
        if (!(x >= 0.0) || !std::isfinite(x)) {  // NaN fails both
          throw StateError(internal::str_cat(owner, ": state vector element ", pos + k, " (variable \"", v.name,
                                             "\", a count or a sum of weights) must be finite and >= 0; received ", x));
        }
      }
    }
    pos += n;
  }
  pos = 0;
  for (std::size_t i = 0; i < size(); ++i) {
    const Variable& v = layout()[i];
    if (v.dtype == DType::kInt64) {
      for (std::int64_t& x : i64(i)) {
        const double d = values[pos++];
        x = std::isinf(d) ? identity_i64(v.aggregation) : static_cast<std::int64_t>(d);
      }
    } else {
      for (double& x : f64(i)) x = values[pos++];
    }
  }
}

void Variables::check_domains(std::string_view owner, const VariableLayout* declared) const {
  if (declared != nullptr && declared->size() != size()) {
    throw StateError(
        internal::str_cat(owner, ": state has ", size(), " variables; the metric declares ", declared->size()));
  }
  for (std::size_t i = 0; i < size(); ++i) {
    const Variable& v = layout()[i];
    if ((declared != nullptr ? (*declared)[i].domain : v.domain) != Domain::kNonNegative) continue;
    auto fail = [&](std::size_t element, double x) {
      throw StateError(internal::str_cat(owner, ": state variable \"", v.name, "\" element ", element,
                                         " is a count or a sum of weights and must be finite and >= 0; received ", x));
    };
    if (v.dtype == DType::kInt64) {
      const std::span<const std::int64_t> values = i64(i);
      for (std::size_t k = 0; k < values.size(); ++k) {
        if (values[k] < 0) fail(k, static_cast<double>(values[k]));
      }
    } else {
      const std::span<const double> values = f64(i);
      for (std::size_t k = 0; k < values.size(); ++k) {
        if (!(values[k] >= 0.0) || !std::isfinite(values[k])) fail(k, values[k]);
      }
    }
  }
}

void Variables::adopt_layout(std::shared_ptr<const VariableLayout> layout) {
  if (!layout || !(*layout == this->layout())) {
    throw StateError("state: cannot adopt a variable layout that differs from the values' layout");
  }
  layout_ = std::move(layout);
}

void Variables::merge(const Variables& other, std::string_view owner) {
  if (!same_layout(other)) {
    throw StateError(internal::str_cat(owner, ": cannot merge states with different variable layouts"));
  }
  for (std::size_t i = 0; i < size(); ++i) {
    const Aggregation agg = layout()[i].aggregation;
    if (layout()[i].dtype == DType::kInt64) {
      merge_values<std::int64_t>(i64(i), other.i64(i), agg);
    } else {
      merge_values<double>(f64(i), other.f64(i), agg);
    }
  }
}

void Variables::reset() {
  for (std::size_t i = 0; i < size(); ++i) {
    const Variable& v = layout()[i];
    if (v.dtype == DType::kInt64) {
      std::ranges::fill(i64(i), identity_i64(v.aggregation));
    } else {
      std::ranges::fill(f64(i), identity_f64(v.aggregation));
    }
  }
}

bool Variables::same_layout(const Variables& other) const {
  return layout_ == other.layout_ || layout() == other.layout();
}

}  // namespace tally
