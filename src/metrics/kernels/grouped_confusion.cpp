#include "metrics/kernels/grouped_confusion.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>

#include "internal/check.h"
#include "metrics/kernels/grouped_mean.h"

namespace tally::metrics::kernels {
namespace {

// Histograms past this many slots (all groups together) take the gather path, whose
// per-group histograms are budgeted one at a time.
constexpr std::size_t kMaxGroupedSlots = std::size_t{1} << 24;

// Per-group histograms of levels [group][positive][level], then the fold of
// count_confusion per group: tp at sorted threshold i counts predictions whose level exceeds i.
template <class V>
void fold_groups(const std::vector<V>& hist, std::size_t groups, std::int64_t levels,
                 const std::vector<std::size_t>& order, bool weighted, std::vector<ConfusionCounts>& out) {
  const auto L = static_cast<std::size_t>(levels);
  for (std::size_t g = 0; g < groups; ++g) {
    ConfusionCounts& c = out[g];
    c.weighted = weighted;
    c.thresholds = levels - 1;
    c.labels = 1;
    std::vector<V>* tp;
    std::vector<V>* fp;
    std::vector<V>* pos_total;
    std::vector<V>* neg_total;
    if constexpr (std::is_same_v<V, double>) {
      tp = &c.tp_w, fp = &c.fp_w, pos_total = &c.positives_w, neg_total = &c.negatives_w;
    } else {
      tp = &c.tp, fp = &c.fp, pos_total = &c.positives, neg_total = &c.negatives;
    }
    tp->assign(L - 1, V{});
    fp->assign(L - 1, V{});
    const V* neg = hist.data() + g * 2 * L;
    const V* pos = neg + L;
    V run_p{}, run_n{};
    for (std::size_t lev = L - 1; lev >= 1; --lev) {
      run_p += pos[lev];
      run_n += neg[lev];
      (*tp)[order[lev - 1]] = run_p;
      (*fp)[order[lev - 1]] = run_n;
    }
    pos_total->assign(1, run_p + pos[0]);
    neg_total->assign(1, run_n + neg[0]);
  }
}

}  // namespace

std::optional<std::vector<ConfusionCounts>> count_confusion_grouped(std::string_view who,
                                                                    const ConfusionOptions& options,
                                                                    DType compute_dtype, const Batch& batch,
                                                                    std::span<const std::int32_t> group,
                                                                    std::size_t groups) {
  const bool flat = !options.top_k && !options.class_id && !options.multi_label && options.label_weights.empty() &&
                    !options.from_logits && options.class_ids == 0;
  if (!flat) return std::nullopt;
  const std::int64_t T = static_cast<std::int64_t>(options.thresholds.size());
  const std::int64_t levels = T + 1;
  if (groups * 2 * static_cast<std::size_t>(levels) > kMaxGroupedSlots) return std::nullopt;
  const GroupedRows in = grouped_rows(who, batch, group);
  if (!in.ok) return std::nullopt;

  // The level of a prediction, as count_confusion's Leveler computes it: Keras's bucket in
  // the variable's float arithmetic on an even grid, else the number of thresholds below it.
  std::vector<std::size_t> order(static_cast<std::size_t>(T));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return options.thresholds[a] < options.thresholds[b]; });
  std::vector<double> sorted;
  sorted.reserve(order.size());
  for (const std::size_t i : order) sorted.push_back(options.thresholds[i]);
  const bool evenly = options.evenly_spaced;
  const bool float32 = compute_dtype != DType::kFloat64;
  const std::int64_t floor_level = options.epsilon_endpoints ? 1 : 0;
  const auto scale32 = static_cast<float>(T - 1);
  const auto scale64 = static_cast<double>(T - 1);
  auto level = [&](auto raw) -> std::int64_t {
    if (evenly) {
      if (raw != raw) return 0;  // NaN: rejected below
      std::int64_t lev;
      if (float32) {
        const float pf = std::clamp(static_cast<float>(to_double(raw)), 0.0f, 1.0f);
        lev = static_cast<std::int64_t>(std::ceil(pf * scale32));
      } else {
        const double pd = std::clamp(to_double(raw), 0.0, 1.0);
        lev = static_cast<std::int64_t>(std::ceil(pd * scale64));
      }
      return std::max(lev, floor_level);
    }
    return std::lower_bound(sorted.begin(), sorted.end(), to_double(raw)) - sorted.begin();
  };

  const bool weighted = !in.weights.empty();
  const auto slots = groups * 2 * static_cast<std::size_t>(levels);
  std::vector<std::int64_t> hist(weighted ? 0 : slots, 0);
  std::vector<double> hist_w(weighted ? slots : 0, 0.0);
  const auto rows = static_cast<std::int64_t>(group.size());
  const std::int32_t* g = group.data();
  bool nan = false;
  auto count_rows = [&](auto level_of) {
    visit_dtype(in.t.dtype(), [&](auto ttag) {
      using TT = decltype(ttag);
      const TT* tv = static_cast<const TT*>(in.t.data());
      // A label is positive when non-zero, compared in its own type where it has one.
      auto positive = [](TT t) {
        if constexpr (std::is_arithmetic_v<TT>) {
          return t != TT(0);
        } else {
          return to_double(t) != 0.0;
        }
      };
      auto run = [&](const auto* pv) {
        // Two phases per block of rows: the slots (no stores to the histogram, so the
        // compiler can vectorise the level arithmetic), then the increments.
        constexpr std::int64_t kBlock = 512;
        std::uint32_t block_slots[kBlock];
        const auto stride = static_cast<std::uint32_t>(levels);
        unsigned seen = 0;
        for (std::int64_t b = 0; b < rows; b += kBlock) {
          const std::int64_t m = std::min(kBlock, rows - b);
          for (std::int64_t j = 0; j < m; ++j) {
            const std::int64_t i = b + j;
            seen |= static_cast<unsigned>(pv[i] != pv[i]);
            block_slots[j] =
                (2 * static_cast<std::uint32_t>(g[i]) + static_cast<std::uint32_t>(positive(tv[i]))) * stride +
                static_cast<std::uint32_t>(level_of(pv[i]));
          }
          if (weighted) {
            const double* w = in.weights.data() + b;
            for (std::int64_t j = 0; j < m; ++j) hist_w[block_slots[j]] += w[j];
          } else {
            for (std::int64_t j = 0; j < m; ++j) ++hist[block_slots[j]];
          }
        }
        nan = nan || seen != 0;
      };
      if (in.p.dtype() == DType::kFloat32) {
        run(static_cast<const float*>(in.p.data()));
      } else {
        run(static_cast<const double*>(in.p.data()));
      }
    });
  };
  if (evenly && float32) {
    // Keras's grid in float32 and int32, as count_confusion's fast path: clip (NaN to 0, it
    // is rejected below), then ceil(p (T - 1)) as truncation plus one where it truncated.
    const auto floor32 = static_cast<std::int32_t>(floor_level);
    count_rows([scale32, floor32](auto raw) {
      float pf = static_cast<float>(raw);
      pf = pf > 0.0f ? pf : 0.0f;
      pf = pf < 1.0f ? pf : 1.0f;
      const float x = pf * scale32;
      const auto whole = static_cast<std::int32_t>(x);
      return std::max(floor32, whole + static_cast<std::int32_t>(static_cast<float>(whole) < x));
    });
  } else {
    count_rows(level);
  }
  if (nan) internal::check_no_nan(who, "y_pred", in.p);  // throws naming the first NaN

  std::vector<ConfusionCounts> out(groups);
  if (weighted) {
    fold_groups(hist_w, groups, levels, order, true, out);
  } else {
    fold_groups(hist, groups, levels, order, false, out);
  }
  return out;
}

}  // namespace tally::metrics::kernels
