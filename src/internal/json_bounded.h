#pragma once
// JSON from outside the process (metric specs, configs, state-file headers, selection
// records) with a bound on nesting. nlohmann's parser is iterative, but dump(), copies and
// comparisons recurse once per level, so a value nested 100 000 deep overflows the stack
// the first time anything renders it. Everything that reads JSON from outside parses it
// here, and every "received ..." in a message renders through describe_json_value(),
// which is bounded in depth and length. See docs/reliability.md.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "internal/check.h"

namespace tally::internal {

/// The deepest nesting of arrays and objects tally accepts in a spec, config or user_data.
inline constexpr std::size_t kMaxJsonDepth = 100;

/// The byte offset at which `text` opens its (max_depth + 1)-th nested array or object, or
/// nullopt when it nests at most max_depth levels. A linear scan that skips strings.
std::optional<std::size_t> json_depth_exceeded_at(std::string_view text, std::size_t max_depth = kMaxJsonDepth);

/// Whether a parsed value nests arrays and objects deeper than max_depth (checked without recursion).
bool json_too_deep(const nlohmann::json& value, std::size_t max_depth = kMaxJsonDepth);

/// A short rendering of a JSON value for error messages, compact like dump(): levels past the third
/// become "[...]" / "{...}", and the whole is cut to about max_chars characters.
std::string describe_json_value(const nlohmann::json& value, std::size_t max_chars = 80);

/// Text quoted for an error message: at most max_chars characters, control characters and
/// quotes escaped, "..." when cut.
std::string describe_text(std::string_view text, std::size_t max_chars = 80);

/// Throws E("<what>: JSON nested deeper than N levels ...") when a parsed value nests too deep.
template <class E>
void check_json_depth(const nlohmann::json& value, std::string_view what, std::size_t max_depth = kMaxJsonDepth) {
  if (json_too_deep(value, max_depth)) {
    throw E(str_cat(what, ": JSON nested deeper than ", max_depth, " levels; tally accepts at most ", max_depth));
  }
}

/// Parses JSON text from outside. Throws E("<what>: ...") when the text nests deeper than
/// max_depth (before parsing it) or is not JSON (including numbers too large for a double).
template <class E>
nlohmann::json parse_json_bounded(std::string_view text, std::string_view what, std::size_t max_depth = kMaxJsonDepth) {
  if (const std::optional<std::size_t> at = json_depth_exceeded_at(text, max_depth)) {
    throw E(str_cat(what, ": JSON nested deeper than ", max_depth, " levels (at byte ", *at,
                    "); tally accepts at most ", max_depth));
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    const std::string reason = describe_text(e.what(), 200);  // quoted, bounded; the quotes dropped here
    throw E(str_cat(what, ": not valid JSON (", std::string_view(reason).substr(1, reason.size() - 2), ")"));
  }
}

}  // namespace tally::internal
