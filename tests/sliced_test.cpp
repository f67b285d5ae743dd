// SlicedCollection: every slice's result equals a plain collection over that slice's rows,
// for any split into batches, merges and ranks; bad input leaves the state unchanged.
#include "tally/sliced.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "support/thread_context.h"
#include "tally/metrics/reduction.h"
#include "tally/registry.h"

namespace tally {
namespace {

const std::vector<std::string> kSpecs = {"binary_accuracy", "auc", "mean_squared_error"};

struct Data {
  std::vector<double> y, p, w;
  std::vector<std::int64_t> country;  // 0..4; 4 only in the last 100 rows
  std::vector<std::string> device;    // "phone" / "desktop" / "tablet"
};

Data make_data(std::int64_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Data d;
  for (std::int64_t i = 0; i < n; ++i) {
    const double p = u(rng);
    d.p.push_back(p);
    d.y.push_back(u(rng) < p ? 1.0 : 0.0);
    d.w.push_back(0.5 + u(rng));
    d.country.push_back(i >= n - 100 ? 4 : static_cast<std::int64_t>(rng() % 4));
    const auto r = rng() % 5;
    d.device.push_back(r < 3 ? "phone" : (r < 4 ? "desktop" : "tablet"));
  }
  return d;
}

SlicedCollection make_sliced(std::int64_t max_slices = kDefaultMaxSlices) {
  return SlicedCollection(MetricCollection::from_specs(kSpecs), {"country", "device"},
                          {{}, {"country"}, {"device"}, {"country", "device"}}, max_slices);
}

// Updates `s` with rows [b, e) of `d`.
void update(SlicedCollection& s, const Data& d, std::size_t b, std::size_t e, bool weighted = false) {
  const auto n = static_cast<std::int64_t>(e - b);
  const TensorView y(d.y.data() + b, DType::kFloat64, {n});
  const TensorView p(d.p.data() + b, DType::kFloat64, {n});
  const TensorView w = weighted ? TensorView(d.w.data() + b, DType::kFloat64, {n}) : TensorView();
  const std::vector<SliceColumn> cols = {
      SliceColumn::ids(TensorView(d.country.data() + b, DType::kInt64, {n})),
      SliceColumn::strings(std::span<const std::string>(d.device).subspan(b, e - b))};
  s.update_state(y, p, w, cols);
}

// The reference: a plain collection over the rows whose features match the slice.
MetricCollection reference(const Data& d, const SlicedCollection& s, const SliceKey& key, bool weighted,
                           std::int64_t& rows) {
  std::vector<double> y, p, w;
  for (std::size_t i = 0; i < d.y.size(); ++i) {
    bool in = true;
    const auto& feats = s.slicings()[key.slicing];
    for (std::size_t k = 0; k < feats.size(); ++k) {
      const SliceValue v = feats[k] == 0 ? SliceValue(d.country[i]) : SliceValue(d.device[i]);
      in = in && v == key.values[k];
    }
    if (!in) continue;
    y.push_back(d.y[i]);
    p.push_back(d.p[i]);
    w.push_back(d.w[i]);
  }
  rows = static_cast<std::int64_t>(y.size());
  MetricCollection c = MetricCollection::from_specs(kSpecs);
  c.update_state(y, p, weighted ? TensorView(w) : TensorView());
  return c;
}

void expect_matches_reference(const SlicedCollection& s, const Data& d, bool weighted) {
  const auto results = s.result();
  ASSERT_EQ(results.size(), s.num_slices());
  for (const SliceResult& r : results) {
    std::int64_t rows = 0;
    const auto want = reference(d, s, r.key, weighted, rows).result();
    EXPECT_EQ(r.samples, rows) << r.name;
    ASSERT_EQ(r.metrics.size(), want.size());
    for (std::size_t m = 0; m < want.size(); ++m) {
      EXPECT_EQ(r.metrics[m].first, want[m].first);
      EXPECT_NEAR(r.metrics[m].second.item(), want[m].second.item(), 1e-12) << r.name << " " << want[m].first;
    }
  }
}

TEST(Sliced, EverySliceEqualsItsRowsAlone) {
  const Data d = make_data(1000, 1);
  for (const bool weighted : {false, true}) {
    SlicedCollection s = make_sliced();
    update(s, d, 0, 1000, weighted);
    // overall + 5 countries + 3 devices + 15 crosses
    EXPECT_EQ(s.num_slices(), 1u + 5 + 3 + 15);
    expect_matches_reference(s, d, weighted);
  }
}

TEST(Sliced, NamesAndCanonicalOrder) {
  const Data d = make_data(1000, 2);
  SlicedCollection s = make_sliced();
  update(s, d, 0, 1000);
  const auto r = s.result();
  EXPECT_EQ(r[0].name, "overall");
  EXPECT_EQ(r[0].samples, 1000);
  EXPECT_EQ(r[1].name, "country=0");
  EXPECT_EQ(r[5].name, "country=4");
  EXPECT_EQ(r[5].samples, 100);
  EXPECT_EQ(r[6].name, "device=desktop");  // strings sort lexicographically
  EXPECT_EQ(r[8].name, "device=tablet");
  EXPECT_EQ(r[9].name, "country=0,device=desktop");
}

TEST(Sliced, AnySplitIntoBatchesGivesTheSameResult) {
  const Data d = make_data(1000, 3);
  SlicedCollection one = make_sliced(), many = make_sliced();
  update(one, d, 0, 1000, true);
  // Uneven batches; the first ones never see country 4, so its slices appear late.
  for (const auto& [b, e] : std::vector<std::pair<std::size_t, std::size_t>>{{0, 1}, {1, 377}, {377, 900}, {900, 1000}})
    update(many, d, b, e, true);
  ASSERT_EQ(one.keys(), many.keys());
  const auto a = one.to_vector(), b = many.to_vector();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-9 * (1 + std::fabs(a[i])));
}

TEST(Sliced, MergeKeepsSlicesSeenOnOneSideOnly) {
  const Data d = make_data(1000, 4);
  SlicedCollection left = make_sliced(), right = make_sliced(), all = make_sliced();
  update(left, d, 0, 500);
  update(right, d, 500, 1000);  // only the right half has country 4
  update(all, d, 0, 1000);
  EXPECT_EQ(left.samples(SliceKey{1, {std::int64_t{4}}}), 0);
  left.merge_state(right);
  EXPECT_EQ(left.keys(), all.keys());
  EXPECT_EQ(left.samples(SliceKey{1, {std::int64_t{4}}}), 100);
  expect_matches_reference(left, d, false);
}

TEST(Sliced, VectorRoundTrip) {
  const Data d = make_data(300, 5);
  SlicedCollection s = make_sliced(), t = make_sliced();
  update(s, d, 0, 300);
  const auto keys = s.keys();
  t.from_vector(keys, s.to_vector());
  EXPECT_EQ(t.to_vector(), s.to_vector());
  EXPECT_EQ(s.slice_vector_size(), 1 + MetricCollection::from_specs(kSpecs).vector_size());
  EXPECT_THROW(t.from_vector(keys, std::vector<double>(3, 0.0)), StateError);
  EXPECT_EQ(t.to_vector(), s.to_vector());
}

TEST(Sliced, MinSliceSizeHidesSmallSlices) {
  const Data d = make_data(1000, 6);
  SlicedCollection s = make_sliced();
  update(s, d, 0, 1000);
  for (const SliceResult& r : s.result(101)) EXPECT_GE(r.samples, 101) << r.name;
  const auto all = s.result();
  const auto big = s.result(101);
  std::size_t expected = 0;
  for (const SliceResult& r : all) expected += r.samples >= 101 ? 1 : 0;
  EXPECT_EQ(big.size(), expected);
  EXPECT_LT(big.size(), all.size());  // country=4 (100 rows) and its crosses are hidden
}

TEST(Sliced, DefaultSlicingsAreOverallAndEachFeature) {
  SlicedCollection s(MetricCollection::from_specs({"mean_squared_error"}), {"a", "b"});
  ASSERT_EQ(s.slicings().size(), 3u);
  EXPECT_TRUE(s.slicings()[0].empty());
  EXPECT_EQ(s.slicings()[2], std::vector<std::size_t>{1});
}

TEST(Sliced, FloatIdsHoldingIntegersAreIds) {
  SlicedCollection s(MetricCollection::from_specs({"mean_squared_error"}), {"bin"}, {{"bin"}});
  const std::vector<double> y{1, 2, 3, 4}, p{1, 2, 3, 5};
  const std::vector<float> bins{0, 1, 0, 1};
  const std::vector<SliceColumn> cols = {SliceColumn::ids(bins)};
  s.update_state(y, p, {}, cols);
  const auto r = s.result();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1].name, "bin=1");
  EXPECT_DOUBLE_EQ(r[1].metrics[0].second.item(), 0.5);  // (0 + 1) / 2
  EXPECT_DOUBLE_EQ(r[0].metrics[0].second.item(), 0.0);
}

// ---- bad input: clear errors, state unchanged ----

TEST(SlicedBadInput, WrongColumnLength) {
  const Data d = make_data(100, 7);
  SlicedCollection s = make_sliced();
  update(s, d, 0, 50);
  const auto before = s.to_vector();
  const std::vector<std::int64_t> short_country(99, 0);
  const std::vector<SliceColumn> cols = {SliceColumn::ids(short_country), SliceColumn::strings(d.device)};
  try {
    s.update_state(d.y, d.p, {}, cols);
    FAIL() << "no error";
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(),
                 "SlicedCollection.update_state: slice column \"country\" has 99 values; y_true has 100 rows");
  }
  EXPECT_EQ(s.to_vector(), before);
}

TEST(SlicedBadInput, WrongNumberOfColumns) {
  const Data d = make_data(10, 8);
  SlicedCollection s = make_sliced();
  const std::vector<SliceColumn> cols = {SliceColumn::ids(d.country)};
  EXPECT_THROW(s.update_state(d.y, d.p, {}, cols), InvalidArgument);
  EXPECT_EQ(s.num_slices(), 0u);
}

TEST(SlicedBadInput, NaNId) {
  SlicedCollection s(MetricCollection::from_specs({"mean_squared_error"}), {"bin"});
  const std::vector<double> y{1, 2, 3}, p{1, 2, 3}, bins{0, NAN, 1};
  const std::vector<SliceColumn> cols = {SliceColumn::ids(bins)};
  try {
    s.update_state(y, p, {}, cols);
    FAIL() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(),
                 "SlicedCollection: slice column \"bin\" holds NaN at row 1; slice ids must be integers or strings");
  }
  EXPECT_EQ(s.num_slices(), 0u);
  const std::vector<double> fractional{0, 0.5, 1};
  const std::vector<SliceColumn> cols2 = {SliceColumn::ids(fractional)};
  EXPECT_THROW(s.update_state(y, p, {}, cols2), InvalidArgument);
}

TEST(SlicedBadInput, TooManySlicesIsAnErrorAndChangesNothing) {
  SlicedCollection s(MetricCollection::from_specs({"mean_squared_error"}), {"id"}, {{}, {"id"}}, 3);
  const std::vector<double> y{1, 2, 3}, p{1, 2, 3};
  const std::vector<std::int64_t> ids{7, 7, 8};
  const std::vector<SliceColumn> ok = {SliceColumn::ids(ids)};
  s.update_state(y, p, {}, ok);  // overall, id=7, id=8
  const auto before = s.to_vector();
  const std::vector<std::int64_t> more{7, 9, 10};
  const std::vector<SliceColumn> cols = {SliceColumn::ids(more)};
  try {
    s.update_state(y, p, {}, cols);
    FAIL() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(),
                 "SlicedCollection.update_state: this batch would make 5 distinct slices, more than max_slices=3 "
                 "(2 new); raise max_slices or slice by a coarser feature");
  }
  EXPECT_EQ(s.to_vector(), before);
  EXPECT_EQ(s.num_slices(), 3u);
}

TEST(SlicedBadInput, AMetricRejectingOneSliceChangesNoSlice) {
  // "picky" rejects predictions above 1; the bad row is in slice id=2, updated after id=1.
  std::vector<std::unique_ptr<Metric>> members;
  members.push_back(metrics::get("mean_squared_error"));
  members.push_back(std::make_unique<metrics::LambdaMetric>(
      "picky", VariableLayout{Variable{"total", {}, DType::kFloat64}},
      [](Variables& vars, const Batch& batch) {
        for (std::int64_t i = 0; i < batch.y_pred.numel(); ++i) {
          if (batch.y_pred.value_at(i) > 1.0) throw InvalidArgument("picky: prediction above 1");
        }
        for (std::int64_t i = 0; i < batch.y_pred.numel(); ++i) vars.f64(0)[0] += batch.y_pred.value_at(i);
      },
      [](const Variables& vars) { return Tensor::scalar(vars.f64(0)[0]); }));
  SlicedCollection s(MetricCollection(std::move(members)), {"id"}, {{"id"}});
  const std::vector<double> y{1, 0}, p{0.2, 0.7};
  const std::vector<std::int64_t> ids{1, 1};
  const std::vector<SliceColumn> ok = {SliceColumn::ids(ids)};
  s.update_state(y, p, {}, ok);
  const auto before = s.to_vector();
  const std::vector<double> y2{1, 0, 1}, p2{0.3, 0.4, 1.5};
  const std::vector<std::int64_t> ids2{1, 1, 2};
  const std::vector<SliceColumn> cols = {SliceColumn::ids(ids2)};
  try {
    s.update_state(y2, p2, {}, cols);
    FAIL() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "picky: prediction above 1");
  }
  EXPECT_EQ(s.to_vector(), before);
  EXPECT_EQ(s.num_slices(), 1u);  // id=1 only; id=2 was not kept
  EXPECT_EQ(s.samples(SliceKey{0, {std::int64_t{1}}}), 2);
}

TEST(SlicedBadInput, Construction) {
  const MetricCollection c = MetricCollection::from_specs({"mse"});
  EXPECT_THROW(SlicedCollection(c, {"a", "a"}), InvalidArgument);
  try {
    SlicedCollection(c, {"a", "b"}, {{"c"}});
    FAIL() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "SlicedCollection: slicing by unknown feature \"c\"; features are [a, b]");
  }
  EXPECT_THROW(SlicedCollection(c, {"a"}, {{"a"}, {"a"}}), InvalidArgument);
  EXPECT_THROW(SlicedCollection(c, {"a"}, {}, 0), InvalidArgument);
}

TEST(SlicedBadInput, MergeOfDifferentLayouts) {
  SlicedCollection a = make_sliced();
  SlicedCollection b(MetricCollection::from_specs(kSpecs), {"country", "device"}, {{"country"}});
  EXPECT_THROW(a.merge_state(b), StateError);
  SlicedCollection c(MetricCollection::from_specs({"mse"}), {"country", "device"},
                     {{}, {"country"}, {"device"}, {"country", "device"}});
  EXPECT_THROW(a.merge_state(c), StateError);
}

// ---- distributed: ranks that saw different slices ----

TEST(SlicedDistributed, AllReduceEqualsOneProcessWhenRanksSeeDifferentSlices) {
  const Data d = make_data(1000, 9);
  SlicedCollection single = make_sliced();
  update(single, d, 0, 1000, true);
  for (const int workers : {2, 3}) {
    std::vector<std::vector<double>> vectors(static_cast<std::size_t>(workers));
    std::vector<std::vector<SliceKey>> keys(static_cast<std::size_t>(workers));
    testing::run_workers(workers, [&](DistributedContext& ctx) {
      // Contiguous shards: only the last rank sees country 4; rank 0 of 3 also gets no rows
      // of the last batch.
      SlicedCollection mine = make_sliced();
      const auto [b, e] = ctx.distribute_range(1000);
      update(mine, d, static_cast<std::size_t>(b), static_cast<std::size_t>(e), true);
      all_reduce_metrics(mine, ctx);
      vectors[static_cast<std::size_t>(ctx.global_rank())] = mine.to_vector();
      keys[static_cast<std::size_t>(ctx.global_rank())] = mine.keys();
    });
    const auto want = single.to_vector();
    for (int r = 0; r < workers; ++r) {
      EXPECT_EQ(keys[static_cast<std::size_t>(r)], single.keys());
      ASSERT_EQ(vectors[static_cast<std::size_t>(r)].size(), want.size());
      for (std::size_t i = 0; i < want.size(); ++i)
        EXPECT_NEAR(vectors[static_cast<std::size_t>(r)][i], want[i], 1e-9 * (1 + std::fabs(want[i])));
    }
  }
}

TEST(SlicedDistributed, DifferentSlicingsFailOnEveryRank) {
  std::vector<std::string> errors(3);
  testing::run_workers(3, [&](DistributedContext& ctx) {
    SlicedCollection mine = ctx.global_rank() == 1 ? SlicedCollection(MetricCollection::from_specs(kSpecs), {"country"})
                                                   : SlicedCollection(MetricCollection::from_specs(kSpecs), {"region"});
    try {
      all_reduce_metrics(mine, ctx);
    } catch (const DistributedError& e) {
      errors[static_cast<std::size_t>(ctx.global_rank())] = e.what();
    }
  });
  for (const std::string& e : errors) EXPECT_NE(e.find("ranks slice differently"), std::string::npos) << e;
}

TEST(SlicedDistributed, UnionPastMaxSlicesFailsOnEveryRankUnchanged) {
  std::vector<int> failed(2, 0);
  testing::run_workers(2, [&](DistributedContext& ctx) {
    SlicedCollection mine(MetricCollection::from_specs({"mse"}), {"id"}, {{"id"}}, 2);
    const std::vector<double> y{1, 2}, p{1, 2};
    const std::vector<std::int64_t> ids =
        ctx.global_rank() == 0 ? std::vector<std::int64_t>{1, 2} : std::vector<std::int64_t>{3, 3};
    const std::vector<SliceColumn> cols = {SliceColumn::ids(ids)};
    mine.update_state(y, p, {}, cols);
    const auto before = mine.to_vector();
    try {
      all_reduce_metrics(mine, ctx);
    } catch (const InvalidArgument&) {
      failed[static_cast<std::size_t>(ctx.global_rank())] = mine.to_vector() == before ? 1 : 2;
    }
  });
  EXPECT_EQ(failed, (std::vector<int>{1, 1}));
}

// ---- private release per slice ----

TEST(SlicedPrivacy, NoiselessReleaseEqualsResultAndSeedsRepeat) {
  const Data d = make_data(1000, 10);
  SlicedCollection s = make_sliced();
  update(s, d, 0, 1000);
  const auto exact = s.result();
  const auto zero = private_result(s, GaussianMechanism::from_stddev(0.0), 1);
  ASSERT_EQ(zero.size(), exact.size());
  for (std::size_t i = 0; i < exact.size(); ++i) {
    EXPECT_EQ(zero[i].samples, exact[i].samples);
    EXPECT_DOUBLE_EQ(zero[i].metrics[2].second.item(), exact[i].metrics[2].second.item());
  }
  const auto a = private_result(s, GaussianMechanism::from_stddev(5.0), 42);
  const auto b = private_result(s, GaussianMechanism::from_stddev(5.0), 42);
  const auto c = private_result(s, GaussianMechanism::from_stddev(5.0), 43);
  ASSERT_EQ(a.size(), exact.size());
  int moved = 0, differ = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].samples, b[i].samples);
    EXPECT_GE(a[i].samples, 0);
    moved += a[i].samples != exact[i].samples ? 1 : 0;
    differ += a[i].samples != c[i].samples ? 1 : 0;
  }
  EXPECT_GT(moved, 10);  // sigma 5: P(round(noise) == 0) is about 0.08 per slice
  EXPECT_GT(differ, 10);
  // min_slice_size applies to the noisy counts.
  for (const SliceResult& r : private_result(s, GaussianMechanism::from_stddev(5.0), 42, 120))
    EXPECT_GE(r.samples, 120);
}

}  // namespace
}  // namespace tally
