#include "tally/metrics/bootstrap.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>

#include "internal/check.h"
#include "internal/parallel.h"
#include "metrics/kernels/aux_ids.h"
#include "metrics/kernels/mean_update.h"
#include "metrics/kernels/poisson_bootstrap.h"
#include "tally/registry.h"

namespace tally::metrics {
namespace {

using kernels::who;

// Wrapped states up to this many elements are resampled from per-row contributions (one
// small update per row, then weighted sums); larger ones by one weighted update per resample.
constexpr std::int64_t kMaxContributionSize = 32;

std::shared_ptr<const Metric> build_inner(const BootstrapOptions& o) {
  const std::string owner =
      "BootstrapInterval \"" + (o.name.empty() ? std::string("bootstrap_interval") : o.name) + "\"";
  if (o.metric.is_null()) throw ConfigError(owner + ": argument `metric` is required (the metric to resample)");
  std::shared_ptr<const Metric> inner = metrics::get(o.metric);
  for (const Variable& v : inner->variables()) {
    if (v.aggregation != Aggregation::kSum) {
      throw ConfigError(internal::str_cat(owner, ": the wrapped metric ", inner->class_name(), " \"", inner->name(),
                                          "\" has variable \"", v.name, "\" merged by ",
                                          aggregation_name(v.aggregation),
                                          "; the Poisson bootstrap needs every variable to be a sum over rows"));
    }
  }
  if (inner->aux_use(kAuxQueryIds) == AuxUse::kRequired) {
    throw ConfigError(owner + ": the wrapped metric " + inner->class_name() +
                      " needs query ids; the Poisson bootstrap resamples rows, not queries");
  }
  if (inner->variables().empty()) {
    throw ConfigError(internal::str_cat(owner, ": the wrapped metric ", inner->class_name(),
                                        " declares its variables at its first batch; give it a fixed size (for "
                                        "example num_classes)"));
  }
  return inner;
}

// Copy `slot` of every bootstrap variable into a Variables of the wrapped layout.
void read_slot(const Variables& vars, std::size_t first_var, std::int64_t slot, Variables& out) {
  for (std::size_t j = 0; j < out.size(); ++j) {
    const std::int64_t m = out.layout()[j].numel();
    if (out.layout()[j].dtype == DType::kInt64) {
      const auto src = vars.i64(first_var + j).subspan(static_cast<std::size_t>(slot * m), static_cast<std::size_t>(m));
      std::copy(src.begin(), src.end(), out.i64(j).begin());
    } else {
      const auto src = vars.f64(first_var + j).subspan(static_cast<std::size_t>(slot * m), static_cast<std::size_t>(m));
      std::copy(src.begin(), src.end(), out.f64(j).begin());
    }
  }
}

void write_slot(Variables& vars, std::size_t first_var, std::int64_t slot, const Variables& in) {
  for (std::size_t j = 0; j < in.size(); ++j) {
    const std::int64_t m = in.layout()[j].numel();
    if (in.layout()[j].dtype == DType::kInt64) {
      const auto src = in.i64(j);
      std::copy(src.begin(), src.end(), vars.i64(first_var + j).begin() + slot * m);
    } else {
      const auto src = in.f64(j);
      std::copy(src.begin(), src.end(), vars.f64(first_var + j).begin() + slot * m);
    }
  }
}

// Rows [b, e) of a view with rows; a 0-d or absent view as is.
TensorView rows_of(const TensorView& v, std::int64_t b, std::int64_t e) {
  if (!v.has_value() || v.ndim() == 0) return v;
  return v.slice_rows(b, e);
}

std::vector<std::int64_t> index_values(const std::string& me, const TensorView& view) {
  std::vector<std::int64_t> out = kernels::aux_ids(view);
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] < 0) {
      throw InvalidArgument(
          internal::str_cat(me, ": argument `index` must hold row indices >= 0; received ", out[i], " at row ", i));
    }
  }
  return out;
}

// Runs `fn`; an error of the wrapped metric is rethrown, same type, prefixed with this
// metric's name, so that the message names the metric the caller updated.
template <class Fn>
void with_owner(const std::string& me, Fn&& fn) {
  const auto prefixed = [&](const std::exception& e) { return me + " wrapping " + e.what(); };
  try {
    fn();
  } catch (const ShapeError& e) {
    throw ShapeError(prefixed(e));
  } catch (const DTypeError& e) {
    throw DTypeError(prefixed(e));
  } catch (const ConfigError& e) {
    throw ConfigError(prefixed(e));
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(prefixed(e));
  } catch (const StateError& e) {
    throw StateError(prefixed(e));
  }
}

// Rethrows the first failure of a parallel loop as InvalidArgument naming both metrics.
void rethrow_first(const std::vector<std::exception_ptr>& failed, const std::string& me, const Metric& inner) {
  for (const std::exception_ptr& e : failed) {
    if (!e) continue;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      throw InvalidArgument(internal::str_cat(me, ": the wrapped metric ", inner.class_name(),
                                              " failed on a resampled update: ", x.what()));
    }
  }
}

// Linear-interpolated quantile of sorted values (numpy's default method).
double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return std::numeric_limits<double>::quiet_NaN();
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

}  // namespace

BootstrapInterval::BootstrapInterval(const Options& o) : ConfiguredMetric(o), inner_(build_inner(options())) {
  const std::int64_t slots = options().num_resamples + 1;
  std::int64_t elements = 1;
  for (const Variable& v : inner_->variables()) {
    elements =
        v.numel() > (kMaxStateElements - elements) / slots ? kMaxStateElements + 1 : elements + v.numel() * slots;
  }
  check_state_budget(elements);
  for (const Variable& v : inner_->variables()) {
    Shape shape{slots};
    shape.insert(shape.end(), v.shape.begin(), v.shape.end());
    add_variable(v.name, std::move(shape), v.dtype, Aggregation::kSum, v.domain);
  }
  add_variable("rows_seen", {}, DType::kInt64);
}

const MetricSpec<BootstrapInterval::Options>& BootstrapInterval::spec() {
  static const MetricSpec<Options> s{
      "BootstrapInterval",
      "bootstrap_interval",
      "Poisson-bootstrap percentile interval of a wrapped metric: [value, lower, upper, std].",
      Direction::kNone,
      [] {
        InputContract in{"binary", "probabilities", {1, 2}};
        in.accepts_aux = {std::string(kAuxIndex)};
        return in;
      }(),
      "vector",
      {required(field("metric", &Options::metric,
                      "The metric to resample: a name, an alias or a JSON spec; its variables must be sums.")),
       field("num_resamples", &Options::num_resamples, "Number of Poisson resamples.",
             rules::in_range(2, 1e6, RuleError::kConfig)),
       field(
           "confidence", &Options::confidence, "Level of the percentile interval.",
           rules::greater_than(0.0, RuleError::kConfig),
           OptionRule{"< 1", [](const Json& v) { return v.is_number() && v.get<double>() < 1.0; }, RuleError::kConfig}),
       field("seed", &Options::seed, "Philox key: the same seed, rows and index give the same interval.",
             rules::at_least(0, RuleError::kConfig)),
       name_and_dtype<Options>()},
      Json{{"metric", "binary_accuracy"}, {"num_resamples", 100}}};
  return s;
}

void BootstrapInterval::set_row_offset(std::int64_t offset) {
  if (offset < 0) {
    throw InvalidArgument(internal::str_cat(who(*this), ": the row offset must be >= 0; received ", offset));
  }
  row_offset_ = offset;
}

void BootstrapInterval::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  const Metric& inner = *inner_;
  const std::int64_t resamples = options().num_resamples;
  const auto seed = static_cast<std::uint64_t>(options().seed);
  internal::check_present(me, "y_pred", batch.y_pred);
  if (batch.y_pred.ndim() == 0) {
    throw ShapeError(
        internal::str_cat(me, ": argument `y_pred` must have one row per sample; received ", batch.y_pred.describe()));
  }
  const std::int64_t n = batch.y_pred.shape()[0];
  if (batch.sample_weight.has_value() && (batch.sample_weight.ndim() == 0 || batch.sample_weight.shape()[0] != n)) {
    throw ShapeError(internal::str_cat(me, ": argument `sample_weight` must have one value per row (", n,
                                       "); received ", batch.sample_weight.describe()));
  }
  const Batch inner_batch{batch.y_true, batch.y_pred, batch.sample_weight};
  // 1. The unresampled copy: the wrapped metric's own update, which validates the batch.
  Variables base(inner.variable_values().layout_ptr());
  read_slot(vars, 0, 0, base);
  const std::vector<double> before = base.to_vector();
  with_owner(me, [&] { inner.accumulate(base, inner_batch); });
  if (!base.same_layout(inner.variable_values())) {
    throw InvalidArgument(
        internal::str_cat(me, ": the wrapped metric ", inner.class_name(),
                          " changed its state layout; give it a fixed size (for example num_classes)"));
  }
  // 2. Global row indices: the `index` input, or the running offset.
  std::vector<std::int64_t> index;
  if (batch.aux.index.has_value()) {
    index = index_values(me, batch.aux.index);
  } else {
    const std::int64_t first = row_offset_ + vars.i64(vars.size() - 1)[0];
    index.resize(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) index[static_cast<std::size_t>(i)] = first + i;
  }
  const std::int64_t d = base.vector_size();
  const std::int64_t blocks = (resamples + kernels::kResamplesPerDraw - 1) / kernels::kResamplesPerDraw;
  std::vector<double> acc(static_cast<std::size_t>(blocks * kernels::kResamplesPerDraw * d), 0.0);
  if (d <= kMaxContributionSize) {
    // 3a. Per-row contributions (column-major), checked to add up to the batch's update.
    std::vector<double> c(static_cast<std::size_t>(d * n), 0.0);
    const Variables zero(inner.variable_values().layout_ptr());
    std::vector<std::exception_ptr> failed(static_cast<std::size_t>((n + 255) / 256));
    internal::parallel_for_chunks(
        n,
        [&](std::int64_t b, std::int64_t e) {
          try {
            // One state and one buffer per chunk, reset per row: the row's update is the cost.
            Variables row = zero;
            std::vector<double> v(static_cast<std::size_t>(d));
            for (std::int64_t i = b; i < e; ++i) {
              if (i > b) row.reset();
              inner.accumulate(row, Batch{rows_of(batch.y_true, i, i + 1), batch.y_pred.slice_rows(i, i + 1),
                                          rows_of(batch.sample_weight, i, i + 1)});
              row.write_vector(v);
              for (std::int64_t t = 0; t < d; ++t)
                c[static_cast<std::size_t>(t * n + i)] = v[static_cast<std::size_t>(t)];
            }
          } catch (...) {  // exceptions must not leave an OpenMP region
            failed[static_cast<std::size_t>(b / 256)] = std::current_exception();
          }
        },
        256);
    rethrow_first(failed, me, inner);
    const std::vector<double> after = base.to_vector();
    for (std::int64_t t = 0; t < d; ++t) {
      double sum = 0.0, scale = 0.0;
      for (std::int64_t i = 0; i < n; ++i) {
        sum += c[static_cast<std::size_t>(t * n + i)];
        scale += std::fabs(c[static_cast<std::size_t>(t * n + i)]);
      }
      const double delta = after[static_cast<std::size_t>(t)] - before[static_cast<std::size_t>(t)];
      if (!(std::fabs(sum - delta) <= 1e-9 * (scale + std::fabs(delta)) + 1e-300)) {
        throw InvalidArgument(
            internal::str_cat(me, ": the update of the wrapped metric ", inner.class_name(),
                              " is not a sum of per-row updates on this batch (state element ", t,
                              "); the Poisson bootstrap needs one (docs/metrics.md, \"Confidence intervals\")"));
      }
    }
    internal::parallel_for_chunks(
        blocks,
        [&](std::int64_t b, std::int64_t e) {
          for (std::int64_t blk = b; blk < e; ++blk) {
            kernels::add_resampled_block(seed, index.data(), n, static_cast<std::uint64_t>(blk), c.data(), d,
                                         acc.data() + blk * kernels::kResamplesPerDraw * d);
          }
        },
        1);
  } else {
    // 3b. One weighted update of the wrapped metric per resample.
    std::vector<double> weight_base(static_cast<std::size_t>(n), 1.0);
    if (batch.sample_weight.has_value()) {
      const std::vector<double> w = Tensor::copy_of(batch.sample_weight).to_doubles();
      const std::int64_t per_row = static_cast<std::int64_t>(w.size()) / std::max<std::int64_t>(n, 1);
      if (per_row != 1) {
        throw ShapeError(internal::str_cat(me, ": argument `sample_weight` must hold one value per row; received ",
                                           batch.sample_weight.describe()));
      }
      weight_base = w;
    }
    const Variables zero(inner.variable_values().layout_ptr());
    std::vector<std::exception_ptr> failed(static_cast<std::size_t>(blocks));
    internal::parallel_for_chunks(
        blocks,
        [&](std::int64_t b, std::int64_t e) {
          try {
            std::vector<std::uint8_t> k(static_cast<std::size_t>(kernels::kResamplesPerDraw * n));
            Tensor w(DType::kFloat64, {n});
            for (std::int64_t blk = b; blk < e; ++blk) {
              kernels::poisson_counts_block(seed, index.data(), n, static_cast<std::uint64_t>(blk), k.data());
              for (std::int64_t j = 0; j < kernels::kResamplesPerDraw; ++j) {
                if (blk * kernels::kResamplesPerDraw + j >= resamples) break;
                double* wp = w.data_as<double>();
                for (std::int64_t i = 0; i < n; ++i) {
                  wp[i] = static_cast<double>(k[static_cast<std::size_t>(j * n + i)]) *
                          weight_base[static_cast<std::size_t>(i)];
                }
                Variables r = zero;
                inner.accumulate(r, Batch{batch.y_true, batch.y_pred, w.view()});
                r.write_vector(std::span<double>(acc).subspan(
                    static_cast<std::size_t>((blk * kernels::kResamplesPerDraw + j) * d), static_cast<std::size_t>(d)));
              }
            }
          } catch (...) {  // exceptions must not leave an OpenMP region
            failed[static_cast<std::size_t>(b)] = std::current_exception();
          }
        },
        1);
    rethrow_first(failed, me, inner);
  }
  // 4. Commit: slot 0 from the wrapped update, slots 1..R add their weighted sums.
  write_slot(vars, 0, 0, base);
  Variables slot(inner.variable_values().layout_ptr());
  for (std::int64_t r = 0; r < resamples; ++r) {
    read_slot(vars, 0, r + 1, slot);
    std::vector<double> v = slot.to_vector();
    for (std::int64_t t = 0; t < d; ++t) v[static_cast<std::size_t>(t)] += acc[static_cast<std::size_t>(r * d + t)];
    // Integral by construction (Poisson counts times integral contributions) for int64 variables.
    for (std::size_t j = 0, pos = 0; j < slot.size(); ++j) {
      const std::int64_t m = slot.layout()[j].numel();
      for (std::int64_t e = 0; e < m; ++e, ++pos) {
        if (slot.layout()[j].dtype == DType::kInt64) {
          slot.i64(j)[static_cast<std::size_t>(e)] = std::llround(v[pos]);
        } else {
          slot.f64(j)[static_cast<std::size_t>(e)] = v[pos];
        }
      }
    }
    write_slot(vars, 0, r + 1, slot);
  }
  vars.i64(vars.size() - 1)[0] += n;
}

Tensor BootstrapInterval::result_from(const Variables& vars) const {
  const Metric& inner = *inner_;
  const std::int64_t resamples = options().num_resamples;
  Variables slot(inner.variable_values().layout_ptr());
  read_slot(vars, 0, 0, slot);
  const Tensor value = inner.result_from(slot);
  const std::int64_t m = value.numel();
  std::vector<std::vector<double>> samples(static_cast<std::size_t>(m));
  for (std::int64_t r = 1; r <= resamples; ++r) {
    read_slot(vars, 0, r, slot);
    const std::vector<double> v = inner.result_from(slot).to_doubles();
    for (std::int64_t e = 0; e < m; ++e) {
      if (!std::isnan(v[static_cast<std::size_t>(e)]))
        samples[static_cast<std::size_t>(e)].push_back(v[static_cast<std::size_t>(e)]);
    }
  }
  Shape shape{4};
  shape.insert(shape.end(), value.shape().begin(), value.shape().end());
  Tensor out(DType::kFloat64, shape);
  double* o = out.data_as<double>();
  const std::vector<double> v0 = value.to_doubles();
  const double alpha = 1.0 - options().confidence;
  for (std::int64_t e = 0; e < m; ++e) {
    std::vector<double>& s = samples[static_cast<std::size_t>(e)];
    std::sort(s.begin(), s.end());
    double mean = 0.0;
    for (const double x : s) mean += x;
    mean /= static_cast<double>(std::max<std::size_t>(s.size(), 1));
    double ss = 0.0;
    for (const double x : s) ss += (x - mean) * (x - mean);
    o[e] = v0[static_cast<std::size_t>(e)];
    o[m + e] = quantile(s, alpha / 2.0);
    o[2 * m + e] = quantile(s, 1.0 - alpha / 2.0);
    o[3 * m + e] =
        s.size() < 2 ? std::numeric_limits<double>::quiet_NaN() : std::sqrt(ss / static_cast<double>(s.size() - 1));
  }
  return out;
}

int BootstrapInterval::poisson_weight(std::int64_t seed, std::int64_t index, std::int64_t r) {
  return kernels::poisson_count(static_cast<std::uint64_t>(seed), static_cast<std::uint64_t>(index),
                                static_cast<std::uint64_t>(r));
}

}  // namespace tally::metrics
