#include "tally/metrics/ranking.h"

#include <cmath>
#include <unordered_set>

#include "internal/check.h"
#include "internal/parallel.h"
#include "metrics/kernels/aux_ids.h"
#include "metrics/kernels/mean_update.h"
#include "metrics/kernels/ranking_math.h"

namespace tally::metrics {
namespace {

using kernels::who;

// Variables: Σ per-query values, number of queries, and the last query id seen (max-merged;
// only the continuation check reads it).
enum Var : std::size_t { kTotal = 0, kCount, kLastQuery };

// Query ids travel as float64 in the state: ids must be exact there.
constexpr double kMaxQueryId = 9007199254740992.0;  // 2^53

// A [N] or [N, 1] view as [N].
TensorView column(std::string_view me, std::string_view arg, TensorView v) {
  internal::check_present(me, arg, v);
  if (v.ndim() == 2 && v.shape()[1] == 1) v = v.squeeze(-1);
  if (v.ndim() != 1) {
    throw ShapeError(
        internal::str_cat(me, ": argument `", arg, "` must have shape [N] or [N, 1]; received ", v.describe()));
  }
  return v;
}

std::vector<double> doubles_of(const TensorView& v) { return Tensor::copy_of(v).to_doubles(); }

const std::vector<std::string>& empty_target_choices() {
  static const std::vector<std::string> choices{"neg", "pos", "skip"};
  return choices;
}

template <class Opts>
OptionField<Opts> k_field() {
  return field("k", &Opts::k, "Cutoff: only the top k documents of each query count (null: all of them).",
               rules::at_least(1, RuleError::kConfig));
}

template <class Opts>
OptionField<Opts> empty_target_field() {
  return choice_field("empty_target_action", &Opts::empty_target_action,
                      "A query without relevant documents scores 0 (\"neg\"), 1 (\"pos\"), or is left out (\"skip\").",
                      empty_target_choices(), "one of \"neg\", \"pos\", \"skip\"");
}

InputContract ranking_inputs(const char* y_true) {
  InputContract in{y_true, "scores", {1, 2}};
  in.requires_aux = {std::string(kAuxQueryIds)};
  return in;
}

}  // namespace

RankingMetric::RankingMetric(std::string name, DType dtype, RankingKind kind, std::optional<std::int64_t> k,
                             std::string empty_target_action)
    : Metric(std::move(name), dtype), kind_(kind), k_(k), empty_target_action_(std::move(empty_target_action)) {
  add_variable("total", {});
  add_variable("count", {}, DType::kInt64);
  add_variable("last_query_id", {}, DType::kFloat64, Aggregation::kMax);
}

void RankingMetric::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  const TensorView t = column(me, "y_true", batch.y_true);
  const TensorView p = column(me, "y_pred", batch.y_pred);
  internal::check_same_rows(me, "y_true", t, "y_pred", p);
  internal::check_not_empty(me, "y_pred", p);
  if (batch.sample_weight.has_value()) {
    throw InvalidArgument(internal::str_cat(me,
                                            ": ranking metrics take no sample_weight (every query counts once); "
                                            "received ",
                                            batch.sample_weight.describe()));
  }
  internal::check_present(me, "query_ids", batch.aux.query_ids);
  const std::int64_t n = p.shape()[0];
  if (batch.aux.query_ids.ndim() != 1 || batch.aux.query_ids.shape()[0] != n) {
    throw ShapeError(internal::str_cat(me, ": argument `query_ids` must have one id per row (", n, "); received ",
                                       batch.aux.query_ids.describe()));
  }
  const std::vector<double> rel = doubles_of(t), score = doubles_of(p);
  const std::vector<std::int64_t> ids = kernels::aux_ids(batch.aux.query_ids);
  const bool graded = kind_ == RankingKind::kNdcg;
  for (std::int64_t i = 0; i < n; ++i) {
    const double r = rel[static_cast<std::size_t>(i)];
    if (graded ? !(std::isfinite(r) && r >= 0.0) : !(r == 0.0 || r == 1.0)) {
      throw InvalidArgument(internal::str_cat(me, ": argument `y_true` must hold ",
                                              graded ? "finite relevances >= 0" : "binary relevances (0 or 1)",
                                              "; received ", r, " at row ", i));
    }
    if (std::isnan(score[static_cast<std::size_t>(i)])) {
      throw InvalidArgument(internal::str_cat(me, ": argument `y_pred` holds NaN at row ", i));
    }
    const std::int64_t q = ids[static_cast<std::size_t>(i)];
    if (std::fabs(static_cast<double>(q)) >= kMaxQueryId) {
      throw InvalidArgument(
          internal::str_cat(me, ": argument `query_ids` must lie within ±2^53; received ", q, " at row ", i));
    }
  }
  // Queries are runs of equal ids; a run may neither continue the previous batch nor recur.
  std::vector<std::int64_t> starts;
  for (std::int64_t i = 0; i < n; ++i) {
    if (i == 0 || ids[static_cast<std::size_t>(i)] != ids[static_cast<std::size_t>(i - 1)]) starts.push_back(i);
  }
  starts.push_back(n);
  if (static_cast<double>(ids[0]) == vars.f64(kLastQuery)[0]) {
    throw InvalidArgument(internal::str_cat(me, ": query id ", ids[0],
                                            " continues the previous batch's last query; a query's rows must arrive "
                                            "contiguously in one update"));
  }
  std::unordered_set<std::int64_t> seen;
  for (std::size_t s = 0; s + 1 < starts.size(); ++s) {
    const std::int64_t q = ids[static_cast<std::size_t>(starts[s])];
    if (!seen.insert(q).second) {
      throw InvalidArgument(internal::str_cat(me, ": query id ", q, " appears in two separate runs of rows (from row ",
                                              starts[s], "); a query's rows must be contiguous"));
    }
  }
  // Validated: compute every query's value (in parallel; each query is independent).
  const std::size_t queries = starts.size() - 1;
  std::vector<double> values(queries, 0.0);
  std::vector<char> counted(queries, 1);
  internal::parallel_for_chunks(
      static_cast<std::int64_t>(queries),
      [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t s = b; s < e; ++s) {
          const std::int64_t begin = starts[static_cast<std::size_t>(s)];
          const std::int64_t m = starts[static_cast<std::size_t>(s) + 1] - begin;
          const double* r = rel.data() + begin;
          const double* sc = score.data() + begin;
          double& v = values[static_cast<std::size_t>(s)];
          if (!kernels::any_relevant(r, m)) {
            if (empty_target_action_ == "skip") counted[static_cast<std::size_t>(s)] = 0;
            v = empty_target_action_ == "pos" ? 1.0 : 0.0;
            continue;
          }
          const std::int64_t k = k_.value_or(m);
          v = kind_ == RankingKind::kNdcg ? kernels::query_ndcg(r, sc, m, k)
                                          : kernels::query_binary(kind_, r, sc, m, k, k_.has_value());
        }
      },
      64);
  // Summed in query order, so the total does not depend on the number of threads.
  double total = 0.0;
  std::int64_t count = 0;
  for (std::size_t s = 0; s < queries; ++s) {
    if (counted[s] == 0) continue;
    total += values[s];
    ++count;
  }
  vars.f64(kTotal)[0] += total;
  vars.i64(kCount)[0] += count;
  vars.f64(kLastQuery)[0] = static_cast<double>(ids[static_cast<std::size_t>(n - 1)]);
}

Tensor RankingMetric::result_from(const Variables& vars) const {
  const std::int64_t count = vars.i64(kCount)[0];
  return Tensor::scalar(count == 0 ? 0.0 : vars.f64(kTotal)[0] / static_cast<double>(count));
}

// --- the six classes ---------------------------------------------------------------------

NDCG::NDCG(const Options& o) : ConfiguredMetric(o, RankingKind::kNdcg, o.k, o.empty_target_action) {}

const MetricSpec<NDCG::Options>& NDCG::spec() {
  static const MetricSpec<Options> s{
      "NDCG",
      "ndcg",
      "Normalized discounted cumulative gain at k per query (graded relevance, ties averaged), averaged over queries.",
      Direction::kHigherIsBetter,
      ranking_inputs("binary|values"),
      "scalar",
      {k_field<Options>(), empty_target_field<Options>(), name_and_dtype<Options>()}};
  return s;
}

MeanAveragePrecision::MeanAveragePrecision(const Options& o)
    : ConfiguredMetric(o, RankingKind::kAveragePrecision, o.k, o.empty_target_action) {}

const MetricSpec<MeanAveragePrecision::Options>& MeanAveragePrecision::spec() {
  static const MetricSpec<Options> s{"MeanAveragePrecision",
                                     "mean_average_precision",
                                     "Average precision at k per query, averaged over queries.",
                                     Direction::kHigherIsBetter,
                                     ranking_inputs("binary"),
                                     "scalar",
                                     {k_field<Options>(), empty_target_field<Options>(), name_and_dtype<Options>()}};
  return s;
}

MeanReciprocalRank::MeanReciprocalRank(const Options& o)
    : ConfiguredMetric(o, RankingKind::kReciprocalRank, std::nullopt, o.empty_target_action) {}

const MetricSpec<MeanReciprocalRank::Options>& MeanReciprocalRank::spec() {
  static const MetricSpec<Options> s{"MeanReciprocalRank",
                                     "mean_reciprocal_rank",
                                     "1 / rank of the first relevant document per query, averaged over queries.",
                                     Direction::kHigherIsBetter,
                                     ranking_inputs("binary"),
                                     "scalar",
                                     {empty_target_field<Options>(), name_and_dtype<Options>()}};
  return s;
}

PrecisionAtK::PrecisionAtK(const Options& o)
    : ConfiguredMetric(o, RankingKind::kPrecision, o.k, o.empty_target_action) {}

const MetricSpec<PrecisionAtK::Options>& PrecisionAtK::spec() {
  static const MetricSpec<Options> s{"PrecisionAtK",
                                     "precision_at_k",
                                     "Relevant documents among the top k of each query, / k, averaged over queries.",
                                     Direction::kHigherIsBetter,
                                     ranking_inputs("binary"),
                                     "scalar",
                                     {k_field<Options>(), empty_target_field<Options>(), name_and_dtype<Options>()}};
  return s;
}

RecallAtK::RecallAtK(const Options& o) : ConfiguredMetric(o, RankingKind::kRecall, o.k, o.empty_target_action) {}

const MetricSpec<RecallAtK::Options>& RecallAtK::spec() {
  static const MetricSpec<Options> s{
      "RecallAtK",
      "recall_at_k",
      "Share of each query's relevant documents found in its top k, averaged over queries.",
      Direction::kHigherIsBetter,
      ranking_inputs("binary"),
      "scalar",
      {k_field<Options>(), empty_target_field<Options>(), name_and_dtype<Options>()}};
  return s;
}

HitRate::HitRate(const Options& o) : ConfiguredMetric(o, RankingKind::kHitRate, o.k, o.empty_target_action) {}

const MetricSpec<HitRate::Options>& HitRate::spec() {
  static const MetricSpec<Options> s{"HitRate",
                                     "hit_rate",
                                     "Share of queries with a relevant document among their top k.",
                                     Direction::kHigherIsBetter,
                                     ranking_inputs("binary"),
                                     "scalar",
                                     {k_field<Options>(), empty_target_field<Options>(), name_and_dtype<Options>()}};
  return s;
}

}  // namespace tally::metrics
