#pragma once
// Argument checks that throw tally errors with "who: what; received ..." messages.
// Used by every metric before it writes anything, so a failed update changes nothing.

#include <bit>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

#include "tally/error.h"
#include "tally/tensor.h"

namespace tally::internal {

/// Concatenates anything streamable into a string (the core avoids a fmt dependency).
template <class... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream out;
  out.precision(17);
  (out << ... << args);
  return out.str();
}

/// A word whose top bit is the sign bit of `value` (0 for unsigned types). OR-ing these over
/// an array finds negative values (and -0.0) in a branch-free, vectorizable pass.
template <class T>
inline std::uint64_t sign_word(T value) {
  if constexpr (std::is_same_v<T, float>) {
    return static_cast<std::uint64_t>(std::bit_cast<std::uint32_t>(value)) << 32;
  } else if constexpr (std::is_same_v<T, double>) {
    return std::bit_cast<std::uint64_t>(value);
  } else if constexpr (std::is_same_v<T, std::int32_t>) {
    return static_cast<std::uint64_t>(static_cast<std::uint32_t>(value)) << 32;
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    return static_cast<std::uint64_t>(value);
  } else if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>) {
    return static_cast<std::uint64_t>(value.bits) << 48;
  } else {
    return 0;
  }
}

/// Throws ShapeError("who: argument `arg` ...; received <view>") unless the view is present.
void check_present(std::string_view who, std::string_view arg, const TensorView& view);
/// Throws InvalidArgument when the view has no elements or no rows.
void check_not_empty(std::string_view who, std::string_view arg, const TensorView& view);
/// Throws ShapeError unless both views have the same shape.
void check_same_shape(std::string_view who, std::string_view a_name, const TensorView& a, std::string_view b_name,
                      const TensorView& b);
/// Throws ShapeError unless both have rank >= 1 and the same first dimension.
void check_same_rows(std::string_view who, std::string_view a_name, const TensorView& a, std::string_view b_name,
                     const TensorView& b);
/// Throws ShapeError unless the view's rank lies in [min_rank, max_rank].
void check_rank(std::string_view who, std::string_view arg, const TensorView& view, std::int64_t min_rank,
                std::int64_t max_rank);
/// Throws DTypeError unless the view holds a floating dtype.
void check_floating(std::string_view who, std::string_view arg, const TensorView& view);
/// Throws InvalidArgument if any element is NaN (floating dtypes only; integers pass).
void check_no_nan(std::string_view who, std::string_view arg, const TensorView& view);
/// Throws InvalidArgument unless every sample weight is finite and >= 0 (absent passes).
void check_sample_weight_values(std::string_view who, const TensorView& sample_weight);

}  // namespace tally::internal
