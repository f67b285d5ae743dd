#include "internal/json_bounded.h"

#include <utility>
#include <vector>

namespace tally::internal {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kDescribeDepth = 3;  // levels shown before "[...]" / "{...}"

// Renders `value` into `out`, stopping once `out` passes `budget` characters.
void render(const Json& value, std::size_t depth, std::size_t budget, std::string& out) {
  if (out.size() > budget) return;
  if (value.is_object() || value.is_array()) {
    const bool object = value.is_object();
    if (value.empty()) {
      out += object ? "{}" : "[]";
      return;
    }
    if (depth >= kDescribeDepth) {
      out += object ? "{...}" : "[...]";
      return;
    }
    out += object ? '{' : '[';
    bool first = true;
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (!first) out += ",";
      if (out.size() > budget) {
        out += "...";
        break;
      }
      first = false;
      if (object) out += describe_text(it.key(), budget) + ":";
      render(it.value(), depth + 1, budget, out);
    }
    out += object ? '}' : ']';
  } else if (value.is_string()) {
    out += describe_text(value.get_ref<const std::string&>(), budget);
  } else {
    out += value.dump();  // numbers, booleans, null: short
  }
}

}  // namespace

std::optional<std::size_t> json_depth_exceeded_at(std::string_view text, std::size_t max_depth) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

bool json_too_deep(const Json& value, std::size_t max_depth) {
  std::vector<std::pair<const Json*, std::size_t>> pending{{&value, 0}};
  while (!pending.empty()) {
    const auto [node, depth] = pending.back();
    pending.pop_back();
    if (!node->is_structured()) continue;
    if (depth + 1 > max_depth) return true;
    for (const Json& child : *node) {
      if (child.is_structured()) pending.emplace_back(&child, depth + 1);
    }
  }
  return false;
}

std::string describe_json_value(const Json& value, std::size_t max_chars) {
  std::string out;
  render(value, 0, max_chars, out);
  if (out.size() > max_chars + 3) {
    std::size_t cut = max_chars;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // keep UTF-8 whole
    out.resize(cut);
    out += "...";
  }
  return out;
}

std::string describe_text(std::string_view text, std::size_t max_chars) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  std::size_t shown = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (shown >= max_chars && (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
    if ((c & 0xC0) != 0x80) ++shown;
  }
  return out + "\"";
}

}  // namespace tally::internal
