#pragma once
// The metric registry (keras.metrics.get / serialize): built-in metrics by Keras
// class name and snake_case alias, and user metrics registered at run time.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tally/metric.h"
#include "tally/options.h"

namespace tally::metrics {

/// Builds a metric from a config object (null or {} means all defaults).
using Factory = std::function<std::unique_ptr<Metric>(const Json& config)>;

/// One registry entry: the catalog row of a metric, with what its MetricSpec declares.
struct MetricInfo {
  std::string class_name;            ///< Keras class name, e.g. "AUC"
  std::vector<std::string> aliases;  ///< snake_case name first, then other accepted names
  std::string family;                ///< header family: "reduction", "accuracy", "confusion", ...
  Direction direction = Direction::kNone;
  std::string doc;  ///< one line
  Factory factory;
  bool builtin = false;
  std::string default_name;              ///< the `name` a default-built metric has
  std::vector<OptionInfo> options;       ///< every config key in Keras's order (name and dtype included)
  InputContract inputs;                  ///< what y_true and y_pred may be
  std::string result = "scalar";         ///< "scalar", "vector" or "matrix"
  Json example_config = Json::object();  ///< builds a metric to describe the state (required keys set)
};

/// The registry row of a catalog class T (one with a MetricSpec): everything but the
/// aliases and family comes from T::spec().
template <class T>
MetricInfo catalog_entry(std::vector<std::string> aliases, std::string family) {
  const auto& spec = T::spec();
  MetricInfo info;
  info.class_name = spec.class_name;
  info.aliases = std::move(aliases);
  info.family = std::move(family);
  info.direction = spec.direction;
  info.doc = spec.doc;
  info.factory = &T::from_config;
  info.default_name = spec.default_name;
  info.options = spec.options.describe(spec.default_name);
  info.inputs = spec.inputs;
  info.result = spec.result;
  info.example_config = spec.example_config;
  return info;
}

/// Adds a metric to the registry; throws InvalidArgument if the class name or an alias is taken.
void register_metric(MetricInfo info);

/// Registers a user metric class T built by `T::from_config(const Json&)`, or by its
/// default constructor when T has no from_config (then only an empty config is accepted).
template <class T>
void register_metric(std::string class_name, std::vector<std::string> aliases = {}, std::string doc = {},
                     Direction direction = Direction::kNone) {
  MetricInfo info;
  info.class_name = std::move(class_name);
  info.aliases = std::move(aliases);
  info.family = "user";
  info.direction = direction;
  info.doc = std::move(doc);
  std::string owner = info.class_name;
  info.factory = [owner](const Json& config) -> std::unique_ptr<Metric> {
    if constexpr (requires { T::from_config(config); }) {
      return T::from_config(config);
    } else {
      if (!config.is_null() && !config.empty()) {
        throw ConfigError(owner + ": this metric takes no config; received " + config.dump());
      }
      return std::make_unique<T>();
    }
  };
  register_metric(std::move(info));
}

/// Builds a metric from a class name, an alias, or JSON text of a spec
/// ({"class_name": ..., "config": {...}}). Unknown names list the closest known names.
std::unique_ptr<Metric> get(std::string_view spec);
/// Builds a metric from a JSON spec: a string name or an object with class_name and config.
std::unique_ptr<Metric> get(const Json& spec);
/// Same as get(std::string_view); resolves string literals and std::string unambiguously.
inline std::unique_ptr<Metric> get(const char* spec) { return get(std::string_view(spec)); }
/// Same as get(std::string_view).
inline std::unique_ptr<Metric> get(const std::string& spec) { return get(std::string_view(spec)); }
/// Keras serialize: {"module", "class_name", "config", "registered_name"}.
Json serialize(const Metric& metric);
/// Keras from_config: a metric of class `class_name` built from `config`.
std::unique_ptr<Metric> from_config(std::string_view class_name, const Json& config);
/// The registry entry for a class name or alias, or nullopt.
std::optional<MetricInfo> find(std::string_view name);
/// Every registered class name and alias, sorted.
std::vector<std::string> known_names();
/// Every registry entry in registration order (the catalog table, then user metrics).
std::vector<MetricInfo> catalog();
/// The machine-readable description of one metric (by class name or alias): class name,
/// names, family, doc, direction, options, input contract, result shape and the state
/// layout of a metric built from its example config. Unknown names fail as get() does.
Json describe(std::string_view name);
/// {"version", "metrics": [describe(...) for every registered metric], "functions": [...]}:
/// what `tally list --format json` prints and the Python, R and docs generators read.
Json describe_catalog();

}  // namespace tally::metrics
