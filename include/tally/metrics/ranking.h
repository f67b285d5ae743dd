#pragma once
// Ranking metrics grouped by query id: NDCG, MeanAveragePrecision, MeanReciprocalRank,
// PrecisionAtK, RecallAtK, HitRate (class names of Keras Recommenders, conventions of
// scikit-learn's ndcg_score and TorchMetrics' retrieval metrics; docs/metrics.md, "Ranking").
//
// Each row is one (query, document) pair: y_true its relevance (binary, graded for NDCG),
// y_pred its score, and the auxiliary input `query_ids` (tally/metric.h, AuxInputs) the
// query it belongs to. A query's rows arrive contiguously within one update; the state is
// the sum of per-query values and the number of queries, so the result (their mean) does
// not depend on how queries are split into batches, threads or workers. A batch whose first
// query id equals the previous batch's last one is refused: that query was split.

#include <cstdint>
#include <optional>
#include <string>

#include "tally/metric.h"
#include "tally/options.h"

namespace tally::metrics {

/// Which per-query value a ranking metric averages.
enum class RankingKind : std::uint8_t { kNdcg, kAveragePrecision, kReciprocalRank, kPrecision, kRecall, kHitRate };

/// Options of the ranking metrics (MeanReciprocalRank has no `k`).
struct RankingOptions {
  std::string name;  ///< empty: the class's default name
  DType dtype = DType::kFloat32;
  std::optional<std::int64_t> k{};  ///< cutoff: the top k documents of a query (null: all)
  std::string empty_target_action =
      "neg";  ///< a query without relevant documents scores "neg" 0, "pos" 1, or is "skip"ped
};

/// Shared implementation: per-query values summed into `total`, queries counted in `count`.
class RankingMetric : public Metric {
 public:
  void accumulate(Variables& vars, const Batch& batch) const override;
  Tensor result_from(const Variables& vars) const override;

 protected:
  RankingMetric(std::string name, DType dtype, RankingKind kind, std::optional<std::int64_t> k,
                std::string empty_target_action);

 private:
  RankingKind kind_;
  std::optional<std::int64_t> k_;
  std::string empty_target_action_;
};

/// Normalized discounted cumulative gain at k, ties in y_pred averaged (scikit-learn ndcg_score).
class NDCG : public ConfiguredMetric<NDCG, RankingOptions, RankingMetric> {
 public:
  explicit NDCG(const Options& options);
  /// An empty name means "ndcg"; k null means every document of a query.
  explicit NDCG(std::optional<std::int64_t> k = std::nullopt, std::string name = {})
      : NDCG(Options{std::move(name), DType::kFloat32, k}) {}
  static const MetricSpec<Options>& spec();
};

/// Mean over queries of the average precision at k (TorchMetrics RetrievalMAP).
class MeanAveragePrecision : public ConfiguredMetric<MeanAveragePrecision, RankingOptions, RankingMetric> {
 public:
  explicit MeanAveragePrecision(const Options& options);
  /// An empty name means "mean_average_precision".
  explicit MeanAveragePrecision(std::optional<std::int64_t> k = std::nullopt, std::string name = {})
      : MeanAveragePrecision(Options{std::move(name), DType::kFloat32, k}) {}
  static const MetricSpec<Options>& spec();
};

/// Mean over queries of 1 / rank of the first relevant document (TorchMetrics RetrievalMRR).
class MeanReciprocalRank : public ConfiguredMetric<MeanReciprocalRank, RankingOptions, RankingMetric> {
 public:
  explicit MeanReciprocalRank(const Options& options);
  /// An empty name means "mean_reciprocal_rank".
  explicit MeanReciprocalRank(std::string name = {}) : MeanReciprocalRank(Options{std::move(name)}) {}
  static const MetricSpec<Options>& spec();
};

/// Mean over queries of (relevant documents in the top k) / k (TorchMetrics RetrievalPrecision).
class PrecisionAtK : public ConfiguredMetric<PrecisionAtK, RankingOptions, RankingMetric> {
 public:
  explicit PrecisionAtK(const Options& options);
  /// An empty name means "precision_at_k".
  explicit PrecisionAtK(std::optional<std::int64_t> k = std::nullopt, std::string name = {})
      : PrecisionAtK(Options{std::move(name), DType::kFloat32, k}) {}
  static const MetricSpec<Options>& spec();
};

/// Mean over queries of (relevant documents in the top k) / (relevant documents) (RetrievalRecall).
class RecallAtK : public ConfiguredMetric<RecallAtK, RankingOptions, RankingMetric> {
 public:
  explicit RecallAtK(const Options& options);
  /// An empty name means "recall_at_k".
  explicit RecallAtK(std::optional<std::int64_t> k = std::nullopt, std::string name = {})
      : RecallAtK(Options{std::move(name), DType::kFloat32, k}) {}
  static const MetricSpec<Options>& spec();
};

/// Fraction of queries with a relevant document in the top k (TorchMetrics RetrievalHitRate).
class HitRate : public ConfiguredMetric<HitRate, RankingOptions, RankingMetric> {
 public:
  explicit HitRate(const Options& options);
  /// An empty name means "hit_rate".
  explicit HitRate(std::optional<std::int64_t> k = std::nullopt, std::string name = {})
      : HitRate(Options{std::move(name), DType::kFloat32, k}) {}
  static const MetricSpec<Options>& spec();
};

}  // namespace tally::metrics
