// Ranking metrics: TorchMetrics' docstring examples, scikit-learn / definition fixtures from
// tests/fixtures/gen_ranking.py (ranking.json), batch splits at query boundaries, the
// auxiliary-input contract (query_ids) and its errors.

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tally/collection.h"
#include "tally/error.h"
#include "tally/metrics/accuracy.h"
#include "tally/metrics/ranking.h"
#include "tally/registry.h"

namespace tally::metrics {
namespace {

Json fixture() {
  std::ifstream in(std::string(TALLY_FIXTURES_DIR) + "/ranking.json");
  return Json::parse(in);
}

std::vector<double> doubles(const Json& j) { return j.get<std::vector<double>>(); }
std::vector<std::int64_t> ints(const Json& j) { return j.get<std::vector<std::int64_t>>(); }

double one_query(Metric& m, std::vector<double> y_true, std::vector<double> y_pred) {
  const std::vector<std::int64_t> ids(y_true.size(), 1);
  AuxInputs aux;
  aux.query_ids = TensorView(ids);
  m.update_state(TensorView(y_true), TensorView(y_pred), {}, aux);
  return m.value();
}

// TorchMetrics' docstring examples (functional/retrieval/*.py).
TEST(Ranking, TorchMetricsDocstringExamples) {
  NDCG ndcg;
  EXPECT_NEAR(one_query(ndcg, {10, 0, 0, 1, 5}, {.1, .2, .3, 4, 70}), 0.6957, 1e-4);
  MeanAveragePrecision map;
  EXPECT_NEAR(one_query(map, {1, 0, 1}, {0.2, 0.3, 0.5}), 0.8333, 1e-4);
  MeanReciprocalRank mrr;
  EXPECT_DOUBLE_EQ(one_query(mrr, {0, 1, 0}, {0.2, 0.3, 0.5}), 0.5);
  PrecisionAtK p2(2);
  EXPECT_DOUBLE_EQ(one_query(p2, {1, 0, 1}, {0.2, 0.3, 0.5}), 0.5);
  RecallAtK r2(2);  // top 2 are rows 2 (relevant) and 1: 1 of 2 relevant
  EXPECT_DOUBLE_EQ(one_query(r2, {1, 0, 1}, {0.2, 0.3, 0.5}), 0.5);
  HitRate h1(1);
  EXPECT_DOUBLE_EQ(one_query(h1, {1, 0, 1}, {0.2, 0.3, 0.5}), 1.0);
  // k larger than the query: precision divides by k (TorchMetrics without adaptive_k).
  PrecisionAtK p5(5);
  EXPECT_DOUBLE_EQ(one_query(p5, {1, 0, 1}, {0.2, 0.3, 0.5}), 0.4);
}

struct Case {
  std::string key;
  std::function<std::unique_ptr<Metric>(std::optional<std::int64_t>)> make;
  bool graded = false;
};

std::vector<Case> cases() {
  return {
      {"ndcg", [](auto k) { return std::make_unique<NDCG>(k); }, true},
      {"ndcg_binary", [](auto k) { return std::make_unique<NDCG>(k); }},
      {"map", [](auto k) { return std::make_unique<MeanAveragePrecision>(k); }},
      {"precision", [](auto k) { return std::make_unique<PrecisionAtK>(k); }},
      {"recall", [](auto k) { return std::make_unique<RecallAtK>(k); }},
      {"hit_rate", [](auto k) { return std::make_unique<HitRate>(k); }},
  };
}

// Fixture values for every k, in one batch and in batches cut at query boundaries.
TEST(Ranking, MatchesScikitLearnAndDefinitions) {
  const Json f = fixture();
  const std::vector<std::int64_t> ids = ints(f["query_ids"]);
  const std::vector<double> rel = doubles(f["relevance"]), grade = doubles(f["grade"]), score = doubles(f["score"]);
  const auto n = static_cast<std::int64_t>(ids.size());
  std::vector<std::int64_t> boundaries{0};
  for (std::int64_t i = 1; i < n; ++i) {
    if (ids[static_cast<std::size_t>(i)] != ids[static_cast<std::size_t>(i - 1)]) boundaries.push_back(i);
  }
  boundaries.push_back(n);
  for (const Case& c : cases()) {
    for (const std::optional<std::int64_t> k : {std::optional<std::int64_t>{}, std::optional<std::int64_t>{1},
                                                std::optional<std::int64_t>{3}, std::optional<std::int64_t>{20}}) {
      const std::string key = c.key + "_" + (k ? std::to_string(*k) : std::string("all"));
      SCOPED_TRACE(key);
      const double expected = f[key].get<double>();
      const std::vector<double>& truth = c.graded ? grade : rel;
      auto whole = c.make(k);
      AuxInputs aux;
      aux.query_ids = TensorView(ids);
      whole->update_state(TensorView(truth), TensorView(score), {}, aux);
      EXPECT_NEAR(whole->value(), expected, 1e-12);
      // Every 7th query boundary starts a new batch.
      auto split = c.make(k);
      for (std::size_t b = 0; b + 1 < boundaries.size(); b += 7) {
        const std::int64_t lo = boundaries[b], hi = boundaries[std::min(b + 7, boundaries.size() - 1)];
        AuxInputs part;
        part.query_ids = TensorView(ids).slice_rows(lo, hi);
        split->update_state(TensorView(truth).slice_rows(lo, hi), TensorView(score).slice_rows(lo, hi), {}, part);
      }
      EXPECT_NEAR(split->value(), expected, 1e-12);
    }
  }
  {
    MeanReciprocalRank mrr;
    AuxInputs aux;
    aux.query_ids = TensorView(ids);
    mrr.update_state(TensorView(rel), TensorView(score), {}, aux);
    EXPECT_NEAR(mrr.value(), f["mrr"].get<double>(), 1e-12);
    MeanReciprocalRank::Options o;
    o.empty_target_action = "skip";
    MeanReciprocalRank skip(o);
    skip.update_state(TensorView(rel), TensorView(score), {}, aux);
    EXPECT_NEAR(skip.value(), f["mrr_skip"].get<double>(), 1e-12);
  }
  {  // ties in y_pred: NDCG averages the gain over a tied group, as scikit-learn does
    const std::vector<double> tied = doubles(f["score_tied"]);
    NDCG ndcg(3);
    AuxInputs aux;
    aux.query_ids = TensorView(ids);
    ndcg.update_state(TensorView(grade), TensorView(tied), {}, aux);
    EXPECT_NEAR(ndcg.value(), f["ndcg_tied_3"].get<double>(), 1e-12);
  }
}

TEST(Ranking, EmptyTargetActions) {
  for (const auto& [action, expected] : {std::pair{"neg", 0.5}, std::pair{"pos", 1.0}, std::pair{"skip", 1.0}}) {
    HitRate::Options o;
    o.empty_target_action = action;
    HitRate m(o);
    const std::vector<double> t{1, 0, 0, 0}, p{0.9, 0.1, 0.5, 0.4};
    const std::vector<std::int64_t> ids{1, 1, 2, 2};
    AuxInputs aux;
    aux.query_ids = TensorView(ids);
    m.update_state(TensorView(t), TensorView(p), {}, aux);
    EXPECT_DOUBLE_EQ(m.value(), expected) << action;
  }
  EXPECT_THROW(get(R"({"class_name": "HitRate", "config": {"empty_target_action": "error"}})"), ConfigError);
  EXPECT_THROW(get(R"({"class_name": "NDCG", "config": {"k": 0}})"), ConfigError);
}

void expect_message(const std::function<void()>& fn, const std::string& part) {
  try {
    fn();
    FAIL() << "accepted; expected an error containing: " << part;
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(Ranking, QueryContractErrorsLeaveStateUnchanged) {
  NDCG m;
  const std::vector<double> t{1, 0, 1, 0}, p{0.9, 0.1, 0.5, 0.4};
  const std::vector<std::int64_t> ids{1, 1, 2, 2};
  AuxInputs aux;
  aux.query_ids = TensorView(ids);
  m.update_state(TensorView(t), TensorView(p), {}, aux);
  const std::vector<double> before = m.to_vector();
  // The next batch continues query 2.
  const std::vector<std::int64_t> cont{2, 3};
  AuxInputs aux2;
  aux2.query_ids = TensorView(cont);
  expect_message([&] { m.update_state(TensorView(t).slice_rows(0, 2), TensorView(p).slice_rows(0, 2), {}, aux2); },
                 "NDCG \"ndcg\": query id 2 continues the previous batch's last query");
  // A query split within one batch.
  const std::vector<std::int64_t> split{7, 8, 7, 9};
  AuxInputs aux3;
  aux3.query_ids = TensorView(split);
  expect_message([&] { m.update_state(TensorView(t), TensorView(p), {}, aux3); },
                 "query id 7 appears in two separate runs of rows (from row 2)");
  // No query ids at all: the plain three-argument update.
  expect_message([&] { m.update_state(TensorView(t), TensorView(p)); }, "argument `query_ids` is required");
  // Wrong length, wrong dtype, weights.
  const std::vector<std::int64_t> short_ids{4, 4, 5};
  AuxInputs aux4;
  aux4.query_ids = TensorView(short_ids);
  expect_message([&] { m.update_state(TensorView(t), TensorView(p), {}, aux4); }, "one value per row of y_pred (4)");
  const std::vector<double> float_ids{4, 4, 5, 5};
  AuxInputs aux5;
  aux5.query_ids = TensorView(float_ids);
  expect_message([&] { m.update_state(TensorView(t), TensorView(p), {}, aux5); }, "must hold integers");
  const std::vector<std::int64_t> fresh{4, 4, 5, 5};
  AuxInputs aux6;
  aux6.query_ids = TensorView(fresh);
  const std::vector<double> w{1, 1, 1, 1};
  expect_message([&] { m.update_state(TensorView(t), TensorView(p), TensorView(w), aux6); }, "take no sample_weight");
  MeanReciprocalRank mrr;
  const std::vector<double> graded{2, 0, 1, 0};
  expect_message([&] { mrr.update_state(TensorView(graded), TensorView(p), {}, aux6); },
                 "binary relevances (0 or 1); received 2 at row 0");
  EXPECT_EQ(before, m.to_vector());
  // A metric without the input refuses it.
  BinaryAccuracy acc;
  expect_message([&] { acc.update_state(TensorView(t), TensorView(p), {}, aux6); },
                 "BinaryAccuracy \"binary_accuracy\": this metric takes no `query_ids`");
}

// A collection hands query ids only to the members that take them.
TEST(Ranking, CollectionRoutesQueryIds) {
  MetricCollection c;
  c.add(std::make_unique<NDCG>(2));
  c.add(std::make_unique<BinaryAccuracy>());
  const std::vector<double> t{1, 0, 1, 0}, p{0.9, 0.1, 0.4, 0.6};
  const std::vector<std::int64_t> ids{1, 1, 2, 2};
  AuxInputs aux;
  aux.query_ids = TensorView(ids);
  c.update_state(TensorView(t), TensorView(p), {}, aux);
  const auto results = c.result();
  EXPECT_NEAR(results[0].second.item(), (1.0 + 1.0 / std::log2(3.0)) / 2.0, 1e-12);
  EXPECT_DOUBLE_EQ(results[1].second.item(), 0.5);
  // Without query ids the ranking member fails and nothing changes.
  EXPECT_THROW(c.update_state(TensorView(t), TensorView(p)), InvalidArgument);
  EXPECT_DOUBLE_EQ(c.result()[1].second.item(), 0.5);
  // describe() lists the input contract.
  const Json d = describe("ndcg");
  EXPECT_EQ(d["inputs"]["requires"], Json::array({"query_ids"}));
  EXPECT_FALSE(describe("binary_accuracy")["inputs"].contains("requires"));
  EXPECT_EQ(describe("bootstrap_interval")["inputs"]["accepts"], Json::array({"index"}));
}

}  // namespace
}  // namespace tally::metrics
