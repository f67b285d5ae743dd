#pragma once
// Reproducible random tensors for tests.

#include <cstdint>
#include <random>

#include "tally/tensor.h"

namespace tally::testing {

/// Uniform values in [low, high) of the given shape, as float64 or float32.
inline Tensor random_uniform(Shape shape, std::uint64_t seed, double low = 0.0, double high = 1.0,
                             DType dtype = DType::kFloat64) {
  Tensor t(dtype, std::move(shape));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(low, high);
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    if (dtype == DType::kFloat32) {
      t.data_as<float>()[i] = static_cast<float>(dist(rng));
    } else {
      t.data_as<double>()[i] = dist(rng);
    }
  }
  return t;
}

/// Integer labels in [0, classes) of the given shape, as int64 or float64.
inline Tensor random_labels(Shape shape, std::uint64_t seed, std::int64_t classes, DType dtype = DType::kInt64) {
  Tensor t(dtype, std::move(shape));
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int64_t> dist(0, classes - 1);
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    const std::int64_t v = dist(rng);
    switch (dtype) {
      case DType::kInt64:
        t.data_as<std::int64_t>()[i] = v;
        break;
      case DType::kInt32:
        t.data_as<std::int32_t>()[i] = static_cast<std::int32_t>(v);
        break;
      case DType::kFloat32:
        t.data_as<float>()[i] = static_cast<float>(v);
        break;
      default:
        t.data_as<double>()[i] = static_cast<double>(v);
        break;
    }
  }
  return t;
}

}  // namespace tally::testing
