// R objects in and out: views without copies, NA checks, tensors and JSON as R values.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <thread>

#include "glue.h"

namespace tally::r {

const char* error_kind(const std::exception& e) {
  // Most derived first: ShapeError, DTypeError and ConfigError are InvalidArguments.
  if (dynamic_cast<const ShapeError*>(&e)) return "shape";
  if (dynamic_cast<const DTypeError*>(&e)) return "dtype";
  if (dynamic_cast<const ConfigError*>(&e)) return "config";
  if (dynamic_cast<const InvalidArgument*>(&e)) return "invalid_argument";
  if (dynamic_cast<const StateError*>(&e)) return "state";
  if (dynamic_cast<const IOError*>(&e)) return "io";
  if (dynamic_cast<const DistributedError*>(&e)) return "distributed";
  if (dynamic_cast<const Error*>(&e)) return "other";
  return "internal";
}

void signal_condition(const char* kind, const char* message) {
  // tally:::.tally_signal(kind, message) builds and signals the condition (R/errors.R).
  SEXP ns = PROTECT(R_FindNamespace(Rf_mkString("tally")));
  SEXP fn = PROTECT(Rf_findFun(Rf_install(".tally_signal"), ns));
  SEXP kind_r = PROTECT(Rf_mkString(kind));
  SEXP message_r = PROTECT(Rf_mkString(message));
  SEXP call = PROTECT(Rf_lang3(fn, kind_r, message_r));
  Rf_eval(call, ns);
  UNPROTECT(5);
  Rf_error("%s", message);  // not reached: .tally_signal always signals
}

namespace {

// The scans are OR-reductions written with GCC vector extensions: R builds packages with
// -O2, which leaves a plain loop scalar (one element per cycle, slower than memory), while
// these compare 16 doubles or 32 integers per step, as SSE2 pairs by default and in an
// AVX2 clone picked at load time where the CPU has it (GCC 12 scalarises a 64-byte AVX-512
// form). The scan is then bound by memory, or nearly free on data already in cache (the
// fused update, docs/performance.md "R").
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define TALLY_R_SCAN_CLONES [[gnu::target_clones("avx2", "default")]]
#else
#define TALLY_R_SCAN_CLONES
#endif

using DoubleBlock = double __attribute__((vector_size(32)));
using LongBlock = std::int64_t __attribute__((vector_size(32)));
using IntBlock = int __attribute__((vector_size(32)));

// True when any element is NaN (NA included).
TALLY_R_SCAN_CLONES bool any_nan(const double* x, R_xlen_t n) {
  LongBlock acc = {};
  R_xlen_t i = 0;
  for (; i + 16 <= n; i += 16) {
    DoubleBlock a, b, c, d;
    std::memcpy(&a, x + i, sizeof a);
    std::memcpy(&b, x + i + 4, sizeof b);
    std::memcpy(&c, x + i + 8, sizeof c);
    std::memcpy(&d, x + i + 12, sizeof d);
    acc |= (a != a) | (b != b) | (c != c) | (d != d);
  }
  bool any = false;
  for (int k = 0; k < 4; ++k) any = any || acc[k] != 0;
  for (; i < n; ++i) any = any || x[i] != x[i];
  return any;
}

// True when any element is `value`.
TALLY_R_SCAN_CLONES bool any_equal(const int* x, R_xlen_t n, int value) {
  IntBlock acc = {};
  R_xlen_t i = 0;
  for (; i + 32 <= n; i += 32) {
    IntBlock a, b, c, d;
    std::memcpy(&a, x + i, sizeof a);
    std::memcpy(&b, x + i + 8, sizeof b);
    std::memcpy(&c, x + i + 16, sizeof c);
    std::memcpy(&d, x + i + 24, sizeof d);
    acc |= (a == value) | (b == value) | (c == value) | (d == value);
  }
  bool any = false;
  for (int k = 0; k < 8; ++k) any = any || acc[k] != 0;
  for (; i < n; ++i) any = any || x[i] == value;
  return any;
}

// True when any element is NA. Doubles: NA is a NaN with payload 1954 (R_IsNA); the NaN
// scan runs first because it vectorises and NaN itself is valid input (Keras propagates it).
// R_IsNA's test without calling R (the fused update scans on worker threads): a NaN whose
// low 32-bit word is 1954.
bool is_na_real(double x) {
  std::uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return x != x && (bits & 0xffffffffU) == 1954U;
}

bool has_na_double(const double* x, R_xlen_t n) {
  if (!any_nan(x, n)) return false;
  for (R_xlen_t i = 0; i < n; ++i) {
    if (is_na_real(x[i])) return true;
  }
  return false;
}

bool has_na_int(const int* x, R_xlen_t n) { return any_equal(x, n, NA_INTEGER); }

bool check_na = true;  // set from R by tally_check_na(); only the R main thread reads it

struct Original {
  const TensorView* views[3];
  SEXP objects[3];
};
thread_local Original* current_original = nullptr;

}  // namespace

bool set_check_na(bool on) {
  const bool previous = check_na;
  check_na = on;
  return previous;
}

namespace {

constexpr const char* kArgumentNames[3] = {"y_true", "y_pred", "sample_weight"};
// Below this many elements, starting a thread costs more than it saves.
constexpr R_xlen_t kParallelElements = R_xlen_t{1} << 20;

InvalidArgument na_error(const std::string& owner, const char* argument) {
  return InvalidArgument(owner + ": argument `" + argument + "` contains NA; remove or impute missing values first");
}

}  // namespace

void scan_na(SEXP objects[3], const std::string& owner) {
  if (!check_na) return;
  for (int i = 0; i < 3; ++i) {
    SEXP x = objects[i];
    const bool is_double = TYPEOF(x) == REALSXP;
    if (!is_double && TYPEOF(x) != INTSXP && TYPEOF(x) != LGLSXP) continue;  // NULL, or to_input's error
    const R_xlen_t n = Rf_xlength(x);
    const void* data = is_double             ? static_cast<const void*>(REAL(x))
                       : TYPEOF(x) == INTSXP ? static_cast<const void*>(INTEGER(x))
                                             : LOGICAL(x);
    auto scan = [&](R_xlen_t begin, R_xlen_t end) {
      return is_double ? has_na_double(static_cast<const double*>(data) + begin, end - begin)
                       : has_na_int(static_cast<const int*>(data) + begin, end - begin);
    };
    bool na;
    if (n < kParallelElements) {
      na = scan(0, n);
    } else {
      bool second_half = false;
      std::thread helper([&] { second_half = scan(n / 2, n); });
      const bool first_half = scan(0, n / 2);
      helper.join();
      na = first_half || second_half;
    }
    if (na) throw na_error(owner, kArgumentNames[i]);
  }
}

bool na_check_on() { return check_na; }

NaRows na_rows_of(SEXP x) {
  NaRows out;
  const int type = TYPEOF(x);
  if (type != REALSXP && type != INTSXP && type != LGLSXP) return out;  // NULL, or to_input's error
  const R_xlen_t n = Rf_xlength(x);
  SEXP dim = Rf_getAttrib(x, R_DimSymbol);
  out.rows = Rf_isNull(dim) || Rf_xlength(dim) == 0 ? n : INTEGER(dim)[0];
  out.columns = out.rows == 0 ? 0 : n / out.rows;
  out.is_double = type == REALSXP;
  out.data = out.is_double    ? static_cast<const void*>(REAL(x))
             : type == INTSXP ? static_cast<const void*>(INTEGER(x))
                              : static_cast<const void*>(LOGICAL(x));
  return out;
}

bool has_na_rows(const NaRows& x, std::int64_t begin, std::int64_t end) {
  if (x.data == nullptr) return false;
  // Column-major: the elements of rows [begin, end) are one run of end - begin per column.
  for (std::int64_t c = 0; c < x.columns; ++c) {
    const std::int64_t at = c * x.rows + begin;
    const bool na = x.is_double ? has_na_double(static_cast<const double*>(x.data) + at, end - begin)
                                : has_na_int(static_cast<const int*>(x.data) + at, end - begin);
    if (na) return true;
  }
  return false;
}

Input to_input(SEXP x, const char* argument, const std::string& owner, bool scan_na) {
  Input in;
  if (Rf_isNull(x)) return in;
  const R_xlen_t n = Rf_xlength(x);
  DType dtype;
  const void* data;
  switch (TYPEOF(x)) {
    case REALSXP:
      dtype = DType::kFloat64;
      data = REAL(x);
      if (scan_na && check_na && has_na_double(REAL(x), n)) throw na_error(owner, argument);
      break;
    case INTSXP:
    case LGLSXP:
      dtype = DType::kInt32;
      data = TYPEOF(x) == INTSXP ? static_cast<const void*>(INTEGER(x)) : static_cast<const void*>(LOGICAL(x));
      if (scan_na && check_na && has_na_int(static_cast<const int*>(data), n)) throw na_error(owner, argument);
      break;
    default:
      throw DTypeError(owner + ": argument `" + argument +
                       "` must be a numeric, integer or logical vector, matrix or array; received an R " +
                       Rf_type2char(TYPEOF(x)));
  }
  Shape shape, strides;
  SEXP dim = Rf_getAttrib(x, R_DimSymbol);
  if (Rf_isNull(dim)) {
    shape = {static_cast<std::int64_t>(n)};
    strides = {1};
  } else {
    // R is column-major: the first index moves fastest, so axis k has stride d1*...*d(k-1).
    std::int64_t stride = 1;
    for (R_xlen_t k = 0; k < Rf_xlength(dim); ++k) {
      const std::int64_t d = INTEGER(dim)[k];
      shape.push_back(d);
      strides.push_back(stride);
      stride *= d;
    }
  }
  // An empty vector has no data pointer worth keeping; TensorView still needs its shape.
  in.view = TensorView(n == 0 ? static_cast<const void*>(&in) : data, dtype, std::move(shape), std::move(strides));
  return in;
}

SEXP to_r(const Tensor& tensor) {
  const std::vector<double> values = tensor.to_doubles();  // C order
  const Shape& shape = tensor.shape();
  const R_xlen_t n = static_cast<R_xlen_t>(values.size());
  if (shape.empty()) return Rf_ScalarReal(values.empty() ? NA_REAL : values[0]);
  SEXP out = PROTECT(Rf_allocVector(REALSXP, n));
  double* o = REAL(out);
  if (shape.size() == 1) {
    std::copy(values.begin(), values.end(), o);
  } else {
    // Element at C-order position i goes to the column-major position of the same multi-index.
    const std::size_t k = shape.size();
    std::vector<std::int64_t> index(k, 0);
    std::vector<std::int64_t> f_stride(k, 1);
    for (std::size_t a = 1; a < k; ++a) f_stride[a] = f_stride[a - 1] * shape[a - 1];
    for (R_xlen_t i = 0; i < n; ++i) {
      std::int64_t pos = 0;
      for (std::size_t a = 0; a < k; ++a) pos += index[a] * f_stride[a];
      o[pos] = values[static_cast<std::size_t>(i)];
      for (std::size_t a = k; a-- > 0;) {
        if (++index[a] < shape[a]) break;
        index[a] = 0;
      }
    }
    SEXP dim = PROTECT(Rf_allocVector(INTSXP, static_cast<R_xlen_t>(k)));
    for (std::size_t a = 0; a < k; ++a) INTEGER(dim)[a] = static_cast<int>(shape[a]);
    Rf_setAttrib(out, R_DimSymbol, dim);
    UNPROTECT(1);
  }
  UNPROTECT(1);
  return out;
}

SEXP json_to_r(const Json& json) {
  switch (json.type()) {
    case Json::value_t::null:
    case Json::value_t::discarded:
      return R_NilValue;
    case Json::value_t::boolean:
      return Rf_ScalarLogical(json.get<bool>() ? 1 : 0);
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: {
      const double v = json.get<double>();
      if (std::abs(v) < 2147483647.0) return Rf_ScalarInteger(json.get<int>());
      return Rf_ScalarReal(v);
    }
    case Json::value_t::number_float:
      return Rf_ScalarReal(json.get<double>());
    case Json::value_t::string:
      return Rf_mkString(json.get<std::string>().c_str());
    case Json::value_t::array: {
      bool numbers = !json.empty(), ints = true, strings = !json.empty(), bools = !json.empty();
      for (const Json& e : json) {
        numbers = numbers && e.is_number();
        ints = ints && e.is_number_integer() && std::abs(e.get<double>()) < 2147483647.0;
        strings = strings && e.is_string();
        bools = bools && e.is_boolean();
      }
      const R_xlen_t n = static_cast<R_xlen_t>(json.size());
      if (numbers) {
        SEXP out = PROTECT(Rf_allocVector(ints ? INTSXP : REALSXP, n));
        for (R_xlen_t i = 0; i < n; ++i) {
          if (ints) {
            INTEGER(out)[i] = json[static_cast<std::size_t>(i)].get<int>();
          } else {
            REAL(out)[i] = json[static_cast<std::size_t>(i)].get<double>();
          }
        }
        UNPROTECT(1);
        return out;
      }
      if (strings || bools) {
        SEXP out = PROTECT(Rf_allocVector(strings ? STRSXP : LGLSXP, n));
        for (R_xlen_t i = 0; i < n; ++i) {
          const Json& e = json[static_cast<std::size_t>(i)];
          if (strings) {
            SET_STRING_ELT(out, i, Rf_mkCharCE(e.get<std::string>().c_str(), CE_UTF8));
          } else {
            LOGICAL(out)[i] = e.get<bool>() ? 1 : 0;
          }
        }
        UNPROTECT(1);
        return out;
      }
      SEXP out = PROTECT(Rf_allocVector(VECSXP, n));
      for (R_xlen_t i = 0; i < n; ++i) SET_VECTOR_ELT(out, i, json_to_r(json[static_cast<std::size_t>(i)]));
      UNPROTECT(1);
      return out;
    }
    case Json::value_t::object:
    case Json::value_t::binary:
      break;
  }
  const R_xlen_t n = static_cast<R_xlen_t>(json.size());
  SEXP out = PROTECT(Rf_allocVector(VECSXP, n));
  SEXP names = PROTECT(Rf_allocVector(STRSXP, n));
  R_xlen_t i = 0;
  for (auto it = json.begin(); it != json.end(); ++it, ++i) {
    SET_VECTOR_ELT(out, i, json_to_r(it.value()));
    SET_STRING_ELT(names, i, Rf_mkCharCE(it.key().c_str(), CE_UTF8));
  }
  Rf_setAttrib(out, R_NamesSymbol, names);
  UNPROTECT(2);
  return out;
}

Json r_to_json(SEXP x) {
  if (Rf_isNull(x)) return nullptr;
  const R_xlen_t n = Rf_xlength(x);
  SEXP names = Rf_getAttrib(x, R_NamesSymbol);
  const bool as_array = n != 1 || Rf_inherits(x, "AsIs");
  if (TYPEOF(x) == VECSXP) {
    if (!Rf_isNull(names) || n == 0) {  // list() is an empty config: an object
      Json out = Json::object();
      for (R_xlen_t i = 0; i < n; ++i) out[Rf_translateCharUTF8(STRING_ELT(names, i))] = r_to_json(VECTOR_ELT(x, i));
      return out;
    }
    Json out = Json::array();
    for (R_xlen_t i = 0; i < n; ++i) out.push_back(r_to_json(VECTOR_ELT(x, i)));
    return out;
  }
  Json out = Json::array();
  for (R_xlen_t i = 0; i < n; ++i) {
    Json e;
    switch (TYPEOF(x)) {
      case REALSXP: {
        const double v = REAL(x)[i];
        if (ISNA(v)) {
          e = nullptr;
        } else if (std::isfinite(v) && v == std::floor(v) && std::abs(v) < 9.007199254740992e15) {
          // R writes integers as doubles (c(0, 1), 200): integral values are JSON integers,
          // which tally's config reader also accepts where a number is expected.
          e = static_cast<std::int64_t>(v);
        } else {
          e = v;
        }
        break;
      }
      case INTSXP:
        e = INTEGER(x)[i] == NA_INTEGER ? Json(nullptr) : Json(INTEGER(x)[i]);
        break;
      case LGLSXP:
        e = LOGICAL(x)[i] == NA_LOGICAL ? Json(nullptr) : Json(LOGICAL(x)[i] != 0);
        break;
      case STRSXP:
        e = STRING_ELT(x, i) == NA_STRING ? Json(nullptr) : Json(std::string(Rf_translateCharUTF8(STRING_ELT(x, i))));
        break;
      default:
        throw InvalidArgument(std::string("tally: cannot convert an R ") + Rf_type2char(TYPEOF(x)) + " to JSON");
    }
    out.push_back(std::move(e));
  }
  if (!as_array) return out[0];
  return out;
}

OriginalScope::OriginalScope(const TensorView* views[3], SEXP objects[3]) : previous_(current_original) {
  auto* o = new Original{};
  for (int i = 0; i < 3; ++i) {
    o->views[i] = views[i];
    o->objects[i] = objects[i];
  }
  current_original = o;
}

OriginalScope::~OriginalScope() {
  delete current_original;
  current_original = static_cast<Original*>(previous_);
}

SEXP original_of(const TensorView& view) {
  if (current_original == nullptr || !view.has_value()) return R_NilValue;
  for (int i = 0; i < 3; ++i) {
    const TensorView* v = current_original->views[i];
    if (v != nullptr && v->has_value() && v->data() == view.data() && v->shape() == view.shape() &&
        v->strides() == view.strides() && v->dtype() == view.dtype()) {
      return current_original->objects[i];
    }
  }
  return R_NilValue;
}

}  // namespace tally::r
