#include "tally/options.h"

#include <cctype>
#include <cmath>
#include <limits>

#include "internal/check.h"
#include "internal/json_bounded.h"

namespace tally {

std::string_view option_type_name(OptionType type) {
  switch (type) {
    case OptionType::kBool:
      return "bool";
    case OptionType::kInt:
      return "int";
    case OptionType::kFloat:
      return "float";
    case OptionType::kString:
      return "string";
    case OptionType::kDType:
      return "dtype";
    case OptionType::kFloats:
      return "floats";
    case OptionType::kInts:
      return "ints";
    case OptionType::kJson:
      return "json";
  }
  return "json";
}

Json to_json(const OptionInfo& option) {
  return Json{{"key", option.key},
              {"type", std::string(option_type_name(option.type))},
              {"default", option.default_value},
              {"required", option.required},
              {"nullable", option.nullable},
              {"doc", option.doc},
              {"rule", option.rule.empty() ? Json() : Json(option.rule)},
              {"choices", option.choices.empty() ? Json() : Json(option.choices)}};
}

namespace rules {
namespace {

// Applies `pred` to a number, or to every element of a list of numbers.
template <class Pred>
bool all_numbers(const Json& v, Pred pred) {
  if (v.is_number()) return pred(v.get<double>());
  if (!v.is_array()) return false;
  for (const Json& x : v) {
    if (!x.is_number() || !pred(x.get<double>())) return false;
  }
  return true;
}

std::string number_text(double x) {
  if (x == std::floor(x) && std::fabs(x) < 1e15) return std::to_string(static_cast<std::int64_t>(x));
  return internal::str_cat(x);
}

}  // namespace

OptionRule at_least(double min, RuleError error) {
  return {">= " + number_text(min), [min](const Json& v) { return v.is_number() && v.get<double>() >= min; }, error};
}

OptionRule greater_than(double min, RuleError error) {
  return {"> " + number_text(min), [min](const Json& v) { return v.is_number() && v.get<double>() > min; }, error};
}

OptionRule in_range(double lo, double hi, RuleError error) {
  return {"in [" + number_text(lo) + ", " + number_text(hi) + "]",
          [lo, hi](const Json& v) { return v.is_number() && v.get<double>() >= lo && v.get<double>() <= hi; }, error};
}

OptionRule finite(RuleError error) {
  return {"finite", [](const Json& v) { return v.is_number() && std::isfinite(v.get<double>()); }, error};
}

OptionRule each_at_least(double min, RuleError error) {
  return {"a list of integers >= " + number_text(min),
          [min](const Json& v) { return all_numbers(v, [min](double x) { return x >= min; }); }, error};
}

OptionRule not_empty(RuleError error) {
  return {"a non-empty list", [](const Json& v) { return !v.is_array() || !v.empty(); }, error};
}

}  // namespace rules

namespace detail {

std::string option_owner(std::string_view class_name, std::string_view name) {
  if (name.empty()) return internal::str_cat(class_name, ": ");
  return internal::str_cat(class_name, " \"", name, "\": ");
}

namespace {

[[noreturn]] void fail_type(std::string_view owner, std::string_view key, std::string_view wanted, const Json& v) {
  throw_option(RuleError::kConfig, owner, key, wanted, v);
}

}  // namespace

std::string received(const Json& value) { return internal::describe_json_value(value); }

void throw_option(RuleError error, std::string_view owner, std::string_view key, std::string_view what,
                  const Json& value) {
  std::string message = internal::str_cat(owner, "argument `", key, "` must be ", what, "; received ", received(value));
  if (error == RuleError::kConfig) throw ConfigError(message);
  throw InvalidArgument(message);
}

bool read_bool(std::string_view owner, std::string_view key, const Json& v) {
  if (!v.is_boolean()) fail_type(owner, key, "a boolean", v);
  return v.get<bool>();
}

std::int64_t read_int(std::string_view owner, std::string_view key, const Json& v) {
  if (v.is_number_unsigned()) {
    // nlohmann keeps 2^63 and above as uint64; a cast would report them as negative.
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      fail_type(owner, key, "an integer below 2^63", v);
    }
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.2e18) return static_cast<std::int64_t>(d);
  }
  fail_type(owner, key, "an integer", v);
}

double read_double(std::string_view owner, std::string_view key, const Json& v) {
  if (!v.is_number()) fail_type(owner, key, "a number", v);
  return v.get<double>();
}

std::string read_string(std::string_view owner, std::string_view key, const Json& v) {
  if (!v.is_string()) fail_type(owner, key, "a string", v);
  return v.get<std::string>();
}

DType read_dtype(std::string_view owner, const Json& v) {
  constexpr std::string_view kWanted = "one of float16, bfloat16, float32, float64";
  std::string name;
  if (v.is_string()) {
    name = v.get<std::string>();
  } else if (v.is_object() && v.contains("config") && v["config"].is_object() && v["config"].contains("name") &&
             v["config"]["name"].is_string()) {
    name = v["config"]["name"].get<std::string>();  // a serialized DTypePolicy
  } else {
    fail_type(owner, "dtype", kWanted, v);
  }
  if (name == "mixed_float16") name = "float16";
  if (name == "mixed_bfloat16") name = "bfloat16";
  DType dtype{};
  try {
    dtype = dtype_from_name(name);
  } catch (const DTypeError&) {
    fail_type(owner, "dtype", kWanted, v);
  }
  if (!is_floating(dtype)) fail_type(owner, "dtype", kWanted, v);
  return dtype;
}

std::vector<double> read_doubles(std::string_view owner, std::string_view key, const Json& v) {
  if (v.is_number()) return {v.get<double>()};
  if (!v.is_array()) fail_type(owner, key, "a number or a list of numbers", v);
  std::vector<double> out;
  out.reserve(v.size());
  for (const Json& x : v) {
    if (!x.is_number()) fail_type(owner, key, "a number or a list of numbers", v);
    out.push_back(x.get<double>());
  }
  return out;
}

std::vector<std::int64_t> read_ints(std::string_view owner, std::string_view key, const Json& v) {
  if (v.is_number()) return {read_int(owner, key, v)};
  if (!v.is_array()) fail_type(owner, key, "an integer or a list of integers", v);
  std::vector<std::int64_t> out;
  out.reserve(v.size());
  for (const Json& x : v) {
    if (!x.is_number()) fail_type(owner, key, "an integer or a list of integers", v);
    out.push_back(read_int(owner, key, x));  // integral floats (R sends doubles) are integers here too
  }
  return out;
}

std::string fold(std::string s, CaseFold fold) {
  if (fold == CaseFold::kExact) return s;
  for (char& c : s) {
    const auto u = static_cast<unsigned char>(c);
    c = static_cast<char>(fold == CaseFold::kUpper ? std::toupper(u) : std::tolower(u));
  }
  return s;
}

void throw_unknown_keys(std::string_view owner, const std::vector<std::string>& unknown,
                        std::vector<std::string> valid) {
  std::sort(valid.begin(), valid.end());
  std::string bad, good;
  for (const std::string& k : unknown) bad += (bad.empty() ? "`" : ", `") + k + "`";
  for (const std::string& k : valid) good += (good.empty() ? "" : ", ") + k;
  throw ConfigError(internal::str_cat(owner, "unknown config key ", bad, "; valid keys are ", good));
}

}  // namespace detail
}  // namespace tally
