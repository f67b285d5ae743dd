#pragma once
// Reading the scikit-learn / TorchMetrics fixtures of tests/fixtures/ (written by the
// committed gen_*.py scripts) into tensors, and feeding them in uneven batches.
#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "tally/metric.h"
#include "tally/tensor.h"

namespace tally::testing {

/// The fixture file `name` of tests/fixtures/ (e.g. "beyond.json"), parsed.
inline Json read_fixture(const std::string& name) {
  std::ifstream in(std::string(TALLY_FIXTURES_DIR) + "/" + name);
  return Json::parse(in);
}

/// A fixture list (flat, or of rows of equal length) as a float64 tensor [N] or [N, K].
inline Tensor tensor_of(const Json& list) {
  std::vector<double> flat;
  Shape shape{static_cast<std::int64_t>(list.size())};
  if (!list.empty() && list[0].is_array()) shape.push_back(static_cast<std::int64_t>(list[0].size()));
  for (const Json& row : list) {
    if (row.is_array()) {
      for (const Json& x : row) flat.push_back(x.get<double>());
    } else {
      flat.push_back(row.get<double>());
    }
  }
  return Tensor::from_vector(flat, shape);
}

/// Feeds `t`/`p` (and `w`) in three uneven batches, so that every check also covers summing
/// states across updates.
inline void feed_in_three_batches(Metric& m, const Tensor& t, const Tensor& p, const Tensor* w = nullptr) {
  const std::int64_t n = t.shape()[0];
  const std::int64_t cuts[4] = {0, std::min<std::int64_t>(7, n), n / 2 > 7 ? n / 2 : n, n};
  for (int i = 0; i < 3; ++i) {
    const TensorView ws = w != nullptr ? w->view().slice_rows(cuts[i], cuts[i + 1]) : TensorView();
    m.update_state(t.view().slice_rows(cuts[i], cuts[i + 1]), p.view().slice_rows(cuts[i], cuts[i + 1]), ws);
  }
}

}  // namespace tally::testing
