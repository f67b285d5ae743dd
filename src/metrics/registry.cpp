#include "tally/registry.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>

#include "internal/check.h"
#include "internal/json_bounded.h"
#include "metrics/catalog.h"
#include "tally/version.h"

namespace tally::metrics {
namespace {

class Registry {
 public:
  static Registry& instance() {
    static Registry registry;
    return registry;
  }

  void add(MetricInfo info) {
    std::lock_guard lock(mutex_);
    add_locked(std::move(info));
  }

  // Copies the entry under the lock so callers never see a vector being resized.
  std::optional<MetricInfo> find(std::string_view name) {
    ensure_builtins();
    std::lock_guard lock(mutex_);
    const auto it = by_name_.find(std::string(name));
    if (it == by_name_.end()) return std::nullopt;
    return entries_[it->second];
  }

  std::vector<std::string> names() {
    ensure_builtins();
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& [name, index] : by_name_) out.push_back(name);
    return out;
  }

  std::vector<MetricInfo> entries() {
    ensure_builtins();
    std::lock_guard lock(mutex_);
    return entries_;
  }

 private:
  void ensure_builtins() {
    std::call_once(builtins_once_, [this] {
      std::lock_guard lock(mutex_);
      for (MetricInfo& info : detail::builtin_catalog()) {
        info.builtin = true;
        add_locked(std::move(info));
      }
      // Functions become metrics under their own names where no class already took the
      // name (Keras: "mse" is the MeanSquaredError class, "huber" the wrapped function).
      for (const functional::FunctionInfo& fn : functional::functions()) {
        std::vector<std::string> free_aliases;
        for (const std::string& alias : fn.aliases) {
          if (!by_name_.contains(alias)) free_aliases.push_back(alias);
        }
        if (by_name_.contains(fn.name)) continue;
        MetricInfo info;
        info.class_name = fn.name;
        info.aliases = std::move(free_aliases);
        info.family = "functional";
        info.direction = fn.direction;
        info.doc = fn.doc;
        const std::string fn_name = fn.name;
        info.factory = [fn_name](const Json& config) -> std::unique_ptr<Metric> {
          return functional::make_wrapper(fn_name, config);
        };
        info.builtin = true;
        add_locked(std::move(info));
      }
    });
  }

  void add_locked(MetricInfo info) {
    if (info.class_name.empty()) throw InvalidArgument("register_metric: class_name must not be empty");
    if (!info.factory) throw InvalidArgument("register_metric: " + info.class_name + " has no factory");
    std::vector<std::string> names{info.class_name};
    for (const std::string& a : info.aliases) {
      if (std::find(names.begin(), names.end(), a) == names.end()) names.push_back(a);
    }
    for (const std::string& n : names) {
      if (by_name_.contains(n)) {
        throw InvalidArgument(internal::str_cat("register_metric: the name \"", n, "\" is already registered by ",
                                                entries_[by_name_.at(n)].class_name));
      }
    }
    for (const std::string& n : names) by_name_.emplace(n, entries_.size());
    entries_.push_back(std::move(info));
  }

  std::mutex mutex_;
  std::once_flag builtins_once_;
  std::vector<MetricInfo> entries_;
  std::map<std::string, std::size_t> by_name_;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent
// transpositions ("maen" is one step from "mean") each cost 1.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

[[noreturn]] void throw_unknown(std::string_view name) {
  const std::string key = lower(name);
  std::vector<std::pair<std::size_t, std::string>> scored;
  std::vector<std::string> seen;  // case-insensitive duplicates (MAE, mae) are suggested once
  std::vector<std::string> names = Registry::instance().names();
  // Snake_case aliases first, so "mean" is suggested rather than "Mean".
  std::stable_sort(names.begin(), names.end(),
                   [](const std::string& a, const std::string& b) { return (a != lower(a)) < (b != lower(b)); });
  for (const std::string& known : names) {
    const std::string k = lower(known);
    if (std::find(seen.begin(), seen.end(), k) != seen.end()) continue;
    seen.push_back(k);
    std::size_t d = edit_distance(key, k);
    if (!key.empty() && (k.find(key) != std::string::npos || key.find(k) != std::string::npos))
      d = std::min<std::size_t>(d, 1);
    scored.emplace_back(d, known);
  }
  std::sort(scored.begin(), scored.end());
  std::string closest;
  for (std::size_t i = 0; i < scored.size() && i < 5; ++i) {
    if (i) closest += ", ";
    closest += "\"" + scored[i].second + "\"";
  }
  throw InvalidArgument(internal::str_cat("metrics.get: unknown metric \"", name, "\"; closest known names: ", closest,
                                          " (tally list shows them all)"));
}

}  // namespace

void register_metric(MetricInfo info) { Registry::instance().add(std::move(info)); }

std::optional<MetricInfo> find(std::string_view name) { return Registry::instance().find(name); }

std::unique_ptr<Metric> from_config(std::string_view class_name, const Json& config) {
  std::optional<MetricInfo> info = Registry::instance().find(class_name);
  if (!info) throw_unknown(class_name);
  // Factories copy and render configs, which recurses once per level: bound the depth first.
  internal::check_json_depth<ConfigError>(config, info->class_name + ": config");
  if (!config.is_null() && !config.is_object()) {
    throw ConfigError(internal::str_cat(info->class_name, ": config must be a JSON object; received ",
                                        internal::describe_json_value(config)));
  }
  return info->factory(config.is_null() ? Json::object() : config);
}

std::unique_ptr<Metric> get(const Json& spec) {
  internal::check_json_depth<ConfigError>(spec, "metrics.get: spec");
  if (spec.is_string()) return from_config(spec.get<std::string>(), Json::object());
  if (!spec.is_object()) {
    throw ConfigError(
        "metrics.get: a spec must be a name or an object {\"class_name\": ..., \"config\": {...}}; "
        "received " +
        internal::describe_json_value(spec));
  }
  if (!spec.contains("class_name") || !spec["class_name"].is_string()) {
    throw ConfigError("metrics.get: spec object needs a string \"class_name\"; received " +
                      internal::describe_json_value(spec));
  }
  for (const auto& item : spec.items()) {
    if (item.key() != "class_name" && item.key() != "config" && item.key() != "module" &&
        item.key() != "registered_name") {
      throw ConfigError("metrics.get: unknown spec key `" + item.key() +
                        "`; valid keys are class_name, config, module, registered_name");
    }
  }
  const Json config = spec.contains("config") ? spec["config"] : Json::object();
  return from_config(spec["class_name"].get<std::string>(), config);
}

std::unique_ptr<Metric> get(std::string_view spec) {
  const auto first = spec.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && (spec[first] == '{' || spec[first] == '"')) {
    return get(internal::parse_json_bounded<ConfigError>(
        spec, internal::str_cat("metrics.get: spec ", internal::describe_text(spec))));
  }
  return from_config(spec, Json::object());
}

Json serialize(const Metric& metric) {
  const std::optional<MetricInfo> info = Registry::instance().find(metric.class_name());
  const bool builtin = info && info->builtin;
  return Json{{"module", builtin ? "keras.metrics" : "tally.user"},
              {"class_name", metric.class_name()},
              {"config", metric.get_config()},
              {"registered_name", builtin ? Json() : Json(metric.class_name())}};
}

std::vector<std::string> known_names() { return Registry::instance().names(); }

std::vector<MetricInfo> catalog() { return Registry::instance().entries(); }

}  // namespace tally::metrics

namespace tally::metrics {
namespace {

Json state_layout(const Metric& metric) {
  Json out = Json::array();
  for (const Variable& v : metric.variables()) {
    out.push_back(Json{{"name", v.name},
                       {"shape", v.shape},
                       {"dtype", std::string(dtype_name(v.dtype))},
                       {"aggregation", std::string(aggregation_name(v.aggregation))}});
  }
  return out;
}

// User metrics registered without a spec are described from a default-built instance:
// their config keys, typed only as JSON.
std::vector<OptionInfo> options_from_config(const Json& config) {
  std::vector<OptionInfo> out;
  for (const auto& item : config.items()) {
    OptionInfo o;
    o.key = item.key();
    o.type = item.key() == "dtype" ? OptionType::kDType : OptionType::kJson;
    o.default_value = item.value();
    o.nullable = item.value().is_null();
    out.push_back(std::move(o));
  }
  return out;
}

Json describe_info(const MetricInfo& info) {
  Json names = Json::array();
  for (const std::string& a : info.aliases) names.push_back(a);
  std::unique_ptr<Metric> example;
  try {
    example = info.factory(info.example_config);
  } catch (const Error&) {
    // A user metric whose factory needs keys we cannot guess: described without a state.
  }
  std::vector<OptionInfo> options = info.options;
  if (options.empty() && example) options = options_from_config(example->get_config());
  Json option_list = Json::array();
  for (const OptionInfo& o : options) option_list.push_back(to_json(o));
  // Auxiliary inputs (docs/metrics.md, "Auxiliary inputs") are listed only by the metrics that use them.
  Json inputs{{"y_true", info.inputs.y_true}, {"y_pred", info.inputs.y_pred}, {"ranks", info.inputs.ranks}};
  if (!info.inputs.requires_aux.empty()) inputs["requires"] = info.inputs.requires_aux;
  if (!info.inputs.accepts_aux.empty()) inputs["accepts"] = info.inputs.accepts_aux;
  return Json{{"class_name", info.class_name},
              {"names", names},
              {"family", info.family},
              {"doc", info.doc},
              {"direction", std::string(direction_name(info.direction))},
              {"builtin", info.builtin},
              {"options", option_list},
              {"inputs", inputs},
              {"result", info.result},
              {"example_config", info.example_config},
              {"state", example ? state_layout(*example) : Json()}};
}

}  // namespace

Json describe(std::string_view name) {
  const std::optional<MetricInfo> info = find(name);
  if (!info) throw_unknown(name);
  return describe_info(*info);
}

Json describe_catalog() {
  Json metrics = Json::array();
  for (const MetricInfo& info : catalog()) {
    if (info.family != "functional") metrics.push_back(describe_info(info));
  }
  Json functions = Json::array();
  for (const functional::FunctionInfo& fn : functional::functions()) {
    Json config = Json::object();
    try {
      config = functional::make_wrapper(fn.name, Json::object())->get_config();
    } catch (const Error&) {
    }
    config.erase("fn");
    Json options = Json::array();
    for (const OptionInfo& o : options_from_config(config)) options.push_back(to_json(o));
    Json aliases = Json::array();
    for (const std::string& a : fn.aliases) aliases.push_back(a);
    functions.push_back(Json{{"name", fn.name},
                             {"aliases", aliases},
                             {"family", fn.family},
                             {"doc", fn.doc},
                             {"direction", std::string(direction_name(fn.direction))},
                             {"options", options}});
  }
  return Json{{"version", version()}, {"metrics", metrics}, {"functions", functions}};
}

}  // namespace tally::metrics
