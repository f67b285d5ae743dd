#pragma once
// Reading metric configs (Keras get_config dictionaries) with typed getters and
// clear errors: wrong types and unknown keys name the metric and the key.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "tally/metric.h"

namespace tally {

/// Reads keys out of a config object, remembering which were read so that finish()
/// can reject unknown keys with the list of valid ones.
class ConfigReader {
 public:
  /// `owner` is the class name used in messages; `config` must be an object or null.
  ConfigReader(std::string owner, const Json& config);

  /// True when the key is present and not null.
  bool has(std::string_view key);
  /// A boolean key, or `fallback` when absent or null.
  bool get_bool(std::string_view key, bool fallback);
  /// An integer key (JSON integers, or floats with an integral value).
  std::int64_t get_int(std::string_view key, std::int64_t fallback);
  /// An optional integer key: nullopt when absent or null.
  std::optional<std::int64_t> get_optional_int(std::string_view key);
  /// A number key.
  double get_double(std::string_view key, double fallback);
  /// An optional number key.
  std::optional<double> get_optional_double(std::string_view key);
  /// A string key.
  std::string get_string(std::string_view key, std::string fallback);
  /// An optional string key.
  std::optional<std::string> get_optional_string(std::string_view key);
  /// A number or a list of numbers (a scalar becomes one element); nullopt when absent or null.
  std::optional<std::vector<double>> get_optional_doubles(std::string_view key);
  /// A list of integers (a scalar becomes one element); nullopt when absent or null.
  std::optional<std::vector<std::int64_t>> get_optional_ints(std::string_view key);
  /// The raw JSON of a key (null when absent), marked as read.
  Json get_json(std::string_view key);
  /// The "name" key, or `fallback`.
  std::string name(std::string fallback) { return get_string("name", std::move(fallback)); }
  /// The "dtype" key (a dtype name, a {"config": {"name": ...}} policy, or null for float32).
  DType dtype();
  /// Throws ConfigError if the config had keys that were never read, listing the valid keys.
  void finish();

  const std::string& owner() const { return owner_; }

 private:
  const Json* find(std::string_view key);
  [[noreturn]] void fail_type(std::string_view key, std::string_view wanted, const Json& got) const;

  std::string owner_;
  Json config_;
  std::set<std::string, std::less<>> read_;
  Json null_;
};

}  // namespace tally
