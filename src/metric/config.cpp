#include "tally/config.h"

#include <cmath>

#include "internal/check.h"
#include "internal/json_bounded.h"

namespace tally {

ConfigReader::ConfigReader(std::string owner, const Json& config) : owner_(std::move(owner)), config_(config) {
  if (!config_.is_null() && !config_.is_object()) {
    throw ConfigError(
        internal::str_cat(owner_, ": config must be a JSON object; received ", internal::describe_json_value(config_)));
  }
}

const Json* ConfigReader::find(std::string_view key) {
  read_.emplace(key);
  if (!config_.is_object()) return nullptr;
  const auto it = config_.find(std::string(key));
  if (it == config_.end() || it->is_null()) return nullptr;
  return &*it;
}

void ConfigReader::fail_type(std::string_view key, std::string_view wanted, const Json& got) const {
  throw ConfigError(internal::str_cat(owner_, ": config key `", key, "` must be ", wanted, "; received ",
                                      internal::describe_json_value(got)));
}

bool ConfigReader::has(std::string_view key) { return find(key) != nullptr; }

bool ConfigReader::get_bool(std::string_view key, bool fallback) {
  const Json* v = find(key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) fail_type(key, "a boolean", *v);
  return v->get<bool>();
}

std::optional<std::int64_t> ConfigReader::get_optional_int(std::string_view key) {
  const Json* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_number_integer()) return v->get<std::int64_t>();
  if (v->is_number_float()) {
    const double d = v->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.2e18) return static_cast<std::int64_t>(d);
  }
  fail_type(key, "an integer", *v);
}

std::int64_t ConfigReader::get_int(std::string_view key, std::int64_t fallback) {
  return get_optional_int(key).value_or(fallback);
}

std::optional<double> ConfigReader::get_optional_double(std::string_view key) {
  const Json* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number()) fail_type(key, "a number", *v);
  return v->get<double>();
}

double ConfigReader::get_double(std::string_view key, double fallback) {
  return get_optional_double(key).value_or(fallback);
}

std::optional<std::string> ConfigReader::get_optional_string(std::string_view key) {
  const Json* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) fail_type(key, "a string", *v);
  return v->get<std::string>();
}

std::string ConfigReader::get_string(std::string_view key, std::string fallback) {
  return get_optional_string(key).value_or(std::move(fallback));
}

std::optional<std::vector<double>> ConfigReader::get_optional_doubles(std::string_view key) {
  const Json* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_number()) return std::vector<double>{v->get<double>()};
  if (!v->is_array()) fail_type(key, "a number or a list of numbers", *v);
  std::vector<double> out;
  for (const Json& x : *v) {
    if (!x.is_number()) fail_type(key, "a number or a list of numbers", *v);
    out.push_back(x.get<double>());
  }
  return out;
}

std::optional<std::vector<std::int64_t>> ConfigReader::get_optional_ints(std::string_view key) {
  const Json* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_number_integer()) return std::vector<std::int64_t>{v->get<std::int64_t>()};
  if (!v->is_array()) fail_type(key, "an integer or a list of integers", *v);
  std::vector<std::int64_t> out;
  for (const Json& x : *v) {
    if (!x.is_number_integer()) fail_type(key, "an integer or a list of integers", *v);
    out.push_back(x.get<std::int64_t>());
  }
  return out;
}

Json ConfigReader::get_json(std::string_view key) {
  const Json* v = find(key);
  return v == nullptr ? Json() : *v;
}

DType ConfigReader::dtype() {
  const Json* v = find("dtype");
  if (v == nullptr) return DType::kFloat32;
  std::string name;
  if (v->is_string()) {
    name = v->get<std::string>();
  } else if (v->is_object() && v->contains("config") && (*v)["config"].is_object() && (*v)["config"].contains("name") &&
             (*v)["config"]["name"].is_string()) {
    name = (*v)["config"]["name"].get<std::string>();  // a serialized DTypePolicy
  } else {
    fail_type("dtype", "a dtype name such as \"float32\"", *v);
  }
  if (name == "mixed_float16") name = "float16";
  if (name == "mixed_bfloat16") name = "bfloat16";
  DType dtype{};
  try {
    dtype = dtype_from_name(name);
  } catch (const DTypeError&) {
    fail_type("dtype", "one of float16, bfloat16, float32, float64", *v);
  }
  if (!is_floating(dtype)) fail_type("dtype", "one of float16, bfloat16, float32, float64", *v);
  return dtype;
}

void ConfigReader::finish() {
  if (!config_.is_object()) return;
  std::string unknown;
  for (const auto& item : config_.items()) {
    if (!read_.contains(item.key())) {
      if (!unknown.empty()) unknown += ", ";
      unknown += "`" + item.key() + "`";
    }
  }
  if (unknown.empty()) return;
  std::string valid;
  for (const std::string& k : read_) {
    if (!valid.empty()) valid += ", ";
    valid += k;
  }
  throw ConfigError(internal::str_cat(owner_, ": unknown config key ", unknown, "; valid keys are ", valid));
}

}  // namespace tally
