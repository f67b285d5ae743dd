#pragma once
// Shared pieces of the R glue: the guard that turns C++ exceptions into R conditions,
// R objects in as TensorViews (no copy for numeric, integer and logical data), tensors
// and JSON out as R objects. Policy (what is valid input) lives in the C++ library; the
// glue only converts. See docs/r.md for the mapping of R types to tally dtypes.
#include <Rcpp.h>

#include <memory>
#include <string>
#include <utility>

#include "tally/tally.h"

namespace tally::r {

/// An error raised inside an R callback (a metric written in R); the R condition is kept
/// on the R side (.tally_pending) and re-signalled as it was.
class RCallbackError : public Error {
 public:
  using Error::Error;
};

/// Signals an R condition of class c("tally_<kind>_error", "tally_error", "error", "condition").
/// Called only from guard(), after every C++ object of the failing call is destroyed.
[[noreturn]] void signal_condition(const char* kind, const char* message);

/// The kind of a tally error ("shape", "dtype", "config", "invalid_argument", ...).
const char* error_kind(const std::exception& e);

/// Runs `body` and returns its SEXP; C++ exceptions become classed R conditions. The
/// message is copied to static storage so that no C++ object is alive when R longjumps.
template <class Body>
SEXP guard(Body&& body) {
  static char message[4096];
  static const char* kind = nullptr;
  bool failed = false;
  SEXP jump = nullptr;
  try {
    return body();
  } catch (Rcpp::LongjumpException& e) {  // an R error already on its way: resume it below
    jump = e.token;
  } catch (const RCallbackError& e) {
    kind = "callback";
    std::snprintf(message, sizeof message, "%s", e.what());
    failed = true;
  } catch (const std::exception& e) {
    kind = error_kind(e);
    std::snprintf(message, sizeof message, "%s", e.what());
    failed = true;
  }
  if (jump != nullptr) Rcpp::internal::resumeJump(jump);
  if (failed) signal_condition(kind, message);
  return R_NilValue;
}

/// A view of an R vector, matrix or array plus what keeps converted data alive.
struct Input {
  TensorView view;
  std::shared_ptr<void> owned;
};

/// Views an R object: NULL is absent; double is float64, integer and logical are int32
/// (R stores logicals as 4-byte integers). An array of dim (d1, ..., dk) is the keras3
/// shape (d1, ..., dk) with R's column-major strides. NA anywhere is an InvalidArgument
/// (unless `scan_na` is false: the caller has run scan_na() on it).
Input to_input(SEXP x, const char* argument, const std::string& owner, bool scan_na = true);

/// Throws the NA error naming the first of an update's three inputs (y_true, y_pred,
/// sample_weight) that holds NA, unless tally_check_na(FALSE). Large inputs are scanned by
/// two threads, one half each: the scan is a memory pass, and two cores read faster than one
/// (docs/performance.md, "R"). Non-numeric objects are left to to_input's type error.
void scan_na(SEXP objects[3], const std::string& owner);

/// An R vector, matrix or array as the row-wise NA scan reads it: plain pointers taken on
/// R's thread, so that worker threads never call R. `data` is null for NULL and non-numeric
/// objects; `rows` is the first dimension (the length for a vector), `columns` the rest.
struct NaRows {
  const void* data = nullptr;
  bool is_double = false;
  std::int64_t rows = 0;
  std::int64_t columns = 0;
};

/// The NaRows of an R object (call on R's thread only).
NaRows na_rows_of(SEXP x);

/// True when rows [begin, end) of `x` hold an NA (R_IsNA for doubles; NaN is not NA).
/// Thread-safe: reads memory only.
bool has_na_rows(const NaRows& x, std::int64_t begin, std::int64_t end);

/// Whether NA checks are on (tally_check_na()).
bool na_check_on();

/// Whether to_input() scans for NA (on by default; tally_check_na() in R turns it off for
/// inputs known to be complete). Returns the previous setting.
bool set_check_na(bool on);

/// A tensor as an R value: a number for 0-d, a vector for 1-d, a matrix or array with
/// the same (row, column, ...) indexing as the tensor otherwise.
SEXP to_r(const Tensor& tensor);

/// JSON as R: objects are named lists, arrays of numbers/strings/booleans are vectors.
SEXP json_to_r(const Json& json);
/// R as JSON: named lists are objects, length-1 atomic vectors scalars, longer ones arrays.
Json r_to_json(SEXP x);

/// The R object an input view was made from, when it was made in this thread's current
/// update (so that metrics written in R get back the caller's own objects), else nil.
SEXP original_of(const TensorView& view);

/// Records the R objects behind the views of one update for original_of(); undone on scope exit.
class OriginalScope {
 public:
  OriginalScope(const TensorView* views[3], SEXP objects[3]);
  ~OriginalScope();
  OriginalScope(const OriginalScope&) = delete;
  OriginalScope& operator=(const OriginalScope&) = delete;

 private:
  void* previous_;
};

/// An R external pointer tagged `tag` that owns `object`: R's garbage collector deletes it.
/// R does not serialise external pointers: after saveRDS()/readRDS() the pointer is empty,
/// and tagged_object() then returns nullptr.
template <class T>
SEXP wrap_owned(T* object, const char* tag) {
  SEXP ptr = PROTECT(R_MakeExternalPtr(object, Rf_install(tag), R_NilValue));
  R_RegisterCFinalizerEx(
      ptr,
      [](SEXP p) {
        delete static_cast<T*>(R_ExternalPtrAddr(p));
        R_ClearExternalPtr(p);
      },
      TRUE);
  UNPROTECT(1);
  return ptr;
}

/// The object behind an external pointer tagged `tag`, or nullptr when `ptr` is anything
/// else or no longer live (each caller raises its own error, naming what it expected).
template <class T>
T* tagged_object(SEXP ptr, const char* tag) {
  if (TYPEOF(ptr) != EXTPTRSXP || R_ExternalPtrTag(ptr) != Rf_install(tag)) return nullptr;
  return static_cast<T*>(R_ExternalPtrAddr(ptr));
}

}  // namespace tally::r
