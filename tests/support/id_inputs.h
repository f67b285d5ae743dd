#pragma once
// Reproducible class-id inputs for the integer-label tests of the confusion family.

#include <cstdint>
#include <random>
#include <vector>

#include "tally/tensor.h"

namespace tally::testing {

/// The ids as a 1-D tensor of `dtype`.
inline Tensor id_tensor(const std::vector<std::int64_t>& ids, DType dtype) {
  const auto n = static_cast<std::int64_t>(ids.size());
  Tensor t(dtype, {n});
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    for (std::int64_t i = 0; i < n; ++i) t.data_as<T>()[i] = static_cast<T>(ids[static_cast<std::size_t>(i)]);
  });
  return t;
}

/// n class ids in [0, c), reproducible from seed.
inline std::vector<std::int64_t> random_ids(std::int64_t n, std::int64_t c, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(n));
  for (auto& id : ids) id = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(c));
  return ids;
}

/// Random true and predicted ids in [0, c), as vectors and as int32 tensors.
struct IdPair {
  std::vector<std::int64_t> truth, pred;
  Tensor t, p;
};

/// n true ids from seed_truth and n predicted ids from seed_pred, both of c classes, int32.
inline IdPair random_id_pair(std::int64_t n, std::int64_t c, std::uint64_t seed_truth, std::uint64_t seed_pred) {
  IdPair ids{random_ids(n, c, seed_truth), random_ids(n, c, seed_pred), Tensor(), Tensor()};
  ids.t = id_tensor(ids.truth, DType::kInt32);
  ids.p = id_tensor(ids.pred, DType::kInt32);
  return ids;
}

/// Scores with few distinct values (so rows tie) and their argmax, ties to the first index.
inline std::vector<float> tied_scores(std::int64_t n, std::int64_t c, std::uint64_t seed,
                                      std::vector<std::int64_t>& argmax) {
  std::mt19937_64 rng(seed);
  std::vector<float> s(static_cast<std::size_t>(n * c));
  argmax.assign(static_cast<std::size_t>(n), 0);
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < c; ++j) {
      const float v = static_cast<float>(rng() % 5) / 4.0f;
      s[static_cast<std::size_t>(i * c + j)] = v;
      if (v > s[static_cast<std::size_t>(i * c + argmax[static_cast<std::size_t>(i)])]) {
        argmax[static_cast<std::size_t>(i)] = j;
      }
    }
  }
  return s;
}

}  // namespace tally::testing
