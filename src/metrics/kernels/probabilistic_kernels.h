#pragma once
// The fused loops of the probabilistic losses: one pass over aligned rows per loss, ending
// in a sink that either folds (total, count) for the metric classes or materialises the
// per-sample losses for the functions. The per-element formulas are in probabilistic_math.h.

#include <cmath>
#include <limits>
#include <string_view>
#include <type_traits>
#include <vector>

#include "internal/check.h"
#include "metrics/kernels/probabilistic_math.h"
#include "metrics/kernels/row_loss.h"
#include "metrics/kernels/simd_math.h"
#include "metrics/kernels/xent_simd.h"
#include "metrics/loss_alignment.h"

namespace tally::metrics::kernels {

using detail::Aligned;

// ---- binary crossentropy ------------------------------------------------------------

// Row losses of rows [b, e), `w` elements wide, from the element terms `terms(first, count,
// out)` writes: straight into `loss` for 1-wide rows, else into `scratch` and averaged per row
// in element order (the scalar path's order, so sums are unchanged).
template <class Terms>
void row_means_of_terms(std::int64_t b, std::int64_t e, std::int64_t w, double* loss, std::vector<double>& scratch,
                        const Terms& terms) {
  if (w == 1) {
    terms(b, e - b, loss);
    return;
  }
  const std::int64_t n = (e - b) * w;
  scratch.resize(static_cast<std::size_t>(n));
  double* z = scratch.data();
  terms(b * w, n, z);
  const double wd = static_cast<double>(w);
  for (std::int64_t i = 0; i < e - b; ++i) {
    double sum = 0.0;
    for (std::int64_t j = i * w; j < (i + 1) * w; ++j) sum += z[j];
    loss[i] = sum / wd;
  }
}

template <class Sink>
auto run_binary_crossentropy(const Aligned& a, bool from_logits, double ls, ClipBounds clip, const Sink& sink) {
  return kernels::dispatch_inputs(a.y_true.view, a.y_pred.view, [&](const auto* yt, const auto* yp) {
    if (from_logits) {
      using Yt = std::remove_cv_t<std::remove_pointer_t<decltype(yt)>>;
      const std::int64_t w = a.spec.width;
      const double wd = static_cast<double>(w);
      if constexpr (std::is_floating_point_v<Yt>) {
        // The whole term on Highway (xent_simd.h), straight into the losses for 1-wide rows;
        // wider rows are then summed in element order, as before.
        auto fill = [=](std::int64_t b, std::int64_t e, double* loss, unsigned char*, std::vector<double>& t) {
          row_means_of_terms(b, e, w, loss, t, [&](std::int64_t at, std::int64_t n, double* out) {
            simd::binary_xent_from_logits(yp + at, yt + at, n, ls, out);
          });
        };
        return sink(a.spec, kernels::BlockedRows(a.spec, fill));
      } else {
        // Integer labels: ln(1 + e^−|x|) vectorised over a block, the rest scalar, in order.
        auto fill = [=](std::int64_t b, std::int64_t e, double* loss, unsigned char*, std::vector<double>& t) {
          const std::int64_t n = (e - b) * w;
          const auto* x = yp + b * w;
          const auto* y = yt + b * w;
          t.resize(static_cast<std::size_t>(n));
          double* z = t.data();
          for (std::int64_t j = 0; j < n; ++j) z[j] = -std::fabs(to_double(x[j]));
          simd::exp_in_place(z, static_cast<std::size_t>(n));
          simd::log1p_in_place(z, static_cast<std::size_t>(n));
          for (std::int64_t i = 0; i < e - b; ++i) {
            double sum = 0.0;
            for (std::int64_t j = i * w; j < (i + 1) * w; ++j) {
              const double xj = to_double(x[j]);
              sum += std::max(xj, 0.0) - xj * kernels::smooth_binary(to_double(y[j]), ls) + z[j];
            }
            loss[i] = w == 1 ? sum : sum / wd;
          }
        };
        return sink(a.spec, kernels::BlockedRows(a.spec, fill));
      }
    }
    using Yt = std::remove_cv_t<std::remove_pointer_t<decltype(yt)>>;
    if constexpr (std::is_floating_point_v<Yt>) {
      // The whole term on Highway (xent_simd.h): one vector log per element vector for hard
      // labels, straight into the losses for 1-wide rows; wider rows summed in element order.
      const std::int64_t w = a.spec.width;
      const double lo = clip.lo, hi = clip.hi;
      auto fill = [=](std::int64_t b, std::int64_t e, double* loss, unsigned char*, std::vector<double>& t) {
        row_means_of_terms(b, e, w, loss, t, [&](std::int64_t at, std::int64_t n, double* out) {
          simd::binary_xent_from_probabilities(yp + at, yt + at, n, ls, lo, hi, out);
        });
      };
      return sink(a.spec, kernels::BlockedRows(a.spec, fill));
    } else {
      // Integer labels: scalar libm, one log per element.
      return kernels::mean_over_rows(
          a.spec, yt, yp,
          [ls, clip](double y, double p) {
            return kernels::bce_from_probability(kernels::smooth_binary(y, ls), p, clip);
          },
          sink);
    }
  });
}

// ---- categorical crossentropy -------------------------------------------------------

template <class Sink>
auto run_categorical_crossentropy(const Aligned& a, bool from_logits, double ls, ClipBounds clip, const Sink& sink) {
  return kernels::dispatch_inputs(a.y_true.view, a.y_pred.view, [&](const auto* yt, const auto* yp) {
    const std::int64_t w = a.spec.width;
    const double classes = static_cast<double>(w);
    using Yt = std::remove_cv_t<std::remove_pointer_t<decltype(yt)>>;
    if constexpr (std::is_floating_point_v<Yt>) {
      if (from_logits && w <= simd::kSparseXentMaxWidth) {
        // Narrow rows with floating labels: one row per SIMD lane, the whole formula on
        // Highway (xent_simd.h), as sparse crossentropy does.
        auto fill = [=](std::int64_t b, std::int64_t e, double* loss, unsigned char*, std::vector<double>&) {
          simd::categorical_xent_from_logits(yp + b * w, yt + b * w, e - b, w, ls, loss);
        };
        return sink(a.spec, kernels::BlockedRows(a.spec, fill));
      }
    }
    if (from_logits) {
      // Σ y_k (lse − x_k) = Σ y_k (m − x_k) + (Σ y_k) ln Σ e^(x_k − m): no cancellation.
      // Wide rows and integer labels, per block: the maxima, then e^(x − m) and the logs of
      // the row sums vectorised.
      auto fill = [=](std::int64_t b, std::int64_t e, double* loss, unsigned char*, std::vector<double>& t) {
        const std::int64_t rows = e - b;
        t.resize(static_cast<std::size_t>(rows * (w + 2)));
        double* z = t.data();
        double* se = z + rows * w;
        double* sy = se + rows;
        for (std::int64_t i = 0; i < rows; ++i) {
          const auto* x = yp + (b + i) * w;
          double m = -std::numeric_limits<double>::infinity();
          for (std::int64_t k = 0; k < w; ++k) m = std::max(m, to_double(x[k]));
          for (std::int64_t k = 0; k < w; ++k) z[i * w + k] = to_double(x[k]) - m;
          loss[i] = m;
        }
        simd::exp_in_place(z, static_cast<std::size_t>(rows * w));
        for (std::int64_t i = 0; i < rows; ++i) {
          const auto* x = yp + (b + i) * w;
          const auto* y = yt + (b + i) * w;
          const double m = loss[i];
          double sum = 0.0;
          double lin = 0.0;
          double ysum = 0.0;
          for (std::int64_t k = 0; k < w; ++k) {
            sum += z[i * w + k];
            const double yk = kernels::smooth_categorical(to_double(y[k]), ls, classes);
            if (yk != 0.0) {
              lin += yk * (m - to_double(x[k]));
              ysum += yk;
            }
          }
          se[i] = sum;
          sy[i] = ysum;
          loss[i] = lin;
        }
        simd::log_in_place(se, static_cast<std::size_t>(rows));
        for (std::int64_t i = 0; i < rows; ++i) loss[i] += sy[i] * se[i];
      };
      return sink(a.spec, kernels::BlockedRows(a.spec, fill));
    }
    // From probabilities: at most one log per row for one-hot labels and no exp, which the
    // scalar libm loop does as fast as a block would (docs/performance.md).
    auto row = [=](std::int64_t r, bool&) {
      const auto* p = yp + r * w;
      const auto* y = yt + r * w;
      double s = 0.0;
      for (std::int64_t k = 0; k < w; ++k) s += to_double(p[k]);
      double loss = 0.0;
      for (std::int64_t k = 0; k < w; ++k) {
        const double yk = kernels::smooth_categorical(to_double(y[k]), ls, classes);
        if (yk != 0.0) loss -= yk * std::log(kernels::clip(to_double(p[k]) / s, clip.lo, clip.hi));
      }
      return loss;
    };
    return sink(a.spec, row);
  });
}

// ---- sparse categorical crossentropy ------------------------------------------------

// Labels must be integral and in [0, C) unless equal to ignore_class; checked before any write.
// A vector pass first (xent_simd.h; the checked loop below cost as much as a tenth of the
// whole loss): only a batch that fails it is walked again to name the first bad label.
template <class Yt>
void check_sparse_labels(std::string_view who, const Yt* yt, std::int64_t n, std::int64_t classes,
                         std::optional<std::int64_t> ignore_class) {
  if (simd::sparse_labels_valid(yt, n, classes, ignore_class.has_value(), ignore_class.value_or(0))) return;
  for (std::int64_t i = 0; i < n; ++i) {
    const double v = to_double(yt[i]);
    if (ignore_class && v == static_cast<double>(*ignore_class)) continue;
    if (!(v >= 0.0 && v < static_cast<double>(classes)) || v != std::floor(v)) {
      throw InvalidArgument(internal::str_cat(who, ": argument `y_true` must hold integer class ids in [0, ", classes,
                                              ")", ignore_class ? " or ignore_class" : "", "; received ", v,
                                              " at flat index ", i));
    }
  }
}

template <class Sink>
auto run_sparse_categorical_crossentropy(std::string_view who, const Aligned& a, bool from_logits,
                                         std::optional<std::int64_t> ignore_class, ClipBounds clip, const Sink& sink) {
  return kernels::dispatch_inputs(a.y_true.view, a.y_pred.view, [&](const auto* yt, const auto* yp) {
    const std::int64_t w = a.spec.width;
    check_sparse_labels(who, yt, a.spec.positions, w, ignore_class);
    const bool has_ignore = ignore_class.has_value();
    const std::int64_t ignored = ignore_class.value_or(0);
    if (from_logits && w <= simd::kSparseXentMaxWidth) {
      // Narrow rows: one row per SIMD lane, the whole formula on Highway (xent_simd.h).
      auto fill = [=](std::int64_t b, std::int64_t e, double* loss, unsigned char* valid, std::vector<double>&) {
        simd::sparse_xent_from_logits(yp + b * w, yt + b, e - b, w, has_ignore, ignored, loss);
        if (has_ignore) {
          for (std::int64_t i = 0; i < e - b; ++i) {
            if (static_cast<std::int64_t>(to_double(yt[b + i])) == ignored) valid[i] = 0;
          }
        }
      };
      return sink(a.spec, kernels::BlockedRows(a.spec, fill));
    }
    if (from_logits) {
      // (m − x_label) + ln Σ e^(x − m); per block: the maxima, then exp and log vectorised.
      auto fill = [=](std::int64_t b, std::int64_t e, double* loss, unsigned char* valid, std::vector<double>& t) {
        const std::int64_t rows = e - b;
        t.resize(static_cast<std::size_t>(rows * (w + 1)));
        double* z = t.data();
        double* se = z + rows * w;
        // Wide rows (narrow ones took xent_simd.h above): one row at a time.
        const auto* x0 = yp + b * w;
        for (std::int64_t i = 0; i < rows; ++i) {
          double m = -std::numeric_limits<double>::infinity();
          for (std::int64_t k = 0; k < w; ++k) m = std::max(m, to_double(x0[i * w + k]));
          loss[i] = m;
        }
        for (std::int64_t i = 0; i < rows; ++i)
          for (std::int64_t k = 0; k < w; ++k) z[i * w + k] = to_double(x0[i * w + k]) - loss[i];
        simd::exp_in_place(z, static_cast<std::size_t>(rows * w));
        for (std::int64_t i = 0; i < rows; ++i) {
          double sum = 0.0;
          for (std::int64_t k = 0; k < w; ++k) sum += z[i * w + k];
          se[i] = sum;
        }
        simd::log_in_place(se, static_cast<std::size_t>(rows));
        for (std::int64_t i = 0; i < rows; ++i) {
          const auto label = static_cast<std::int64_t>(to_double(yt[b + i]));
          if (has_ignore && label == ignored) {
            valid[i] = 0;
            loss[i] = 0.0;
          } else {
            loss[i] = (loss[i] - to_double(yp[(b + i) * w + label])) + se[i];
          }
        }
      };
      return sink(a.spec, kernels::BlockedRows(a.spec, fill));
    }
    if (w <= simd::kSparseXentMaxWidth) {
      // Narrow rows from probabilities: one row per SIMD lane, the row sum in class order, the
      // label's ratio clipped and one log per row, all on Highway (xent_simd.h).
      const double lo = clip.lo, hi = clip.hi;
      auto fill = [=](std::int64_t b, std::int64_t e, double* loss, unsigned char* valid, std::vector<double>&) {
        simd::sparse_xent_from_probabilities(yp + b * w, yt + b, e - b, w, has_ignore, ignored, lo, hi, loss);
        if (has_ignore) {
          for (std::int64_t i = 0; i < e - b; ++i) {
            if (static_cast<std::int64_t>(to_double(yt[b + i])) == ignored) valid[i] = 0;
          }
        }
      };
      return sink(a.spec, kernels::BlockedRows(a.spec, fill));
    }
    // From probabilities, wide rows: one log per row and no exp; stays scalar.
    auto row = [=](std::int64_t r, bool& valid) {
      const auto label = static_cast<std::int64_t>(to_double(yt[r]));
      if (has_ignore && label == ignored) {
        valid = false;
        return 0.0;
      }
      const auto* p = yp + r * w;
      double s = 0.0;
      for (std::int64_t k = 0; k < w; ++k) s += to_double(p[k]);
      return -std::log(kernels::clip(to_double(p[label]) / s, clip.lo, clip.hi));
    };
    return sink(a.spec, row);
  });
}

// ---- KL divergence, Poisson ------------------------------------------------------------

template <class Sink>
auto run_kl_divergence(const Aligned& a, ClipBounds clip, const Sink& sink) {
  return kernels::dispatch_inputs(a.y_true.view, a.y_pred.view, [&](const auto* yt, const auto* yp) {
    const std::int64_t w = a.spec.width;
    auto row = [=](std::int64_t r, bool&) {
      double s = 0.0;
      for (std::int64_t k = r * w; k < (r + 1) * w; ++k)
        s += kernels::kl_term(to_double(yt[k]), to_double(yp[k]), clip.lo);
      return s;
    };
    return sink(a.spec, row);
  });
}

template <class Sink>
auto run_poisson(const Aligned& a, ClipBounds clip, const Sink& sink) {
  return kernels::dispatch_inputs(a.y_true.view, a.y_pred.view, [&](const auto* yt, const auto* yp) {
    const double eps = clip.lo;
    return kernels::mean_over_rows(
        a.spec, yt, yp, [eps](double y, double p) { return kernels::poisson_term(y, p, eps); }, sink);
  });
}

// ---- focal crossentropies (functions only) ------------------------------------------

template <class Sink>
auto run_binary_focal(const Aligned& a, bool balance, double alpha, double gamma, bool from_logits, double ls,
                      ClipBounds clip, const Sink& sink) {
  return kernels::dispatch_inputs(a.y_true.view, a.y_pred.view, [&](const auto* yt, const auto* yp) {
    return kernels::mean_over_rows(
        a.spec, yt, yp,
        [=](double y, double x) {
          const double p = from_logits ? kernels::sigmoid(x) : x;
          return kernels::binary_focal_term(kernels::smooth_binary(y, ls), p, gamma, balance, alpha, clip);
        },
        sink);
  });
}

template <class Sink>
auto run_categorical_focal(const Aligned& a, double alpha, double gamma, bool from_logits, double ls, ClipBounds clip,
                           const Sink& sink) {
  return kernels::dispatch_inputs(a.y_true.view, a.y_pred.view, [&](const auto* yt, const auto* yp) {
    const std::int64_t w = a.spec.width;
    const double classes = static_cast<double>(w);
    auto row = [=](std::int64_t r, bool&) {
      const auto* x = yp + r * w;
      const auto* y = yt + r * w;
      // Keras: softmax (with from_logits), then divide by the sum again, then clip.
      double m = 0.0;
      double se = 1.0;
      if (from_logits) {
        m = -std::numeric_limits<double>::infinity();
        for (std::int64_t k = 0; k < w; ++k) m = std::max(m, to_double(x[k]));
        se = 0.0;
        for (std::int64_t k = 0; k < w; ++k) se += std::exp(to_double(x[k]) - m);
      }
      auto prob = [&](std::int64_t k) { return from_logits ? std::exp(to_double(x[k]) - m) / se : to_double(x[k]); };
      double s = 0.0;
      for (std::int64_t k = 0; k < w; ++k) s += prob(k);
      double loss = 0.0;
      for (std::int64_t k = 0; k < w; ++k) {
        const double yk = kernels::smooth_categorical(to_double(y[k]), ls, classes);
        const double o = kernels::clip(prob(k) / s, clip.lo, clip.hi);
        loss += kernels::categorical_focal_term(yk, o, gamma, alpha);
      }
      return loss;
    };
    return sink(a.spec, row);
  });
}

}  // namespace tally::metrics::kernels
