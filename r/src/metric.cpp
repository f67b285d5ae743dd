// Metrics for R: built-ins from the registry, metrics written in R (RMetric), collections,
// all-reduce, state files and model selection. Every entry point is `extern "C"` and
// registered in init.cpp; each runs its body under guard() so C++ errors reach R as
// classed conditions (R/errors.R).
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <set>
#include <sstream>
#include <utility>

#include "glue.h"
#include "tally/metrics/classwise.h"
#include "tally/selection.h"
#include "tally/state_file.h"
#ifdef TALLY_R_WITH_MPI
#include "tally/mpi.h"
#endif

namespace tally::r {
namespace {

// A metric seen from R: owned, or a member of a collection (aliasing pointer keeps it alive).
struct Handle {
  std::shared_ptr<Metric> metric;
};

SEXP wrap_metric(std::shared_ptr<Metric> metric) { return wrap_owned(new Handle{std::move(metric)}, "tally_metric"); }

Metric& metric_of(SEXP ptr) {
  if (auto* h = tagged_object<Handle>(ptr, "tally_metric")) return *h->metric;
  throw InvalidArgument("tally: not a live tally metric (was it saved with saveRDS? rebuild it from its config)");
}

std::shared_ptr<Metric> shared_metric_of(SEXP ptr) {
  metric_of(ptr);
  return static_cast<Handle*>(R_ExternalPtrAddr(ptr))->metric;
}

std::string str(SEXP x, const char* what) {
  if (TYPEOF(x) != STRSXP || Rf_xlength(x) != 1 || STRING_ELT(x, 0) == NA_STRING) {
    throw InvalidArgument(std::string("tally: `") + what + "` must be one string");
  }
  return Rf_translateCharUTF8(STRING_ELT(x, 0));
}

std::vector<double> doubles(SEXP x, const std::string& owner, const char* what) {
  if (TYPEOF(x) != REALSXP && TYPEOF(x) != INTSXP && TYPEOF(x) != LGLSXP) {
    throw InvalidArgument(owner + ": `" + what + "` must be a numeric vector; received an R " +
                          Rf_type2char(TYPEOF(x)));
  }
  const Input in = to_input(x, what, owner);
  return Tensor::copy_of(in.view).to_doubles();
}

SEXP doubles_to_r(const std::vector<double>& v) {
  SEXP out = PROTECT(Rf_allocVector(REALSXP, static_cast<R_xlen_t>(v.size())));
  std::copy(v.begin(), v.end(), REAL(out));
  UNPROTECT(1);
  return out;
}

// Variables as R: an external pointer to a Variables object that R code reads and writes
// through (valid only while the C++ call that made it runs).
SEXP wrap_variables(Variables* vars) { return R_MakeExternalPtr(vars, Rf_install("tally_variables"), R_NilValue); }

Variables* variables_of(SEXP ptr) {
  if (auto* vars = tagged_object<Variables>(ptr, "tally_variables")) return vars;
  throw StateError("tally: these metric variables are no longer valid (used outside update_state or result)");
}

// Clears the pointer when the C++ call that lent the variables to R returns.
class LentVariables {
 public:
  explicit LentVariables(Variables* vars) : ptr_(PROTECT(wrap_variables(vars))) {}
  ~LentVariables() {
    R_ClearExternalPtr(ptr_);
    UNPROTECT(1);
  }
  LentVariables(const LentVariables&) = delete;
  LentVariables& operator=(const LentVariables&) = delete;
  SEXP get() const { return ptr_; }

 private:
  SEXP ptr_;
};

SEXP view_to_r(const TensorView& view) {
  if (!view.has_value()) return R_NilValue;
  SEXP original = original_of(view);
  if (!Rf_isNull(original)) return original;
  return to_r(Tensor::copy_of(view));
}

// Calls an R callback (from R/custom.R) that never signals: it returns TRUE, or FALSE after
// keeping the condition in .tally_pending for guard() to re-signal.
SEXP call_back(SEXP fn, SEXP a, SEXP b, SEXP c, SEXP d, int nargs, const std::string& owner) {
  SEXP call = nargs == 1 ? Rf_lang2(fn, a) : nargs == 2 ? Rf_lang3(fn, a, b) : Rf_lang5(fn, a, b, c, d);
  PROTECT(call);
  int error = 0;
  SEXP out = R_tryEvalSilent(call, R_GlobalEnv, &error);
  UNPROTECT(1);
  if (error != 0) throw RCallbackError(owner + ": the R code of the metric failed: " + R_curErrorBuf());
  PROTECT(out);
  if (TYPEOF(out) == VECSXP && Rf_xlength(out) == 2 && Rf_inherits(out, "tally_callback_failure")) {
    const std::string message = Rf_translateCharUTF8(STRING_ELT(VECTOR_ELT(out, 1), 0));
    UNPROTECT(1);
    throw RCallbackError(message);
  }
  UNPROTECT(1);
  return out;
}

// A metric written in R (Metric() in R/custom.R): its variables are tally Variables, so it
// merges, flattens, joins collections and all-reduces like a built-in; update and result
// run the R functions, which read and write the variables lent to them.
class RMetric final : public MetricWithClone<RMetric> {
 public:
  RMetric(std::string class_name, std::string name, DType dtype, const VariableLayout& layout, SEXP update, SEXP result,
          Json config)
      : MetricWithClone<RMetric>(std::move(name), dtype),
        class_name_(std::move(class_name)),
        update_(std::make_shared<Rcpp::RObject>(update)),
        result_(std::make_shared<Rcpp::RObject>(result)),
        config_(std::move(config)) {
    for (const Variable& v : layout) add_variable(v.name, v.shape, v.dtype, v.aggregation);
  }

  std::string class_name() const override { return class_name_; }
  Json get_config() const override {
    Json c = Metric::get_config();
    for (auto it = config_.begin(); it != config_.end(); ++it) c[it.key()] = it.value();
    return c;
  }

  void accumulate(Variables& vars, const Batch& batch) const override {
    Variables work = vars;  // R code may fail half-way: update a copy, commit at the end
    {
      LentVariables lent(&work);
      SEXP t = PROTECT(view_to_r(batch.y_true));
      SEXP p = PROTECT(view_to_r(batch.y_pred));
      SEXP w = PROTECT(view_to_r(batch.sample_weight));
      try {
        call_back(*update_, lent.get(), t, p, w, 4, name());
      } catch (...) {
        UNPROTECT(3);
        throw;
      }
      UNPROTECT(3);
    }
    vars = std::move(work);
  }

  Tensor result_from(const Variables& vars) const override {
    Variables copy = vars;  // R code only reads; a copy keeps `vars` const
    LentVariables lent(&copy);
    SEXP out = PROTECT(call_back(*result_, lent.get(), R_NilValue, R_NilValue, R_NilValue, 1, name()));
    if (TYPEOF(out) != REALSXP) {
      UNPROTECT(1);
      throw InvalidArgument(name() + ": result() must return numbers");
    }
    const R_xlen_t n = Rf_xlength(out);
    std::vector<double> values(REAL(out), REAL(out) + n);
    UNPROTECT(1);
    if (n == 1) return Tensor::scalar(values[0]);
    return Tensor::from_vector(std::span<const double>(values));
  }

 private:
  std::string class_name_;
  std::shared_ptr<Rcpp::RObject> update_, result_;
  Json config_;
};

Aggregation aggregation_of(const std::string& name, const std::string& owner) {
  if (name == "sum") return Aggregation::kSum;
  if (name == "min") return Aggregation::kMin;
  if (name == "max") return Aggregation::kMax;
  throw InvalidArgument(owner + ": aggregation must be \"sum\", \"min\" or \"max\"; received \"" + name + "\"");
}

SEXP variables_to_r(const Variables& values) {
  const R_xlen_t n = static_cast<R_xlen_t>(values.size());
  SEXP out = PROTECT(Rf_allocVector(VECSXP, n));
  SEXP names = PROTECT(Rf_allocVector(STRSXP, n));
  for (R_xlen_t i = 0; i < n; ++i) {
    const Variable& v = values.layout()[static_cast<std::size_t>(i)];
    SEXP entry = PROTECT(Rf_allocVector(VECSXP, 5));
    SEXP fields = PROTECT(Rf_allocVector(STRSXP, 5));
    const char* keys[] = {"name", "shape", "dtype", "aggregation", "value"};
    for (int k = 0; k < 5; ++k) SET_STRING_ELT(fields, k, Rf_mkChar(keys[k]));
    SET_VECTOR_ELT(entry, 0, Rf_mkString(v.name.c_str()));
    SEXP shape = PROTECT(Rf_allocVector(INTSXP, static_cast<R_xlen_t>(v.shape.size())));
    for (std::size_t a = 0; a < v.shape.size(); ++a) INTEGER(shape)[a] = static_cast<int>(v.shape[a]);
    SET_VECTOR_ELT(entry, 1, shape);
    SET_VECTOR_ELT(entry, 2, Rf_mkString(std::string(dtype_name(v.dtype)).c_str()));
    SET_VECTOR_ELT(entry, 3, Rf_mkString(std::string(aggregation_name(v.aggregation)).c_str()));
    SET_VECTOR_ELT(entry, 4, to_r(values.tensor(static_cast<std::size_t>(i))));
    Rf_setAttrib(entry, R_NamesSymbol, fields);
    SET_VECTOR_ELT(out, i, entry);
    SET_STRING_ELT(names, i, Rf_mkChar(v.name.c_str()));
    UNPROTECT(3);
  }
  Rf_setAttrib(out, R_NamesSymbol, names);
  UNPROTECT(2);
  return out;
}

// Owned Variables for the stateless API (Keras's metric_variables), as an R external pointer.
SEXP wrap_owned_variables(Variables vars) { return wrap_owned(new Variables(std::move(vars)), "tally_state"); }

const Variables& owned_variables_of(SEXP ptr) {
  if (auto* vars = tagged_object<Variables>(ptr, "tally_state")) return *vars;
  throw InvalidArgument("tally: `metric_variables` must come from stateless_reset_state() or stateless_update_state()");
}

// --- collections ---------------------------------------------------------------------
SEXP wrap_collection(std::shared_ptr<MetricCollection> c) {
  return wrap_owned(new std::shared_ptr<MetricCollection>(std::move(c)), "tally_collection");
}

std::shared_ptr<MetricCollection>& collection_of(SEXP ptr) {
  if (auto* c = tagged_object<std::shared_ptr<MetricCollection>>(ptr, "tally_collection")) return *c;
  throw InvalidArgument("tally: not a live tally metric collection");
}

// Input views of one update, with the R objects they came from (for metrics written in R).
struct Inputs {
  Input t, p, w;
  Inputs(SEXP y_true, SEXP y_pred, SEXP sample_weight, const std::string& owner, bool scan_na = true)
      : t(to_input(y_true, "y_true", owner, scan_na)),
        p(to_input(y_pred, "y_pred", owner, scan_na)),
        w(to_input(sample_weight, "sample_weight", owner, scan_na)) {}
};

// Query ids or row indices (docs/metrics.md, "Auxiliary inputs"): integer vectors as they are,
// doubles (R's default numbers) as int64 when every value is a whole number.
Input aux_input(SEXP x, const char* argument, const std::string& owner) {
  Input in = to_input(x, argument, owner);
  if (!in.view.has_value() || in.view.dtype() != DType::kFloat64) return in;
  const std::vector<double> values = Tensor::copy_of(in.view).to_doubles();
  std::vector<std::int64_t> ids(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!(std::isfinite(values[i]) && values[i] == std::floor(values[i]) &&
          std::fabs(values[i]) < 9007199254740992.0)) {
      throw InvalidArgument(owner + ": argument `" + argument + "` must hold whole numbers; received " +
                            std::to_string(values[i]) + " at position " + std::to_string(i + 1));
    }
    ids[i] = static_cast<std::int64_t>(values[i]);
  }
  auto owned = std::make_shared<Tensor>(Tensor::from_vector(std::span<const std::int64_t>(ids)));
  Input out;
  out.view = owned->view();
  out.owned = owned;
  return out;
}

// --- fused NA scan and update (docs/performance.md, "R") ----------------------------------
// R's NA must be refused with the state unchanged, so a plain update scans every input
// first: a second pass over memory. For large inputs of metrics whose update is
// batch-split invariant, the rows are instead cut into chunks small enough to stay in the
// core's L2 cache; each chunk is added to a fresh copy of the metric and then scanned while
// it is still in cache, so the data comes from memory once. The copies (parts; their number depends only on the
// input size, so the result does not depend on the thread count) are merged in row order
// into the metric at the end. An NA, or any error, discards the copies and takes the plain
// path, which raises exactly the error a plain update raises, with the state unchanged.

// Rows x width elements per chunk: the kernels' own chunk (src/internal/parallel.h), so a
// kernel called on one chunk runs serially inside the worker thread; 2 x 256 KiB of doubles.
constexpr std::int64_t kChunkElements = std::int64_t{1} << 15;
// Below this many elements of y_pred the plain scan is cheap and the copies are not worth it.
constexpr std::int64_t kFuseElements = std::int64_t{1} << 18;
// Most copies per update, and the largest state (elements) worth copying that often.
constexpr std::int64_t kMaxParts = 16;
constexpr std::int64_t kMaxFusedState = std::int64_t{1} << 16;

// How a metric reads rows, for the fused path: which ranks of y_pred have one sample per
// row of axis 0 (docs/metrics.md): elementwise and thresholded metrics read a rank-1 input
// as N samples; class-axis metrics read it as ONE sample (so rank 2 only); sparse ones take
// (N) or (N, 1) labels with (N, C) scores. Hinge and SquaredHinge are left out (their label
// mapping is decided per batch), as are metrics with auxiliary inputs, an `axis` option,
// wrappers, and metrics written in R (their update runs R code, which only R's thread may).
enum class RowUse : std::uint8_t { kNone, kRank1And2, kRank2, kSparseRank2 };

RowUse row_use(const Metric& m) {
  static const std::set<std::string, std::less<>> rank1 = {"AUC",
                                                           "Precision",
                                                           "Recall",
                                                           "TruePositives",
                                                           "FalsePositives",
                                                           "TrueNegatives",
                                                           "FalseNegatives",
                                                           "PrecisionAtRecall",
                                                           "RecallAtPrecision",
                                                           "SensitivityAtSpecificity",
                                                           "SpecificityAtSensitivity",
                                                           "BinaryAccuracy",
                                                           "Accuracy",
                                                           "MeanSquaredError",
                                                           "MeanAbsoluteError",
                                                           "MeanAbsolutePercentageError",
                                                           "MeanSquaredLogarithmicError",
                                                           "RootMeanSquaredError",
                                                           "LogCoshError",
                                                           "BinaryCrossentropy",
                                                           "Poisson",
                                                           "Mean",
                                                           "Sum",
                                                           "R2Score"};
  static const std::set<std::string, std::less<>> rank2 = {
      "CategoricalAccuracy", "TopKCategoricalAccuracy", "CategoricalCrossentropy",
      "KLDivergence",        "CategoricalHinge",        "F1Score",
      "FBetaScore"};
  static const std::set<std::string, std::less<>> sparse = {
      "SparseCategoricalAccuracy", "SparseCategoricalCrossentropy", "SparseTopKCategoricalAccuracy"};
  if (dynamic_cast<const RMetric*>(&m) != nullptr) return RowUse::kNone;
  if (m.aux_use(kAuxQueryIds) != AuxUse::kNone || m.aux_use(kAuxIndex) != AuxUse::kNone) return RowUse::kNone;
  const std::string c = m.class_name();
  if (rank1.count(c) != 0) return RowUse::kRank1And2;
  if (rank2.count(c) != 0) return RowUse::kRank2;
  if (sparse.count(c) != 0) return RowUse::kSparseRank2;
  return RowUse::kNone;
}

// Metrics whose state becomes NaN when any y_true or y_pred value is NaN (docs/metrics.md:
// the per-sample error is arithmetic on y_true - y_pred, and NaN propagates as in Keras;
// r/tests/testthat/test-fused.R checks it). While such a metric's state stays finite, the
// chunks it has seen hold no NaN, so no NA: their y_true and y_pred need no scan.
bool propagates_nan(const Metric& m) {
  static const std::set<std::string, std::less<>> names = {"MeanSquaredError",
                                                           "RootMeanSquaredError",
                                                           "MeanAbsoluteError",
                                                           "MeanAbsolutePercentageError",
                                                           "MeanSquaredLogarithmicError",
                                                           "LogCoshError"};
  return dynamic_cast<const RMetric*>(&m) == nullptr && names.count(m.class_name()) != 0;
}

// True when every float64 state value of `m` is finite.
bool finite_state(const Metric& m) {
  const Variables& v = m.variable_values();
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v.layout()[i].dtype != DType::kFloat64) continue;
    for (const double x : v.f64(i)) {
      if (!std::isfinite(x)) return false;
    }
  }
  return true;
}

// Rows and chunk length of a fused update; rows == 0: take the plain path.
struct RowPlan {
  std::int64_t rows = 0;
  std::int64_t chunk_rows = 0;
};

RowPlan plan_rows(const std::vector<const Metric*>& metrics, const Inputs& in, const AuxInputs& aux) {
  const RowPlan plain;
  if (metrics.empty() || !aux.empty() || !na_check_on()) return plain;
  const TensorView& t = in.t.view;
  const TensorView& p = in.p.view;
  const TensorView& w = in.w.view;
  if (!p.has_value() || p.ndim() < 1 || p.ndim() > 2) return plain;
  const std::int64_t n = p.shape()[0];
  const std::int64_t width = p.ndim() == 2 ? p.shape()[1] : 1;
  const auto is = [n](const TensorView& v, std::initializer_list<std::int64_t> trailing) {
    if (v.ndim() != static_cast<std::int64_t>(trailing.size()) + 1 || v.shape()[0] != n) return false;
    return std::equal(trailing.begin(), trailing.end(), v.shape().begin() + 1);
  };
  // Each input has one row per sample: the shapes below, where cutting axis 0 cuts samples.
  bool all_sparse = true;
  std::int64_t state = 0;
  for (const Metric* m : metrics) {
    const RowUse use = row_use(*m);
    if (use == RowUse::kNone || (use != RowUse::kRank1And2 && p.ndim() != 2)) return plain;
    const Json config = m->get_config();  // a class axis other than the last cuts across rows
    if (config.contains("axis") && config["axis"] != Json(-1)) return plain;
    all_sparse = all_sparse && use == RowUse::kSparseRank2;
    state += m->variable_values().vector_size();
  }
  if (state > kMaxFusedState) return plain;
  if (t.has_value()) {
    const bool labels = is(t, {}) || is(t, {1});
    const bool ok = p.ndim() == 1 ? labels : (is(t, {width}) || (all_sparse && labels));
    if (!ok) return plain;
  }
  if (w.has_value() && !(is(w, {}) || is(w, {1}) || (p.ndim() == 2 && is(w, {width})))) return plain;
  if (n * width < kFuseElements || width > kChunkElements / 4) return plain;
  return RowPlan{n, kChunkElements / width};
}

// Updates `target` with the rows of `in` as the comment above says; false (target untouched)
// when an NA or an error stopped it, and the caller takes the plain path. `fresh` makes an
// empty copy of the target; `update` adds a batch to one; `fingerprints` lists its layout
// fingerprints (a copy merges into the target only when they match); `no_nan(copy)` is true
// when the copy's state proves that the y_true and y_pred it has seen hold no NaN.
// Updates that took the fused path, for the tests (tally:::tally_r_fused_updates); R's thread only.
double fused_updates = 0;

template <class T, class Fresh, class Update, class Fingerprints, class NoNan>
bool fused_update(T& target, const Inputs& in, SEXP objects[3], const RowPlan& plan, Fresh&& fresh, Update&& update,
                  Fingerprints&& fingerprints, NoNan&& no_nan) {
  const NaRows scan[3] = {na_rows_of(objects[0]), na_rows_of(objects[1]), na_rows_of(objects[2])};
  const std::int64_t chunks = (plan.rows + plan.chunk_rows - 1) / plan.chunk_rows;
  const std::int64_t parts = std::min(kMaxParts, chunks);
  std::vector<std::unique_ptr<T>> copies;
  for (std::int64_t i = 0; i < parts; ++i) copies.push_back(fresh());
  std::atomic<bool> stop{false};
  const auto slice = [](const TensorView& v, std::int64_t begin, std::int64_t end) {
    return v.has_value() ? v.slice_rows(begin, end) : TensorView{};
  };
  const int threads = static_cast<int>(std::min<std::int64_t>(num_threads(), parts));
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
  for (std::int64_t part = 0; part < parts; ++part) {
    try {
      const std::int64_t last = (part + 1) * chunks / parts;
      for (std::int64_t c = part * chunks / parts; c < last && !stop.load(std::memory_order_relaxed); ++c) {
        const std::int64_t begin = c * plan.chunk_rows;
        const std::int64_t end = std::min(plan.rows, begin + plan.chunk_rows);
        // Update first, then scan: the update reads the chunk from memory at its own pace
        // (the prefetcher overlaps that with its arithmetic) and the scan then finds it in
        // cache. A chunk with NA is added to a copy that is thrown away.
        T& copy = *copies[static_cast<std::size_t>(part)];
        update(copy, slice(in.t.view, begin, end), slice(in.p.view, begin, end), slice(in.w.view, begin, end));
        // A finite state proves y_true and y_pred free of NaN, which is NA for doubles only:
        // an integer NA is a number to the metric, so integer inputs are always scanned.
        const bool no_nan_seen = no_nan(copy);
        const auto scanned = [&](int k) { return !(no_nan_seen && scan[k].is_double); };
        if ((scanned(0) && has_na_rows(scan[0], begin, end)) || (scanned(1) && has_na_rows(scan[1], begin, end)) ||
            has_na_rows(scan[2], begin, end)) {
          stop.store(true);
          break;
        }
      }
    } catch (...) {  // the plain path raises it again, in the plain update's words
      stop.store(true);
    }
  }
  if (stop.load()) return false;
  try {
    T& total = *copies.front();
    for (std::size_t i = 1; i < copies.size(); ++i) total.merge_state(*copies[i]);
    if (fingerprints(total) != fingerprints(target)) return false;  // a first batch fixed a layout
    target.merge_state(total);
  } catch (const Error&) {
    return false;
  }
  fused_updates += 1;
  return true;
}

#ifdef TALLY_R_WITH_MPI
MpiContext& mpi_of(SEXP ptr) {
  if (auto* c = tagged_object<MpiContext>(ptr, "tally_mpi")) return *c;
  throw InvalidArgument("tally: not a live MPI context");
}
#endif

}  // namespace
}  // namespace tally::r

using namespace tally;     // NOLINT: the entry points below are the glue's whole surface
using namespace tally::r;  // NOLINT

extern "C" {

SEXP tally_r_get(SEXP spec) {
  return guard([&] {
    std::unique_ptr<Metric> m;
    if (TYPEOF(spec) == STRSXP && Rf_xlength(spec) == 1) {
      m = metrics::get(str(spec, "spec"));
    } else {
      m = metrics::get(r_to_json(spec));
    }
    return wrap_metric(std::shared_ptr<Metric>(std::move(m)));
  });
}

SEXP tally_r_update(SEXP ptr, SEXP y_true, SEXP y_pred, SEXP sample_weight, SEXP query_ids, SEXP index) {
  return guard([&] {
    Metric& m = metric_of(ptr);
    const Input q = aux_input(query_ids, "query_ids", m.name());
    const Input i = aux_input(index, "index", m.name());
    SEXP objects[3] = {y_true, y_pred, sample_weight};
    const Inputs in(y_true, y_pred, sample_weight, m.name(), /*scan_na=*/false);
    const TensorView* views[3] = {&in.t.view, &in.p.view, &in.w.view};
    OriginalScope scope(views, objects);
    const AuxInputs aux{q.view, i.view};
    const RowPlan plan = plan_rows({&m}, in, aux);
    const auto fresh = [&m] {
      std::unique_ptr<Metric> copy = m.clone();
      copy->reset_state();
      return copy;
    };
    const auto update = [](Metric& part, const TensorView& t, const TensorView& p, const TensorView& w) {
      part.update_state(t, p, w);
    };
    const auto fingerprints = [](const Metric& x) { return std::vector<std::uint64_t>{x.layout_fingerprint()}; };
    const bool witness = propagates_nan(m) && in.t.view.has_value();
    const auto no_nan = [witness](const Metric& part) { return witness && finite_state(part); };
    const bool fused = plan.rows > 0 && fused_update(m, in, objects, plan, fresh, update, fingerprints, no_nan);
    if (!fused) {
      scan_na(objects, m.name());
      m.update_state(in.t.view, in.p.view, in.w.view, aux);
    }
    return R_NilValue;
  });
}

// A Classwise result as a named list (names "<name>_<label>"); any other result as to_r.
SEXP tally_r_result(SEXP ptr) {
  return guard([&] {
    const Metric& m = metric_of(ptr);
    const std::vector<std::pair<std::string, double>> keyed = metrics::keyed_result(m);
    if (keyed.empty()) return to_r(m.result());
    SEXP out = PROTECT(Rf_allocVector(VECSXP, static_cast<R_xlen_t>(keyed.size())));
    SEXP names = PROTECT(Rf_allocVector(STRSXP, static_cast<R_xlen_t>(keyed.size())));
    for (std::size_t i = 0; i < keyed.size(); ++i) {
      SET_VECTOR_ELT(out, static_cast<R_xlen_t>(i), Rf_ScalarReal(keyed[i].second));
      SET_STRING_ELT(names, static_cast<R_xlen_t>(i), Rf_mkCharCE(keyed[i].first.c_str(), CE_UTF8));
    }
    Rf_setAttrib(out, R_NamesSymbol, names);
    UNPROTECT(2);
    return out;
  });
}

SEXP tally_r_reset(SEXP ptr) {
  return guard([&] {
    metric_of(ptr).reset_state();
    return R_NilValue;
  });
}

SEXP tally_r_merge(SEXP ptr, SEXP others) {
  return guard([&] {
    Metric& m = metric_of(ptr);
    if (TYPEOF(others) == EXTPTRSXP) {
      m.merge_state(metric_of(others));
    } else {
      std::vector<const Metric*> raw;
      for (R_xlen_t i = 0; i < Rf_xlength(others); ++i) raw.push_back(&metric_of(VECTOR_ELT(others, i)));
      m.merge_state(raw);
    }
    return R_NilValue;
  });
}

SEXP tally_r_to_vector(SEXP ptr) {
  return guard([&] { return doubles_to_r(metric_of(ptr).to_vector()); });
}

SEXP tally_r_from_vector(SEXP ptr, SEXP values) {
  return guard([&] {
    Metric& m = metric_of(ptr);
    m.from_vector(doubles(values, m.name(), "values"));
    return R_NilValue;
  });
}

SEXP tally_r_config(SEXP ptr) {
  return guard([&] { return json_to_r(metric_of(ptr).get_config()); });
}

SEXP tally_r_serialize(SEXP ptr) {
  return guard([&] { return json_to_r(metrics::serialize(metric_of(ptr))); });
}

SEXP tally_r_info(SEXP ptr) {
  return guard([&] {
    const Metric& m = metric_of(ptr);
    Json info = {{"class_name", m.class_name()},
                 {"name", m.name()},
                 {"dtype", std::string(dtype_name(m.dtype()))},
                 {"direction", std::string(direction_name(m.direction()))}};
    return json_to_r(info);
  });
}

SEXP tally_r_variables(SEXP ptr) {
  return guard([&] { return variables_to_r(metric_of(ptr).variable_values()); });
}

SEXP tally_r_clone(SEXP ptr) {
  return guard([&] { return wrap_metric(std::shared_ptr<Metric>(metric_of(ptr).clone())); });
}

SEXP tally_r_stateless_reset(SEXP ptr) {
  return guard([&] { return wrap_owned_variables(stateless_reset_state(metric_of(ptr))); });
}

SEXP tally_r_stateless_update(SEXP ptr, SEXP vars, SEXP y_true, SEXP y_pred, SEXP sample_weight) {
  return guard([&] {
    const Metric& m = metric_of(ptr);
    const Inputs in(y_true, y_pred, sample_weight, m.name());
    const TensorView* views[3] = {&in.t.view, &in.p.view, &in.w.view};
    SEXP objects[3] = {y_true, y_pred, sample_weight};
    OriginalScope scope(views, objects);
    return wrap_owned_variables(stateless_update_state(m, owned_variables_of(vars), in.t.view, in.p.view, in.w.view));
  });
}

SEXP tally_r_stateless_result(SEXP ptr, SEXP vars) {
  return guard([&] { return to_r(stateless_result(metric_of(ptr), owned_variables_of(vars))); });
}

SEXP tally_r_state_from_vector(SEXP ptr, SEXP values) {
  return guard([&] {
    const Metric& m = metric_of(ptr);
    const std::vector<double> v = doubles(values, m.name(), "metric_variables");
    return wrap_owned_variables(State::from_vector(m, v).variables());
  });
}

SEXP tally_r_state_variables(SEXP vars) {
  return guard([&] { return variables_to_r(owned_variables_of(vars)); });
}

// --- metrics written in R --------------------------------------------------------------
SEXP tally_r_rmetric_new(SEXP class_name, SEXP name, SEXP dtype, SEXP declarations, SEXP update, SEXP result,
                         SEXP config) {
  return guard([&] {
    const std::string owner = str(name, "name");
    VariableLayout layout;
    for (R_xlen_t i = 0; i < Rf_xlength(declarations); ++i) {
      SEXP d = VECTOR_ELT(declarations, i);  // list(name, shape, dtype, aggregation)
      Variable v;
      v.name = str(VECTOR_ELT(d, 0), "variable name");
      SEXP shape = VECTOR_ELT(d, 1);
      for (R_xlen_t k = 0; k < Rf_xlength(shape); ++k) v.shape.push_back(static_cast<std::int64_t>(REAL(shape)[k]));
      v.dtype = dtype_from_name(str(VECTOR_ELT(d, 2), "variable dtype"));
      v.aggregation = aggregation_of(str(VECTOR_ELT(d, 3), "aggregation"), owner);
      layout.push_back(std::move(v));
    }
    auto m = std::make_shared<RMetric>(str(class_name, "classname"), owner, dtype_from_name(str(dtype, "dtype")),
                                       layout, update, result, r_to_json(config));
    return wrap_metric(std::move(m));
  });
}

// Reads variable `index` from the lent variables, or from the metric's own values when `vars` is NULL.
SEXP tally_r_var_get(SEXP ptr, SEXP vars, SEXP index) {
  return guard([&] {
    const std::size_t i = static_cast<std::size_t>(Rf_asInteger(index));
    const Variables& v = Rf_isNull(vars) ? metric_of(ptr).variable_values() : *variables_of(vars);
    if (i >= v.size()) throw StateError("tally: no variable number " + std::to_string(i));
    return to_r(v.tensor(i));
  });
}

// Replaces variable `index` (broadcasting a single number); `vars` NULL writes the metric's own values.
SEXP tally_r_var_set(SEXP ptr, SEXP vars, SEXP index, SEXP value) {
  return guard([&] {
    Metric& m = metric_of(ptr);
    const std::size_t i = static_cast<std::size_t>(Rf_asInteger(index));
    Variables own;
    Variables* target = nullptr;
    if (Rf_isNull(vars)) {
      own = m.variable_values();
      target = &own;
    } else {
      target = variables_of(vars);
    }
    if (i >= target->size()) throw StateError("tally: no variable number " + std::to_string(i));
    const Variable& decl = target->layout()[i];
    const std::vector<double> x = doubles(value, m.name(), "value");
    const std::int64_t n = decl.numel();
    if (static_cast<std::int64_t>(x.size()) != n && x.size() != 1) {
      throw ShapeError(m.name() + ": variable \"" + decl.name + "\" has shape " + shape_string(decl.shape) + " (" +
                       std::to_string(n) + " elements); assigned " + std::to_string(x.size()) + " values");
    }
    // R holds the value column-major; the variable is C order.
    std::vector<double> c_order(static_cast<std::size_t>(n));
    if (x.size() == 1) {
      std::fill(c_order.begin(), c_order.end(), x[0]);
    } else {
      const Input in = to_input(value, "value", m.name());
      const Tensor t = Tensor::copy_of(in.view);
      std::vector<double> flat = t.to_doubles();
      c_order = std::move(flat);
    }
    if (decl.dtype == DType::kInt64) {
      auto dst = target->i64(i);
      for (std::int64_t k = 0; k < n; ++k) {
        const double v = c_order[static_cast<std::size_t>(k)];
        if (v != std::floor(v) || std::abs(v) > 9.007199254740992e15) {
          throw StateError(m.name() + ": variable \"" + decl.name + "\" is int64 and needs integers; received " +
                           std::to_string(v));
        }
        dst[static_cast<std::size_t>(k)] = static_cast<std::int64_t>(v);
      }
    } else {
      auto dst = target->f64(i);
      std::copy(c_order.begin(), c_order.end(), dst.begin());
    }
    if (Rf_isNull(vars)) m.set_variable_values(own);
    return R_NilValue;
  });
}

// --- collections ---------------------------------------------------------------------
SEXP tally_r_collection_new(SEXP metrics) {
  return guard([&] {
    std::vector<std::unique_ptr<Metric>> members;
    for (R_xlen_t i = 0; i < Rf_xlength(metrics); ++i) members.push_back(metric_of(VECTOR_ELT(metrics, i)).clone());
    return wrap_collection(std::make_shared<MetricCollection>(std::move(members)));
  });
}

SEXP tally_r_collection_update(SEXP ptr, SEXP y_true, SEXP y_pred, SEXP sample_weight, SEXP query_ids, SEXP index) {
  return guard([&] {
    MetricCollection& c = *collection_of(ptr);
    const Input q = aux_input(query_ids, "query_ids", "MetricCollection");
    const Input i = aux_input(index, "index", "MetricCollection");
    SEXP objects[3] = {y_true, y_pred, sample_weight};
    const Inputs in(y_true, y_pred, sample_weight, "MetricCollection", /*scan_na=*/false);
    const TensorView* views[3] = {&in.t.view, &in.p.view, &in.w.view};
    OriginalScope scope(views, objects);
    const AuxInputs aux{q.view, i.view};
    const std::vector<const Metric*> members = std::as_const(c).metrics();
    const RowPlan plan = plan_rows(members, in, aux);
    const auto fresh = [&c] {
      auto copy = std::make_unique<MetricCollection>(c);
      copy->reset_state();
      return copy;
    };
    const auto update = [](MetricCollection& part, const TensorView& t, const TensorView& p, const TensorView& w) {
      part.update_state(t, p, w);
    };
    const auto fingerprints = [](const MetricCollection& x) {
      std::vector<std::uint64_t> out;
      for (const Metric* m : x.metrics()) out.push_back(m->layout_fingerprint());
      return out;
    };
    // One NaN-propagating member with a finite state proves the chunks NaN-free.
    const bool with_labels = in.t.view.has_value();
    const auto no_nan = [with_labels](const MetricCollection& part) {
      if (!with_labels) return false;
      for (const Metric* m : part.metrics()) {
        if (propagates_nan(*m) && finite_state(*m)) return true;
      }
      return false;
    };
    const bool fused = plan.rows > 0 && fused_update(c, in, objects, plan, fresh, update, fingerprints, no_nan);
    if (!fused) {
      scan_na(objects, "MetricCollection");
      c.update_state(in.t.view, in.p.view, in.w.view, aux);
    }
    return R_NilValue;
  });
}

SEXP tally_r_collection_names(SEXP ptr) {
  return guard([&] { return Rcpp::wrap(collection_of(ptr)->names()); });
}

SEXP tally_r_collection_metric(SEXP ptr, SEXP name) {
  return guard([&] {
    std::shared_ptr<MetricCollection>& c = collection_of(ptr);
    Metric& m = c->metric(str(name, "name"));
    return wrap_metric(std::shared_ptr<Metric>(c, &m));  // keeps the collection alive
  });
}

SEXP tally_r_collection_reset(SEXP ptr) {
  return guard([&] {
    collection_of(ptr)->reset_state();
    return R_NilValue;
  });
}

SEXP tally_r_collection_merge(SEXP ptr, SEXP other) {
  return guard([&] {
    collection_of(ptr)->merge_state(*collection_of(other));
    return R_NilValue;
  });
}

SEXP tally_r_collection_to_vector(SEXP ptr) {
  return guard([&] { return doubles_to_r(collection_of(ptr)->to_vector()); });
}

SEXP tally_r_collection_from_vector(SEXP ptr, SEXP values) {
  return guard([&] {
    collection_of(ptr)->from_vector(doubles(values, "MetricCollection", "values"));
    return R_NilValue;
  });
}

// --- distributed ---------------------------------------------------------------------
SEXP tally_r_all_reduce_local(SEXP ptr) {
  return guard([&] {
    NotDistributedContext context;
    all_reduce_metrics(*collection_of(ptr), context);
    return R_NilValue;
  });
}

// --- threads -------------------------------------------------------------------------
SEXP tally_r_set_num_threads(SEXP threads) {
  return guard([&] {
    // One whole number; the library rejects negative counts with its own message.
    const bool number = (Rf_isInteger(threads) || Rf_isReal(threads)) && !Rf_isFactor(threads);
    const double v = number && Rf_length(threads) == 1 ? Rf_asReal(threads) : NA_REAL;
    if (std::isnan(v) || v != std::floor(v) || v > 2147483647.0 || v < -2147483647.0) {
      throw InvalidArgument(
          "set_num_threads: argument `threads` must be one whole number >= 0 (0: OpenMP's default); received " +
          (number && Rf_length(threads) == 1
               ? (std::isnan(v) ? std::string("NA") : (std::ostringstream() << v).str())
               : std::string(Rf_type2char(TYPEOF(threads))) + " of length " + std::to_string(Rf_length(threads))));
    }
    set_num_threads(static_cast<int>(v));
    return R_NilValue;
  });
}

SEXP tally_r_num_threads() {
  return guard([&] { return Rf_ScalarInteger(num_threads()); });
}

SEXP tally_r_mpi_available() {
  return Rf_ScalarLogical(
#ifdef TALLY_R_WITH_MPI
      1
#else
      0
#endif
  );
}

SEXP tally_r_mpi_new(SEXP timeout) {
  return guard([&]() -> SEXP {
#ifdef TALLY_R_WITH_MPI
    auto c = std::make_unique<MpiContext>();
    if (!Rf_isNull(timeout)) c->set_collective_timeout(Rf_asReal(timeout));
    return wrap_owned(c.release(), "tally_mpi");
#else
    static_cast<void>(timeout);
    throw InvalidArgument("mpi_context: this build of the tally R package has no MPI (configure with TALLY_WITH_MPI)");
#endif
  });
}

SEXP tally_r_mpi_info(SEXP ptr) {
  return guard([&]() -> SEXP {
#ifdef TALLY_R_WITH_MPI
    MpiContext& c = mpi_of(ptr);
    Json info = {{"global_rank", c.global_rank()},
                 {"world_size", c.world_size()},
                 {"local_rank", c.local_rank()},
                 {"local_size", c.local_size()}};
    return json_to_r(info);
#else
    static_cast<void>(ptr);
    throw InvalidArgument("tally: no MPI in this build");
#endif
  });
}

SEXP tally_r_mpi_close(SEXP ptr) {
  return guard([&]() -> SEXP {
#ifdef TALLY_R_WITH_MPI
    if (TYPEOF(ptr) == EXTPTRSXP && R_ExternalPtrAddr(ptr) != nullptr) {
      delete static_cast<MpiContext*>(R_ExternalPtrAddr(ptr));
      R_ClearExternalPtr(ptr);
    }
#else
    static_cast<void>(ptr);
#endif
    return R_NilValue;
  });
}

SEXP tally_r_all_reduce_mpi(SEXP collection, SEXP context) {
  return guard([&]() -> SEXP {
#ifdef TALLY_R_WITH_MPI
    all_reduce_metrics(*collection_of(collection), mpi_of(context));
    return R_NilValue;
#else
    static_cast<void>(collection);
    static_cast<void>(context);
    throw InvalidArgument("tally: no MPI in this build");
#endif
  });
}

SEXP tally_r_mpi_all_reduce_metric(SEXP metric, SEXP context) {
  return guard([&]() -> SEXP {
#ifdef TALLY_R_WITH_MPI
    all_reduce_metrics(metric_of(metric), mpi_of(context));
    return R_NilValue;
#else
    static_cast<void>(metric);
    static_cast<void>(context);
    throw InvalidArgument("tally: no MPI in this build");
#endif
  });
}

// --- state files and model selection --------------------------------------------------
SEXP tally_r_save_metric(SEXP ptr, SEXP path, SEXP user_data) {
  return guard([&] {
    save_state(metric_of(ptr), str(path, "path"), Rf_isNull(user_data) ? Json::object() : r_to_json(user_data));
    return R_NilValue;
  });
}

SEXP tally_r_save_collection(SEXP ptr, SEXP path, SEXP user_data) {
  return guard([&] {
    save_state(*collection_of(ptr), str(path, "path"), Rf_isNull(user_data) ? Json::object() : r_to_json(user_data));
    return R_NilValue;
  });
}

// Restores a state file into `target` (a metric or a collection), or builds what it holds
// when `target` is NULL; returns list(kind, object, user_data).
SEXP tally_r_load(SEXP path, SEXP target) {
  return guard([&] {
    const SavedState saved = load_state(str(path, "path"));
    SEXP object = R_NilValue;
    if (!Rf_isNull(target) && R_ExternalPtrTag(target) == Rf_install("tally_collection")) {
      saved.restore(*collection_of(target));
    } else if (!Rf_isNull(target)) {
      saved.restore(metric_of(target));
    } else if (saved.kind() == SavedState::Kind::kCollection) {
      object = wrap_collection(std::make_shared<MetricCollection>(saved.to_collection()));
    } else {
      object = wrap_metric(std::shared_ptr<Metric>(saved.to_metric()));
    }
    PROTECT(object);
    SEXP out = PROTECT(Rf_allocVector(VECSXP, 3));
    SET_VECTOR_ELT(out, 0, Rf_mkString(saved.kind() == SavedState::Kind::kCollection ? "collection" : "metric"));
    SET_VECTOR_ELT(out, 1, object);
    SET_VECTOR_ELT(out, 2, json_to_r(saved.user_data()));
    UNPROTECT(2);
    return out;
  });
}

SEXP tally_r_selector_new(SEXP metric_name, SEXP op, SEXP logdir) {
  return guard([&] {
    const std::string o = str(op, "model_selection_operator");
    SelectionOperator fn;
    if (o == "greater") {
      fn = ModelSelector::greater();
    } else if (o == "less") {
      fn = ModelSelector::less();
    } else if (o != "none") {
      throw InvalidArgument(
          "model_selector: `model_selection_operator` must be \"greater\", \"less\" or NULL; received \"" + o + "\"");
    }
    auto* s = new ModelSelector(str(metric_name, "metric_name"), fn, str(logdir, "logdir"));
    return wrap_owned(s, "tally_selector");
  });
}

SEXP tally_r_selector_direction_op(SEXP metric) {
  return guard([&] {
    const Metric& m = metric_of(metric);
    static_cast<void>(ModelSelector::from_direction(m));  // throws for metrics without a direction
    return Rf_mkString(m.direction() == Direction::kHigherIsBetter ? "greater" : "less");
  });
}

// `checkpoint` is NULL or an R function(folder) wrapped by R/tracking.R so that it never signals.
SEXP tally_r_selector_update(SEXP ptr, SEXP value, SEXP step, SEXP checkpoint) {
  return guard([&] {
    auto* s = static_cast<ModelSelector*>(R_ExternalPtrAddr(ptr));
    if (s == nullptr) throw InvalidArgument("model_selector: not a live selector");
    std::function<void(const std::string&)> cb;
    if (!Rf_isNull(checkpoint)) {
      cb = [&](const std::string& folder) {
        SEXP f = PROTECT(Rf_mkString(folder.c_str()));
        try {
          call_back(checkpoint, f, R_NilValue, R_NilValue, R_NilValue, 1, s->metric_name());
        } catch (...) {
          UNPROTECT(1);
          throw;
        }
        UNPROTECT(1);
      };
    }
    return Rf_ScalarLogical(s->update(Rf_asReal(value), static_cast<std::int64_t>(Rf_asReal(step)), cb) ? 1 : 0);
  });
}

SEXP tally_r_selector_info(SEXP ptr) {
  return guard([&] {
    auto* s = static_cast<ModelSelector*>(R_ExternalPtrAddr(ptr));
    if (s == nullptr) throw InvalidArgument("model_selector: not a live selector");
    Json info = {{"metric_name", s->metric_name()},
                 {"best_value", s->best_value() ? Json(*s->best_value()) : Json(nullptr)},
                 {"best_step", s->best_step() ? Json(*s->best_step()) : Json(nullptr)},
                 {"best_folder", s->best_folder()},
                 {"best_model_sel_file", s->best_model_sel_file()}};
    return json_to_r(info);
  });
}

// --- catalog -----------------------------------------------------------------------------
SEXP tally_r_known_names() {
  return guard([&] { return Rcpp::wrap(metrics::known_names()); });
}

SEXP tally_r_version() {
  return guard([&] { return Rf_mkString(std::string(version()).c_str()); });
}

}  // extern "C"

extern "C" SEXP tally_r_call_function(SEXP name, SEXP y_true, SEXP y_pred, SEXP kwargs) {
  return guard([&] {
    const std::string fn_name = str(name, "name");
    const auto info = metrics::functional::find_function(fn_name);
    if (!info) throw InvalidArgument("tally: no per-sample function called \"" + fn_name + "\"");
    ConfigReader reader(fn_name, Rf_isNull(kwargs) ? Json::object() : r_to_json(kwargs));
    const metrics::functional::BoundFunction bound = info->factory(reader);
    reader.finish();
    const Inputs in(y_true, y_pred, R_NilValue, fn_name);
    return to_r(bound.fn(in.t.view, in.p.view));
  });
}

// For bench/r_update_state.R: the fastest of `reps` bare C++ update_state calls on views of
// the same R memory (no NA scan, no R dispatch), in seconds, so one run gives the ratio.
extern "C" SEXP tally_r_time_update(SEXP ptr, SEXP y_true, SEXP y_pred, SEXP reps) {
  return guard([&] {
    Metric& m = metric_of(ptr);
    const Input t = to_input(y_true, "y_true", m.name());
    const Input p = to_input(y_pred, "y_pred", m.name());
    double best = 1e300;
    for (int i = 0; i < Rf_asInteger(reps); ++i) {
      const auto start = std::chrono::steady_clock::now();
      m.update_state(t.view, p.view);
      const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
      best = std::min(best, took.count());
    }
    return Rf_ScalarReal(best);
  });
}

// Registers a Metric() class with the C++ registry under its class name, so that state files
// and specs naming it can be built (load_state(path) of a collection holding it). The
// factory calls tally:::.tally_build_class(classname, config) in R and takes a copy of the
// metric it returns. Names the registry already has (built-ins, earlier definitions) are
// left as they are: the factory looks the R constructor up when it runs.
extern "C" SEXP tally_r_register_class(SEXP classname) {
  return guard([&] {
    const std::string name = str(classname, "classname");
    if (metrics::find(name)) return Rf_ScalarLogical(0);
    metrics::MetricInfo info;
    info.class_name = name;
    info.family = "user";
    info.doc = "A metric class written in R with Metric()";
    info.factory = [name](const Json& config) -> std::unique_ptr<Metric> {
      SEXP ns = PROTECT(R_FindNamespace(Rf_mkString("tally")));
      SEXP fn = PROTECT(Rf_findFun(Rf_install(".tally_build_class"), ns));
      SEXP cls = PROTECT(Rf_mkString(name.c_str()));
      SEXP cfg = PROTECT(json_to_r(config.is_null() ? Json::object() : config));
      std::unique_ptr<Metric> out;
      try {
        SEXP ptr = call_back(fn, cls, cfg, R_NilValue, R_NilValue, 2, name);
        out = metric_of(ptr).clone();
      } catch (...) {
        UNPROTECT(4);
        throw;
      }
      UNPROTECT(4);
      return out;
    };
    metrics::register_metric(std::move(info));
    return Rf_ScalarLogical(1);
  });
}

// How many updates took the fused NA scan and update path so far (for r/tests/testthat/test-fused.R).
extern "C" SEXP tally_r_fused_updates() { return Rf_ScalarReal(fused_updates); }

extern "C" SEXP tally_r_check_na(SEXP on) {
  return guard([&] { return Rf_ScalarLogical(set_check_na(Rf_asLogical(on) == TRUE) ? 1 : 0); });
}
