#pragma once
// The one harness every metric passes (TorchMetrics style): random batch splits, random
// merge trees, 1 vs 2 threads bit for bit, to_vector/from_vector round-trip and sum,
// config round-trip through the registry, get(name) for every alias, and a failed update
// leaving the state unchanged. Family tests add only reference values.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tally/metric.h"
#include "tally/parallel.h"
#include "tally/registry.h"

namespace tally::testing {

/// What the harness needs: how to build the metric, data to feed it, and its names.
struct HarnessCase {
  std::function<std::unique_ptr<Metric>()> factory;
  Tensor y_true;
  Tensor y_pred;
  std::optional<Tensor> sample_weight;
  /// Registry names that must build this class (class name and aliases).
  std::vector<std::string> names;
  /// Relative tolerance for float sums under re-batching and merging.
  double rtol = 1e-12;
  /// False for metrics whose result depends on batching by Keras's definition.
  bool batch_invariant = true;
  /// False when the config cannot rebuild the metric (lambdas, wrapped functions).
  bool config_round_trip = true;
  /// False for value-reducing metrics that ignore y_true.
  bool uses_y_true = true;
  /// Auxiliary inputs (tally/metric.h, AuxInputs), sliced with the rows: int64 [N] each.
  std::optional<Tensor> query_ids;
  std::optional<Tensor> index;
  /// Batch cuts fall on multiples of this (ranking metrics: a query's rows stay in one batch).
  std::int64_t cut_multiple = 1;
};

/// Concatenates `copies` copies of a contiguous tensor along axis 0.
inline Tensor repeat_rows(const Tensor& t, int copies) {
  Shape shape = t.shape();
  shape[0] *= copies;
  Tensor out(t.dtype(), shape);
  const std::size_t bytes = static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype());
  for (int c = 0; c < copies; ++c) {
    std::memcpy(static_cast<char*>(out.mutable_data()) + bytes * static_cast<std::size_t>(c), t.data(), bytes);
  }
  return out;
}

/// Results are equal within rtol (NaN equals NaN); shapes must match exactly.
inline void expect_close(const Tensor& expected, const Tensor& actual, double rtol, const std::string& what) {
  ASSERT_EQ(expected.shape(), actual.shape()) << what;
  const std::vector<double> e = expected.to_doubles();
  const std::vector<double> a = actual.to_doubles();
  for (std::size_t i = 0; i < e.size(); ++i) {
    if (std::isnan(e[i])) {
      EXPECT_TRUE(std::isnan(a[i])) << what << " element " << i;
      continue;
    }
    const double tol = rtol * std::max(1.0, std::fabs(e[i]));
    EXPECT_NEAR(e[i], a[i], tol) << what << " element " << i;
  }
}

/// Exact equality of int64 variables and near-equality (rtol) of float64 variables.
inline void expect_states_close(const Metric& expected, const Metric& actual, double rtol, const std::string& what) {
  const Variables& e = expected.variable_values();
  const Variables& a = actual.variable_values();
  ASSERT_TRUE(e.same_layout(a)) << what;
  for (std::size_t i = 0; i < e.size(); ++i) {
    const Variable& v = e.layout()[i];
    for (std::int64_t k = 0; k < v.numel(); ++k) {
      if (v.dtype == DType::kInt64) {
        EXPECT_EQ(e.i64(i)[static_cast<std::size_t>(k)], a.i64(i)[static_cast<std::size_t>(k)])
            << what << ": count " << v.name << "[" << k << "]";
      } else {
        const double x = e.f64(i)[static_cast<std::size_t>(k)];
        const double y = a.f64(i)[static_cast<std::size_t>(k)];
        if (std::isinf(x) || std::isnan(x)) {
          EXPECT_TRUE(x == y || (std::isnan(x) && std::isnan(y))) << what << ": " << v.name << "[" << k << "]";
        } else {
          EXPECT_NEAR(x, y, rtol * std::max(1.0, std::fabs(x))) << what << ": " << v.name << "[" << k << "]";
        }
      }
    }
  }
}

namespace detail {

inline TensorView rows(const std::optional<Tensor>& t, std::int64_t b, std::int64_t e) {
  if (!t) return {};
  if (t->ndim() == 0) return t->view();
  return t->view().slice_rows(b, e);
}

inline AuxInputs aux_rows(const HarnessCase& c, std::int64_t b, std::int64_t e) {
  AuxInputs aux;
  aux.query_ids = rows(c.query_ids, b, e);
  aux.index = rows(c.index, b, e);
  return aux;
}

inline void feed(Metric& m, const HarnessCase& c, std::int64_t b, std::int64_t e) {
  m.update_state(c.uses_y_true ? c.y_true.view().slice_rows(b, e) : TensorView(), c.y_pred.view().slice_rows(b, e),
                 rows(c.sample_weight, b, e), aux_rows(c, b, e));
}

// `ids` repeated `copies` times, each copy shifted past the previous one's largest id, so
// that the repeated rows hold new queries.
inline Tensor repeat_ids(const Tensor& ids, int copies) {
  Tensor out = repeat_rows(ids, copies);
  const std::int64_t n = ids.numel();
  std::int64_t span = 1;
  for (std::int64_t i = 0; i < n; ++i) span = std::max(span, ids.data_as<std::int64_t>()[i] + 1);
  for (std::int64_t i = 0; i < out.numel(); ++i) out.data_as<std::int64_t>()[i] += (i / n) * span;
  return out;
}

// Random cut points in (0, n), sorted, always including 0 and n.
inline std::vector<std::int64_t> random_cuts(std::int64_t n, std::mt19937_64& rng, int max_parts,
                                             std::int64_t multiple = 1) {
  std::uniform_int_distribution<int> parts_dist(2, std::max(2, max_parts));
  const int parts = static_cast<int>(std::min<std::int64_t>(parts_dist(rng), n));
  std::vector<std::int64_t> cuts{0, n};
  std::uniform_int_distribution<std::int64_t> cut(1, std::max<std::int64_t>(1, n - 1));
  for (int i = 1; i < parts; ++i) cuts.push_back(cut(rng) / multiple * multiple);
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  return cuts;
}

}  // namespace detail

/// Runs every property check on one metric and one data set.
inline void check_metric_properties(const HarnessCase& c) {
  const std::int64_t n = c.y_pred.shape().at(0);
  ASSERT_GE(n, 4) << "harness needs at least 4 rows";
  std::unique_ptr<Metric> once = c.factory();
  detail::feed(*once, c, 0, n);
  const Tensor expected = once->result();

  std::mt19937_64 rng(1234);
  // 1. Random batch splits.
  if (c.batch_invariant) {
    for (int trial = 0; trial < 5; ++trial) {
      const auto cuts = detail::random_cuts(n, rng, 8, c.cut_multiple);
      std::unique_ptr<Metric> m = c.factory();
      for (std::size_t i = 0; i + 1 < cuts.size(); ++i) detail::feed(*m, c, cuts[i], cuts[i + 1]);
      expect_close(expected, m->result(), c.rtol, "random batch split " + std::to_string(trial));
      expect_states_close(*once, *m, c.rtol, "random batch split state");
    }
  }
  // 2. Random merge trees over shards.
  if (c.batch_invariant) {
    for (int trial = 0; trial < 3; ++trial) {
      const auto cuts = detail::random_cuts(n, rng, 6, c.cut_multiple);
      std::vector<std::unique_ptr<Metric>> shards;
      for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
        shards.push_back(c.factory());
        detail::feed(*shards.back(), c, cuts[i], cuts[i + 1]);
      }
      while (shards.size() > 1) {
        std::uniform_int_distribution<std::size_t> pick(0, shards.size() - 1);
        const std::size_t a = pick(rng);
        std::size_t b = pick(rng);
        if (a == b) b = (a + 1) % shards.size();
        shards[a]->merge_state(*shards[b]);
        shards.erase(shards.begin() + static_cast<std::ptrdiff_t>(b));
      }
      expect_close(expected, shards[0]->result(), c.rtol, "random merge tree " + std::to_string(trial));
    }
  }
  // 3. One vs two threads, bit for bit, on data long enough for several chunks.
  {
    HarnessCase big = c;
    const int copies =
        static_cast<int>(std::max<std::int64_t>(1, 200000 / std::max<std::int64_t>(c.y_pred.numel(), 1)));
    big.y_true = repeat_rows(c.y_true, copies);
    big.y_pred = repeat_rows(c.y_pred, copies);
    if (c.sample_weight && c.sample_weight->ndim() > 0) big.sample_weight = repeat_rows(*c.sample_weight, copies);
    if (c.query_ids) big.query_ids = detail::repeat_ids(*c.query_ids, copies);
    if (c.index) big.index = repeat_rows(*c.index, copies);
    const std::int64_t big_n = big.y_pred.shape()[0];
    set_num_threads(1);
    std::unique_ptr<Metric> one = c.factory();
    detail::feed(*one, big, 0, big_n);
    set_num_threads(2);
    std::unique_ptr<Metric> two = c.factory();
    detail::feed(*two, big, 0, big_n);
    set_num_threads(0);
    EXPECT_EQ(one->to_vector(), two->to_vector()) << "state differs between 1 and 2 threads";
  }
  // 4. to_vector / from_vector round-trip, wrong length, and vector sum = merge.
  {
    std::unique_ptr<Metric> fresh = c.factory();
    fresh->from_vector(once->to_vector());
    expect_close(expected, fresh->result(), 0.0, "from_vector(to_vector())");
    std::vector<double> longer = once->to_vector();
    longer.push_back(0.0);
    EXPECT_THROW(fresh->from_vector(longer), StateError);
    expect_close(expected, fresh->result(), 0.0, "state after a rejected from_vector");

    const std::int64_t half = n / 2 / c.cut_multiple * c.cut_multiple;
    std::unique_ptr<Metric> a = c.factory();
    std::unique_ptr<Metric> b = c.factory();
    detail::feed(*a, c, 0, half);
    detail::feed(*b, c, half, n);
    bool all_sum = true;
    for (const Variable& v : a->variables()) all_sum = all_sum && v.aggregation == Aggregation::kSum;
    if (all_sum) {
      std::vector<double> va = a->to_vector();
      const std::vector<double> vb = b->to_vector();
      for (std::size_t i = 0; i < va.size(); ++i) va[i] += vb[i];
      std::unique_ptr<Metric> summed = c.factory();
      summed->from_vector(va);
      a->merge_state(*b);
      EXPECT_EQ(summed->to_vector(), a->to_vector()) << "from_vector(a + b) differs from merge";
    }
    // State values: a + b == merge, and State::result.
    std::unique_ptr<Metric> a2 = c.factory();
    std::unique_ptr<Metric> b2 = c.factory();
    detail::feed(*a2, c, 0, half);
    detail::feed(*b2, c, half, n);
    const State sum = a2->state() + b2->state();
    if (c.batch_invariant) expect_close(expected, sum.result(), c.rtol, "State a + b");
  }
  // 5. Config round-trip through the registry, and every name.
  if (c.config_round_trip) {
    const Json spec = metrics::serialize(*once);
    std::unique_ptr<Metric> rebuilt = metrics::get(spec);
    EXPECT_EQ(rebuilt->class_name(), once->class_name());
    EXPECT_EQ(rebuilt->get_config(), once->get_config()) << spec.dump();
    detail::feed(*rebuilt, c, 0, n);
    expect_close(expected, rebuilt->result(), 0.0, "metric rebuilt from its config");
  }
  for (const std::string& name : c.names) {
    std::unique_ptr<Metric> by_name = metrics::get(name);
    EXPECT_EQ(by_name->class_name(), once->class_name()) << "get(\"" << name << "\")";
  }
  // 6. A failed update leaves the state exactly as it was.
  {
    const std::vector<double> before = once->to_vector();
    std::vector<double> bad_weight(static_cast<std::size_t>(n), 1.0);
    bad_weight[static_cast<std::size_t>(n / 2)] = -1.0;
    EXPECT_THROW(once->update_state(c.uses_y_true ? c.y_true.view() : TensorView(), c.y_pred.view(), bad_weight,
                                    detail::aux_rows(c, 0, n)),
                 InvalidArgument);
    EXPECT_EQ(before, once->to_vector()) << "negative sample_weight changed the state";
    if (c.uses_y_true) {
      EXPECT_THROW(
          once->update_state(c.y_true.view().slice_rows(0, n - 1), c.y_pred.view(), {}, detail::aux_rows(c, 0, n)),
          InvalidArgument);
      EXPECT_EQ(before, once->to_vector()) << "mismatched rows changed the state";
    }
    std::vector<double> nan_weight(static_cast<std::size_t>(n), 1.0);
    nan_weight[0] = std::nan("");
    EXPECT_THROW(once->update_state(c.uses_y_true ? c.y_true.view() : TensorView(), c.y_pred.view(), nan_weight,
                                    detail::aux_rows(c, 0, n)),
                 InvalidArgument);
    EXPECT_EQ(before, once->to_vector()) << "NaN sample_weight changed the state";
  }
}

}  // namespace tally::testing
