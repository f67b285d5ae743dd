#pragma once
// The per-query value of each ranking metric (include/tally/metrics/ranking.h): one query's
// relevances and scores in, one number out. Conventions (docs/metrics.md, "Ranking"):
// documents are ranked by score, highest first; equal scores keep their row order, except in
// NDCG, which averages the gain over tied documents as scikit-learn's ndcg_score does.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numeric>
#include <optional>
#include <vector>

#include "tally/metrics/ranking.h"

namespace tally::metrics::kernels {

/// 1 / log2(position + 2): the DCG discount of the document at 0-based `position`.
inline double dcg_discount(std::int64_t position) { return 1.0 / std::log2(static_cast<double>(position) + 2.0); }

/// Whether the query has any relevant document (relevance > 0).
inline bool any_relevant(const double* rel, std::int64_t m) {
  for (std::int64_t i = 0; i < m; ++i) {
    if (rel[i] > 0.0) return true;
  }
  return false;
}

/// NDCG at k with ties averaged (scikit-learn _tie_average_dcg); 0 when the ideal DCG is 0.
inline double query_ndcg(const double* rel, const double* score, std::int64_t m, std::int64_t k) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(m));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) { return score[a] > score[b]; });
  double dcg = 0.0;
  for (std::int64_t a = 0; a < m && a < k;) {
    std::int64_t b = a + 1;  // [a, b): one group of equal scores
    while (b < m && score[order[static_cast<std::size_t>(b)]] == score[order[static_cast<std::size_t>(a)]]) ++b;
    double gain = 0.0, discount = 0.0;
    for (std::int64_t j = a; j < b; ++j) {
      gain += rel[order[static_cast<std::size_t>(j)]];
      if (j < k) discount += dcg_discount(j);
    }
    dcg += gain / static_cast<double>(b - a) * discount;
    a = b;
  }
  std::vector<double> ideal(rel, rel + m);
  std::sort(ideal.begin(), ideal.end(), std::greater<>());
  double idcg = 0.0;
  for (std::int64_t j = 0; j < m && j < k; ++j) idcg += ideal[static_cast<std::size_t>(j)] * dcg_discount(j);
  return idcg == 0.0 ? 0.0 : dcg / idcg;
}

/// The per-query value of a binary-relevance metric; `k` already resolved (m when absent).
/// `k_given`: whether the user set k (PrecisionAtK divides by k, not by min(k, m)).
inline double query_binary(RankingKind kind, const double* rel, const double* score, std::int64_t m, std::int64_t k,
                           bool k_given) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(m));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) { return score[a] > score[b]; });
  const std::int64_t top = std::min(k, m);
  if (kind == RankingKind::kReciprocalRank) {
    for (std::int64_t j = 0; j < m; ++j) {
      if (rel[order[static_cast<std::size_t>(j)]] > 0.0) return 1.0 / static_cast<double>(j + 1);
    }
    return 0.0;
  }
  std::int64_t hits = 0;
  double precision_sum = 0.0;  // Σ over hits of (hits so far) / position
  for (std::int64_t j = 0; j < top; ++j) {
    if (rel[order[static_cast<std::size_t>(j)]] > 0.0) {
      ++hits;
      precision_sum += static_cast<double>(hits) / static_cast<double>(j + 1);
    }
  }
  switch (kind) {
    case RankingKind::kAveragePrecision:
      return hits == 0 ? 0.0 : precision_sum / static_cast<double>(hits);
    case RankingKind::kPrecision:
      return static_cast<double>(hits) / static_cast<double>(k_given ? k : m);
    case RankingKind::kRecall: {
      std::int64_t relevant = 0;
      for (std::int64_t i = 0; i < m; ++i) relevant += rel[i] > 0.0 ? 1 : 0;
      return static_cast<double>(hits) / static_cast<double>(relevant);
    }
    case RankingKind::kHitRate:
      return hits > 0 ? 1.0 : 0.0;
    default:
      return 0.0;
  }
}

}  // namespace tally::metrics::kernels
