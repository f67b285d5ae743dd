// Numerical stress: 1e9 samples streamed in batches into Mean, MeanSquaredError,
// BinaryAccuracy and AUC. Counts must be exact and float sums within 1e-12 relative of a
// compensated (Neumaier) reference computed over the same values. The data come from a
// counter-based hash, so nothing is stored: every batch is regenerated from its row index.
//
// Set TALLY_STRESS_SAMPLES to run on fewer samples (the sanitizer build does).
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <string>

#include "tally/metrics/accuracy.h"
#include "tally/metrics/confusion.h"
#include "tally/metrics/reduction.h"
#include "tally/metrics/regression.h"

namespace tally {
namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Neumaier's compensated sum: error independent of the number of terms, to first order.
struct CompensatedSum {
  double sum = 0.0, compensation = 0.0;
  void add(double x) {
    const double t = sum + x;
    compensation += std::fabs(sum) >= std::fabs(x) ? (sum - t) + x : (x - t) + sum;
    sum = t;
  }
  double value() const { return sum + compensation; }
};

std::int64_t samples() {
  const char* text = std::getenv("TALLY_STRESS_SAMPLES");
  return text != nullptr ? std::stoll(text) : 1'000'000'000;
}

constexpr std::int64_t kBatch = std::int64_t{1} << 20;
// AUC on a grid of 257 thresholds (j / 256); predictions sit midway between grid lines, so
// which thresholds a prediction exceeds is exact and the reference can count them directly.
constexpr std::int64_t kGrid = 256;

TEST(Stress, OneBillionSamplesCountExactlyAndSumWithin1e12) {
  const std::int64_t n = samples();
  metrics::Mean mean;
  metrics::MeanSquaredError mse;
  metrics::BinaryAccuracy accuracy;
  metrics::AucOptions auc_options;
  auc_options.num_thresholds = kGrid + 1;
  metrics::AUC auc(auc_options);

  CompensatedSum mean_total, squared_total;
  std::int64_t correct = 0;
  std::array<std::int64_t, kGrid> positives_in_bin{}, negatives_in_bin{};

  std::vector<double> values(kBatch);
  std::vector<float> labels(kBatch), scores(kBatch), grid_scores(kBatch);
  for (std::int64_t start = 0; start < n; start += kBatch) {
    const std::int64_t rows = std::min(kBatch, n - start);
    for (std::int64_t i = 0; i < rows; ++i) {
      const std::uint64_t h = splitmix64(static_cast<std::uint64_t>(start + i));
      const std::uint64_t g = splitmix64(h);
      const auto r = static_cast<std::size_t>(i);
      labels[r] = static_cast<float>(h & 1);
      scores[r] = static_cast<float>((h >> 40) & 0xffffff) * 0x1p-24f;  // 24 random bits in [0, 1)
      const auto bin = static_cast<std::size_t>((h >> 8) & (kGrid - 1));
      grid_scores[r] = (static_cast<float>(bin) + 0.5f) / static_cast<float>(kGrid);
      values[r] = static_cast<double>(g >> 11) * 0x1p-53 * 1000.0 + 1e-3;  // full 53-bit mantissas

      mean_total.add(values[r]);
      const double d = static_cast<double>(labels[r]) - static_cast<double>(scores[r]);
      squared_total.add(d * d);
      correct += (scores[r] > 0.5f) == (labels[r] == 1.0f);
      (labels[r] == 1.0f ? positives_in_bin : negatives_in_bin)[bin] += 1;
    }
    const Shape shape{rows};
    const TensorView y(labels.data(), DType::kFloat32, shape);
    mean.update_state(TensorView(values.data(), DType::kFloat64, shape));
    mse.update_state(y, TensorView(scores.data(), DType::kFloat32, shape));
    accuracy.update_state(y, TensorView(scores.data(), DType::kFloat32, shape));
    auc.update_state(y, TensorView(grid_scores.data(), DType::kFloat32, shape));
  }

  const auto count = [](const Metric& m) { return m.variable_values().value(1); };
  const auto total = [](const Metric& m) { return m.variable_values().value(0); };
  // Counts (float64 variables holding integers below 2^53) are exact.
  EXPECT_EQ(count(mean), static_cast<double>(n));
  EXPECT_EQ(count(mse), static_cast<double>(n));
  EXPECT_EQ(count(accuracy), static_cast<double>(n));
  EXPECT_EQ(total(accuracy), static_cast<double>(correct));
  // Float sums within 1e-12 relative of the compensated reference.
  EXPECT_NEAR(total(mean), mean_total.value(), 1e-12 * mean_total.value());
  EXPECT_NEAR(total(mse), squared_total.value(), 1e-12 * squared_total.value());
  std::printf("relative error: Mean %.3g, MSE %.3g over %lld samples\n",
              std::fabs(total(mean) - mean_total.value()) / mean_total.value(),
              std::fabs(total(mse) - squared_total.value()) / squared_total.value(), static_cast<long long>(n));

  // AUC counts exactly: threshold j (= j / 256) is exceeded by every prediction of bin >= j.
  const Variables& v = auc.variable_values();
  const auto tp = v.i64(v.index_of("true_positives"));
  const auto fp = v.i64(v.index_of("false_positives"));
  const auto tn = v.i64(v.index_of("true_negatives"));
  const auto fn = v.i64(v.index_of("false_negatives"));
  std::int64_t positives = 0, negatives = 0;
  for (std::size_t b = 0; b < kGrid; ++b) positives += positives_in_bin[b], negatives += negatives_in_bin[b];
  EXPECT_EQ(positives + negatives, n);
  std::int64_t pos_above = positives, neg_above = negatives;
  for (std::size_t j = 0; j <= kGrid; ++j) {
    if (j > 0) pos_above -= positives_in_bin[j - 1], neg_above -= negatives_in_bin[j - 1];
    ASSERT_EQ(tp[j], pos_above) << "threshold " << j;
    ASSERT_EQ(fp[j], neg_above) << "threshold " << j;
    ASSERT_EQ(fn[j], positives - pos_above) << "threshold " << j;
    ASSERT_EQ(tn[j], negatives - neg_above) << "threshold " << j;
  }
}

// Many small batches: the per-batch partial sums are added to the variable 1e5 times.
TEST(Stress, SmallBatchesKeepTheSumWithin1e12) {
  const std::int64_t n = std::min<std::int64_t>(samples() / 10, 100'000'000);
  constexpr std::int64_t kSmall = 1000;
  metrics::Mean mean;
  CompensatedSum reference;
  std::vector<double> values(kSmall);
  for (std::int64_t start = 0; start < n; start += kSmall) {
    const std::int64_t rows = std::min(kSmall, n - start);
    for (std::int64_t i = 0; i < rows; ++i) {
      values[static_cast<std::size_t>(i)] =
          static_cast<double>(splitmix64(static_cast<std::uint64_t>(start + i)) >> 11) * 0x1p-53;
      reference.add(values[static_cast<std::size_t>(i)]);
    }
    mean.update_state(TensorView(values.data(), DType::kFloat64, Shape{rows}));
  }
  EXPECT_EQ(mean.variable_values().value(1), static_cast<double>(n));
  EXPECT_NEAR(mean.variable_values().value(0), reference.value(), 1e-12 * reference.value());
  std::printf("relative error: Mean in batches of %lld, %.3g over %lld samples\n", static_cast<long long>(kSmall),
              std::fabs(mean.variable_values().value(0) - reference.value()) / reference.value(),
              static_cast<long long>(n));
}

}  // namespace
}  // namespace tally
