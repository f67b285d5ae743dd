// The .Call entry points of sliced_collection() (R/sliced.R): tally::SlicedCollection with
// slice ids from R integer, double, character and factor vectors (docs/r.md, "Sliced
// evaluation"). Policy (valid ids, max_slices, merges) lives in the C++ library.
#include <Rcpp.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "glue.h"
#include "tally/sliced.h"

namespace tally::r {
namespace {

const char* const kOwner = "sliced_collection";

SEXP wrap_sliced(std::unique_ptr<SlicedCollection> s) { return wrap_owned(s.release(), "tally_sliced"); }

SlicedCollection& sliced_of(SEXP ptr) {
  if (auto* s = tagged_object<SlicedCollection>(ptr, "tally_sliced")) return *s;
  throw InvalidArgument("tally: not a live tally sliced collection");
}

// The collection behind a metric_collection() object (the pointer R/collection.R holds).
const MetricCollection& collection_of_ptr(SEXP ptr) {
  if (auto* c = tagged_object<std::shared_ptr<MetricCollection>>(ptr, "tally_collection")) return **c;
  throw InvalidArgument(std::string(kOwner) + ": `metrics` is not a live metric collection");
}

std::vector<std::string> strings_of(SEXP x, const char* what) {
  if (TYPEOF(x) != STRSXP) throw InvalidArgument(std::string(kOwner) + ": `" + what + "` must be character");
  std::vector<std::string> out;
  for (R_xlen_t i = 0; i < Rf_xlength(x); ++i) {
    if (STRING_ELT(x, i) == NA_STRING) throw InvalidArgument(std::string(kOwner) + ": `" + what + "` holds NA");
    out.emplace_back(Rf_translateCharUTF8(STRING_ELT(x, i)));
  }
  return out;
}

[[noreturn]] void na_at(const std::string& feature, R_xlen_t row) {
  throw InvalidArgument(std::string(kOwner) + ": slice column \"" + feature + "\" holds NA at row " +
                        std::to_string(row + 1) + "; slice ids must be integers, strings or factor levels");
}

// One slice column from R: integers (viewed), whole doubles (viewed; the library rejects
// fractions), strings (interned) or a factor (its codes over its levels). NA is an error.
SliceColumn column_of(SEXP x, const std::string& feature, std::vector<std::shared_ptr<void>>& keep) {
  const R_xlen_t n = Rf_xlength(x);
  if (Rf_isFactor(x)) {
    const SEXP levels = Rf_getAttrib(x, R_LevelsSymbol);
    std::vector<std::string> dictionary = strings_of(levels, "levels");
    std::vector<std::int32_t> codes(static_cast<std::size_t>(n));
    const int* v = INTEGER(x);
    for (R_xlen_t i = 0; i < n; ++i) {
      if (v[i] == NA_INTEGER) na_at(feature, i);
      codes[static_cast<std::size_t>(i)] = v[i] - 1;
    }
    return SliceColumn::codes(codes, std::move(dictionary));
  }
  switch (TYPEOF(x)) {
    case INTSXP:
    case LGLSXP: {
      const int* v = TYPEOF(x) == INTSXP ? INTEGER(x) : LOGICAL(x);
      for (R_xlen_t i = 0; i < n; ++i)
        if (v[i] == NA_INTEGER) na_at(feature, i);
      return SliceColumn::ids(TensorView(v, DType::kInt32, {static_cast<std::int64_t>(n)}));
    }
    case REALSXP: {
      const double* v = REAL(x);
      for (R_xlen_t i = 0; i < n; ++i)
        if (std::isnan(v[i])) na_at(feature, i);
      return SliceColumn::ids(TensorView(v, DType::kFloat64, {static_cast<std::int64_t>(n)}));
    }
    case STRSXP: {
      auto values = std::make_shared<std::vector<std::string>>();
      values->reserve(static_cast<std::size_t>(n));
      for (R_xlen_t i = 0; i < n; ++i) {
        if (STRING_ELT(x, i) == NA_STRING) na_at(feature, i);
        values->emplace_back(Rf_translateCharUTF8(STRING_ELT(x, i)));
      }
      keep.push_back(values);
      return SliceColumn::strings(*values);
    }
    default:
      throw DTypeError(std::string(kOwner) + ": slice column \"" + feature +
                       "\" must be an integer, numeric, character or factor vector; received R type " +
                       Rf_type2char(TYPEOF(x)));
  }
}

}  // namespace
}  // namespace tally::r

using namespace tally;     // NOLINT(google-build-using-namespace)
using namespace tally::r;  // NOLINT(google-build-using-namespace)

extern "C" {

/// A sliced collection over a copy of `collection`'s metrics (reset).
SEXP tally_r_sliced_new(SEXP collection, SEXP features, SEXP slicings, SEXP max_slices) {
  return guard([&] {
    std::vector<std::vector<std::string>> s;
    if (slicings != R_NilValue) {
      if (TYPEOF(slicings) != VECSXP) throw InvalidArgument(std::string(kOwner) + ": `slices` must be a list");
      for (R_xlen_t i = 0; i < Rf_xlength(slicings); ++i) s.push_back(strings_of(VECTOR_ELT(slicings, i), "slices"));
      if (s.empty())
        throw InvalidArgument(std::string(kOwner) + ": `slices` is an empty list; give NULL for the default");
    }
    if (TYPEOF(max_slices) != REALSXP && TYPEOF(max_slices) != INTSXP) {
      throw InvalidArgument(std::string(kOwner) + ": `max_slices` must be a number");
    }
    const double limit = Rf_asReal(max_slices);
    if (!(limit >= 1 && limit < 9.2e18 && limit == std::floor(limit))) {
      throw InvalidArgument(std::string(kOwner) + ": `max_slices` must be a whole number >= 1; received " +
                            std::to_string(limit));
    }
    return wrap_sliced(std::make_unique<SlicedCollection>(collection_of_ptr(collection),
                                                          strings_of(features, "slice_names"), std::move(s),
                                                          static_cast<std::int64_t>(limit)));
  });
}

/// Adds a batch; `columns` is a list of slice columns in slice_names order.
SEXP tally_r_sliced_update(SEXP ptr, SEXP y_true, SEXP y_pred, SEXP sample_weight, SEXP columns) {
  return guard([&] {
    SlicedCollection& s = sliced_of(ptr);
    const Input t = to_input(y_true, "y_true", "SlicedCollection");
    const Input p = to_input(y_pred, "y_pred", "SlicedCollection");
    const Input w = to_input(sample_weight, "sample_weight", "SlicedCollection");
    std::vector<std::shared_ptr<void>> keep;
    std::vector<SliceColumn> cols;
    for (R_xlen_t i = 0; i < Rf_xlength(columns); ++i) {
      const std::size_t f = static_cast<std::size_t>(i);
      cols.push_back(column_of(VECTOR_ELT(columns, i), f < s.features().size() ? s.features()[f] : "?", keep));
    }
    s.update_state(t.view, p.view, w.view, cols);
    return R_NilValue;
  });
}

/// list(names, samples, metrics, keys): per slice in canonical order.
SEXP tally_r_sliced_result(SEXP ptr, SEXP min_slice_size) {
  return guard([&] {
    const double min_size = Rf_asReal(min_slice_size);
    if (!(min_size >= 0 && min_size == std::floor(min_size))) {
      throw InvalidArgument(std::string(kOwner) + ": `min_slice_size` must be a whole number >= 0");
    }
    const std::vector<SliceResult> results = sliced_of(ptr).result(static_cast<std::int64_t>(min_size));
    const auto n = static_cast<R_xlen_t>(results.size());
    Rcpp::CharacterVector names(n);
    Rcpp::NumericVector samples(n);
    Rcpp::List metrics(n);
    for (R_xlen_t i = 0; i < n; ++i) {
      const SliceResult& r = results[static_cast<std::size_t>(i)];
      names[i] = r.name;
      samples[i] = static_cast<double>(r.samples);
      Rcpp::List values(r.metrics.size());
      Rcpp::CharacterVector metric_names(r.metrics.size());
      for (std::size_t k = 0; k < r.metrics.size(); ++k) {
        values[static_cast<R_xlen_t>(k)] = Rcpp::RObject(to_r(r.metrics[k].second));
        metric_names[static_cast<R_xlen_t>(k)] = r.metrics[k].first;
      }
      values.attr("names") = metric_names;
      metrics[i] = values;
    }
    return Rcpp::List::create(Rcpp::Named("names") = names, Rcpp::Named("samples") = samples,
                              Rcpp::Named("metrics") = metrics)
        .get__();
  });
}

SEXP tally_r_sliced_merge(SEXP ptr, SEXP other) {
  return guard([&] {
    sliced_of(ptr).merge_state(sliced_of(other));
    return R_NilValue;
  });
}

SEXP tally_r_sliced_reset(SEXP ptr) {
  return guard([&] {
    sliced_of(ptr).reset_state();
    return R_NilValue;
  });
}

/// list(slice_names, slices, num_slices, max_slices).
SEXP tally_r_sliced_info(SEXP ptr) {
  return guard([&] {
    const SlicedCollection& s = sliced_of(ptr);
    Rcpp::List slicings(s.slicings().size());
    for (std::size_t i = 0; i < s.slicings().size(); ++i) {
      Rcpp::CharacterVector names(s.slicings()[i].size());
      for (std::size_t k = 0; k < s.slicings()[i].size(); ++k) {
        names[static_cast<R_xlen_t>(k)] = s.features()[s.slicings()[i][k]];
      }
      slicings[static_cast<R_xlen_t>(i)] = names;
    }
    return Rcpp::List::create(Rcpp::Named("slice_names") = Rcpp::wrap(s.features()), Rcpp::Named("slices") = slicings,
                              Rcpp::Named("num_slices") = static_cast<double>(s.num_slices()),
                              Rcpp::Named("max_slices") = static_cast<double>(s.max_slices()),
                              Rcpp::Named("metrics") = Rcpp::wrap(s.prototype().names()))
        .get__();
  });
}

}  // extern "C"
