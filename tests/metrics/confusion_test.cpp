// The confusion-matrix family. Reference values are re-typed from
// keras/src/metrics/confusion_metrics_test.py (AUCTest, MultiAUCTest, TruePositivesTest ...).
#include "tally/metrics/confusion.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <string>

#include "metrics/kernels/confusion_counts.h"
#include "support/dtype_cast.h"
#include "support/id_inputs.h"
#include "support/metric_harness.h"
#include "support/random_inputs.h"
#include "tally/collection.h"
#include "tally/memory.h"
#include "tally/registry.h"

namespace tally::metrics {
namespace {

// AUCTest.setUp: thresholds [-eps, 0.5, 1 + eps].
const std::vector<float> kPred{0, 0.5f, 0.3f, 0.9f};
const std::vector<int> kTrue{0, 0, 1, 1};
const std::vector<double> kWeights{1, 2, 3, 4};

AucOptions three(AucCurve curve = AucCurve::kROC, AucSummation s = AucSummation::kInterpolation) {
  AucOptions o;
  o.num_thresholds = 3;
  o.curve = curve;
  o.summation_method = s;
  return o;
}

double auc_of(AucOptions o, bool weighted) {
  AUC m(o);
  m.update_state(kTrue, kPred, weighted ? TensorView(kWeights) : TensorView());
  return m.value();
}

TEST(AUC, KerasReferenceValues) {
  EXPECT_NEAR(auc_of(three(), false), 0.75, 1e-12);                    // test_unweighted
  EXPECT_NEAR(auc_of(three(), true), (1.0 + 4.0 / 7.0) / 2.0, 1e-12);  // test_weighted_roc_interpolation
  EXPECT_NEAR(auc_of(three(AucCurve::kROC, AucSummation::kMajoring), true), 1.0, 1e-12);
  EXPECT_NEAR(auc_of(three(AucCurve::kROC, AucSummation::kMinoring), true), 4.0 / 7.0, 1e-12);
  EXPECT_NEAR(auc_of(three(AucCurve::kPR, AucSummation::kMajoring), true), 1.0, 1e-12);  // test_weighted_pr_majoring
  EXPECT_NEAR(auc_of(three(AucCurve::kPR, AucSummation::kMinoring), true), 0.7 * 3.0 / 7.0, 1e-12);
  // test_weighted_pr_interpolation: 0.5 (3 + 2 log 2.5) / 7 + 4 / 7
  EXPECT_NEAR(auc_of(three(AucCurve::kPR), true), 0.5 * (3 + 2 * std::log(2.5)) / 7.0 + 4.0 / 7.0, 1e-12);
  AucOptions manual;
  manual.num_thresholds = 2;
  manual.thresholds = std::vector<double>{0.5};  // test_manual_thresholds
  EXPECT_NEAR(auc_of(manual, false), 0.75, 1e-12);
  AUC all_correct;  // test_unweighted_all_correct
  all_correct.update_state(kTrue, kTrue);
  EXPECT_DOUBLE_EQ(all_correct.value(), 1.0);
  AucOptions logits = three();
  logits.from_logits = true;  // test_unweighted_from_logits
  AUC from_logits(logits);
  std::vector<double> lg;
  for (const float p : kPred) lg.push_back(-std::log(1.0 / (p + 1e-12) - 1.0));
  from_logits.update_state(kTrue, lg);
  EXPECT_NEAR(from_logits.value(), 0.75, 1e-9);
}

TEST(AUC, MultiLabelAndLabelWeights) {
  // MultiAUCTest: y_pred columns [0, .5, .3, .9] and [.1, .2, .3, .4], 5 thresholds.
  const std::vector<float> pred{0, 0.1f, 0.5f, 0.2f, 0.3f, 0.3f, 0.9f, 0.4f};
  const std::vector<int> good{0, 0, 0, 0, 1, 1, 1, 1};
  AucOptions o;
  o.num_thresholds = 5;
  o.multi_label = true;
  AUC m(o);
  m.update_state(TensorView(good, {4, 2}), TensorView(pred, {4, 2}));
  EXPECT_NEAR(m.value(), (0.875 + 1.0) / 2.0, 1e-12);  // test_unweighted
  o.label_weights = std::vector<double>{0.75, 0.25};
  AUC w(o);
  w.update_state(TensorView(good, {4, 2}), TensorView(pred, {4, 2}));
  EXPECT_NEAR(w.value(), 0.875 * 0.75 + 1.0 * 0.25, 1e-12);
  EXPECT_THROW(AUC([] {
                 AucOptions bad;
                 bad.num_labels = 2;
                 return bad;
               }()),
               InvalidArgument);
}

TEST(AUC, ConfigAndErrors) {
  EXPECT_THROW(AUC([] {
                 AucOptions o;
                 o.num_thresholds = 1;
                 return o;
               }()),
               InvalidArgument);  // test_invalid_num_thresholds
  EXPECT_THROW(get(R"({"class_name": "AUC", "config": {"curve": "Invalid"}})"), ConfigError);
  EXPECT_THROW(get(R"({"class_name": "AUC", "config": {"summation_method": "Invalid"}})"), ConfigError);
  EXPECT_THROW(get(R"({"class_name": "AUC", "config": {"thresholds": [0.5, 1.5]}})"), InvalidArgument);
  auto pr = get(R"({"class_name": "AUC", "config": {"curve": "pr", "num_thresholds": 100}})");
  const Json c = pr->get_config();
  EXPECT_EQ(c["curve"], "PR");
  EXPECT_EQ(c["num_thresholds"], 100);
  EXPECT_FALSE(c.contains("thresholds"));
  auto manual = get(R"({"class_name": "AUC", "config": {"thresholds": [0.3, 0.5]}})");
  EXPECT_EQ(manual->get_config()["num_thresholds"], 4);
  EXPECT_EQ(manual->get_config()["thresholds"], Json::parse("[0.3, 0.5]"));
}

TEST(AUC, BucketsLikeKerasFloat32) {
  // Default grid (200 thresholds): a prediction exactly on i/199 is not above threshold i.
  AucOptions o;
  AUC m(o);
  const float on_grid = static_cast<float>(100.0 / 199.0);
  m.update_state(std::vector<int>{1}, std::vector<float>{on_grid});
  const std::vector<double> tp = m.variable_values().tensor(0).to_doubles();
  // Keras's float32 arithmetic decides the bucket: positive at thresholds 0..bucket.
  const auto bucket = static_cast<std::size_t>(std::ceil(on_grid * 199.0f) - 1.0f);
  EXPECT_EQ(tp[bucket], 1.0);
  EXPECT_EQ(tp[bucket + 1], 0.0);
  // Out-of-range predictions are clipped first: -1 counts as 0 (positive only at -eps), 2 as 1.
  AUC clip(o);
  clip.update_state(std::vector<int>{1, 1}, std::vector<double>{-1.0, 2.0});
  const std::vector<double> counts = clip.variable_values().tensor(0).to_doubles();
  EXPECT_EQ(counts[0], 2.0);
  EXPECT_EQ(counts[198], 1.0);
  EXPECT_EQ(counts[199], 0.0);
}

TEST(ConfusionCounts, KerasReferenceValues) {
  const std::vector<double> yt{0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1};
  const std::vector<double> yp{0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1};
  const std::vector<double> w{1.0, 1.5, 2.0, 2.5};
  auto run = [&](Metric&& m, bool weighted) {
    m.update_state(TensorView(yt, {4, 5}), TensorView(yp, {4, 5}), weighted ? TensorView(w) : TensorView());
    return m.value();
  };
  EXPECT_DOUBLE_EQ(run(TruePositives(), false), 7.0);  // TruePositivesTest.test_unweighted
  EXPECT_DOUBLE_EQ(run(TruePositives(), true), 12.0);  // test_weighted
  EXPECT_DOUBLE_EQ(run(FalsePositives(), false), 7.0);
  EXPECT_DOUBLE_EQ(run(FalsePositives(), true), 14.0);
  EXPECT_DOUBLE_EQ(run(TrueNegatives(), false), 3.0);
  EXPECT_DOUBLE_EQ(run(TrueNegatives(), true), 4.0);
  EXPECT_DOUBLE_EQ(run(FalseNegatives(), false), 3.0);
  EXPECT_DOUBLE_EQ(run(FalseNegatives(), true), 5.0);
  TruePositives multi(std::vector<double>{0.15, 0.5, 0.85});
  const std::vector<double> p2{0.9, 0.2, 0.8, 0.1, 0.2, 0.9, 0.7, 0.6, 0.1, 0.2, 0.4, 0.3, 0, 1, 0.7, 0.3};
  const std::vector<double> t2{0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1};
  multi.update_state(TensorView(t2, {4, 4}), TensorView(p2, {4, 4}));
  EXPECT_EQ(multi.result().to_doubles(), (std::vector<double>{6, 3, 1}));  // test_unweighted_with_thresholds
  EXPECT_EQ(multi.get_config()["thresholds"], Json::parse("[0.15, 0.5, 0.85]"));
  EXPECT_THROW(TruePositives(std::vector<double>{-0.1}), InvalidArgument);
}

TEST(PrecisionRecall, ThresholdsTopKAndClassId) {
  Precision p;
  p.update_state(std::vector<int>{0, 1, 1, 0}, std::vector<double>{1, 0, 1, 0});
  EXPECT_DOUBLE_EQ(p.value(), 0.5);  // PrecisionTest.test_unweighted
  Recall r;
  r.update_state(std::vector<int>{0, 1, 1, 0}, std::vector<double>{1, 0, 1, 0});
  EXPECT_DOUBLE_EQ(r.value(), 0.5);
  // top_k = 1 on [0.2, 0.1, 0.5, 0, 0.2] keeps only 0.5, whose label is 1 (PrecisionTest.test_top_k).
  Precision top1(std::nullopt, 1);
  top1.update_state(TensorView(std::vector<int>{0, 1, 1, 0, 1}, {1, 5}),
                    TensorView(std::vector<double>{0.2, 0.1, 0.5, 0, 0.2}, {1, 5}));
  EXPECT_DOUBLE_EQ(top1.value(), 1.0);
  Precision top3(std::nullopt, 3);  // ties at 0.2 keep the lower index first, as tf.math.top_k
  top3.update_state(TensorView(std::vector<int>{0, 1, 1, 0, 1}, {1, 5}),
                    TensorView(std::vector<double>{0.2, 0.1, 0.5, 0, 0.2}, {1, 5}));
  EXPECT_NEAR(top3.value(), 2.0 / 3.0, 1e-15);  // kept: index 2 (label 1), 0 (label 0), 4 (label 1)
  Recall cls(std::nullopt, std::nullopt, 2);
  cls.update_state(TensorView(std::vector<int>{0, 1, 1, 0, 0, 1}, {2, 3}),
                   TensorView(std::vector<double>{0.1, 0.9, 0.6, 0.2, 0.8, 0.4}, {2, 3}));
  EXPECT_DOUBLE_EQ(cls.value(), 0.5);  // column 2: labels (1, 1), predictions (0.6, 0.4)
  EXPECT_EQ(cls.get_config()["class_id"], 2);
  EXPECT_TRUE(p.get_config()["top_k"].is_null());
  EXPECT_THROW(cls.update_state(std::vector<int>{0, 1}, std::vector<double>{0.1, 0.9}), ShapeError);
}

TEST(RateAtRate, SensitivityAtSpecificityAndFriends) {
  // Perfectly separated scores: every rate reaches 1.
  const std::vector<int> y{0, 0, 0, 1, 1, 1};
  const std::vector<double> p{0.1, 0.2, 0.3, 0.7, 0.8, 0.9};
  SensitivityAtSpecificity s(0.8);
  s.update_state(y, p);
  EXPECT_DOUBLE_EQ(s.value(), 1.0);
  PrecisionAtRecall pr(1.0);
  pr.update_state(y, p);
  EXPECT_DOUBLE_EQ(pr.value(), 1.0);
  // Overlapping scores: specificity >= 0.9 needs t >= 0.75, where sensitivity is 2/3.
  SensitivityAtSpecificity o(0.9, 200);
  o.update_state(std::vector<int>{0, 0, 0, 1, 1, 1}, std::vector<double>{0.1, 0.2, 0.75, 0.5, 0.8, 0.9});
  EXPECT_NEAR(o.value(), 2.0 / 3.0, 1e-12);
  EXPECT_EQ(o.get_config()["specificity"], 0.9);
  EXPECT_EQ(get(R"({"class_name": "SensitivityAtSpecificity", "config": {"specificity": 0.9}})")->get_config(),
            o.get_config());
  EXPECT_THROW(SensitivityAtSpecificity(1.5), InvalidArgument);
  EXPECT_THROW(SpecificityAtSensitivity(0.5, 0), InvalidArgument);
  EXPECT_THROW(get(R"({"class_name": "RecallAtPrecision", "config": {}})"), ConfigError);
}

TEST(ConfusionFamily, PassesTheHarness) {
  const Tensor y = testing::random_labels({3000}, 1, 2, DType::kInt64);
  const Tensor p = testing::random_uniform({3000}, 2, 0.0, 1.0, DType::kFloat32);
  const Tensor w = testing::random_uniform({3000}, 3);
  struct Case {
    std::function<std::unique_ptr<Metric>()> factory;
    std::vector<std::string> names;
  };
  const std::vector<Case> cases = {
      {[] {
         return std::make_unique<TruePositives>(std::vector<double>{0.2, 0.5, 0.8});
       },
       {"TruePositives", "true_positives"}},
      {[] { return std::make_unique<FalsePositives>(); }, {"FalsePositives", "false_positives"}},
      {[] { return std::make_unique<TrueNegatives>(); }, {"TrueNegatives", "true_negatives"}},
      {[] { return std::make_unique<FalseNegatives>(); }, {"FalseNegatives", "false_negatives"}},
      {[] {
         return std::make_unique<Precision>(std::vector<double>{0.3, 0.6});
       },
       {"Precision", "precision"}},
      {[] { return std::make_unique<Recall>(); }, {"Recall", "recall"}},
      {[] { return std::make_unique<AUC>(); }, {"AUC", "auc"}},
      {[] { return std::make_unique<AUC>(three(AucCurve::kPR)); }, {}},
      {[] {
         return std::make_unique<AUC>([] {
           AucOptions o;
           o.thresholds = std::vector<double>{0.1, 0.4, 0.45};
           return o;
         }());
       },
       {}},
      {[] { return std::make_unique<SensitivityAtSpecificity>(0.5); }, {}},
      {[] { return std::make_unique<SpecificityAtSensitivity>(0.5); }, {}},
      {[] { return std::make_unique<PrecisionAtRecall>(0.5); }, {}},
      {[] { return std::make_unique<RecallAtPrecision>(0.5); }, {}},
  };
  for (const Case& c : cases) {
    for (const bool weighted : {false, true}) {
      testing::HarnessCase h;
      h.factory = c.factory;
      h.y_true = y;
      h.y_pred = p;
      if (weighted) h.sample_weight = w;
      h.names = c.names;
      SCOPED_TRACE(c.factory()->class_name() + (weighted ? " weighted" : ""));
      testing::check_metric_properties(h);
    }
  }
}

// The float32 fast path counts blocks of 512 scores with SSE2 and the rest one by one: both
// must land every score, including grid points and their float32 neighbours, out-of-range
// values and infinities, in the same bucket. Batches of 7 rows never reach the block path.
TEST(AUC, VectorBlocksBucketLikeTheScalarPath) {
  for (const std::int64_t T : {200, 3, 1001}) {
    std::vector<float> scores;
    for (std::int64_t k = 0; k < T; ++k) {
      const float on = static_cast<float>(k) / static_cast<float>(T - 1);
      scores.insert(scores.end(), {on, std::nextafter(on, -1.0f), std::nextafter(on, 2.0f)});
    }
    const std::vector<float> extremes = {
        -0.0f,  -1.0f,      1.5f, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
        1e-30f, 0.99999994f};
    scores.insert(scores.end(), extremes.begin(), extremes.end());
    while (scores.size() % 7 != 0 || scores.size() < 2048) {
      scores.push_back(static_cast<float>(scores.size() % 997) / 996.0f);
    }
    std::vector<float> float_labels(scores.size());
    std::vector<std::int32_t> int_labels(scores.size());
    for (std::size_t i = 0; i < scores.size(); ++i) {
      int_labels[i] = static_cast<std::int32_t>((i * 2654435761u) >> 7 & 1u) * (i % 5 == 0 ? 3 : 1);
      float_labels[i] = static_cast<float>(int_labels[i]);
    }
    AucOptions o;
    o.num_thresholds = T;
    for (const bool int_labels_too : {false, true}) {
      AUC whole(o), pieces(o);
      const auto n = static_cast<std::int64_t>(scores.size());
      if (int_labels_too) {
        whole.update_state(TensorView(int_labels.data(), DType::kInt32, {n}),
                           TensorView(scores.data(), DType::kFloat32, {n}));
      } else {
        whole.update_state(TensorView(float_labels.data(), DType::kFloat32, {n}),
                           TensorView(scores.data(), DType::kFloat32, {n}));
      }
      for (std::int64_t b = 0; b < n; b += 7) {
        const TensorView p(scores.data() + b, DType::kFloat32, {7});
        if (int_labels_too) {
          pieces.update_state(TensorView(int_labels.data() + b, DType::kInt32, {7}), p);
        } else {
          pieces.update_state(TensorView(float_labels.data() + b, DType::kFloat32, {7}), p);
        }
      }
      EXPECT_EQ(whole.to_vector(), pieces.to_vector()) << "T = " << T << (int_labels_too ? ", int32 labels" : "");
    }
  }
}

// Explicit threshold lists use a cell table and a short branch-free walk; counts must equal
// a brute-force strict comparison with every threshold, for scores on, just beside, between
// and outside the thresholds, whether the list is spread out, clustered or has duplicates.
TEST(AUC, ExplicitThresholdsCountLikeBruteForce) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<std::vector<double>> lists(3);
  for (int i = 0; i < 300; ++i) lists[0].push_back(unit(rng));
  for (int i = 0; i < 40; ++i) lists[1].push_back(0.5 + 1e-6 * unit(rng));  // clustered
  lists[1].push_back(0.01);
  lists[1].push_back(0.99);
  for (int i = 0; i < 50; ++i) lists[2].push_back(std::round(unit(rng) * 20.0) / 20.0);  // duplicates
  for (const std::vector<double>& list : lists) {
    std::vector<double> scores;
    for (const double t : list) scores.insert(scores.end(), {t, std::nextafter(t, 0.0), std::nextafter(t, 1.0)});
    for (int i = 0; i < 3000; ++i) scores.push_back(unit(rng));
    scores.insert(scores.end(), {-0.5, 0.0, 1.0, 1.5});
    std::vector<double> labels(scores.size());
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<double>((i * 7) % 3 == 0);
    AucOptions o;
    o.thresholds = list;
    AUC auc(o);
    auc.update_state(labels, scores);
    std::vector<double> sorted = list;
    std::sort(sorted.begin(), sorted.end());
    const std::vector<double> tp = auc.variable_values().tensor(0).to_doubles();
    const std::vector<double> fp = auc.variable_values().tensor(2).to_doubles();
    ASSERT_EQ(tp.size(), sorted.size() + 2);
    for (std::size_t j = 0; j < sorted.size(); ++j) {
      double want_tp = 0, want_fp = 0;
      for (std::size_t i = 0; i < scores.size(); ++i) {
        if (scores[i] > sorted[j]) (labels[i] != 0 ? want_tp : want_fp) += 1;
      }
      ASSERT_EQ(tp[j + 1], want_tp) << "threshold " << sorted[j];
      ASSERT_EQ(fp[j + 1], want_fp) << "threshold " << sorted[j];
    }
  }
}

// Grids past 65536 levels count by radix partitioning (kernels/confusion_counts.cpp): their
// int64 counts must equal the weighted path's (weights of one, the scalar Leveler) exactly,
// for scores on, just beside and outside the thresholds, float32 and float64 scores and
// metric dtypes, Keras's epsilon endpoints (AUC) and plain ones (SensitivityAtSpecificity),
// on any thread count and batch split.
TEST(ConfusionFamily, RadixCountsEqualTheScalarPath) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  for (const std::int64_t T : {65536 + 7, 300001}) {
    std::vector<float> scores;
    for (std::int64_t k = 0; k < T; k += 97) {
      const float on = static_cast<float>(k) / static_cast<float>(T - 1);
      scores.insert(scores.end(), {on, std::nextafter(on, -1.0f), std::nextafter(on, 2.0f)});
    }
    scores.insert(scores.end(), {-0.0f, -1.0f, 1.5f, 1.0f, std::numeric_limits<float>::infinity(),
                                 -std::numeric_limits<float>::infinity(), 1e-30f, 0.99999994f});
    while (scores.size() < 60001) scores.push_back(unit(rng));
    std::vector<float> labels(scores.size());
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<float>((rng() & 3u) == 0 ? 2 : rng() & 1u);
    const std::vector<double> scores64(scores.begin(), scores.end()), labels64(labels.begin(), labels.end());
    const std::vector<double> ones(scores.size(), 1.0);
    const Json rate = Json::parse(R"({"class_name": "SensitivityAtSpecificity", "config": {"specificity": 0.4}})");
    for (const DType dtype : {DType::kFloat32, DType::kFloat64}) {
      for (const bool auc : {true, false}) {
        if (T > 100000 && (dtype != DType::kFloat32 || !auc)) continue;  // one combination for the 5-bucket grid
        auto make = [&]() -> std::unique_ptr<Metric> {
          if (auc) {
            AucOptions o;
            o.num_thresholds = T;
            o.dtype = dtype;
            return std::make_unique<AUC>(o);
          }
          Json spec = rate;
          spec["config"]["num_thresholds"] = T;
          spec["config"]["dtype"] = dtype == DType::kFloat32 ? "float32" : "float64";
          return get(spec);
        };
        for (const bool wide : {false, true}) {
          if (T > 100000 && wide) continue;
          const TensorView y = wide ? TensorView(labels64) : TensorView(labels);
          const TensorView p = wide ? TensorView(scores64) : TensorView(scores);
          const std::string what = "T = " + std::to_string(T) + (auc ? " AUC" : " rate") + " dtype " +
                                   std::string(dtype_name(dtype)) + (wide ? " float64 inputs" : " float32 inputs");
          auto counted = make(), weighted = make(), two_threads = make(), pieces = make();
          set_num_threads(1);
          counted->update_state(y, p);
          weighted->update_state(y, p, ones);
          set_num_threads(2);
          two_threads->update_state(y, p);
          const auto n = static_cast<std::int64_t>(scores.size()), cut = n / 3 + 5;
          pieces->update_state(y.slice_rows(0, cut), p.slice_rows(0, cut));
          pieces->update_state(y.slice_rows(cut, n), p.slice_rows(cut, n));
          set_num_threads(0);
          const Variables& c = counted->variable_values();
          const Variables& w = weighted->variable_values();
          ASSERT_EQ(c.size(), w.size()) << what;
          for (std::size_t k = 0; k + 1 < c.size(); k += 2) {
            const std::vector<double> ints = c.tensor(k).to_doubles(), sums = w.tensor(k + 1).to_doubles();
            ASSERT_EQ(ints, sums) << what << ", variable " << c.layout()[k].name;
            EXPECT_GT(*std::max_element(ints.begin(), ints.end()), 0.0) << what;
          }
          EXPECT_EQ(counted->to_vector(), two_threads->to_vector()) << what;
          EXPECT_EQ(counted->to_vector(), pieces->to_vector()) << what;
        }
      }
    }
  }
}

TEST(ConfusionFamily, RadixCountsRejectNaNAndChangeNothing) {
  AucOptions o;
  o.num_thresholds = 100000;
  AUC auc(o);
  std::vector<float> p(200000, 0.25f), y(200000, 1.0f);
  auc.update_state(y, p);
  const std::vector<double> before = auc.to_vector();
  p[123457] = std::nanf("");
  EXPECT_THROW(auc.update_state(y, p), InvalidArgument);
  EXPECT_EQ(before, auc.to_vector());
}

// The radix counting adds straight into the state when a batch takes one round
// (update_state), and into per-batch arrays otherwise: several rounds (round length lowered
// by the test hook), or a collection's shared work (prepare_shared / accumulate_shared). Every
// route must give the weighted path's counts; a NaN in a later round (after earlier rounds
// were counted) must still leave the state unchanged.
TEST(ConfusionFamily, RadixCountsAgreeOverRoundsAndSharedWork) {
  // 1e5: one uint32 table per part (direct counting); 1.5e5: keys in buckets.
  for (const std::int64_t T : {100000, 150000}) {
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    std::vector<float> scores;
    for (std::int64_t k = 0; k < T; k += 211) {
      const float on = static_cast<float>(k) / static_cast<float>(T - 1);
      scores.insert(scores.end(), {on, std::nextafter(on, -1.0f), std::nextafter(on, 2.0f)});
    }
    scores.insert(scores.end(), {-0.0f, 0.0f, -2.0f, 3.0f, 1.0f, std::numeric_limits<float>::infinity(),
                                 -std::numeric_limits<float>::infinity(), 1e-30f, 0.99999994f});
    while (scores.size() < 140001) scores.push_back(unit(rng));  // two parts of the rows
    std::shuffle(scores.begin(), scores.end(), rng);
    std::vector<float> labels(scores.size());
    for (float& l : labels) l = static_cast<float>(rng() & 1u);
    const std::vector<double> ones(scores.size(), 1.0);
    AucOptions o;
    o.num_thresholds = T;
    AUC weighted(o);
    weighted.update_state(labels, scores, ones);
    std::vector<double> want;  // the int64 counts, from the float64 weighted sums
    for (std::size_t k = 1; k < weighted.variable_values().size(); k += 2) {
      const std::vector<double> v = weighted.variable_values().tensor(k).to_doubles();
      want.insert(want.end(), v.begin(), v.end());
    }
    auto counts = [](const Metric& m) {
      std::vector<double> out;
      for (std::size_t k = 0; k < m.variable_values().size(); k += 2) {
        const std::vector<double> v = m.variable_values().tensor(k).to_doubles();
        out.insert(out.end(), v.begin(), v.end());
      }
      return out;
    };
    ASSERT_GT(*std::max_element(want.begin(), want.end()), 0.0);
    for (const std::int64_t round_rows : {std::int64_t{0}, std::int64_t{20000}}) {
      kernels::set_radix_round_rows(round_rows);  // 20000: four rounds per part
      for (const int threads : {1, 2}) {
        set_num_threads(threads);
        AUC direct(o), shared(o);
        direct.update_state(labels, scores);
        const Batch batch{TensorView(labels), TensorView(scores), TensorView()};
        Variables vars = shared.variable_values();
        shared.accumulate_shared(vars, batch, *shared.prepare_shared(batch));
        shared.set_variable_values(vars);
        const std::string what = "T " + std::to_string(T) + ", round rows " + std::to_string(round_rows) +
                                 ", threads " + std::to_string(threads);
        EXPECT_EQ(counts(direct), want) << what;
        EXPECT_EQ(counts(shared), want) << what;
        EXPECT_EQ(direct.value(), weighted.value()) << what;
        // A NaN in the last round of the second part: nothing is added.
        std::vector<float> bad = scores;
        bad[bad.size() - 3] = std::nanf("");
        const std::vector<double> before = direct.to_vector();
        EXPECT_THROW(direct.update_state(labels, bad), InvalidArgument) << what;
        EXPECT_EQ(direct.to_vector(), before) << what;
      }
    }
    kernels::set_radix_round_rows(0);
    set_num_threads(0);
  }
}

// AUC's one-label result streams over the state; the multi-label path copies each count and
// integrates per label. One label column must give the same value, bit for bit, on every
// curve and summation.
TEST(ConfusionFamily, AucOneLabelResultEqualsTheMultiLabelPath) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> p(5000), y(5000);
  for (std::size_t i = 0; i < p.size(); ++i) {
    y[i] = static_cast<double>(rng() & 1u);
    p[i] = std::clamp(0.35 + 0.3 * y[i] + 0.4 * (unit(rng) - 0.5), 0.0, 1.0);
  }
  for (const AucCurve curve : {AucCurve::kROC, AucCurve::kPR, AucCurve::kPRGain}) {
    for (const AucSummation sum : {AucSummation::kInterpolation, AucSummation::kMinoring, AucSummation::kMajoring}) {
      AucOptions o;
      o.num_thresholds = 1000;
      o.curve = curve;
      o.summation_method = sum;
      AUC one(o);
      o.multi_label = true;
      AUC multi(o);
      one.update_state(y, p);
      multi.update_state(TensorView(y, Shape{5000, 1}), TensorView(p, Shape{5000, 1}));
      EXPECT_GT(one.value(), 0.5);
      EXPECT_EQ(one.value(), multi.value()) << static_cast<int>(curve) << " " << static_cast<int>(sum);
    }
  }
}

TEST(ConfusionFamily, NaNPredictionsAreRejectedAndChangeNothing) {
  std::vector<std::unique_ptr<Metric>> metrics;
  metrics.push_back(std::make_unique<AUC>());
  metrics.push_back(std::make_unique<Precision>(std::nullopt, 1));
  for (auto& m : metrics) {
    m->update_state(std::vector<int>{1, 0}, std::vector<double>{0.7, 0.2});
    const auto before = m->to_vector();
    EXPECT_THROW(m->update_state(std::vector<int>{1, 0}, std::vector<double>{0.7, std::nan("")}), InvalidArgument);
    EXPECT_EQ(before, m->to_vector());
  }
}

TEST(ConfusionFamily, CollectionsShareTheCounts) {
  MetricCollection shared = MetricCollection::from_specs({"precision", "recall", "true_positives", "mse"});
  EXPECT_EQ(shared.shared_work_groups(), (std::vector<std::vector<std::size_t>>{{0, 1, 2}}));
  const Tensor y = testing::random_labels({500}, 4, 2, DType::kFloat64);
  const Tensor p = testing::random_uniform({500}, 5);
  shared.update_state(y, p);
  Precision alone;
  alone.update_state(y, p);
  EXPECT_EQ(shared.metric("precision").to_vector(), alone.to_vector());
  EXPECT_EQ(MetricCollection::from_specs({"auc", "precision"}).shared_work_groups().size(), 0u);
}

TEST(ConfusionFamily, MatchesScikitLearn) {
  std::ifstream in(std::string(TALLY_FIXTURES_DIR) + "/confusion.json");
  const Json f = Json::parse(in);
  const Tensor y = Tensor::from_vector(f["y_true"].get<std::vector<double>>());
  const Tensor p = Tensor::from_vector(f["y_pred"].get<std::vector<double>>());
  const Tensor w = Tensor::from_vector(f["sample_weight"].get<std::vector<double>>());
  auto check = [&](Metric&& m, const TensorView& weights, const Json& want) {
    m.update_state(y, p, weights);
    EXPECT_NEAR(m.value(), want.get<double>(), 1e-9) << m.class_name();
  };
  check(AUC(), {}, f["roc_auc"]);  // scores at bucket centres: binning is exact
  check(AUC(), w, f["roc_auc_weighted"]);
  check(Precision(), {}, f["precision"]);
  check(Recall(), {}, f["recall"]);
  check(Precision(), w, f["precision_weighted"]);
  check(Recall(), w, f["recall_weighted"]);
  const std::vector<double> cm = f["confusion_matrix"].get<std::vector<double>>();
  check(TrueNegatives(), {}, Json(cm[0]));
  check(FalsePositives(), {}, Json(cm[1]));
  check(FalseNegatives(), {}, Json(cm[2]));
  check(TruePositives(), {}, Json(cm[3]));
}

TEST(AUC, LargeGridsApproachTheExactValue) {
  // tally extension: a million thresholds stay O(N + T) and give sklearn's exact ROC AUC
  // up to the bucketing of ties.
  const Tensor y = testing::random_labels({20000}, 6, 2, DType::kInt64);
  std::vector<double> p = testing::random_uniform({20000}, 7).to_doubles();
  for (std::size_t i = 0; i < p.size(); ++i)
    p[i] = 0.5 * p[i] + 0.4 * static_cast<double>(y.data_as<std::int64_t>()[i]);
  double coarse = 0, fine = 0;
  for (const std::int64_t t : {200, 1000000}) {
    AucOptions o;
    o.num_thresholds = t;
    o.dtype = DType::kFloat64;
    AUC m(o);
    m.update_state(y, p);
    (t == 200 ? coarse : fine) = m.value();
  }
  // Exact AUC by counting ordered pairs.
  std::vector<double> pos, neg;
  for (std::size_t i = 0; i < p.size(); ++i) (y.data_as<std::int64_t>()[i] ? pos : neg).push_back(p[i]);
  std::sort(neg.begin(), neg.end());
  double wins = 0;
  for (const double x : pos) wins += static_cast<double>(std::lower_bound(neg.begin(), neg.end(), x) - neg.begin());
  const double exact = wins / (static_cast<double>(pos.size()) * static_cast<double>(neg.size()));
  EXPECT_NEAR(fine, exact, 1e-5);
  EXPECT_LT(std::fabs(fine - exact), std::fabs(coarse - exact) + 1e-12);
}

// The description and direction come from each class's spec.
TEST(ConfusionFamily, DescribedFromItsSpec) {
  auto keys = [](const Json& d) {
    std::vector<std::string> out;
    for (const Json& o : d["options"]) out.push_back(o["key"].get<std::string>());
    return out;
  };
  const Json auc = describe("auc");
  EXPECT_EQ(keys(auc),
            (std::vector<std::string>{"num_thresholds", "curve", "summation_method", "name", "dtype", "thresholds",
                                      "multi_label", "num_labels", "label_weights", "from_logits",
                                      // tally extensions (docs/keras-differences.md §18), listed when set
                                      "multi_class", "num_classes", "average"}));
  EXPECT_EQ(auc["options"][1]["choices"], Json::parse(R"(["ROC", "PR", "PRGAIN"])"));
  EXPECT_EQ(auc["options"][0]["default"], 200);
  const Json sensitivity = describe("SensitivityAtSpecificity");
  EXPECT_EQ(keys(sensitivity),
            (std::vector<std::string>{"specificity", "num_thresholds", "class_id", "name", "dtype"}));
  EXPECT_EQ(sensitivity["options"][0]["required"], true);
  EXPECT_EQ(sensitivity["options"][0]["rule"], "in [0, 1]");
  EXPECT_EQ(keys(describe("precision")),
            (std::vector<std::string>{"thresholds", "top_k", "class_id", "name", "dtype", "num_classes", "average"}));
  EXPECT_EQ(describe("true_positives")["direction"], "none");
  EXPECT_EQ(TruePositives().direction(), Direction::kNone);
  EXPECT_EQ(Recall().direction(), Direction::kHigherIsBetter);
  EXPECT_EQ(RecallAtPrecision(0.5).direction(), Direction::kHigherIsBetter);
  EXPECT_EQ(AUC().name(), "auc");  // an empty name in the options means the spec's default name
}

// --- Precision and Recall over class ids, counted from the ids ------------------------------

// Class ids [N] as a float32 one-hot [N, C]: the rows Precision and Recall with num_classes
// counted before they counted the ids; the id path must give the counts of these rows.
Tensor one_hot_rows(const std::vector<std::int64_t>& ids, std::int64_t classes) {
  const auto n = static_cast<std::int64_t>(ids.size());
  Tensor t(DType::kFloat32, {n, classes});
  float* o = t.data_as<float>();
  std::fill(o, o + n * classes, 0.0f);
  for (std::int64_t i = 0; i < n; ++i) o[i * classes + ids[static_cast<std::size_t>(i)]] = 1.0f;
  return t;
}

using testing::id_tensor;
using testing::random_id_pair;
using testing::random_ids;
using testing::tied_scores;

PrecisionRecallOptions class_options(std::int64_t c) {
  PrecisionRecallOptions o;
  o.num_classes = c;
  return o;
}

// The counting options Precision and Recall with num_classes use (confusion.cpp), and the
// per-class options of the one-hot rows they used to count.
ConfusionOptions id_options(std::int64_t c) {
  ConfusionOptions o;
  o.thresholds = {0.5};
  o.class_ids = c;
  o.argmax_pred = true;
  o.multi_label = true;
  o.num_labels = c;
  return o;
}

TEST(PrecisionRecall, IntegerLabelsGiveTheOneHotState) {
  // Widths on both sides of the cell-table path (C <= 64); 140000 rows of 3 classes (with
  // predicted ids, the cheapest reference) span two partitions of the multi-label count, so a different addition order
  // of the weighted sums would show (the weights are not dyadic). Every weight shape the one-hot rows accept, ids of
  // several dtypes, predicted ids and float32/float64 scores with ties.
  namespace k = kernels;
  const DType truth_dtypes[] = {DType::kInt32, DType::kInt64, DType::kUInt8, DType::kFloat32, DType::kFloat64};
  int checked = 0;
  struct Case {
    std::int64_t c, n;
    int first_pred_form;  // 0: scores, float32 and float64, and ids; 2: ids only
  };
  for (const Case& cs :
       {Case{1, 12011, 0}, Case{3, 12011, 0}, Case{3, 140000, 2}, Case{10, 12011, 0}, Case{100, 3000, 0}}) {
    const std::int64_t c = cs.c, n = cs.n;
    const std::vector<std::int64_t> truth = random_ids(n, c, 7 + static_cast<std::uint64_t>(c));
    std::vector<std::int64_t> argmax;
    const std::vector<float> scores = tied_scores(n, c, 11, argmax);
    const std::vector<double> scores64(scores.begin(), scores.end());
    const std::vector<std::int64_t> pred_ids = random_ids(n, c, 13);
    std::mt19937_64 rng(17);
    std::uniform_real_distribution<double> u(0.0, 3.0);
    std::vector<double> w_rows(static_cast<std::size_t>(n)), w_cells(static_cast<std::size_t>(n * c));
    std::vector<float> w_classes(static_cast<std::size_t>(c));
    for (auto& x : w_rows) x = u(rng);
    for (auto& x : w_cells) x = u(rng);
    for (auto& x : w_classes) x = static_cast<float>(u(rng));
    const double w_scalar = 0.3;
    const std::vector<TensorView> weights = {TensorView(),
                                             TensorView(w_rows),
                                             TensorView(w_rows, {n, 1}),
                                             TensorView(&w_scalar, DType::kFloat64, {}, {}),
                                             TensorView(w_cells, {n, c}),
                                             TensorView(w_classes, {1, c})};
    const Tensor truth_rows = one_hot_rows(truth, c);
    for (std::size_t wi = 0; wi < weights.size(); ++wi) {
      for (int pred_form = cs.first_pred_form; pred_form < 3; ++pred_form) {
        SCOPED_TRACE(::testing::Message() << "C " << c << " rows " << n << " weight " << wi << " pred " << pred_form);
        const Tensor ids = id_tensor(truth, truth_dtypes[(wi + static_cast<std::size_t>(pred_form)) % 5]);
        const Tensor pred_id_tensor = id_tensor(pred_ids, DType::kInt32);
        const TensorView pred = pred_form == 0   ? TensorView(scores, {n, c})
                                : pred_form == 1 ? TensorView(scores64, {n, c})
                                                 : pred_id_tensor.view();
        const Tensor pred_rows = one_hot_rows(pred_form == 2 ? pred_ids : argmax, c);
        ConfusionOptions per_class = id_options(c);
        per_class.class_ids = 0;
        per_class.argmax_pred = false;
        const k::ConfusionCounts rows = k::count_confusion("t", per_class, DType::kFloat32, c,
                                                           Batch{truth_rows.view(), pred_rows.view(), weights[wi]});
        const k::ConfusionCounts direct =
            k::count_confusion("t", id_options(c), DType::kFloat32, c, Batch{ids.view(), pred, weights[wi]});
        ASSERT_EQ(direct.weighted, wi != 0);
        EXPECT_EQ(direct.thresholds, 1);
        EXPECT_EQ(direct.labels, c);
        EXPECT_EQ(direct.tp, rows.tp);
        EXPECT_EQ(direct.fp, rows.fp);
        EXPECT_EQ(direct.positives, rows.positives);
        EXPECT_EQ(direct.negatives, rows.negatives);
        EXPECT_EQ(direct.tp_w, rows.tp_w);
        EXPECT_EQ(direct.fp_w, rows.fp_w);
        EXPECT_EQ(direct.positives_w, rows.positives_w);
        EXPECT_TRUE(direct.negatives_w.empty());  // no metric over class ids keeps true negatives
        // The metrics' state: tp, fp and fn (positives - tp) of the one-hot rows' counts, in the
        // int64 variables when unweighted and the float64 ones when weighted.
        Precision precision(class_options(c));
        Recall recall(class_options(c));
        precision.update_state(ids.view(), pred, weights[wi]);
        recall.update_state(ids.view(), pred, weights[wi]);
        std::vector<std::int64_t> fn(static_cast<std::size_t>(c), 0);
        std::vector<double> fn_w(static_cast<std::size_t>(c), 0.0);
        for (std::size_t j = 0; j < fn.size(); ++j) {
          if (direct.weighted) {
            fn_w[j] = rows.positives_w[j] - rows.tp_w[j];
          } else {
            fn[j] = rows.positives[j] - rows.tp[j];
          }
        }
        const std::vector<std::int64_t> zeros(static_cast<std::size_t>(c), 0);
        const std::vector<double> zeros_w(static_cast<std::size_t>(c), 0.0);
        for (const Metric* m : {static_cast<const Metric*>(&precision), static_cast<const Metric*>(&recall)}) {
          const Variables& v = m->variable_values();
          auto ints = [&](std::size_t i) { return std::vector<std::int64_t>(v.i64(i).begin(), v.i64(i).end()); };
          auto floats = [&](std::size_t i) { return std::vector<double>(v.f64(i).begin(), v.f64(i).end()); };
          EXPECT_EQ(ints(0), direct.weighted ? zeros : rows.tp);
          EXPECT_EQ(floats(1), direct.weighted ? rows.tp_w : zeros_w);
          EXPECT_EQ(ints(2), direct.weighted ? zeros : rows.fp);
          EXPECT_EQ(floats(3), direct.weighted ? rows.fp_w : zeros_w);
          EXPECT_EQ(ints(4), fn);
          EXPECT_EQ(floats(5), fn_w);
        }
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, (4 * 3 + 1) * 6);
}

TEST(PrecisionRecall, IntegerLabelsAreBatchSplitInvariant) {
  // Unweighted counts, and dyadic weights (sums exact in any order), do not depend on how the
  // rows are split into batches; strided views (every other row) are read as copies.
  const std::int64_t n = 40000, c = 10;
  const std::vector<std::int64_t> truth = random_ids(n, c, 21);
  std::vector<std::int64_t> argmax;
  const std::vector<float> scores = tied_scores(n, c, 23, argmax);
  std::vector<double> w(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<double>(i % 7) / 4.0;
  const Tensor t = id_tensor(truth, DType::kInt32);
  for (const bool weighted : {false, true}) {
    Recall whole(class_options(c));
    whole.update_state(t.view(), TensorView(scores, {n, c}), weighted ? TensorView(w) : TensorView());
    Recall split(class_options(c));
    const std::int64_t cuts[] = {0, 1, 9000, 33333, n};
    for (int i = 0; i + 1 < 5; ++i) {
      const std::int64_t b = cuts[i], e = cuts[i + 1];
      split.update_state(TensorView(t.data_as<std::int32_t>() + b, DType::kInt32, {e - b}, {1}),
                         TensorView(scores.data() + b * c, DType::kFloat32, {e - b, c}, {c, 1}),
                         weighted ? TensorView(w.data() + b, DType::kFloat64, {e - b}, {1}) : TensorView());
    }
    EXPECT_EQ(whole.to_vector(), split.to_vector()) << (weighted ? "weighted" : "unweighted");
    // Even and odd rows through strided views add up to the whole.
    Recall strided(class_options(c));
    for (std::int64_t first = 0; first < 2; ++first) {
      strided.update_state(TensorView(t.data_as<std::int32_t>() + first, DType::kInt32, {n / 2}, {2}),
                           TensorView(scores.data() + first * c, DType::kFloat32, {n / 2, c}, {2 * c, 1}),
                           weighted ? TensorView(w.data() + first, DType::kFloat64, {n / 2}, {2}) : TensorView());
    }
    EXPECT_EQ(whole.to_vector(), strided.to_vector()) << (weighted ? "weighted" : "unweighted");
  }
}

TEST(PrecisionRecall, IntegerLabelsAreCountedWithoutOneHotRows) {
  // Under a 1 MiB memory limit, ids of 10 classes (the cell-table path) and of 100 classes are
  // counted from the ids (their one-hot rows would be 1.6 and 8 MB of scratch); float16 scores,
  // which only the one-hot argmax reads, still take the one-hot rows and are refused.
  for (const std::int64_t c : {10, 100}) {
    const std::int64_t n = c == 10 ? 40000 : 20000;
    const std::vector<std::int64_t> truth = random_ids(n, c, 31);
    const std::vector<std::int64_t> pred = random_ids(n, c, 37);
    const std::vector<float> scores(static_cast<std::size_t>(n * c), 0.5f);
    const std::vector<Float16> half_scores(static_cast<std::size_t>(n * c), Float16(0.5f));
    const TensorView half(half_scores.data(), DType::kFloat16, {n, c});
    set_memory_limit(std::int64_t{1} << 20);
    Precision m(class_options(c));
    m.update_state(TensorView(truth), TensorView(pred));
    m.update_state(TensorView(truth), TensorView(scores, {n, c}));  // all ties: class 0 predicted
    EXPECT_THROW(m.update_state(TensorView(truth), half), InvalidArgument);
    set_memory_limit(0);
    const auto tp = m.variable_values().i64(0);
    const auto fp = m.variable_values().i64(2);
    const auto fn = m.variable_values().i64(4);
    std::int64_t predicted = 0, positives = 0;
    for (std::int64_t j = 0; j < c; ++j) {
      predicted += tp[static_cast<std::size_t>(j)] + fp[static_cast<std::size_t>(j)];
      positives += tp[static_cast<std::size_t>(j)] + fn[static_cast<std::size_t>(j)];
    }
    EXPECT_EQ(predicted, 2 * n) << c;
    EXPECT_EQ(positives, 2 * n) << c;
    EXPECT_EQ(tp[0] + fp[0], n + std::count(pred.begin(), pred.end(), 0)) << c;
  }
}

TEST(PrecisionRecall, Int32IdsOnBothSidesGiveTheOneHotCountsAndRefuseABadIdAnywhere) {
  // Unweighted int32 ids against int32 predicted ids of up to 16 classes are counted 64 rows at
  // a time by byte compares on AVX-512 (class_outcomes, row_argmax.h), the rest by the cell
  // table: widths of that path and one past it, several partitions and a ragged end, and a bad
  // id inside the byte-counted rows or at the very end.
  namespace k = kernels;
  for (const std::int64_t c : {2, 10, 16, 17}) {
    const std::int64_t n = 140000;
    const auto [truth, pred, t, p] = random_id_pair(n, c, 51, 53);
    ConfusionOptions per_class = id_options(c);
    per_class.class_ids = 0;
    per_class.argmax_pred = false;
    const Tensor truth_rows = one_hot_rows(truth, c);
    const Tensor pred_rows = one_hot_rows(pred, c);
    const k::ConfusionCounts rows =
        k::count_confusion("t", per_class, DType::kFloat32, c, Batch{truth_rows.view(), pred_rows.view(), {}});
    const k::ConfusionCounts direct =
        k::count_confusion("t", id_options(c), DType::kFloat32, c, Batch{t.view(), p.view(), {}});
    EXPECT_EQ(direct.tp, rows.tp) << "C " << c;
    EXPECT_EQ(direct.fp, rows.fp) << "C " << c;
    EXPECT_EQ(direct.positives, rows.positives) << "C " << c;
    EXPECT_EQ(direct.negatives, rows.negatives) << "C " << c;
    Precision precision(class_options(c));
    precision.update_state(t.view(), p.view());
    const std::vector<double> state = precision.to_vector();
    for (const std::int64_t at : {std::int64_t{100}, n - 1}) {
      std::vector<std::int64_t> wrong = truth;
      wrong[static_cast<std::size_t>(at)] = -1;
      const Tensor q = id_tensor(wrong, DType::kInt32);
      try {
        precision.update_state(q.view(), p.view());
        ADD_FAILURE() << "no error at " << at;
      } catch (const InvalidArgument& e) {
        EXPECT_EQ(std::string(e.what()), "Precision \"precision\": argument `y_true` must hold class ids in [0, " +
                                             std::to_string(c) + "); received -1 at position " + std::to_string(at));
      }
      EXPECT_EQ(precision.to_vector(), state);
    }
  }
}

TEST(PrecisionRecall, BadIntegerLabelsLeaveTheStateUnchanged) {
  // The id path refuses the batch and the one-hot rows throw their own errors, naming the
  // argument and the first bad value; the state is unchanged.
  const std::int64_t c = 3;
  Precision m(class_options(c));
  const std::vector<std::int32_t> good = {0, 1, 2, 1};
  const std::vector<float> scores = {0.9f, 0.1f, 0, 0, 1, 0, 0, 0.2f, 0.7f, 0.5f, 0.5f, 0};
  m.update_state(TensorView(good), TensorView(scores, {4, c}));
  const std::vector<double> before = m.to_vector();
  EXPECT_EQ(m.result().to_doubles(), (std::vector<double>{0.5, 1.0, 1.0}));  // row 3 ties to class 0
  auto expect_error = [&](const TensorView& y_true, const TensorView& y_pred, const TensorView& w,
                          const std::string& message) {
    try {
      m.update_state(y_true, y_pred, w);
      ADD_FAILURE() << "no error for " << message;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), message);
    }
    EXPECT_EQ(m.to_vector(), before) << message;
  };
  const std::vector<std::int64_t> high = {0, 1, 3, 1};
  const std::vector<double> fractional = {0, 1.5, 2, 1};
  const std::vector<std::int64_t> negative = {0, 1, 2, -1};
  const std::vector<double> w = {1, 2, 3, 4};
  const std::vector<double> negative_w = {1, -2, 3, 4};
  expect_error(TensorView(high), TensorView(scores, {4, c}), TensorView(),
               "Precision \"precision\": argument `y_true` must hold class ids in [0, 3); received 3 at position 2");
  expect_error(TensorView(fractional), TensorView(scores, {4, c}), TensorView(w),
               "Precision \"precision\": argument `y_true` must hold class ids in [0, 3); received 1.5 at position 1");
  expect_error(TensorView(good), TensorView(negative), TensorView(),
               "Precision \"precision\": argument `y_pred` must hold class ids in [0, 3); received -1 at position 3");
  expect_error(TensorView(good), TensorView(scores, {4, c}), TensorView(negative_w),
               "Precision \"precision\": argument `sample_weight` must be finite and non-negative; received -2 at flat "
               "index 1");
  std::vector<float> nan_scores = scores;
  nan_scores[7] = std::nanf("");
  expect_error(TensorView(good), TensorView(nan_scores, {4, c}), TensorView(),
               "Precision \"precision\": argument `y_pred` contains NaN (at flat index 7)");
  expect_error(TensorView(good), TensorView(scores, {2, 6}), TensorView(),
               "Precision \"precision\": with integer labels, argument `y_pred` must be scores of shape [N, 3] or "
               "class ids of shape [N]; received shape [2, 6]");
  // A wide table (C > 64) validates in its own loop.
  Recall wide(class_options(100));
  const std::vector<std::int64_t> wide_bad = {5, 100};
  const std::vector<std::int64_t> wide_good = {5, 7};
  for (const bool weighted : {false, true}) {
    try {
      wide.update_state(TensorView(wide_good), TensorView(wide_bad),
                        weighted ? TensorView(std::vector<double>{1.0, 2.0}) : TensorView());
      ADD_FAILURE() << "no error for id 100 of 100 classes";
    } catch (const InvalidArgument& e) {
      EXPECT_EQ(std::string(e.what()),
                "Recall \"recall\": argument `y_pred` must hold class ids in [0, 100); received 100 at position 1");
    }
    EXPECT_EQ(wide.to_vector(), std::vector<double>(600, 0.0));
  }
}

// The counting loops read labels and scores in 5 x 2 element types (confusion_counts.cpp,
// counting_labels / counting_scores): every other dtype is copied first. Each of the 8 x 8
// dtype pairs must count exactly what the same values give as float64, on every path (the
// flat evenly spaced grid, float64 arithmetic, a threshold list, the radix grid, weights,
// multi-label rows).
TEST(ConfusionCounts, EveryDtypePairCountsWhatItsFloat64ValuesCount) {
  const std::int64_t n = 1001, c = 3;
  std::mt19937_64 rng(5);
  std::vector<double> labels(static_cast<std::size_t>(n * c)), scores(labels.size()), weights(labels.size() / c);
  for (auto& x : labels) x = static_cast<double>(rng() % 2);
  for (auto& x : weights) x = 0.25 * static_cast<double>(1 + rng() % 8);
  const std::vector<std::string> configs = {
      R"({"class_name": "AUC", "config": {"num_thresholds": 200}})",
      R"({"class_name": "AUC", "config": {"num_thresholds": 200, "dtype": "float64"}})",
      R"({"class_name": "AUC", "config": {"num_thresholds": 70000}})",
      R"({"class_name": "Precision", "config": {"thresholds": [0.7, 0.3, 0.55]}})",
      R"({"class_name": "AUC", "config": {"num_thresholds": 50, "multi_label": true, "num_labels": 3}})",
  };
  int compared = 0;
  for (const DType score_dtype : testing::kEveryDtype) {
    // Scores every dtype holds exactly: integers for the integer dtypes (ties at every level),
    // multiples of 1/32 around [0, 1] (clipped ends included) for the float ones.
    for (auto& x : scores) {
      if (score_dtype == DType::kBool) {
        x = static_cast<double>(rng() % 2);
      } else if (score_dtype == DType::kUInt8) {
        x = static_cast<double>(rng() % 3);
      } else if (score_dtype == DType::kInt32 || score_dtype == DType::kInt64) {
        x = static_cast<double>(static_cast<int>(rng() % 5) - 2);
      } else {
        x = static_cast<double>(static_cast<int>(rng() % 41) - 4) / 32.0;
      }
    }
    for (const DType label_dtype : testing::kEveryDtype) {
      for (std::size_t k = 0; k < configs.size(); ++k) {
        const Shape shape = k == 4 ? Shape{n, c} : Shape{n * c};
        const Shape weight_shape = k == 4 ? Shape{n} : Shape{n * c};
        std::vector<double> w = weights;
        if (k != 4) w.resize(static_cast<std::size_t>(n * c), 0.5);
        for (const bool weighted : {false, true}) {
          // The radix grid (70000 thresholds, unweighted only) is slow to set up: one label dtype.
          if (k == 2 && (weighted || label_dtype != DType::kFloat16)) continue;
          SCOPED_TRACE(::testing::Message() << configs[k] << " labels " << dtype_name(label_dtype) << " scores "
                                            << dtype_name(score_dtype) << (weighted ? " weighted" : ""));
          const Tensor wt = Tensor::from_vector(w, weight_shape);
          const TensorView sw = weighted ? wt.view() : TensorView();
          std::unique_ptr<Metric> expected = get(configs[k]), actual = get(configs[k]);
          expected->update_state(Tensor::from_vector(labels, shape), Tensor::from_vector(scores, shape), sw);
          actual->update_state(testing::values_as(labels, label_dtype, shape),
                               testing::values_as(scores, score_dtype, shape), sw);
          // Compared whole first: element by element, the 70000-threshold states take seconds.
          if (!testing::same_state(*expected, *actual)) testing::expect_states_close(*expected, *actual, 0.0, "state");
          ++compared;
        }
      }
    }
  }
  EXPECT_EQ(compared, 8 * 8 * 4 * 2 + 8);
}

}  // namespace
}  // namespace tally::metrics
