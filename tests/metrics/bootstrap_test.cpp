// BootstrapInterval: the Poisson weights against Random123's Philox directly, resample
// states against a reference computed from those weights, the three invariances (batch
// split, thread count, worker split through set_row_offset or the `index` input), the
// interval against the binomial standard error, and its errors.

#include <gtest/gtest.h>

#include <Random123/philox.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "tally/error.h"
#include "tally/metrics/accuracy.h"
#include "tally/metrics/bootstrap.h"
#include "tally/parallel.h"
#include "tally/registry.h"

namespace tally::metrics {
namespace {

struct Data {
  std::vector<double> y_true, y_pred;
};

Data make_data(std::int64_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Data d;
  for (std::int64_t i = 0; i < n; ++i) {
    const double t = u(rng) < 0.4 ? 1.0 : 0.0;
    d.y_true.push_back(t);
    d.y_pred.push_back(std::clamp(0.35 * t + 0.65 * u(rng), 0.0, 0.999));  // about 70% right
  }
  return d;
}

void feed(Metric& m, const Data& d, std::int64_t b, std::int64_t e) {
  m.update_state(TensorView(d.y_true).slice_rows(b, e), TensorView(d.y_pred).slice_rows(b, e));
}

// The weight of (row, resample) is half a 32-bit word of Philox4x32-10 at counter
// (row, 0, resample / 8, 0): recomputed here from Random123 itself.
TEST(Bootstrap, PoissonWeightsComeFromPhiloxAndHavePoissonMoments) {
  const r123::Philox4x32::key_type key = {{42, 0}};
  const auto out = r123::Philox4x32()({{1234, 0, 2, 0}}, key);
  const auto u = static_cast<std::uint16_t>(out.v[1] >> 16);  // resample 19 = 8 * 2 + 3: word 1, high half
  const double cdf[] = {0.36787944117144233, 0.7357588823428847, 0.9196986029286058, 0.9810118431238462,
                        0.9963401531726563,  0.9994058151824183, 0.9999167588507119, 0.9999897508033253};
  int expected = 0;
  for (const double c : cdf) expected += u >= std::round(c * 65536.0) ? 1 : 0;
  EXPECT_EQ(BootstrapInterval::poisson_weight(42, 1234, 19), expected);
  // Moments over 400000 draws: mean 1 and variance 1 within 4 standard errors.
  double sum = 0.0, sq = 0.0, zeros = 0.0;
  const int draws = 400000;
  for (int i = 0; i < draws; ++i) {
    const int k = BootstrapInterval::poisson_weight(7, i / 50, i % 50);
    sum += k;
    sq += k * k;
    zeros += k == 0 ? 1.0 : 0.0;
  }
  const double mean = sum / draws, var = sq / draws - mean * mean;
  EXPECT_NEAR(mean, 1.0, 4.0 / std::sqrt(draws));
  EXPECT_NEAR(var, 1.0, 4.0 * std::sqrt(2.0 / draws) + 0.01);
  EXPECT_NEAR(zeros / draws, std::exp(-1.0), 4.0 * std::sqrt(0.25 / draws));
}

// Every resample's (total, count) equals Σ weight·match and Σ weight from poisson_weight.
TEST(Bootstrap, ResampleStatesMatchTheReference) {
  const Data d = make_data(300, 1);
  BootstrapInterval m(Json("binary_accuracy"), 20, 0.9, 5);
  m.set_row_offset(1000);
  feed(m, d, 0, 300);
  const Variables& v = m.variable_values();
  const auto total = v.f64(0), count = v.f64(1);
  ASSERT_EQ(total.size(), 21u);
  for (std::int64_t r = 0; r <= 20; ++r) {
    double t = 0.0, c = 0.0;
    for (std::int64_t i = 0; i < 300; ++i) {
      const double w = r == 0 ? 1.0 : BootstrapInterval::poisson_weight(5, 1000 + i, r - 1);
      const bool match =
          (d.y_pred[static_cast<std::size_t>(i)] > 0.5) == (d.y_true[static_cast<std::size_t>(i)] == 1.0);
      t += w * (match ? 1.0 : 0.0);
      c += w;
    }
    EXPECT_EQ(total[static_cast<std::size_t>(r)], t) << "resample " << r;
    EXPECT_EQ(count[static_cast<std::size_t>(r)], c) << "resample " << r;
  }
  EXPECT_EQ(v.i64(2)[0], 300);  // rows_seen
}

// Batch split, thread count and worker split give the same state; the `index` input and
// the running offset agree.
TEST(Bootstrap, InvariantToBatchesThreadsAndWorkers) {
  const std::int64_t n = 5000;
  const Data d = make_data(n, 2);
  BootstrapInterval once(Json("binary_accuracy"), 64);
  feed(once, d, 0, n);
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 3; ++trial) {
    BootstrapInterval split(Json("binary_accuracy"), 64);
    std::int64_t b = 0;
    while (b < n) {
      const std::int64_t e = std::min(n, b + std::uniform_int_distribution<std::int64_t>(1, 1500)(rng));
      feed(split, d, b, e);
      b = e;
    }
    const std::vector<double> a = once.to_vector(), s = split.to_vector();
    ASSERT_EQ(a.size(), s.size());
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], s[i], 1e-12 * std::max(1.0, std::fabs(a[i])));
  }
  for (const int threads : {1, 2}) {
    set_num_threads(threads);
    BootstrapInterval t(Json("binary_accuracy"), 64);
    feed(t, d, 0, n);
    set_num_threads(0);
    EXPECT_EQ(t.to_vector(), once.to_vector()) << threads << " threads";
  }
  // Three workers with their distribute_range offsets, merged.
  BootstrapInterval merged(Json("binary_accuracy"), 64);
  for (const auto& [b, e] : {std::pair<std::int64_t, std::int64_t>{0, 1667}, {1667, 3334}, {3334, 5000}}) {
    BootstrapInterval worker(Json("binary_accuracy"), 64);
    worker.set_row_offset(b);
    feed(worker, d, b, e);
    merged.merge_state(worker);
  }
  const std::vector<double> a = once.to_vector(), w = merged.to_vector();
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], w[i], 1e-12 * std::max(1.0, std::fabs(a[i])));
  // The explicit index: rows fed in reverse order of batches give the same state.
  BootstrapInterval indexed(Json("binary_accuracy"), 64);
  std::vector<std::int64_t> index(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) index[static_cast<std::size_t>(i)] = i;
  for (std::int64_t b = n; b > 0; b -= 1000) {
    AuxInputs aux;
    aux.index = TensorView(index).slice_rows(b - 1000, b);
    indexed.update_state(TensorView(d.y_true).slice_rows(b - 1000, b), TensorView(d.y_pred).slice_rows(b - 1000, b), {},
                         aux);
  }
  const std::vector<double> x = indexed.to_vector();
  for (std::size_t i = 0; i + 1 < a.size(); ++i) EXPECT_NEAR(a[i], x[i], 1e-12 * std::max(1.0, std::fabs(a[i])));
}

// The interval: value is the wrapped metric's; the std is the binomial standard error.
TEST(Bootstrap, IntervalMatchesTheBinomialStandardError) {
  const std::int64_t n = 20000;
  const Data d = make_data(n, 4);
  BootstrapInterval m(Json("binary_accuracy"), 400, 0.9);
  feed(m, d, 0, n);
  BinaryAccuracy plain;
  feed(plain, d, 0, n);
  const std::vector<double> r = m.result().to_doubles();
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0], plain.value());
  const double p = plain.value(), se = std::sqrt(p * (1 - p) / static_cast<double>(n));
  EXPECT_NEAR(r[3], se, 0.15 * se);  // the std of 400 resamples is within 15% of the truth
  EXPECT_LT(r[1], p);
  EXPECT_GT(r[2], p);
  EXPECT_NEAR(r[2] - r[1], 2 * 1.6449 * se, 0.25 * 2 * 1.6449 * se);  // 90% normal interval width
  // A different seed gives a different, equally valid interval.
  BootstrapInterval other(Json("binary_accuracy"), 400, 0.9, 1);
  feed(other, d, 0, n);
  EXPECT_NE(other.result().to_doubles()[1], r[1]);
  // get_config round trip.
  EXPECT_EQ(serialize(m)["config"]["metric"], "binary_accuracy");
  EXPECT_EQ(get(serialize(m))->get_config(), m.get_config());
}

// Wrapped states too large for per-row contributions take one weighted update per resample.
TEST(Bootstrap, LargeStatesResampleByWeightedUpdates) {
  const Data d = make_data(400, 5);
  BootstrapInterval m(Json{{"class_name", "AUC"}, {"config", {{"num_thresholds", 50}}}}, 9, 0.95, 3);
  feed(m, d, 0, 400);
  std::vector<double> w(400);
  for (std::int64_t i = 0; i < 400; ++i) w[static_cast<std::size_t>(i)] = BootstrapInterval::poisson_weight(3, i, 8);
  const std::unique_ptr<Metric> auc = get(R"({"class_name": "AUC", "config": {"num_thresholds": 50}})");
  Metric& ref = *auc;
  ref.update_state(TensorView(d.y_true), TensorView(d.y_pred), TensorView(w));
  Variables slot(ref.variable_values().layout_ptr());
  // Resample 8 (slot 9) of every variable equals the weighted reference.
  for (std::size_t j = 0; j < slot.size(); ++j) {
    const std::int64_t numel = ref.variables()[j].numel();
    for (std::int64_t e = 0; e < numel; ++e) {
      EXPECT_DOUBLE_EQ(m.variable_values().value(j, 9 * numel + e), ref.variable_values().value(j, e))
          << ref.variables()[j].name << "[" << e << "]";
    }
  }
}

void expect_message(const std::function<void()>& fn, const std::string& part) {
  try {
    fn();
    FAIL() << "accepted; expected an error containing: " << part;
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(Bootstrap, Errors) {
  expect_message([] { BootstrapInterval m(Json("ndcg")); },
                 "the wrapped metric NDCG \"ndcg\" has variable \"last_query_id\" merged by max");
  expect_message([] { get(R"({"class_name": "BootstrapInterval", "config": {}})"); }, "argument `metric` is required");
  expect_message([] { BootstrapInterval m(Json("binary_accuracy"), 1); }, "argument `num_resamples` must be");
  expect_message([] { BootstrapInterval m(Json("binary_accuracy"), 10, 1.5); }, "argument `confidence` must be");
  BootstrapInterval m(Json("binary_accuracy"), 10);
  expect_message([&] { m.set_row_offset(-1); }, "the row offset must be >= 0");
  const Data d = make_data(10, 6);
  feed(m, d, 0, 10);
  const std::vector<double> before = m.to_vector();
  const std::vector<std::int64_t> negative(10, -3);
  AuxInputs aux;
  aux.index = TensorView(negative);
  expect_message([&] { m.update_state(TensorView(d.y_true), TensorView(d.y_pred), {}, aux); },
                 "argument `index` must hold row indices >= 0; received -3 at row 0");
  const std::vector<double> scalar{2.0};
  expect_message([&] { m.update_state(TensorView(d.y_true), TensorView(d.y_pred), TensorView(scalar)); },
                 "argument `sample_weight` must have one value per row (10)");
  EXPECT_EQ(before, m.to_vector());
}

}  // namespace
}  // namespace tally::metrics
