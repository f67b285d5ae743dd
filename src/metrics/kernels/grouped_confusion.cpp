#include "metrics/kernels/grouped_confusion.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <numeric>
#include <type_traits>

#include "internal/check.h"
#include "metrics/kernels/grouped_mean.h"
#include "metrics/kernels/grouped_simd.h"

namespace tally::metrics::kernels {
namespace {

// Histograms past this many slots (all groups together) take the gather path, whose
// per-group histograms are budgeted one at a time.
constexpr std::size_t kMaxGroupedSlots = std::size_t{1} << 24;

// Per-group histograms of levels [group][positive][level], then the fold of
// count_confusion per group: tp at sorted threshold i counts predictions whose level exceeds i.
// hist(i) is the count (or weight) at slot i of the histogram.
template <class V, class Hist>
void fold_groups(Hist hist, std::size_t groups, std::int64_t levels, const std::vector<std::size_t>& order,
                 bool weighted, std::vector<ConfusionCounts>& out) {
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
    const std::size_t neg = g * 2 * L, pos = neg + L;
    V run_p{}, run_n{};
    for (std::size_t lev = L - 1; lev >= 1; --lev) {
      run_p += hist(pos + lev);
      run_n += hist(neg + lev);
      (*tp)[order[lev - 1]] = run_p;
      (*fp)[order[lev - 1]] = run_n;
    }
    pos_total->assign(1, run_p + hist(pos));
    neg_total->assign(1, run_n + hist(neg));
  }
}

// How a score becomes a level, as count_confusion's Leveler computes it: Keras's bucket in
// the variable's float arithmetic on an even grid, else the number of thresholds below it.
struct AnyLevel {
  bool evenly, float32;
  std::int64_t floor_level;
  float scale32;
  double scale64;
  std::shared_ptr<const std::vector<double>> sorted;
  template <class R>
  std::uint32_t operator()(R raw) const {
    if (evenly) {
      if (raw != raw) return 0;  // NaN: rejected in finish()
      std::int64_t lev;
      if (float32) {
        const float pf = std::clamp(static_cast<float>(to_double(raw)), 0.0f, 1.0f);
        lev = static_cast<std::int64_t>(std::ceil(pf * scale32));
      } else {
        const double pd = std::clamp(to_double(raw), 0.0, 1.0);
        lev = static_cast<std::int64_t>(std::ceil(pd * scale64));
      }
      return static_cast<std::uint32_t>(std::max(lev, floor_level));
    }
    return static_cast<std::uint32_t>(std::lower_bound(sorted->begin(), sorted->end(), to_double(raw)) -
                                      sorted->begin());
  }
};

// Keras's grid in float32 and int32, as count_confusion's fast path (grid_level32).
struct GridLevel32 {
  float scale;
  std::int32_t floor_level;
  template <class R>
  std::uint32_t operator()(R raw) const {
    return simd::grid_level32(static_cast<float>(raw), scale, floor_level);
  }
};

// What the kernel of one batch shares with its forks.
struct ConfusionBatch {
  std::string who;
  Batch batch;
  TensorView p;  // the aligned scores, for the NaN message
  RowWeights weights;
  std::vector<std::size_t> order;  // sorted threshold i is threshold order[i]
  std::int64_t levels = 0;
  std::size_t groups = 0;
  ConfusionSink sink;
};

// Histogram [group][positive][level]. Unweighted: uint32 counters (half the cache footprint
// of int64) moved into an int64 table only before any of them could pass 2^32 - 1 (a batch
// of fewer rows never allocates it: the fold reads the uint32 counters), one table per
// thread, merged exactly. Weighted: one float64 table summed in row order, on one thread (fork()
// returns nullptr: per-chunk copies of the table would be far larger than the batch's sums).
template <class TT, class PV, class Level>
class GroupedConfusion final : public GroupedKernel {
 public:
  GroupedConfusion(std::shared_ptr<const ConfusionBatch> in, const TT* t, const PV* p, const std::int32_t* g,
                   Level level, std::uint32_t cells = 1)
      : in_(std::move(in)), t_(t), p_(p), g_(g), level_(std::move(level)), cells_(cells) {
    const std::size_t slots = in_->groups * cells_ * 2 * static_cast<std::size_t>(in_->levels);
    if (weighted()) {
      hist_w_.assign(slots, 0.0);
    } else {
      hist_.assign(slots, 0);
    }
  }

  void add(std::int64_t begin, std::int64_t end, std::int64_t /*chunk*/) override {
    add_rows<false>(begin, end, g_ + begin);
  }
  bool checks_ids() const override { return true; }
  bool add_checked(std::int64_t begin, std::int64_t end, std::int64_t /*chunk*/) override {
    return add_rows<true>(begin, end, g_ + begin);
  }

  // Unweighted, the histogram can count per refined group: `cells` sub-histograms per group,
  // folded together in finish() (its table grows by that factor, within kMaxGroupedSlots).
  bool host(std::uint32_t cells) override {
    if (weighted() || cells == 0 || hist_.size() * cells > kMaxGroupedSlots) return false;
    cells_ *= cells;
    hist_.assign(hist_.size() * cells, 0);
    return true;
  }
  void add_hosted(std::int64_t begin, std::int64_t end, std::int64_t /*chunk*/, const std::uint32_t* refined) override {
    // Refined ids are below kMaxGroupedSlots: read as int32, as a group column, they are the same.
    add_rows<false>(begin, end, reinterpret_cast<const std::int32_t*>(refined));
  }
  void hosted_row_counts(std::span<std::int64_t> rows) override { sum_rows(rows, 1); }

  void prefetch(std::int64_t begin, std::int64_t end) const override {
    prefetch_rows(g_, begin, end);
    prefetch_rows(t_, begin, end);
    prefetch_rows(p_, begin, end);
    in_->weights.prefetch(begin, end);
  }

  std::unique_ptr<GroupedKernel> fork() const override {
    if (weighted()) return nullptr;
    return std::make_unique<GroupedConfusion>(in_, t_, p_, g_, level_, cells_);
  }

  void merge(GroupedKernel& other) override {
    auto& o = static_cast<GroupedConfusion&>(other);
    if (since_flush_ + o.since_flush_ > std::numeric_limits<std::uint32_t>::max()) widen();
    for (std::size_t i = 0; i < hist_.size(); ++i) hist_[i] += o.hist_[i];
    since_flush_ += o.since_flush_;
    if (!o.wide_.empty()) {
      if (wide_.empty()) wide_.assign(hist_.size(), 0);
      for (std::size_t i = 0; i < wide_.size(); ++i) wide_[i] += o.wide_[i];
    }
    nan_ = nan_ || o.nan_;
  }

  bool counts_rows() const override { return !weighted(); }
  void row_counts(std::span<std::int64_t> rows) override {
    if (!weighted()) sum_rows(rows, cells_);
  }

  void finish(std::span<Variables* const> groups, std::span<const std::int64_t> /*rows*/) override {
    if (nan_) internal::check_no_nan(in_->who, "y_pred", in_->p);  // throws naming the first NaN
    std::vector<ConfusionCounts> out(in_->groups);
    if (weighted()) {
      fold_groups<double>([this](std::size_t i) { return hist_w_[i]; }, in_->groups, in_->levels, in_->order, true,
                          out);
    } else if (cells_ == 1) {
      fold_groups<std::int64_t>([this](std::size_t i) { return count(i); }, in_->groups, in_->levels, in_->order, false,
                                out);
    } else {
      // Slot i of group g's histogram is the sum of that slot over its refined groups.
      const std::size_t per_group = 2 * static_cast<std::size_t>(in_->levels);
      const std::size_t cells = cells_;
      fold_groups<std::int64_t>(
          [this, per_group, cells](std::size_t i) {
            const std::size_t first = (i / per_group) * cells * per_group + i % per_group;
            std::int64_t sum = 0;
            for (std::size_t c = 0; c < cells; ++c) sum += count(first + c * per_group);
            return sum;
          },
          in_->groups, in_->levels, in_->order, false, out);
    }
    for (std::size_t g = 0; g < groups.size(); ++g) in_->sink(*groups[g], out[g]);
  }

 private:
  bool weighted() const { return !in_->weights.empty(); }

  // Adds each group's row count into rows[g / per], for `per` consecutive (refined) groups
  // of the histogram per entry of `rows`.
  void sum_rows(std::span<std::int64_t> rows, std::size_t per) const {
    const auto per_group = 2 * static_cast<std::size_t>(in_->levels);
    for (std::size_t g = 0; g < in_->groups * cells_; ++g) {
      std::int64_t sum = 0;
      for (std::size_t i = g * per_group; i < (g + 1) * per_group; ++i) sum += count(i);
      rows[g / per] += sum;
    }
  }

  // add(), add_checked() and add_hosted() on rows [begin, end) whose (refined) group ids are
  // ids[0, end - begin): with kCheck, each block's ids are checked in the pass that computes
  // its slots, before any of them indexes the histogram.
  template <bool kCheck>
  bool add_rows(std::int64_t begin, std::int64_t end, const std::int32_t* ids) {
    if (!weighted()) {
      if (since_flush_ + static_cast<std::uint64_t>(end - begin) > std::numeric_limits<std::uint32_t>::max()) widen();
      since_flush_ += static_cast<std::uint64_t>(end - begin);
    }
    // Two phases per block of rows: each row's slot group x (2 levels) + label x levels +
    // level (no stores to the histogram, so it runs in SIMD), then one increment per row at
    // its slot, a loop of nothing else (no group load or multiply in it).
    constexpr std::int64_t kBlock = 512;
    std::uint32_t cell[kBlock];
    const auto levels = static_cast<std::uint32_t>(in_->levels);
    const std::uint32_t per_group = 2 * levels;
    const std::uint32_t last = last_id(in_->groups * cells_);
    unsigned seen = 0;
    for (std::int64_t b = begin; b < end; b += kBlock) {
      const std::int64_t m = std::min(kBlock, end - b);
      std::int64_t j = 0;
      unsigned bad = 0;
      const std::int32_t* g = ids + (b - begin);
      if constexpr (std::is_same_v<TT, float> && std::is_same_v<PV, float> && std::is_same_v<Level, GridLevel32>) {
        // As GridLevel32, a vector of rows at a time on the best SIMD target (grouped_simd.h).
        const simd::GridSlots grid{level_.scale, level_.floor_level, levels, last};
        j = simd::grid_level_slots(t_ + b, p_ + b, g, m, grid, cell, seen, bad);
      }
      for (; j < m; ++j) {
        const std::int64_t i = b + j;
        seen |= static_cast<unsigned>(p_[i] != p_[i]);
        if constexpr (kCheck) bad |= id_above(g[j], last);
        cell[j] = static_cast<std::uint32_t>(g[j]) * per_group + static_cast<std::uint32_t>(positive(t_[i])) * levels +
                  level_(p_[i]);
      }
      if (kCheck && bad != 0) return false;
      if (weighted()) {
        double buffer[kBlock];
        const double* w = in_->weights.rows(b, m, buffer);
        double* h = hist_w_.data();
        for (j = 0; j < m; ++j) h[cell[j]] += w[j];
      } else {
        std::uint32_t* h = hist_.data();
        for (j = 0; j < m; ++j) ++h[cell[j]];
      }
    }
    nan_ = nan_ || seen != 0;
    return true;
  }

  // A label is positive when non-zero, compared in its own type where it has one.
  static bool positive(TT t) {
    if constexpr (std::is_arithmetic_v<TT>) {
      return t != TT(0);
    } else {
      return to_double(t) != 0.0;
    }
  }

  // The unweighted count at histogram slot i.
  std::int64_t count(std::size_t i) const {
    return static_cast<std::int64_t>(hist_[i]) + (wide_.empty() ? 0 : wide_[i]);
  }

  // Moves the uint32 counters into the int64 table.
  void widen() {
    if (wide_.empty()) wide_.assign(hist_.size(), 0);
    for (std::size_t i = 0; i < hist_.size(); ++i) wide_[i] += hist_[i];
    std::fill(hist_.begin(), hist_.end(), 0u);
    since_flush_ = 0;
  }

  std::shared_ptr<const ConfusionBatch> in_;
  const TT* t_;
  const PV* p_;
  const std::int32_t* g_;
  Level level_;
  std::uint32_t cells_;  // refined groups per group (GroupedKernel::host), 1 otherwise
  std::vector<std::uint32_t> hist_;
  std::vector<std::int64_t> wide_;  // empty until a counter could pass 2^32 - 1
  std::vector<double> hist_w_;
  std::uint64_t since_flush_ = 0;
  bool nan_ = false;
};

}  // namespace

std::unique_ptr<GroupedKernel> grouped_confusion(std::string_view who, const ConfusionOptions& options,
                                                 DType compute_dtype, const Batch& batch,
                                                 std::span<const std::int32_t> group, std::size_t groups,
                                                 ConfusionSink sink) {
  const bool flat = !options.top_k && !options.class_id && !options.multi_label && options.label_weights.empty() &&
                    !options.from_logits && options.class_ids == 0;
  if (!flat) return nullptr;
  const std::int64_t T = static_cast<std::int64_t>(options.thresholds.size());
  const std::int64_t levels = T + 1;
  if (groups * 2 * static_cast<std::size_t>(levels) > kMaxGroupedSlots) return nullptr;
  GroupedRows rows = grouped_rows(who, batch, group);
  if (!rows.ok) return nullptr;

  auto in = std::make_shared<ConfusionBatch>();
  in->who = std::string(who);
  in->batch = batch;
  in->p = rows.p;
  in->weights = std::move(rows.weights);
  in->order.resize(static_cast<std::size_t>(T));
  std::iota(in->order.begin(), in->order.end(), 0);
  std::stable_sort(in->order.begin(), in->order.end(),
                   [&](std::size_t a, std::size_t b) { return options.thresholds[a] < options.thresholds[b]; });
  auto sorted = std::make_shared<std::vector<double>>();
  sorted->reserve(in->order.size());
  for (const std::size_t i : in->order) sorted->push_back(options.thresholds[i]);
  in->levels = levels;
  in->groups = groups;
  in->sink = std::move(sink);
  const bool evenly = options.evenly_spaced;
  const bool float32 = compute_dtype != DType::kFloat64;
  const std::int64_t floor_level = options.epsilon_endpoints ? 1 : 0;
  const AnyLevel any{evenly, float32, floor_level, static_cast<float>(T - 1), static_cast<double>(T - 1), sorted};
  const GridLevel32 grid{static_cast<float>(T - 1), static_cast<std::int32_t>(floor_level)};

  std::unique_ptr<GroupedKernel> out;
  visit_counting_dtype(rows.t, [&](const auto* tv) {
    using TT = std::remove_cv_t<std::remove_pointer_t<decltype(tv)>>;
    auto make = [&](const auto* pv) {
      using PV = std::remove_cv_t<std::remove_pointer_t<decltype(pv)>>;
      if (evenly && float32) {
        out = std::make_unique<GroupedConfusion<TT, PV, GridLevel32>>(in, tv, pv, group.data(), grid);
      } else {
        out = std::make_unique<GroupedConfusion<TT, PV, AnyLevel>>(in, tv, pv, group.data(), any);
      }
    };
    if (rows.p.dtype() == DType::kFloat32) {
      make(static_cast<const float*>(rows.p.data()));
    } else {
      make(static_cast<const double*>(rows.p.data()));
    }
  });
  return out;
}

}  // namespace tally::metrics::kernels
