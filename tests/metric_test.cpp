// The Metric base, Variables, State and the stateless API, exercised through the two
// user-defined metrics from the Keras documentation: BinaryTruePositives (tf.keras
// Metric docs) and JaccardScore (Keras PyMetric docs).
#include "tally/metric.h"

#include <gtest/gtest.h>

#include <limits>
#include <set>

#include "internal/check.h"
#include "support/metric_harness.h"
#include "support/random_inputs.h"
#include "tally/config.h"
#include "tally/metrics/reduction.h"
#include "tally/registry.h"

namespace tally {
namespace {

// Keras docs: true positives of boolean-cast labels and predictions, optionally weighted.
class BinaryTruePositives : public MetricWithClone<BinaryTruePositives> {
 public:
  explicit BinaryTruePositives(std::string name = "binary_true_positives") : MetricWithClone(std::move(name)) {
    add_variable("true_positives", {});
  }
  static std::unique_ptr<Metric> from_config(const Json& config) {
    ConfigReader reader("BinaryTruePositives", config);
    auto m = std::make_unique<BinaryTruePositives>(reader.name("binary_true_positives"));
    reader.dtype();
    reader.finish();
    return m;
  }
  std::string class_name() const override { return "BinaryTruePositives"; }
  void accumulate(Variables& vars, const Batch& b) const override {
    internal::check_same_shape(name(), "y_true", b.y_true, "y_pred", b.y_pred);
    internal::check_sample_weight_values(name(), b.sample_weight);
    if (b.sample_weight.has_value() && b.sample_weight.numel() != 1 && b.sample_weight.shape() != b.y_true.shape()) {
      throw ShapeError(name() + ": sample_weight shape mismatch");
    }
    double tp = 0.0;
    for (std::int64_t i = 0; i < b.y_true.numel(); ++i) {
      if (b.y_true.value_at(i) != 0.0 && b.y_pred.value_at(i) != 0.0) {
        tp += b.sample_weight.has_value() ? b.sample_weight.value_at(b.sample_weight.numel() == 1 ? 0 : i) : 1.0;
      }
    }
    vars.f64(0)[0] += tp;
  }
  Tensor result_from(const Variables& vars) const override { return Tensor::scalar(vars.f64(0)[0]); }
};

// Keras PyMetric docs: the mean over updates of sklearn's macro Jaccard score.
class JaccardScore : public MetricWithClone<JaccardScore> {
 public:
  JaccardScore() : MetricWithClone("jaccard_score") {
    add_variable("jaccard_sum", {});
    add_variable("count", {}, DType::kInt64);
  }
  std::string class_name() const override { return "JaccardScore"; }
  Direction direction() const override { return Direction::kHigherIsBetter; }
  void accumulate(Variables& vars, const Batch& b) const override {
    internal::check_same_shape(name(), "y_true", b.y_true, "y_pred", b.y_pred);
    internal::check_not_empty(name(), "y_true", b.y_true);
    std::set<double> labels;
    for (std::int64_t i = 0; i < b.y_true.numel(); ++i) {
      labels.insert(b.y_true.value_at(i));
      labels.insert(b.y_pred.value_at(i));
    }
    double sum = 0.0;
    for (const double c : labels) {
      double inter = 0.0, uni = 0.0;
      for (std::int64_t i = 0; i < b.y_true.numel(); ++i) {
        const bool t = b.y_true.value_at(i) == c, p = b.y_pred.value_at(i) == c;
        inter += (t && p) ? 1.0 : 0.0;
        uni += (t || p) ? 1.0 : 0.0;
      }
      sum += inter / uni;
    }
    vars.f64(0)[0] += sum / static_cast<double>(labels.size());
    vars.i64(1)[0] += 1;
  }
  Tensor result_from(const Variables& vars) const override {
    return Tensor::scalar(vars.f64(0)[0] / static_cast<double>(vars.i64(1)[0]));
  }
};

TEST(UserMetric, BinaryTruePositivesCountsAndMerges) {
  BinaryTruePositives m;
  m.update_state(std::vector<int>{1, 1, 0, 1}, std::vector<double>{1, 0, 1, 1});
  EXPECT_DOUBLE_EQ(m.value(), 2.0);
  m.update_state(std::vector<int>{1, 1}, std::vector<double>{1, 1}, std::vector<double>{0.5, 2.0});
  EXPECT_DOUBLE_EQ(m.value(), 4.5);
  BinaryTruePositives other;
  other.update_state(std::vector<int>{1}, std::vector<double>{1});
  m.merge_state(other);
  EXPECT_DOUBLE_EQ(m.value(), 5.5);
  EXPECT_EQ(m.get_config(), (Json{{"name", "binary_true_positives"}, {"dtype", "float32"}}));
  m.reset_state();
  EXPECT_DOUBLE_EQ(m.value(), 0.0);
}

TEST(UserMetric, RegisteredMetricWorksThroughTheRegistryAndHarness) {
  static const bool registered = [] {
    metrics::register_metric<BinaryTruePositives>("BinaryTruePositives", {"binary_true_positives"});
    return true;
  }();
  ASSERT_TRUE(registered);
  EXPECT_THROW(metrics::register_metric<BinaryTruePositives>("BinaryTruePositives"), InvalidArgument);
  testing::HarnessCase c;
  c.factory = [] { return std::make_unique<BinaryTruePositives>(); };
  c.y_true = testing::random_labels({1000}, 1, 2, DType::kFloat64);
  c.y_pred = testing::random_labels({1000}, 2, 2, DType::kFloat64);
  c.sample_weight = testing::random_uniform({1000}, 3);
  c.names = {"BinaryTruePositives", "binary_true_positives"};
  testing::check_metric_properties(c);
  const Json spec = metrics::serialize(BinaryTruePositives("tp"));
  EXPECT_EQ(spec["registered_name"], "BinaryTruePositives");
  EXPECT_EQ(metrics::get(spec)->name(), "tp");
}

TEST(UserMetric, JaccardScoreIsTheMeanOfPerBatchScores) {
  JaccardScore m;
  // sklearn.metrics.jaccard_score([0,1,1,0], [0,1,0,0], average="macro") = (2/3 + 1/2) / 2
  m.update_state(std::vector<int>{0, 1, 1, 0}, std::vector<int>{0, 1, 0, 0});
  EXPECT_NEAR(m.value(), (2.0 / 3.0 + 0.5) / 2.0, 1e-15);
  m.update_state(std::vector<int>{1, 1}, std::vector<int>{1, 1});  // perfect batch: 1.0
  EXPECT_NEAR(m.value(), ((2.0 / 3.0 + 0.5) / 2.0 + 1.0) / 2.0, 1e-15);
  EXPECT_EQ(m.direction(), Direction::kHigherIsBetter);
  EXPECT_EQ(m.variables()[1].dtype, DType::kInt64);
}

TEST(Metric, FailedUpdateLeavesStateUnchanged) {
  JaccardScore m;
  m.update_state(std::vector<int>{0, 1}, std::vector<int>{0, 1});
  const auto before = m.to_vector();
  EXPECT_THROW(m.update_state(std::vector<int>{0, 1, 1}, std::vector<int>{0, 1}), ShapeError);
  EXPECT_EQ(before, m.to_vector());
}

TEST(Metric, MergeRejectsOtherClassesAndKeepsState) {
  JaccardScore a;
  BinaryTruePositives b;
  a.update_state(std::vector<int>{0, 1}, std::vector<int>{0, 1});
  EXPECT_THROW(a.merge_state(b), StateError);
  JaccardScore c;
  c.update_state(std::vector<int>{1}, std::vector<int>{0});
  std::vector<const Metric*> list{&c, &b};
  const auto before = a.to_vector();
  EXPECT_THROW(a.merge_state(list), StateError);
  EXPECT_EQ(before, a.to_vector()) << "list merge is all-or-nothing";
}

TEST(Metric, FromVectorChecksLengthAndIntegrality) {
  JaccardScore m;
  EXPECT_THROW(m.from_vector(std::vector<double>{1.0}), StateError);
  EXPECT_THROW(m.from_vector(std::vector<double>{1.0, 2.5}), StateError);  // count is int64
  try {
    m.from_vector(std::vector<double>{1.0, 2.0, 3.0});
    FAIL();
  } catch (const StateError& e) {
    EXPECT_NE(std::string(e.what()).find("expected 2"), std::string::npos) << e.what();
  }
  m.from_vector(std::vector<double>{1.5, 2.0});
  EXPECT_DOUBLE_EQ(m.value(), 0.75);
}

TEST(State, IsAnImmutableValueWithPlusAndVectors) {
  JaccardScore a, b;
  a.update_state(std::vector<int>{1, 1}, std::vector<int>{1, 1});
  b.update_state(std::vector<int>{0, 1}, std::vector<int>{1, 1});
  const State sa = a.state();
  const State sum = sa + b.state();
  EXPECT_NEAR(sum.value(), (1.0 + 0.25) / 2.0, 1e-15);
  a.reset_state();
  EXPECT_DOUBLE_EQ(sa.value(), 1.0) << "a state is a snapshot";
  const State restored = sum.from_vector(sum.to_vector());
  EXPECT_EQ(restored.to_vector(), sum.to_vector());
  a.set_state(sum);
  EXPECT_NEAR(a.value(), 0.625, 1e-15);
  EXPECT_THROW(sa + BinaryTruePositives().state(), StateError);
}

TEST(Stateless, UpdateResultResetMatchKeras) {
  BinaryTruePositives m;
  Variables vars = stateless_reset_state(m);
  vars = stateless_update_state(m, vars, std::vector<int>{1, 1, 0}, std::vector<int>{1, 1, 1});
  EXPECT_DOUBLE_EQ(stateless_result(m, vars).item(), 2.0);
  EXPECT_DOUBLE_EQ(m.value(), 0.0) << "the metric itself is untouched";
  EXPECT_THROW(stateless_result(m, stateless_reset_state(JaccardScore())), StateError);
}

TEST(Variables, IdentityValuesAndMinMaxMerge) {
  auto layout = std::make_shared<VariableLayout>(VariableLayout{
      {"lo", {2}, DType::kFloat64, Aggregation::kMin},
      {"hi", {}, DType::kInt64, Aggregation::kMax},
      {"n", {}, DType::kInt64, Aggregation::kSum},
  });
  Variables a(layout), b(layout);
  EXPECT_TRUE(std::isinf(a.f64(0)[0]));
  a.f64(0)[0] = 3.0;
  a.f64(0)[1] = -1.0;
  b.f64(0)[0] = 1.0;
  b.f64(0)[1] = 5.0;
  a.i64(1)[0] = 7;
  b.i64(1)[0] = 9;
  a.i64(2)[0] = 2;
  b.i64(2)[0] = 3;
  a.merge(b, "test");
  EXPECT_EQ(a.f64(0)[0], 1.0);
  EXPECT_EQ(a.f64(0)[1], -1.0);
  EXPECT_EQ(a.i64(1)[0], 9);
  EXPECT_EQ(a.i64(2)[0], 5);
  EXPECT_THROW(a.f64(1), StateError);
  EXPECT_EQ(a.index_of("n"), 2u);
  EXPECT_THROW(a.index_of("zzz"), StateError);
  Variables c(layout);
  c.assign_vector(a.to_vector(), "test");
  EXPECT_EQ(c.to_vector(), a.to_vector());
  EXPECT_EQ(c.tensor(0).shape(), (Shape{2}));
}

// Declaring variables one at a time (Metric::add_variable) appends in place; the state must be
// the one a single constructor call over the whole layout builds: same variables in order,
// identity values, the same flat vector, and values already written are kept.
TEST(Variables, AppendEqualsBuildingTheWholeLayout) {
  const VariableLayout all{
      {"lo", {2}, DType::kFloat64, Aggregation::kMin, Domain::kAny},
      {"count", {3}, DType::kInt64, Aggregation::kSum, Domain::kNonNegative},
      {"hi", {}, DType::kFloat64, Aggregation::kMax, Domain::kAny},
      {"most", {2, 2}, DType::kInt64, Aggregation::kMax, Domain::kAny},
      {"sum", {4}, DType::kFloat64, Aggregation::kSum, Domain::kAny},
  };
  Variables appended;
  for (const Variable& v : all) appended.append(v);
  const Variables built(std::make_shared<VariableLayout>(all));
  EXPECT_EQ(appended.layout(), built.layout());
  EXPECT_TRUE(appended.same_layout(built));
  EXPECT_EQ(appended.vector_size(), 2 + 3 + 1 + 4 + 4);
  EXPECT_EQ(appended.to_vector(), built.to_vector());
  EXPECT_EQ(appended.f64(0)[1], std::numeric_limits<double>::infinity());
  EXPECT_EQ(appended.i64(3)[3], std::numeric_limits<std::int64_t>::min());
  // Values written before a later append survive it.
  Variables partial;
  partial.append(all[0]);
  partial.append(all[1]);
  partial.f64(0)[1] = 2.5;
  partial.i64(1)[2] = 7;
  for (std::size_t i = 2; i < all.size(); ++i) partial.append(all[i]);
  EXPECT_EQ(partial.f64(0)[1], 2.5);
  EXPECT_EQ(partial.i64(1)[2], 7);
  EXPECT_EQ(partial.f64(2)[0], -std::numeric_limits<double>::infinity());
  EXPECT_EQ(partial.f64(4)[3], 0.0);
}

// AUC(num_thresholds=1e5) declares its eight count variables (the construction that was
// quadratic): names, shapes, dtypes and zero values as before.
TEST(Metric, AucStateLayoutIsUnchanged) {
  const auto auc = metrics::get(R"({"class_name": "AUC", "config": {"num_thresholds": 100000}})");
  const Variables& v = auc->variable_values();
  const std::vector<std::string> names = {
      "true_positives", "weighted_true_positives", "false_positives", "weighted_false_positives",
      "true_negatives", "weighted_true_negatives", "false_negatives", "weighted_false_negatives"};
  ASSERT_EQ(v.size(), names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(v.layout()[i].name, names[i]);
    EXPECT_EQ(v.layout()[i].shape, (Shape{100000}));
    EXPECT_EQ(v.layout()[i].dtype, i % 2 == 0 ? DType::kInt64 : DType::kFloat64);
    EXPECT_EQ(v.layout()[i].domain, Domain::kNonNegative) << names[i];
  }
  EXPECT_EQ(v.to_vector(), std::vector<double>(800000, 0.0));
  EXPECT_EQ(auc->to_vector().size(), 800000u);
}

TEST(Metric, ConstructionErrors) { EXPECT_THROW(metrics::LambdaMetric("", {}, nullptr, nullptr), InvalidArgument); }

// Configs that would need more than kMaxStateElements are refused before any allocation,
// so a typo (or a fuzzer) cannot make tally try to allocate terabytes.
TEST(MetricLimits, OversizedStatesAreRejectedUpFront) {
  auto message = [](const std::string& spec) {
    try {
      (void)metrics::get(spec);
    } catch (const InvalidArgument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(R"({"class_name": "AUC", "config": {"num_thresholds": 1000000000000}})").find("at most 16777216"),
            std::string::npos);
  EXPECT_NE(message(R"({"class_name": "PrecisionAtRecall", "config": {"recall": 0.5, "num_thresholds": 100000000}})")
                .find("at most 16777216"),
            std::string::npos);
  EXPECT_NE(message(R"({"class_name": "MeanIoU", "config": {"num_classes": 8193}})").find("between 1 and 8192"),
            std::string::npos);
  EXPECT_NE(message(R"({"class_name": "F1Score", "config": {"num_classes": 100000000}})").find("limit of 134217728"),
            std::string::npos);
  EXPECT_NE(
      message(R"({"class_name": "AUC", "config": {"num_thresholds": 1000000, "multi_label": true, "num_labels": 100}})")
          .find("limit of 134217728"),
      std::string::npos);
  EXPECT_NO_THROW((void)metrics::get(R"({"class_name": "MeanIoU", "config": {"num_classes": 1000}})"));
}

}  // namespace
}  // namespace tally
