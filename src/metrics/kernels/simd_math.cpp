// Vectorised exp / log / log1p (simd_math.h), compiled once per SIMD target by Highway's
// foreach_target.h (this file re-includes itself for each target) and dispatched at run
// time. The target list is set in CMakeLists.txt for this file only, to keep build time low.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "metrics/kernels/simd_math.cpp"
#include <hwy/foreach_target.h>  // must precede highway.h
// clang-format off
#include <hwy/highway.h>
#include <hwy/contrib/math/math-inl.h>
// clang-format on

#include <cfloat>
#include <cmath>
#include <cstddef>

HWY_BEFORE_NAMESPACE();
namespace tally::metrics::kernels::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// One function per formula: HWY_ATTR'd templates instead of lambdas, which GCC would compile
// for the baseline target rather than this one.
struct ExpOp {
  static constexpr double kLo = -700.0, kHi = 700.0, kSafe = 0.0;  // e^±700 is far from under/overflow
  template <class D, class V>
  HWY_INLINE V operator()(D d, V v) const {
    return hn::Exp(d, v);
  }
  static double scalar(double x) { return std::exp(x); }
};
struct LogOp {
  static constexpr double kLo = DBL_MIN, kHi = DBL_MAX, kSafe = 1.0;  // normal, finite, positive
  template <class D, class V>
  HWY_INLINE V operator()(D d, V v) const {
    return hn::Log(d, v);
  }
  static double scalar(double x) { return std::log(x); }
};
struct Log1pOp {
  static constexpr double kLo = 0.0, kHi = 1e300, kSafe = 0.0;  // Highway's valid range [0, DBL_MAX]
  template <class D, class V>
  HWY_INLINE V operator()(D d, V v) const {
    return hn::Log1p(d, v);
  }
  static double scalar(double x) { return std::log1p(x); }
};

// Lanes outside [kLo, kHi] (NaN included) are computed on kSafe and then replaced by the
// libm result, so special values match std:: exactly. The tail goes through a padded vector,
// so every element takes the same code wherever it sits.
template <class Op>
HWY_INLINE void apply(double* HWY_RESTRICT x, std::size_t n) {
  const hn::ScalableTag<double> d;
  const std::size_t lanes = hn::Lanes(d);
  const auto lo = hn::Set(d, Op::kLo);
  const auto hi = hn::Set(d, Op::kHi);
  const auto safe = hn::Set(d, Op::kSafe);
  HWY_ALIGN double original[HWY_MAX_BYTES / sizeof(double)];
  auto one = [&](double* p) HWY_ATTR {
    const auto v = hn::LoadU(d, p);
    const auto ok = hn::And(hn::Ge(v, lo), hn::Le(v, hi));
    hn::StoreU(Op()(d, hn::IfThenElse(ok, v, safe)), d, p);
    if (HWY_UNLIKELY(!hn::AllTrue(d, ok))) {
      hn::Store(v, d, original);
      for (std::size_t j = 0; j < lanes; ++j) {
        if (!(original[j] >= Op::kLo && original[j] <= Op::kHi)) p[j] = Op::scalar(original[j]);
      }
    }
  };
  std::size_t i = 0;
  for (; i + lanes <= n; i += lanes) one(x + i);
  if (i < n) {
    HWY_ALIGN double tail[HWY_MAX_BYTES / sizeof(double)] = {};
    for (std::size_t j = 0; j < lanes; ++j) tail[j] = Op::kSafe;
    for (std::size_t j = i; j < n; ++j) tail[j - i] = x[j];
    one(tail);
    for (std::size_t j = i; j < n; ++j) x[j] = tail[j - i];
  }
}

void ExpInPlace(double* x, std::size_t n) { apply<ExpOp>(x, n); }
void LogInPlace(double* x, std::size_t n) { apply<LogOp>(x, n); }
void Log1pInPlace(double* x, std::size_t n) { apply<Log1pOp>(x, n); }
const char* TargetNameHere() { return hwy::TargetName(HWY_TARGET); }

}  // namespace tally::metrics::kernels::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "metrics/kernels/simd_math.h"

namespace tally::metrics::kernels::simd {

HWY_EXPORT(ExpInPlace);
HWY_EXPORT(LogInPlace);
HWY_EXPORT(Log1pInPlace);
HWY_EXPORT(TargetNameHere);

void exp_in_place(double* x, std::size_t n) { HWY_DYNAMIC_DISPATCH(ExpInPlace)(x, n); }
void log_in_place(double* x, std::size_t n) { HWY_DYNAMIC_DISPATCH(LogInPlace)(x, n); }
void log1p_in_place(double* x, std::size_t n) { HWY_DYNAMIC_DISPATCH(Log1pInPlace)(x, n); }

std::vector<std::int64_t> available_targets() {
  std::vector<std::int64_t> out;
  // HWY_TARGETS here is this file's compiled list (CMakeLists.txt), not the includer's.
  for (std::int64_t t = hwy::SupportedTargets() & HWY_TARGETS; t != 0; t &= t - 1) out.push_back(t & ~(t - 1));
  return out;
}

void restrict_targets_for_test(std::int64_t targets) { hwy::SetSupportedTargetsForTest(targets); }

const char* current_target_name() { return HWY_DYNAMIC_DISPATCH(TargetNameHere)(); }

const char* target_name(std::int64_t target) { return hwy::TargetName(target); }

}  // namespace tally::metrics::kernels::simd
#endif  // HWY_ONCE
