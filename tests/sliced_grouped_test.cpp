// Metric::accumulate_grouped (the one-pass path of sliced evaluation) against the gather
// path: for every metric with a grouped kernel, each group's state equals the metric updated
// with that group's rows alone (counts exactly, float sums within 1e-12 relative), for
// weighted and unweighted batches, [N] and [N, 1] inputs and several label dtypes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "tally/collection.h"
#include "tally/metric.h"
#include "tally/parallel.h"
#include "tally/registry.h"
#include "tally/sliced.h"

namespace tally {
namespace {

constexpr std::size_t kGroups = 7;

struct Rows {
  std::vector<float> y, p, w;
  std::vector<std::int32_t> y_int, group;
};

Rows make_rows(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Rows r;
  for (std::size_t i = 0; i < n; ++i) {
    // Scores on and next to AUC's grid points, so bucket edges are exercised.
    const float p = i % 5 == 0 ? static_cast<float>(rng() % 200) / 199.0f : static_cast<float>(u(rng));
    r.p.push_back(p);
    r.y_int.push_back(u(rng) < p ? 1 : 0);
    r.y.push_back(static_cast<float>(r.y_int.back()));
    r.w.push_back(static_cast<float>(0.25 + u(rng)));
    r.group.push_back(static_cast<std::int32_t>(rng() % kGroups));
  }
  return r;
}

// Rows of group g as a contiguous copy of `source` (what the gather path hands a slice).
template <class T>
std::vector<T> rows_of(const std::vector<T>& source, const std::vector<std::int32_t>& group, std::int32_t g) {
  std::vector<T> out;
  for (std::size_t i = 0; i < source.size(); ++i)
    if (group[i] == g) out.push_back(source[i]);
  return out;
}

void expect_same_state(const Metric& grouped, const Metric& alone, const std::string& what) {
  const std::vector<double> a = grouped.to_vector(), b = alone.to_vector();
  ASSERT_EQ(a.size(), b.size()) << what;
  const VariableLayout& layout = alone.variables();
  std::size_t k = 0;
  for (const Variable& v : layout) {
    const std::int64_t size = shape_numel(v.shape);
    for (std::int64_t j = 0; j < size; ++j, ++k) {
      if (v.dtype == DType::kInt64) {
        EXPECT_EQ(a[k], b[k]) << what << " variable " << v.name << "[" << j << "]";
      } else {
        EXPECT_NEAR(a[k], b[k], 1e-12 * std::max(1.0, std::fabs(b[k]))) << what << " variable " << v.name;
      }
    }
  }
}

// Every slice of `s` (sliced by r.group) against the collection `specs` updated `batches`
// times with that slice's rows alone: its sample count and every metric's state.
void expect_each_slice_equals_its_rows_alone(const SlicedCollection& s, const std::vector<std::string>& specs,
                                             const Rows& r, bool weighted, int batches, const std::string& what) {
  for (const SliceKey& key : s.keys()) {
    const auto g = static_cast<std::int32_t>(std::get<std::int64_t>(key.values[0]));
    const std::vector<float> yg = rows_of(r.y, r.group, g), pg = rows_of(r.p, r.group, g),
                             wg = rows_of(r.w, r.group, g);
    MetricCollection alone = MetricCollection::from_specs(specs);
    for (int b = 0; b < batches; ++b)
      alone.update_state(TensorView(yg), TensorView(pg), weighted ? TensorView(wg) : TensorView());
    EXPECT_EQ(s.samples(key), batches * static_cast<std::int64_t>(yg.size())) << what;
    const std::vector<const Metric*> a = s.slice(key).metrics(), b = std::as_const(alone).metrics();
    for (std::size_t m = 0; m < a.size(); ++m)
      expect_same_state(*a[m], *b[m], specs[m] + " slice " + s.slice_name(key) + what + (weighted ? " weighted" : ""));
  }
}

struct Case {
  std::string spec;
  bool weighted;
  bool column;  // [N, 1] instead of [N]
  bool int_labels;
};

class Grouped : public ::testing::TestWithParam<Case> {};

TEST_P(Grouped, EachGroupEqualsItsRowsAlone) {
  const Case c = GetParam();
  const Rows r = make_rows(5000, 11);
  const auto n = static_cast<std::int64_t>(r.p.size());
  const Shape shape = c.column ? Shape{n, 1} : Shape{n};
  const TensorView y =
      c.int_labels ? TensorView(r.y_int.data(), DType::kInt32, shape) : TensorView(r.y.data(), DType::kFloat32, shape);
  const TensorView p(r.p.data(), DType::kFloat32, shape);
  const TensorView w = c.weighted ? TensorView(r.w.data(), DType::kFloat32, {n}) : TensorView();
  const std::unique_ptr<Metric> proto = metrics::get(c.spec);
  std::vector<Variables> states(kGroups, proto->snapshot_variables());
  std::vector<Variables*> groups;
  for (Variables& v : states) groups.push_back(&v);
  ASSERT_TRUE(proto->accumulate_grouped(groups, Batch{y, p, w}, r.group)) << c.spec;
  for (std::int32_t g = 0; g < static_cast<std::int32_t>(kGroups); ++g) {
    const std::vector<float> yg = rows_of(r.y, r.group, g), pg = rows_of(r.p, r.group, g),
                             wg = rows_of(r.w, r.group, g);
    const std::vector<std::int32_t> yig = rows_of(r.y_int, r.group, g);
    const auto m = static_cast<std::int64_t>(pg.size());
    const Shape gs = c.column ? Shape{m, 1} : Shape{m};
    const std::unique_ptr<Metric> alone = metrics::get(c.spec);
    alone->update_state(
        c.int_labels ? TensorView(yig.data(), DType::kInt32, gs) : TensorView(yg.data(), DType::kFloat32, gs),
        TensorView(pg.data(), DType::kFloat32, gs),
        c.weighted ? TensorView(wg.data(), DType::kFloat32, {m}) : TensorView());
    const std::unique_ptr<Metric> grouped = metrics::get(c.spec);
    grouped->commit_variables(states[static_cast<std::size_t>(g)]);
    expect_same_state(*grouped, *alone, c.spec + " group " + std::to_string(g));
    const std::vector<double> rg = grouped->result().to_doubles(), ra = alone->result().to_doubles();
    ASSERT_EQ(rg.size(), ra.size()) << c.spec;
    for (std::size_t k = 0; k < ra.size(); ++k) {
      EXPECT_NEAR(rg[k], ra[k], 1e-12 * std::max(1.0, std::fabs(ra[k]))) << c.spec << " result " << k;
    }
  }
}

std::vector<Case> cases() {
  const std::vector<std::string> specs = {
      "binary_accuracy",
      "accuracy",
      "mse",
      "mae",
      "mape",
      "msle",
      "log_cosh_error",
      "root_mean_squared_error",
      "binary_crossentropy",
      R"({"class_name": "BinaryCrossentropy", "config": {"from_logits": true, "label_smoothing": 0.1}})",
      "auc",
      R"({"class_name": "AUC", "config": {"curve": "PR", "num_thresholds": 50}})",
      R"({"class_name": "AUC", "config": {"thresholds": [0.1, 0.35, 0.5, 0.9]}})",
      R"({"class_name": "AUC", "config": {"dtype": "float64"}})",
      "precision",
      R"({"class_name": "Recall", "config": {"thresholds": [0.2, 0.5, 0.8]}})",
      "true_positives",
      "false_negatives",
      R"({"class_name": "SensitivityAtSpecificity", "config": {"specificity": 0.7}})"};
  std::vector<Case> out;
  for (const std::string& s : specs) {
    out.push_back({s, false, false, false});
    out.push_back({s, true, false, false});
    out.push_back({s, false, true, true});
    out.push_back({s, true, true, true});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Metrics, Grouped, ::testing::ValuesIn(cases()));

TEST(GroupedLayouts, OtherLayoutsDeclineAndTouchNothing) {
  const std::vector<float> y = {0, 1, 1, 0}, p = {0.2f, 0.8f, 0.6f, 0.4f};
  const std::vector<std::int32_t> group = {0, 1, 0, 1};
  const float scalar_weight = 2.0f;
  const std::vector<Float16> y_half = {Float16(0.0f), Float16(1.0f), Float16(1.0f), Float16(0.0f)};
  struct Decline {
    std::string spec;
    TensorView y, p, w;
  };
  const std::vector<Decline> declines = {
      // A scalar weight weights the whole batch as one sample (Keras): not per row.
      {"binary_accuracy", TensorView(y), TensorView(p), TensorView(&scalar_weight, DType::kFloat32, {})},
      {"auc", TensorView(y), TensorView(p), TensorView(&scalar_weight, DType::kFloat32, {})},
      // Two values per row.
      {"mse", TensorView(y.data(), DType::kFloat32, {2, 2}), TensorView(p.data(), DType::kFloat32, {2, 2}), {}},
      // Options the grouped confusion kernel does not cover.
      {R"({"class_name": "Precision", "config": {"top_k": 1}})", TensorView(y), TensorView(p), {}},
      {R"({"class_name": "AUC", "config": {"from_logits": true}})", TensorView(y), TensorView(p), {}},
      // float16 labels: the grouped kernels read counting_dtypes.h's 5 label types.
      {"binary_accuracy", TensorView(y_half.data(), DType::kFloat16, {4}), TensorView(p), {}},
      {"auc", TensorView(y_half.data(), DType::kFloat16, {4}), TensorView(p), {}},
      // No grouped kernel at all.
      {"poisson", TensorView(y), TensorView(p), {}},
  };
  for (const Decline& d : declines) {
    const std::unique_ptr<Metric> m = metrics::get(d.spec);
    std::vector<Variables> states(2, m->snapshot_variables());
    const std::vector<double> before = states[0].to_vector();
    std::vector<Variables*> groups = {&states[0], &states[1]};
    const std::span<const std::int32_t> g =
        d.p.ndim() == 2 ? std::span<const std::int32_t>(group).first(2) : std::span<const std::int32_t>(group);
    EXPECT_FALSE(m->accumulate_grouped(groups, Batch{d.y, d.p, d.w}, g)) << d.spec;
    EXPECT_EQ(states[0].to_vector(), before) << d.spec;
    EXPECT_EQ(states[1].to_vector(), before) << d.spec;
  }
}

TEST(GroupedLayouts, NaNScoreIsRejectedNamingTheRow) {
  const std::vector<float> y = {0, 1, 1}, p = {0.2f, std::nanf(""), 0.6f};
  const std::vector<std::int32_t> group = {0, 1, 0};
  const std::unique_ptr<Metric> m = metrics::get("auc");
  std::vector<Variables> states(2, m->snapshot_variables());
  std::vector<Variables*> groups = {&states[0], &states[1]};
  try {
    m->accumulate_grouped(groups, Batch{TensorView(y), TensorView(p), {}}, group);
    FAIL() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("NaN"), std::string::npos) << e.what();
  }
}

// A collection mixing grouped metrics with one that takes the gather path: every slice still
// equals its rows evaluated alone.
TEST(GroupedSliced, MixedCollectionEqualsEachSliceAlone) {
  const std::vector<std::string> specs = {"auc", "poisson", "mse", "precision", "binary_crossentropy"};
  const Rows r = make_rows(3000, 5);
  const auto n = static_cast<std::int64_t>(r.p.size());
  for (const bool weighted : {false, true}) {
    SlicedCollection s(MetricCollection::from_specs(specs), {"g"}, {{"g"}});
    const std::vector<SliceColumn> cols = {SliceColumn::ids(TensorView(r.group.data(), DType::kInt32, {n}))};
    s.update_state(TensorView(r.y), TensorView(r.p), weighted ? TensorView(r.w) : TensorView(), cols);
    ASSERT_EQ(s.num_slices(), kGroups);
    expect_each_slice_equals_its_rows_alone(s, specs, r, weighted, 1, "");
  }
}

}  // namespace
}  // namespace tally

namespace tally {
namespace {

// Small non-negative int32 ids are their own group ids (no encoding pass): ids absent from
// a batch make no slice, and crosses with them still name the right values.
TEST(GroupedSliced, Int32IdsWithGapsMakeOnlyTheSlicesSeen) {
  const std::vector<float> y = {1, 0, 1, 0, 1, 1}, p = {0.9f, 0.3f, 0.2f, 0.6f, 0.7f, 0.8f};
  const std::vector<std::int32_t> band = {9, 0, 9, 3, 0, 9};
  const std::vector<std::int32_t> kind = {1, 1, 2, 2, 1, 1};
  SlicedCollection s(MetricCollection::from_specs({"binary_accuracy", "auc"}), {"band", "kind"},
                     {{"band"}, {"band", "kind"}});
  const std::vector<SliceColumn> cols = {SliceColumn::ids(TensorView(band)), SliceColumn::ids(TensorView(kind))};
  s.update_state(TensorView(y), TensorView(p), {}, cols);
  std::vector<std::string> names;
  for (const SliceKey& key : s.keys()) names.push_back(s.slice_name(key));
  EXPECT_EQ(names, (std::vector<std::string>{"band=0", "band=3", "band=9", "band=0,kind=1", "band=3,kind=2",
                                             "band=9,kind=1", "band=9,kind=2"}));
  // band=9: labels 1, 1, 1 with scores 0.9, 0.2, 0.8: two of three predicted right.
  EXPECT_DOUBLE_EQ(s.slice(SliceKey{0, {std::int64_t{9}}}).metric("binary_accuracy").value(), 2.0 / 3.0);
  EXPECT_EQ(s.samples(SliceKey{0, {std::int64_t{9}}}), 3);
  EXPECT_EQ(s.samples(SliceKey{1, {std::int64_t{9}, std::int64_t{2}}}), 1);
  EXPECT_EQ(s.samples(SliceKey{0, {std::int64_t{5}}}), 0);
}

}  // namespace
}  // namespace tally

namespace tally {
namespace {

// Restores the default thread count at the end of a test, even a failing one.
struct ThreadCount {
  explicit ThreadCount(int n) { set_num_threads(n); }
  ~ThreadCount() { set_num_threads(0); }
  ThreadCount(const ThreadCount&) = delete;
  ThreadCount& operator=(const ThreadCount&) = delete;
};

// The grouped kernels run in chunks of 65536 rows (grouped_run.h), on threads: a batch of
// several chunks gives the same state bits on 1, 2 and 3 threads (float sums are added in
// chunk order, counts merged exactly), and every slice still equals its rows alone.
TEST(GroupedThreads, SameStateOnAnyThreadCountAndEachSliceEqualsItsRowsAlone) {
  const std::vector<std::string> specs = {
      "binary_accuracy",
      "mse",
      "auc",
      "binary_crossentropy",
      "accuracy",
      "precision",
      R"({"class_name": "AUC", "config": {"name": "auc64", "dtype": "float64", "num_thresholds": 30}})",
      R"({"class_name": "Recall", "config": {"thresholds": [0.2, 0.5, 0.8]}})"};
  const Rows r = make_rows(3 * 65536 + 123, 17);
  const auto n = static_cast<std::int64_t>(r.p.size());
  const std::vector<SliceColumn> cols = {SliceColumn::ids(TensorView(r.group.data(), DType::kInt32, {n}))};
  for (const bool weighted : {false, true}) {
    std::vector<std::vector<double>> states;
    for (const int threads : {1, 2, 3}) {
      const ThreadCount hold(threads);
      SlicedCollection s(MetricCollection::from_specs(specs), {"g"}, {{"g"}});
      s.update_state(TensorView(r.y), TensorView(r.p), weighted ? TensorView(r.w) : TensorView(), cols);
      ASSERT_EQ(s.num_slices(), kGroups);
      states.push_back(s.to_vector());
      if (threads == 3) expect_each_slice_equals_its_rows_alone(s, specs, r, weighted, 1, " threads 3");
    }
    EXPECT_EQ(states[0], states[1]) << "weighted " << weighted;
    EXPECT_EQ(states[0], states[2]) << "weighted " << weighted;
  }
}

// After a batch of small int32 ids, the next batch is taken at that batch's id range without
// a range pass, each block checked before use (by the first kernel as it reads the rows, in
// SIMD or in its scalar tail, else by the driver): ids past the range, negative ids, ids too
// large for a direct table, a narrower range and one id past the range in the very last row
// all still land in the right slices, whichever metric comes first.
TEST(GroupedSliced, IdRangeOfThePreviousBatchIsCheckedNotTrusted) {
  const std::string auc64 = R"({"class_name": "AUC", "config": {"name": "auc64", "dtype": "float64"}})";
  const std::vector<std::vector<std::string>> orders = {{"binary_accuracy", "auc", "mse", "poisson"},
                                                        {"auc", "mse", "binary_accuracy"},
                                                        {"mse", "auc"},
                                                        {auc64, "binary_accuracy"},
                                                        {"poisson", "binary_accuracy"},
                                                        {"binary_crossentropy"},
                                                        {"mse", "mae", "auc"},
                                                        {"accuracy", "binary_accuracy", "mse", "mae", "auc"}};
  for (const auto& specs : orders) {
    SlicedCollection s(MetricCollection::from_specs(specs), {"g"}, {{"g"}});
    std::map<std::int64_t, MetricCollection> alone;
    std::map<std::int64_t, std::int64_t> rows_seen;
    const std::vector<std::vector<std::int32_t>> id_sets = {
        {0, 1, 2, 3, 4}, {0, 3, 8, 5}, {-1, 2, 70000, 4}, {1, 2}, {0, 2, 4, 6, 8, 9}, {7, 1}, {7, 1}};
    std::uint64_t seed = 40;
    for (std::size_t set = 0; set < id_sets.size(); ++set) {
      const auto& ids = id_sets[set];
      const Rows r = make_rows(5003, ++seed);
      std::vector<std::int32_t> column(r.p.size());
      for (std::size_t i = 0; i < column.size(); ++i)
        column[i] = ids[static_cast<std::size_t>(r.group[i]) % ids.size()];
      if (set + 1 == id_sets.size()) column.back() = 50;  // past the range [0, 8) of the batch before, last row only
      const auto n = static_cast<std::int64_t>(column.size());
      const std::vector<SliceColumn> cols = {SliceColumn::ids(TensorView(column.data(), DType::kInt32, {n}))};
      s.update_state(TensorView(r.y), TensorView(r.p), {}, cols);
      std::vector<std::int32_t> present = ids;
      present.push_back(50);
      for (const std::int32_t id : present) {
        const std::vector<float> yg = rows_of(r.y, column, id), pg = rows_of(r.p, column, id);
        if (yg.empty()) continue;
        alone.try_emplace(id, MetricCollection::from_specs(specs))
            .first->second.update_state(TensorView(yg), TensorView(pg));
        rows_seen[id] += static_cast<std::int64_t>(yg.size());
      }
    }
    ASSERT_EQ(s.num_slices(), alone.size()) << specs[0];
    ASSERT_EQ(rows_seen[50], 1);
    for (const auto& [id, expected] : alone) {
      const SliceKey key{0, {id}};
      EXPECT_EQ(s.samples(key), rows_seen[id]) << "g=" << id;
      const std::vector<const Metric*> a = s.slice(key).metrics(), b = expected.metrics();
      for (std::size_t m = 0; m < a.size(); ++m) expect_same_state(*a[m], *b[m], specs[m] + " g=" + std::to_string(id));
    }
  }
}

// The grouped kernels read float32 and float64 weights in place and copy other layouts
// (integer weights, a strided column) to float64: the same weight values give the same

// state bits whichever way they come.
TEST(GroupedLayouts, WeightsInPlaceOrCopiedGiveTheSameState) {
  const Rows r = make_rows(3001, 23);
  const auto n = static_cast<std::int64_t>(r.p.size());
  std::vector<float> w32(r.p.size());
  std::vector<double> w64(r.p.size());
  std::vector<std::int32_t> wint(r.p.size());
  std::vector<float> strided(2 * r.p.size(), -1.0f);
  for (std::size_t i = 0; i < r.p.size(); ++i) {
    wint[i] = static_cast<std::int32_t>(1 + i % 4);
    w32[i] = static_cast<float>(wint[i]);
    w64[i] = static_cast<double>(wint[i]);
    strided[2 * i] = w32[i];
  }
  const std::vector<TensorView> weights = {TensorView(w32), TensorView(w64),
                                           TensorView(wint.data(), DType::kInt32, {n}),
                                           TensorView(strided.data(), DType::kFloat32, {n}, {2})};
  for (const std::string spec : {"binary_accuracy", "mse", "auc"}) {
    const std::unique_ptr<Metric> proto = metrics::get(spec);
    std::vector<std::vector<double>> seen;
    for (const TensorView& w : weights) {
      std::vector<Variables> states(kGroups, proto->snapshot_variables());
      std::vector<Variables*> groups;
      for (Variables& v : states) groups.push_back(&v);
      ASSERT_TRUE(proto->accumulate_grouped(groups, Batch{TensorView(r.y), TensorView(r.p), w}, r.group)) << spec;
      std::vector<double> all;
      for (const Variables& v : states) {
        const std::unique_ptr<Metric> m = metrics::get(spec);
        m->commit_variables(v);
        const std::vector<double> x = m->to_vector();
        all.insert(all.end(), x.begin(), x.end());
      }
      seen.push_back(std::move(all));
    }
    for (std::size_t k = 1; k < seen.size(); ++k) EXPECT_EQ(seen[k], seen[0]) << spec << " weights " << k;
    // And weighted is not unweighted: the weights were used.
    std::vector<Variables> plain(kGroups, proto->snapshot_variables());
    std::vector<Variables*> groups;
    for (Variables& v : plain) groups.push_back(&v);
    ASSERT_TRUE(proto->accumulate_grouped(groups, Batch{TensorView(r.y), TensorView(r.p), {}}, r.group));
    const std::unique_ptr<Metric> m = metrics::get(spec);
    m->commit_variables(plain[0]);
    EXPECT_NE(m->to_vector(), std::vector<double>(seen[0].begin(),
                                                  seen[0].begin() + static_cast<std::ptrdiff_t>(m->to_vector().size())))
        << spec;
  }
}

// BinaryAccuracy's SIMD block against binary_match: labels other than 0 and 1, scores at the
// threshold, NaN scores and labels, rows past a multiple of four.
TEST(GroupedLayouts, BinaryAccuracyBlockMatchesRowByRow) {
  const float nan = std::nanf("");
  const std::vector<float> y = {0, 1, 0.5f, 2, -0.0f, 1, nan, 1, 0, 1, 1};
  const std::vector<float> p = {0.5f, 0.5f, 0.7f, 0.9f, 0.1f, nan, 0.9f, 0.50001f, 0.49999f, 1, 0};
  const std::vector<std::int32_t> group = {0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1};
  for (const double threshold : {0.5, 0.0, 1.0}) {
    const std::string spec =
        R"({"class_name": "BinaryAccuracy", "config": {"threshold": )" + std::to_string(threshold) + "}}";
    const std::unique_ptr<Metric> proto = metrics::get(spec);
    std::vector<Variables> states(3, proto->snapshot_variables());
    std::vector<Variables*> groups = {&states[0], &states[1], &states[2]};
    ASSERT_TRUE(proto->accumulate_grouped(groups, Batch{TensorView(y), TensorView(p), {}}, group));
    for (std::int32_t g = 0; g < 3; ++g) {
      const std::vector<float> yg = rows_of(y, group, g), pg = rows_of(p, group, g);
      const std::unique_ptr<Metric> alone = metrics::get(spec);
      alone->update_state(TensorView(yg), TensorView(pg));
      const std::unique_ptr<Metric> grouped = metrics::get(spec);
      grouped->commit_variables(states[static_cast<std::size_t>(g)]);
      EXPECT_EQ(grouped->to_vector(), alone->to_vector()) << spec << " group " << g;
    }
  }
}

}  // namespace
}  // namespace tally

namespace tally {
namespace {

// Refinement (GroupedKernel::refines / host): an unweighted 0/1 metric's (slice, value)
// counts are kept in an AUC-style histogram's table, one table update per row for both, and
// split again at the end. Every pairing (float32 grid, float64 levels, explicit thresholds,
// two 0/1 metrics of which only the first is refined, the 0/1 metric after the histogram),
// on one and three threads and across several chunks, gives each slice the state of its rows
// alone; weighted batches (not refined) too, with the same collection. The mean family's
// float sums drop their count lanes when another kernel counts the rows
// (GroupedKernel::drop_row_counts): the histogram, or the first of two float metrics.
TEST(GroupedSliced, ZeroOneCountsRefinedIntoAHistogramEqualEachSliceAlone) {
  const std::string auc64 = R"({"class_name": "AUC", "config": {"name": "auc64", "dtype": "float64"}})";
  const std::string listed = R"({"class_name": "AUC", "config": {"name": "listed", "thresholds": [0.2, 0.5, 0.7]}})";
  const std::vector<std::vector<std::string>> collections = {
      {"binary_accuracy", "auc"},        {"accuracy", auc64}, {listed, "binary_accuracy", "accuracy", "mse"},
      {"mse", "auc", "binary_accuracy"}, {"mse", "mae"},      {"mae", "mse", auc64}};
  const Rows r = make_rows(2 * 65536 + 77, 31);
  const auto n = static_cast<std::int64_t>(r.p.size());
  const std::vector<SliceColumn> cols = {SliceColumn::ids(TensorView(r.group.data(), DType::kInt32, {n}))};
  for (const auto& specs : collections) {
    for (const bool weighted : {false, true}) {
      for (const int threads : {1, 3}) {
        const ThreadCount hold(threads);
        SlicedCollection s(MetricCollection::from_specs(specs), {"g"}, {{"g"}});
        s.update_state(TensorView(r.y), TensorView(r.p), weighted ? TensorView(r.w) : TensorView(), cols);
        // A second batch, its ids taken at the first batch's range and checked by the refined metric.
        s.update_state(TensorView(r.y), TensorView(r.p), weighted ? TensorView(r.w) : TensorView(), cols);
        ASSERT_EQ(s.num_slices(), kGroups);
        expect_each_slice_equals_its_rows_alone(s, specs, r, weighted, 2, " threads " + std::to_string(threads));
      }
    }
  }
}

}  // namespace
}  // namespace tally
