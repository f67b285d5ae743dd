#pragma once
// Formulas of the classification family over a C x C count table (row = true class,
// column = predicted class), each as scikit-learn computes it (sklearn/metrics/_classification.py).

#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

namespace tally::metrics::kernels {

/// a / b, or 0 when b is 0 (scikit-learn's zero_division for empty classes).
inline double ratio_or_zero(double a, double b) { return b == 0.0 ? 0.0 : a / b; }

/// Divides a C x C table by its row sums (`by_true`), column sums (`by_pred`) or total; 0/0 gives 0.
inline void normalize_matrix(std::span<double> m, std::int64_t C, bool by_true, bool by_pred, bool by_all) {
  const auto n = static_cast<std::size_t>(C);
  if (by_all) {
    double total = 0.0;
    for (const double v : m) total += v;
    for (double& v : m) v = ratio_or_zero(v, total);
  }
  for (std::size_t i = 0; i < n && (by_true || by_pred); ++i) {
    double s = 0.0;
    for (std::size_t j = 0; j < n; ++j) s += by_true ? m[i * n + j] : m[j * n + i];
    for (std::size_t j = 0; j < n; ++j) {
      double& v = by_true ? m[i * n + j] : m[j * n + i];
      v = ratio_or_zero(v, s);
    }
  }
}

/// One-vs-rest counts of each class.
struct PerClass {
  std::vector<double> tp, fp, fn, tn;
};

/// tp = diagonal, fp = column − tp, fn = row − tp, tn = the rest (multilabel_confusion_matrix).
inline PerClass per_class_counts(const std::vector<double>& m, std::int64_t C) {
  const auto n = static_cast<std::size_t>(C);
  PerClass pc;
  pc.tp.assign(n, 0.0);
  pc.fp.assign(n, 0.0);
  pc.fn.assign(n, 0.0);
  pc.tn.assign(n, 0.0);
  double total = 0.0;
  std::vector<double> row(n, 0.0), col(n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      row[i] += m[i * n + j];
      col[j] += m[i * n + j];
      total += m[i * n + j];
    }
  }
  for (std::size_t c = 0; c < n; ++c) {
    pc.tp[c] = m[c * n + c];
    pc.fp[c] = col[c] - pc.tp[c];
    pc.fn[c] = row[c] - pc.tp[c];
    pc.tn[c] = total - pc.tp[c] - pc.fp[c] - pc.fn[c];
  }
  return pc;
}

/// matthews_corrcoef: (c·s − Σ p_k t_k) / sqrt((s² − Σ p_k²)(s² − Σ t_k²)), 0 when undefined.
inline double matthews_from_matrix(const std::vector<double>& m, std::int64_t C) {
  const auto n = static_cast<std::size_t>(C);
  std::vector<double> t(n, 0.0), p(n, 0.0);
  double correct = 0.0, s = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      t[i] += m[i * n + j];
      p[j] += m[i * n + j];
      s += m[i * n + j];
    }
    correct += m[i * n + i];
  }
  double tp_dot = 0.0, pp = 0.0, tt = 0.0;
  for (std::size_t k = 0; k < n; ++k) {
    tp_dot += t[k] * p[k];
    pp += p[k] * p[k];
    tt += t[k] * t[k];
  }
  const double cov_ytyp = correct * s - tp_dot;
  const double cov_ypyp = s * s - pp;
  const double cov_ytyt = s * s - tt;
  if (cov_ypyp * cov_ytyt == 0.0) return 0.0;
  return cov_ytyp / std::sqrt(cov_ytyt * cov_ypyp);
}

/// balanced_accuracy_score: mean recall over classes with support (0 when none has any).
inline double balanced_accuracy_from_matrix(const std::vector<double>& m, std::int64_t C) {
  const auto n = static_cast<std::size_t>(C);
  double sum = 0.0;
  std::size_t present = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double row = 0.0;
    for (std::size_t j = 0; j < n; ++j) row += m[i * n + j];
    if (row > 0.0) {
      sum += m[i * n + i] / row;
      ++present;
    }
  }
  return present == 0 ? 0.0 : sum / static_cast<double>(present);
}

/// cohen_kappa_score: 1 − Σ w·O / Σ w·E with E the outer product of the marginals over the
/// total and w_ij = |i − j|^power (power 0: 1 off the diagonal). 0 where sklearn gives NaN.
inline double kappa_from_matrix(const std::vector<double>& m, std::int64_t C, int power) {
  const auto n = static_cast<std::size_t>(C);
  std::vector<double> row(n, 0.0), col(n, 0.0);
  double total = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      row[i] += m[i * n + j];
      col[j] += m[i * n + j];
      total += m[i * n + j];
    }
  }
  if (total == 0.0) return 0.0;
  double observed = 0.0, expected = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      const double d = std::fabs(static_cast<double>(i) - static_cast<double>(j));
      const double w = power == 0 ? (i == j ? 0.0 : 1.0) : (power == 1 ? d : d * d);
      observed += w * m[i * n + j];
      expected += w * row[i] * col[j] / total;
    }
  }
  if (expected == 0.0) return 0.0;
  return 1.0 - observed / expected;
}

}  // namespace tally::metrics::kernels
