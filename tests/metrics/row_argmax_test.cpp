// The row-wise argmax and class-cell kernels (src/metrics/kernels/row_argmax.h): on every SIMD
// target this machine supports they give exactly what the scalar loop gives (ties to the
// first index, NaN rows as the loop answers them, ±0 equal), for row lengths around every
// vector width and for the last rows of an array (which must not be read past), and the
// metrics built on them count the same confusion matrix on every target.
#include "metrics/kernels/row_argmax.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "metrics/kernels/accuracy_math.h"
#include "metrics/kernels/simd_math.h"
#include "support/simd_targets.h"
#include "tally/error.h"
#include "tally/metrics/classification.h"
#include "tally/metrics/f_score.h"
#include "tally/metrics/iou.h"

namespace tally::metrics {
namespace {

namespace simd = kernels::simd;

using testing::on_every_target;

// Scores drawn from few levels (many ties), with NaN, ±0 and ±inf sprinkled in when asked.
template <class T>
std::vector<T> scores(std::int64_t rows, std::int64_t classes, bool specials, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::vector<T> v(static_cast<std::size_t>(rows * classes));
  const T inf = std::numeric_limits<T>::infinity();
  const T pool[] = {std::numeric_limits<T>::quiet_NaN(), T(0), T(-0.0), inf, -inf};
  for (T& x : v) {
    x = static_cast<T>(static_cast<int>(rng() % 7) - 3) / T(4);
    if (specials && rng() % 23 == 0) x = pool[rng() % 5];
  }
  return v;
}

template <class T>
void expect_same_as_scalar(std::int64_t rows, std::int64_t classes, bool specials) {
  const std::vector<T> s = scores<T>(rows, classes, specials, static_cast<unsigned>(rows * 131 + classes));
  std::vector<std::int32_t> want(static_cast<std::size_t>(rows));
  bool want_nan = false;
  for (std::int64_t r = 0; r < rows; ++r) {
    want[static_cast<std::size_t>(r)] = simd::scalar_argmax(s.data() + r * classes, classes);
    for (std::int64_t c = 0; c < classes; ++c) want_nan |= std::isnan(s[static_cast<std::size_t>(r * classes + c)]);
  }
  // Exactly sized: a kernel that reads past the last row is caught by sanitizers.
  std::vector<std::int32_t> got(static_cast<std::size_t>(rows), -7);
  const bool nan = simd::row_argmax(s.data(), rows, classes, got.data());
  EXPECT_EQ(nan, want_nan) << "rows " << rows << " classes " << classes;
  EXPECT_EQ(got, want) << "rows " << rows << " classes " << classes;
}

const std::int64_t kClasses[] = {1, 2, 3, 4, 5, 7, 8, 9, 10, 15, 16, 17, 21, 31, 32, 33, 63, 64, 65, 100, 1000};

TEST(RowArgmax, Float32MatchesTheScalarLoopOnEveryTarget) {
  on_every_target([] {
    for (const std::int64_t c : kClasses) {
      for (const std::int64_t rows : {1, 2, 3, 17, 300}) {
        expect_same_as_scalar<float>(rows, c, false);
        expect_same_as_scalar<float>(rows, c, true);
      }
    }
  });
}

TEST(RowArgmax, Float64MatchesTheScalarLoopOnEveryTarget) {
  on_every_target([] {
    for (const std::int64_t c : kClasses) {
      for (const std::int64_t rows : {1, 2, 3, 17, 300}) {
        expect_same_as_scalar<double>(rows, c, false);
        expect_same_as_scalar<double>(rows, c, true);
      }
    }
  });
}

// Ties, ±0 and ±inf without NaN, so every width takes the vector path (a NaN sends a whole
// call to the scalar loop): widths 1..33 cover one, two and several pieces of every target.
template <class T>
void expect_special_rows_as_scalar(std::int64_t classes) {
  std::mt19937_64 rng(static_cast<unsigned>(classes * 977));
  const T inf = std::numeric_limits<T>::infinity();
  const T pool[] = {T(0), T(-0.0), inf, -inf, T(0.5)};
  const std::int64_t rows = 97;
  std::vector<T> s(static_cast<std::size_t>(rows * classes));
  for (T& x : s) x = rng() % 3 == 0 ? pool[rng() % 5] : static_cast<T>(static_cast<int>(rng() % 3) - 1) / T(2);
  std::vector<std::int32_t> want(static_cast<std::size_t>(rows)), got(static_cast<std::size_t>(rows), -7);
  for (std::int64_t r = 0; r < rows; ++r)
    want[static_cast<std::size_t>(r)] = simd::scalar_argmax(s.data() + r * classes, classes);
  EXPECT_FALSE(simd::row_argmax(s.data(), rows, classes, got.data())) << classes;
  EXPECT_EQ(got, want) << "classes " << classes;
}

TEST(RowArgmax, SignedZerosInfinitiesAndTiesOfEveryWidthFollowTheScalarLoop) {
  on_every_target([] {
    for (std::int64_t c = 1; c <= 33; ++c) {
      expect_special_rows_as_scalar<float>(c);
      expect_special_rows_as_scalar<double>(c);
    }
    for (const std::int64_t c : {48, 63, 64, 65, 129}) {
      expect_special_rows_as_scalar<float>(c);
      expect_special_rows_as_scalar<double>(c);
    }
  });
}

TEST(RowArgmax, TiesNansAndSignedZerosFollowTheScalarLoop) {
  on_every_target([] {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    // One row per case, 10 classes: the expected index is the scalar loop's.
    const std::vector<std::vector<float>> rows = {
        {1, 3, 3, 2, 3, 0, 0, 0, 0, 0},                                // tie: first of the maxima (1)
        {nan, 5, 6, 7, 8, 9, 9, 9, 9, 9},                              // NaN first: 0
        {1, nan, 6, 7, 8, 9, 9, nan, 9, 9},                            // NaN elsewhere: first maximum of the rest (5)
        {0.0f, -0.0f, 0, 0, 0, 0, 0, 0, 0, 0},                         // +0 == -0: 0
        {-0.0f, 0.0f, 0, 0, 0, 0, 0, 0, 0, 0},                         // 0
        {-inf, -inf, -inf, -inf, -inf, -inf, -inf, -inf, -inf, -inf},  // 0
        {-inf, -inf, -inf, -inf, -inf, -inf, -inf, -inf, -inf, -3},    // 9
        {1, 2, 3, 4, 5, 6, 7, 8, 9, inf},                              // 9
    };
    const std::vector<std::int32_t> want = {1, 0, 5, 0, 0, 0, 9, 9};
    std::vector<float> flat;
    for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
    std::vector<std::int32_t> got(rows.size());
    EXPECT_TRUE(simd::row_argmax(flat.data(), static_cast<std::int64_t>(rows.size()), 10, got.data()));
    EXPECT_EQ(got, want);
    // Without the NaN rows the flag is clear.
    std::vector<float> clean(flat.begin() + 30, flat.end());
    std::vector<std::int32_t> got_clean(5);
    EXPECT_FALSE(simd::row_argmax(clean.data(), 5, 10, got_clean.data()));
    EXPECT_EQ(got_clean, (std::vector<std::int32_t>{0, 0, 0, 9, 9}));
  });
}

template <class T>
void expect_top_k_as_scalar(std::int64_t rows, std::int64_t width, std::int64_t k) {
  const std::vector<T> s = scores<T>(rows, width, true, static_cast<unsigned>(width * 7 + k));
  std::mt19937_64 rng(static_cast<unsigned>(rows + k));
  std::vector<std::int64_t> targets(static_cast<std::size_t>(rows));
  for (auto& t : targets) {
    // Mostly valid indices, some outside [0, width).
    t = rng() % 11 == 0 ? (rng() % 2 == 0 ? -1 : width) : static_cast<std::int64_t>(rng() % width);
  }
  std::vector<double> want(static_cast<std::size_t>(rows)), got(static_cast<std::size_t>(rows), -1.0);
  for (std::int64_t r = 0; r < rows; ++r) {
    want[static_cast<std::size_t>(r)] =
        kernels::in_top_k(s.data() + r * width, width, targets[static_cast<std::size_t>(r)], k) ? 1.0 : 0.0;
  }
  simd::top_k_hits(s.data(), rows, width, targets.data(), k, got.data());
  EXPECT_EQ(got, want) << "width " << width << " k " << k;
}

TEST(TopKHits, MatchKerasInTopKOnEveryTarget) {
  on_every_target([] {
    for (const std::int64_t width : {1, 2, 5, 10, 16, 17, 33, 100, 1000}) {
      for (const std::int64_t k : {1, 2, 5, 1000}) {
        expect_top_k_as_scalar<float>(200, width, k);
        expect_top_k_as_scalar<double>(200, width, k);
      }
    }
  });
}

TEST(ClassCells, ValidPairsIndexTheTableAndOthersTheSpareCell) {
  on_every_target([] {
    std::mt19937_64 rng(5);
    for (const std::int32_t classes : {1, 2, 21, 300}) {
      for (const std::int64_t n : {1, 7, 16, 33, 1000}) {
        std::vector<std::int32_t> t(static_cast<std::size_t>(n)), p(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i) {
          // Mostly valid ids, some negative, some at or past `classes`, some extreme.
          const std::int32_t extremes[] = {-1, classes, classes + 1, std::numeric_limits<std::int32_t>::min(),
                                           std::numeric_limits<std::int32_t>::max()};
          auto draw = [&] { return rng() % 9 == 0 ? extremes[rng() % 5] : static_cast<std::int32_t>(rng() % classes); };
          t[static_cast<std::size_t>(i)] = draw();
          p[static_cast<std::size_t>(i)] = draw();
        }
        std::vector<std::int32_t> cells(static_cast<std::size_t>(n));
        simd::class_cells(t.data(), p.data(), n, classes, cells.data());
        for (std::int64_t i = 0; i < n; ++i) {
          const auto k = static_cast<std::size_t>(i);
          const bool ok = t[k] >= 0 && t[k] < classes && p[k] >= 0 && p[k] < classes;
          ASSERT_EQ(cells[k], ok ? t[k] * classes + p[k] : classes * classes) << t[k] << " " << p[k];
        }
      }
    }
  });
}

// class_outcomes: on every target, the rows it takes (a multiple of 64 on AVX-512, none on the
// others) hold the per-class counts of a plain loop, and a bad id among them is reported.
TEST(ClassOutcomes, CountsTheRowsItTakesAsAPlainLoopAndRefusesBadIds) {
  on_every_target([] {
    std::mt19937_64 rng(11);
    for (const std::int32_t classes : {1, 2, 3, 10, 15, 16}) {
      for (const std::int64_t n : {0, 1, 63, 64, 65, 200, 1000}) {
        for (const bool with_bad : {false, true}) {
          std::vector<std::int32_t> t(static_cast<std::size_t>(n)), p(static_cast<std::size_t>(n));
          for (std::int64_t i = 0; i < n; ++i) {
            t[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(rng() % static_cast<std::uint64_t>(classes));
            p[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(rng() % static_cast<std::uint64_t>(classes));
          }
          // One bad id (negative, = classes, past a byte, extreme) on either side.
          const std::int32_t extremes[] = {-1, classes, 256 + classes / 2, std::numeric_limits<std::int32_t>::min(),
                                           std::numeric_limits<std::int32_t>::max()};
          const std::int64_t at = n > 0 ? static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(n)) : 0;
          if (with_bad && n > 0) (rng() % 2 == 0 ? t : p)[static_cast<std::size_t>(at)] = extremes[rng() % 5];
          std::vector<std::int64_t> got(static_cast<std::size_t>(3 * classes), 5);
          const std::int64_t m = simd::class_outcomes(t.data(), p.data(), n, classes, got.data());
          if (m < 0) {
            EXPECT_TRUE(with_bad && at < n / 64 * 64) << classes << " " << n;
            continue;
          }
          ASSERT_TRUE(m == 0 || m == n / 64 * 64) << m;
          EXPECT_FALSE(with_bad && n > 0 && at < m) << "a bad id among the rows taken was not reported";
          std::vector<std::int64_t> want(static_cast<std::size_t>(3 * classes), 5);
          for (std::int64_t i = 0; i < m; ++i) {
            const std::int32_t ti = t[static_cast<std::size_t>(i)], pi = p[static_cast<std::size_t>(i)];
            want[static_cast<std::size_t>(2 * classes + ti)] += 1;
            want[static_cast<std::size_t>(classes + pi)] += 1;
            if (ti == pi) want[static_cast<std::size_t>(ti)] += 1;
          }
          EXPECT_EQ(got, want) << "classes " << classes << " n " << n;
        }
      }
    }
  });
}

// ConfusionMatrix from [N, C] scores and from ids: the same table on every target as a
// plain count with the scalar argmax; N spans several chunks and a ragged last block.
TEST(RowArgmax, ConfusionMatrixCountsAreIdenticalOnEveryTarget) {
  for (const std::int64_t classes : {3, 10, 21, 100}) {
    const std::int64_t rows = 40001;
    std::mt19937_64 rng(static_cast<unsigned>(classes));
    std::vector<std::int32_t> y(static_cast<std::size_t>(rows));
    for (auto& v : y) v = static_cast<std::int32_t>(rng() % static_cast<std::uint64_t>(classes));
    const std::vector<float> s = scores<float>(rows, classes, false, 9);
    std::vector<double> want(static_cast<std::size_t>(classes * classes), 0.0);
    std::vector<double> want_weighted = want;
    // Weights in quarters: every partial sum is exact, so any grouping gives these sums.
    std::vector<double> weights(static_cast<std::size_t>(rows));
    for (auto& v : weights) v = static_cast<double>(rng() % 8) / 4.0;
    std::vector<std::int32_t> pred(static_cast<std::size_t>(rows));
    for (std::int64_t r = 0; r < rows; ++r) {
      const std::int32_t p = simd::scalar_argmax(s.data() + r * classes, classes);
      pred[static_cast<std::size_t>(r)] = p;
      const auto k = static_cast<std::size_t>(y[static_cast<std::size_t>(r)] * classes + p);
      want[k] += 1.0;
      want_weighted[k] += weights[static_cast<std::size_t>(r)];
    }
    on_every_target([&] {
      ConfusionMatrixOptions o;
      o.num_classes = classes;
      ConfusionMatrix from_scores(o), from_ids(o);
      from_scores.update_state(TensorView(y.data(), DType::kInt32, {rows}),
                               TensorView(s.data(), DType::kFloat32, {rows, classes}));
      from_ids.update_state(TensorView(y.data(), DType::kInt32, {rows}),
                            TensorView(pred.data(), DType::kInt32, {rows}));
      EXPECT_EQ(from_scores.result().to_doubles(), want) << classes;
      EXPECT_EQ(from_ids.result().to_doubles(), want) << classes;
      ConfusionMatrix weighted(o);
      weighted.update_state(TensorView(y.data(), DType::kInt32, {rows}),
                            TensorView(s.data(), DType::kFloat32, {rows, classes}),
                            TensorView(weights.data(), DType::kFloat64, {rows}));
      EXPECT_EQ(weighted.result().to_doubles(), want_weighted) << classes;
    });
  }
}

// 600 classes from scores: 54 rows per chunk and a 360001-cell table each, so the chunks are
// counted a few at a time (bounded memory); the counts are still those of a plain loop.
TEST(RowArgmax, ConfusionMatrixOfManyClassesCountsInBoundedBlocks) {
  const std::int64_t classes = 600, rows = 1501;
  std::mt19937_64 rng(8);
  std::vector<std::int32_t> y(static_cast<std::size_t>(rows));
  for (auto& v : y) v = static_cast<std::int32_t>(rng() % classes);
  const std::vector<float> s = scores<float>(rows, classes, false, 4);
  std::vector<double> want(static_cast<std::size_t>(classes * classes), 0.0);
  for (std::int64_t r = 0; r < rows; ++r) {
    want[static_cast<std::size_t>(y[static_cast<std::size_t>(r)] * classes +
                                  simd::scalar_argmax(s.data() + r * classes, classes))] += 1.0;
  }
  ConfusionMatrixOptions o;
  o.num_classes = classes;
  ConfusionMatrix cm(o);
  cm.update_state(TensorView(y.data(), DType::kInt32, {rows}), TensorView(s.data(), DType::kFloat32, {rows, classes}));
  EXPECT_EQ(cm.result().to_doubles(), want);
}

// MeanIoU from int32 ids (the SIMD cell path of iou_counts.h): out-of-range ids on either
// side and the ignored class in y_true are dropped, the rest counted as a plain loop does.
TEST(ClassCells, MeanIoUFromIdsCountsAsAPlainLoopOnEveryTarget) {
  const std::int64_t classes = 21, rows = 100003, ignored = 4;
  std::mt19937_64 rng(2);
  std::vector<std::int32_t> y(static_cast<std::size_t>(rows)), p(static_cast<std::size_t>(rows));
  auto draw = [&] { return static_cast<std::int32_t>(rng() % 25) - 2; };  // [-2, 22]: some out of range
  for (auto& v : y) v = draw();
  for (auto& v : p) v = draw();
  std::vector<double> want(static_cast<std::size_t>(classes * classes), 0.0);
  for (std::int64_t i = 0; i < rows; ++i) {
    const std::int32_t t = y[static_cast<std::size_t>(i)], q = p[static_cast<std::size_t>(i)];
    if (t >= 0 && t < classes && q >= 0 && q < classes && t != ignored)
      want[static_cast<std::size_t>(t * classes + q)] += 1;
  }
  on_every_target([&] {
    MeanIoUOptions o;
    o.num_classes = classes;
    o.ignore_class = ignored;
    MeanIoU iou(o);
    iou.update_state(TensorView(y.data(), DType::kInt32, {rows}), TensorView(p.data(), DType::kInt32, {rows}));
    // The state: the int64 matrix, then the float64 one of weighted batches (zero here).
    std::vector<double> state = want;
    state.resize(2 * want.size(), 0.0);
    EXPECT_EQ(iou.variable_values().to_vector(), state);
  });
}

// MeanIoU from [N, C] scores (argmax, then SIMD cells and sub-histograms): labels out of
// range and the ignored class are dropped, the rest counted as a plain loop over the scalar
// argmax does; several chunks, with and without ignore_class.
TEST(ClassCells, MeanIoUFromScoresCountsAsAPlainLoopOnEveryTarget) {
  const std::int64_t classes = 21, rows = 70001;
  std::mt19937_64 rng(4);
  std::vector<std::int32_t> y(static_cast<std::size_t>(rows));
  for (auto& v : y) v = static_cast<std::int32_t>(rng() % 24) - 1;  // [-1, 22]: some out of range
  const std::vector<float> s = scores<float>(rows, classes, false, 8);
  for (const std::optional<std::int64_t> ignored : {std::optional<std::int64_t>(), std::optional<std::int64_t>(3)}) {
    std::vector<double> want(static_cast<std::size_t>(classes * classes), 0.0);
    for (std::int64_t i = 0; i < rows; ++i) {
      const std::int32_t t = y[static_cast<std::size_t>(i)];
      const std::int32_t q = simd::scalar_argmax(s.data() + i * classes, classes);
      if (t >= 0 && t < classes && t != ignored.value_or(-1)) want[static_cast<std::size_t>(t * classes + q)] += 1;
    }
    std::vector<double> state = want;
    state.resize(2 * want.size(), 0.0);
    on_every_target([&] {
      MeanIoUOptions o;
      o.num_classes = classes;
      o.ignore_class = ignored;
      o.sparse_y_pred = false;
      MeanIoU iou(o);
      iou.update_state(TensorView(y.data(), DType::kInt32, {rows}),
                       TensorView(s.data(), DType::kFloat32, {rows, classes}));
      EXPECT_EQ(iou.variable_values().to_vector(), state);
    });
  }
}

// F1Score sums from [N, C] scores (src/metrics/kernels/f_score_simd.h): unweighted batches
// take the SIMD kernel, all-ones weights the scalar loop; with soft labels the float64 sums
// depend on the order of additions, so equal states mean the same additions in the same
// order. Widths from one vector to past four (the scalar fallback), both binarisation rules,
// float32 and float64, ties in every row of the argmax rule, and several chunks.
template <class T>
void expect_f_score_state_as_scalar(std::int64_t classes, std::optional<double> threshold) {
  const std::int64_t rows = 3001;
  const DType dt = std::is_same_v<T, float> ? DType::kFloat32 : DType::kFloat64;
  const std::vector<T> p = scores<T>(rows, classes, false, 3);
  std::mt19937_64 rng(11);
  std::vector<T> y(p.size());
  for (T& v : y) v = static_cast<T>(static_cast<double>(rng() % 1000) / 999.0);
  const std::vector<double> ones(static_cast<std::size_t>(rows), 1.0);
  F1ScoreOptions o;
  o.average = FScoreAverage::kNone;
  o.threshold = threshold;
  o.dtype = DType::kFloat64;
  F1Score simd_path(o), scalar_path(o);
  const TensorView yt(y.data(), dt, {rows, classes});
  const TensorView yp(p.data(), dt, {rows, classes});
  simd_path.update_state(yt, yp);
  scalar_path.update_state(yt, yp, TensorView(ones.data(), DType::kFloat64, {rows}));
  EXPECT_EQ(simd_path.variable_values().to_vector(), scalar_path.variable_values().to_vector())
      << "classes " << classes << (threshold ? " threshold" : " argmax");
}

TEST(FScoreSums, SameStateAsTheScalarLoopOnEveryTarget) {
  on_every_target([] {
    for (const std::int64_t c : {1, 2, 3, 5, 8, 10, 17, 33, 40}) {
      for (const std::optional<double> threshold : {std::optional<double>(), std::optional<double>(0.25)}) {
        expect_f_score_state_as_scalar<float>(c, threshold);
        expect_f_score_state_as_scalar<double>(c, threshold);
      }
    }
  });
}

// Labels of 0 and 1 (and -0) take the whole-number counting path of f_score_simd.cpp on
// float32: the state must equal the scalar loop's for every width, both rules, scores with
// ties, ±0 and ±inf, and a batch whose labels turn soft part-way (the float64 kernel goes on
// from the block that holds the first soft label).
void expect_binary_label_state_as_scalar(std::int64_t classes, std::optional<double> threshold, bool soft_tail) {
  // With a soft tail: one chunk of several 4096-row blocks (classes <= 7), so counted blocks
  // come before the one the float64 kernel takes over.
  const std::int64_t rows = soft_tail ? 9001 : 1001;
  std::mt19937_64 rng(static_cast<unsigned>(classes * 31 + (soft_tail ? 1 : 0)));
  const float inf = std::numeric_limits<float>::infinity();
  const float pool[] = {0.0f, -0.0f, inf, -inf, 0.25f, 1e-9f, -1e-9f, 0.3f};  // 1e-9: the guard
  std::vector<float> p(static_cast<std::size_t>(rows * classes)), y(p.size());
  for (float& v : p) v = rng() % 5 == 0 ? pool[rng() % 8] : static_cast<float>(static_cast<int>(rng() % 7) - 3) / 4;
  for (float& v : y) v = rng() % 3 == 0 ? 1.0f : (rng() % 2 == 0 ? 0.0f : -0.0f);
  if (soft_tail) y[static_cast<std::size_t>(rows * classes * 2 / 3)] = 0.5f;
  const std::vector<double> ones(static_cast<std::size_t>(rows), 1.0);
  F1ScoreOptions o;
  o.average = FScoreAverage::kNone;
  o.threshold = threshold;
  F1Score fast(o), scalar(o);
  const TensorView yt(y.data(), DType::kFloat32, {rows, classes});
  const TensorView yp(p.data(), DType::kFloat32, {rows, classes});
  fast.update_state(yt, yp);
  scalar.update_state(yt, yp, TensorView(ones.data(), DType::kFloat64, {rows}));
  EXPECT_EQ(fast.variable_values().to_vector(), scalar.variable_values().to_vector())
      << "classes " << classes << (threshold ? " threshold" : " argmax") << (soft_tail ? " soft tail" : "");
}

TEST(FScoreSums, BinaryLabelsCountedAsWholeNumbersGiveTheScalarLoopsStateOnEveryTarget) {
  on_every_target([] {
    for (std::int64_t c = 1; c <= 33; ++c) {
      for (const std::optional<double> threshold : {std::optional<double>(), std::optional<double>(0.3)}) {
        expect_binary_label_state_as_scalar(c, threshold, false);
        if (c == 1 || c == 5 || c == 21) expect_binary_label_state_as_scalar(c, threshold, true);
      }
    }
  });
}

TEST(FScoreSums, NanInEitherInputIsStillRefused) {
  on_every_target([] {
    // 8 classes: one vector per row; 10 and 21: two rows per vector on AVX-512.
    for (const std::int64_t c : {8, 10, 21}) {
      std::vector<float> p(static_cast<std::size_t>(10 * c), 0.5f), y(p.size(), 0.0f);
      for (const bool in_pred : {true, false}) {
        std::vector<float> pp = p, yy = y;
        (in_pred ? pp : yy)[37] = std::numeric_limits<float>::quiet_NaN();
        F1Score f1;
        // Infinities of both signs in one class are not NaN: counted, not refused.
        std::vector<float> inf = p;
        inf[3] = std::numeric_limits<float>::infinity();
        inf[static_cast<std::size_t>(c + 3)] = -std::numeric_limits<float>::infinity();
        EXPECT_NO_THROW(f1.update_state(TensorView(y.data(), DType::kFloat32, {10, c}),
                                        TensorView(inf.data(), DType::kFloat32, {10, c})));
        EXPECT_THROW(f1.update_state(TensorView(yy.data(), DType::kFloat32, {10, c}),
                                     TensorView(pp.data(), DType::kFloat32, {10, c})),
                     InvalidArgument)
            << c;
      }
    }
  });
}

}  // namespace
}  // namespace tally::metrics
