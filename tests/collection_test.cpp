// MetricCollection: specs, duplicate names, all-or-nothing updates, vectors, snapshots,
// merging, and work shared between metrics with the same key.
#include "tally/collection.h"

#include <gtest/gtest.h>

#include <atomic>

#include "support/random_inputs.h"
#include "tally/metrics/accuracy.h"
#include "tally/metrics/reduction.h"
#include "tally/metrics/regression.h"
#include "tally/registry.h"

namespace tally {
namespace {

MetricCollection sample() {
  return MetricCollection::from_specs({"binary_accuracy", "mse", R"({"class_name": "Mean", "config": {"name": "m"}})"});
}

TEST(MetricCollection, UpdatesEveryMemberLikeSeparateMetrics) {
  const Tensor y = testing::random_labels({1000}, 1, 2, DType::kFloat64);
  const Tensor p = testing::random_uniform({1000}, 2);
  MetricCollection c = sample();
  c.update_state(y, p);
  metrics::BinaryAccuracy acc;
  metrics::MeanSquaredError mse;
  acc.update_state(y, p);
  mse.update_state(y, p);
  const auto r = c.result();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].first, "binary_accuracy");
  EXPECT_DOUBLE_EQ(r[0].second.item(), acc.value());
  EXPECT_DOUBLE_EQ(r[1].second.item(), mse.value());
  EXPECT_EQ(c.names(), (std::vector<std::string>{"binary_accuracy", "mean_squared_error", "m"}));
  EXPECT_DOUBLE_EQ(
      c.metric("m").value(), p.to_doubles()[0] * 0 + [&] {
        double s = 0;
        for (const double x : p.to_doubles()) s += x;
        return s / 1000.0;
      }());
  EXPECT_THROW(c.metric("nope"), InvalidArgument);
}

TEST(MetricCollection, DuplicateNamesAreAnErrorNamingBoth) {
  try {
    MetricCollection::from_specs({"mse", "mean_squared_error"});
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("two metrics are named \"mean_squared_error\""), std::string::npos);
  }
}

TEST(MetricCollection, FailedUpdateChangesNoMember) {
  MetricCollection c = sample();
  c.update_state(std::vector<double>{1, 0}, std::vector<double>{0.7, 0.2});
  const auto before = c.to_vector();
  // The third member would accept it, the first rejects it: nobody changes.
  EXPECT_THROW(c.update_state(std::vector<double>{1, 0, 1}, std::vector<double>{0.7, 0.2}), ShapeError);
  EXPECT_THROW(c.update_state(std::vector<double>{1, 0}, std::vector<double>{0.7, 0.2}, std::vector<double>{1, -1}),
               InvalidArgument);
  EXPECT_EQ(before, c.to_vector());
}

TEST(MetricCollection, VectorsSnapshotsAndMerge) {
  MetricCollection a = sample(), b = sample();
  a.update_state(std::vector<double>{1, 0, 1}, std::vector<double>{0.9, 0.1, 0.4});
  b.update_state(std::vector<double>{0, 0}, std::vector<double>{0.6, 0.3});
  std::vector<double> sum = a.to_vector();
  const std::vector<double> vb = b.to_vector();
  for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += vb[i];
  MetricCollection from_sum = sample();
  from_sum.from_vector(sum);
  MetricCollection merged = a;
  merged.merge_state(b);
  EXPECT_EQ(from_sum.to_vector(), merged.to_vector());
  const CollectionState snapshot = a.state() + b.state();
  EXPECT_DOUBLE_EQ(snapshot.result()[0].second.item(), merged.result()[0].second.item());
  MetricCollection restored = sample();
  restored.set_state(snapshot);
  EXPECT_EQ(restored.to_vector(), merged.to_vector());
  EXPECT_THROW(restored.from_vector(std::vector<double>{1.0}), StateError);
  EXPECT_EQ(restored.to_vector(), merged.to_vector());
  MetricCollection other = MetricCollection::from_specs({"mae"});
  EXPECT_THROW(merged.merge_state(other), StateError);
  EXPECT_EQ(MetricCollection::from_json(Json::parse(R"(["mse", {"class_name": "Sum"}])")).size(), 2u);
}

// Two metrics that share the count of positive predictions, to test the mechanism.
struct Count final : SharedWork {
  std::int64_t positives = 0;
  std::int64_t rows = 0;
};
std::atomic<int> g_prepared{0};

class PositiveCount : public MetricWithClone<PositiveCount> {
 public:
  explicit PositiveCount(std::string name, bool fraction) : MetricWithClone(std::move(name)), fraction_(fraction) {
    add_variable("n", {}, DType::kInt64);
    add_variable("rows", {}, DType::kInt64);
  }
  std::string class_name() const override { return "PositiveCount"; }
  std::string shared_work_key() const override { return "positives>0.5"; }
  std::shared_ptr<const SharedWork> prepare_shared(const Batch& b) const override {
    ++g_prepared;
    auto work = std::make_shared<Count>();
    for (std::int64_t i = 0; i < b.y_pred.numel(); ++i) work->positives += b.y_pred.value_at(i) > 0.5 ? 1 : 0;
    work->rows = b.y_pred.numel();
    return work;
  }
  void accumulate_shared(Variables& vars, const Batch&, const SharedWork& work) const override {
    const auto& c = static_cast<const Count&>(work);
    vars.i64(0)[0] += c.positives;
    vars.i64(1)[0] += c.rows;
  }
  void accumulate(Variables& vars, const Batch& b) const override { accumulate_shared(vars, b, *prepare_shared(b)); }
  Tensor result_from(const Variables& vars) const override {
    const double n = static_cast<double>(vars.i64(0)[0]);
    return Tensor::scalar(fraction_ ? n / static_cast<double>(vars.i64(1)[0]) : n);
  }

 private:
  bool fraction_;
};

TEST(MetricCollection, MembersWithTheSameKeyShareWork) {
  std::vector<std::unique_ptr<Metric>> members;
  members.push_back(std::make_unique<PositiveCount>("count", false));
  members.push_back(std::make_unique<PositiveCount>("fraction", true));
  members.push_back(std::make_unique<metrics::Mean>());
  MetricCollection c(std::move(members));
  EXPECT_EQ(c.shared_work_groups(), (std::vector<std::vector<std::size_t>>{{0, 1}}));
  g_prepared = 0;
  c.update_state({}, std::vector<double>{0.9, 0.2, 0.7, 0.6});
  EXPECT_EQ(g_prepared.load(), 1) << "the group computed its work once";
  EXPECT_DOUBLE_EQ(c.metric("count").value(), 3.0);
  EXPECT_DOUBLE_EQ(c.metric("fraction").value(), 0.75);
}

TEST(MetricCollection, DuplicateNameMessagesUseTheRightArticle) {
  auto message = [](const char* a, const char* b) {
    try {
      MetricCollection::from_specs({a, b});
    } catch (const InvalidArgument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(
      message(R"({"class_name": "AUC", "config": {"name": "x"}})", R"({"class_name": "Mean", "config": {"name": "x"}})")
          .find("(an AUC and a Mean)"),
      std::string::npos);
  EXPECT_NE(message(R"({"class_name": "F1Score", "config": {"name": "x"}})",
                    R"({"class_name": "MeanSquaredError", "config": {"name": "x"}})")
                .find("(an F1Score and a MeanSquaredError)"),
            std::string::npos);
}

}  // namespace
}  // namespace tally
