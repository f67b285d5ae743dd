// The grouped kernels' Highway slot and value loops (src/metrics/kernels/grouped_simd.h)
// against the scalar code they replace, on every SIMD target this machine supports: every
// length up to a few vectors (the rows a function leaves to the caller's scalar tail), ids
// inside and outside [0, groups) (negative, at the limit, huge), NaN / ±inf / ±0 scores,
// scores outside [0, 1], labels other than 0 and 1 (NaN too), both floor levels of Keras's
// grid and several threshold counts; and the sliced metrics built on them against the same
// metrics unsliced per slice on every target.
#include "metrics/kernels/grouped_simd.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "metrics/kernels/accuracy_math.h"
#include "metrics/kernels/regression_math.h"
#include "support/simd_targets.h"
#include "tally/tally.h"

namespace tally::metrics {
namespace {

namespace simd = kernels::simd;
using testing::on_every_target;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

struct Rows {
  std::vector<float> t, p;
  std::vector<std::int32_t> g;
};

// m rows of labels, scores and ids below `groups`; with `specials`, NaN / ±inf / ±0 / values
// outside [0, 1] among the scores and labels.
Rows rows(std::int64_t m, std::int32_t groups, bool specials, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  const float pool[] = {kNaN, -kNaN, kInf, -kInf, 0.0f, -0.0f, 1.0f, -0.25f, 1.5f, 0.5f, 2.0f};
  Rows r;
  for (std::int64_t j = 0; j < m; ++j) {
    float t = static_cast<float>(rng() % 2);
    float p = u(rng);
    if (specials && rng() % 5 == 0) p = pool[rng() % std::size(pool)];
    if (specials && rng() % 11 == 0) t = pool[rng() % std::size(pool)];
    r.t.push_back(t);
    r.p.push_back(p);
    r.g.push_back(static_cast<std::int32_t>(rng() % static_cast<unsigned>(groups)));
  }
  return r;
}

// An id outside [0, groups) at row `at`.
void poison(Rows& r, std::int64_t at, std::int32_t id) { r.g[static_cast<std::size_t>(at)] = id; }

const std::int32_t kBadIds[] = {-1, INT32_MIN, 7, 8, INT32_MAX};  // with 7 groups

TEST(GroupedSimd, BinaryMatchSlotsAsScalar) {
  on_every_target([] {
    for (const double threshold : {0.5, 0.0, 1.0, 0.3}) {
      for (std::int64_t m = 0; m <= 70; ++m) {
        for (int bad = -1; bad < static_cast<int>(std::size(kBadIds)); ++bad) {
          Rows r = rows(m, 7, true, static_cast<unsigned>(m * 31 + bad + 5));
          if (bad >= 0 && m > 0) poison(r, (m * 7 + bad) % m, kBadIds[bad]);
          std::vector<std::uint32_t> slot(static_cast<std::size_t>(m), 0xdeadbeef);
          unsigned outside = 0;
          const std::int64_t k = simd::binary_match_slots(
              r.t.data(), r.p.data(), r.g.data(), m, kernels::threshold_in<float>(threshold), 6, slot.data(), outside);
          ASSERT_LE(k, m);
          ASSERT_GT(k, m - 64) << "leaves more than one vector to the caller";
          bool want_outside = false;
          for (std::int64_t j = 0; j < k; ++j) {
            const auto i = static_cast<std::size_t>(j);
            want_outside |= static_cast<std::uint32_t>(r.g[i]) > 6u;
            const std::uint32_t want = 2 * static_cast<std::uint32_t>(r.g[i]) +
                                       static_cast<std::uint32_t>(kernels::binary_match(r.t[i], r.p[i], threshold));
            ASSERT_EQ(slot[i], want) << "row " << j << " of " << m << " t " << r.t[i] << " p " << r.p[i];
          }
          for (std::int64_t j = k; j < m; ++j) ASSERT_EQ(slot[static_cast<std::size_t>(j)], 0xdeadbeef);
          EXPECT_EQ(outside != 0, want_outside) << "m " << m << " bad " << bad;
        }
      }
    }
  });
}

TEST(GroupedSimd, GridLevelSlotsAsScalar) {
  on_every_target([] {
    for (const std::int64_t thresholds : {200, 3, 1000}) {
      for (const std::int32_t floor_level : {0, 1}) {
        for (std::int64_t m = 0; m <= 70; ++m) {
          for (int bad = -1; bad < static_cast<int>(std::size(kBadIds)); ++bad) {
            Rows r = rows(m, 7, true, static_cast<unsigned>(m * 17 + bad + 3));
            if (bad >= 0 && m > 0) poison(r, (m * 5 + bad) % m, kBadIds[bad]);
            simd::GridSlots grid;
            grid.scale = static_cast<float>(thresholds - 1);
            grid.floor_level = floor_level;
            grid.levels = static_cast<std::uint32_t>(thresholds + 1);
            grid.last = 6;
            std::vector<std::uint32_t> cell(static_cast<std::size_t>(m), 0xdeadbeef);
            unsigned nan = 0, outside = 0;
            const std::int64_t k =
                simd::grid_level_slots(r.t.data(), r.p.data(), r.g.data(), m, grid, cell.data(), nan, outside);
            ASSERT_LE(k, m);
            ASSERT_GT(k, m - 64);
            bool want_nan = false, want_outside = false;
            for (std::int64_t j = 0; j < k; ++j) {
              const auto i = static_cast<std::size_t>(j);
              want_nan |= std::isnan(r.p[i]);
              const bool out = static_cast<std::uint32_t>(r.g[i]) > grid.last;
              want_outside |= out;
              if (out) continue;  // the caller discards the block
              const std::uint32_t want = static_cast<std::uint32_t>(r.g[i]) * 2 * grid.levels +
                                         static_cast<std::uint32_t>(r.t[i] != 0.0f) * grid.levels +
                                         simd::grid_level32(r.p[i], grid.scale, floor_level);
              ASSERT_EQ(cell[i], want) << "row " << j << " of " << m << " t " << r.t[i] << " p " << r.p[i];
            }
            for (std::int64_t j = k; j < m; ++j) ASSERT_EQ(cell[static_cast<std::size_t>(j)], 0xdeadbeef);
            EXPECT_EQ(nan != 0, want_nan);
            EXPECT_EQ(outside != 0, want_outside);
          }
        }
      }
    }
  });
}

TEST(GroupedSimd, GridLevel32OnTheGrid) {
  // Scores on and next to the thresholds, where ceil must not round: the level counts the
  // thresholds strictly below the score on Keras's float32 grid.
  const float scale = 199.0f;
  for (int i = 0; i <= 199; ++i) {
    const float at = static_cast<float>(i) / scale;
    for (const float p : {at, std::nextafter(at, 2.0f), std::nextafter(at, -1.0f)}) {
      const float x = std::clamp(p, 0.0f, 1.0f) * scale;
      EXPECT_EQ(simd::grid_level32(p, scale, 0), static_cast<std::uint32_t>(std::ceil(x))) << p;
    }
  }
  EXPECT_EQ(simd::grid_level32(kNaN, scale, 0), 0u);
  EXPECT_EQ(simd::grid_level32(kNaN, scale, 1), 1u);
  EXPECT_EQ(simd::grid_level32(-kInf, scale, 1), 1u);
  EXPECT_EQ(simd::grid_level32(kInf, scale, 0), 199u);
}

TEST(GroupedSimd, SquaredErrorsAsScalar) {
  on_every_target([] {
    for (std::int64_t m = 0; m <= 70; ++m) {
      for (int bad = -1; bad < static_cast<int>(std::size(kBadIds)); ++bad) {
        Rows r = rows(m, 7, true, static_cast<unsigned>(m * 13 + bad + 1));
        if (bad >= 0 && m > 0) poison(r, (m * 3 + bad) % m, kBadIds[bad]);
        std::vector<double> out(static_cast<std::size_t>(m), -7.0);
        unsigned outside = 0;
        const std::int64_t k = simd::squared_errors(r.t.data(), r.p.data(), r.g.data(), m, 6, out.data(), outside);
        ASSERT_LE(k, m);
        ASSERT_GT(k, m - 64);
        bool want_outside = false;
        for (std::int64_t j = 0; j < k; ++j) {
          const auto i = static_cast<std::size_t>(j);
          want_outside |= static_cast<std::uint32_t>(r.g[i]) > 6u;
          const double want = kernels::elementwise_error<RegressionError::kSquared>(r.t[i], r.p[i], 0.0);
          if (std::isnan(want)) {
            ASSERT_TRUE(std::isnan(out[i])) << j;
          } else {
            ASSERT_EQ(out[i], want) << "row " << j << " t " << r.t[i] << " p " << r.p[i];
          }
        }
        for (std::int64_t j = k; j < m; ++j) ASSERT_EQ(out[static_cast<std::size_t>(j)], -7.0);
        EXPECT_EQ(outside != 0, want_outside);
      }
    }
  });
}

// The sliced collection (grouped kernels, SIMD slots) on every target: each slice's state is
// the same on every target bit for bit, with counts equal to the slice's rows evaluated alone
// and float sums within 1e-12, for an odd row count and scores outside [0, 1].
TEST(GroupedSimd, SlicedMetricsOnEveryTarget) {
  const std::vector<std::string> specs = {
      "binary_accuracy", "mse", "auc",
      R"({"class_name": "AUC", "config": {"name": "pr_auc", "curve": "PR", "num_thresholds": 7}})"};
  const std::int64_t n = 4099;
  Rows r = rows(n, 9, false, 11);
  for (std::size_t j = 0; j < r.p.size(); j += 37) r.p[j] = (j % 2 == 0) ? 1.5f : -0.5f;
  const TensorView y(r.t.data(), DType::kFloat32, {n}), p(r.p.data(), DType::kFloat32, {n});
  const std::vector<SliceColumn> cols = {SliceColumn::ids(TensorView(r.g.data(), DType::kInt32, {n}))};
  std::vector<std::vector<double>> first;  // every slice's metric states on the first target
  on_every_target([&] {
    SlicedCollection s(MetricCollection::from_specs(specs), {"id"}, {{"id"}});
    s.update_state(y, p, {}, cols);
    ASSERT_EQ(s.num_slices(), 9u);
    std::vector<std::vector<double>> states;
    for (const SliceKey& key : s.keys()) {
      const auto id = static_cast<std::int32_t>(std::get<std::int64_t>(key.values[0]));
      std::vector<float> ys, ps;
      for (std::size_t j = 0; j < r.g.size(); ++j) {
        if (r.g[j] != id) continue;
        ys.push_back(r.t[j]);
        ps.push_back(r.p[j]);
      }
      MetricCollection alone = MetricCollection::from_specs(specs);
      alone.update_state(TensorView(ys), TensorView(ps));
      const std::vector<const Metric*> a = std::as_const(s.slice(key)).metrics(), b = std::as_const(alone).metrics();
      for (std::size_t m = 0; m < a.size(); ++m) {
        const std::vector<double> got = a[m]->to_vector(), want = b[m]->to_vector();
        ASSERT_EQ(got.size(), want.size());
        for (std::size_t k = 0; k < got.size(); ++k) {
          EXPECT_NEAR(got[k], want[k], 1e-12 * std::max(1.0, std::fabs(want[k]))) << specs[m] << " slice " << id;
        }
        states.push_back(got);
      }
    }
    if (first.empty()) {
      first = states;
    } else {
      EXPECT_EQ(states, first) << "a target's states differ from the first target's";
    }
  });
}

}  // namespace
}  // namespace tally::metrics
