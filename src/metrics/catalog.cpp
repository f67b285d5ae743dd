// THE catalog: every built-in metric listed once with its Keras class name, aliases
// (snake_case first), family, direction, factory and one-line doc. The registry, the
// command-line `tally list`, docs/metrics.md and the Python __all__ all read this table.

#include "metric/catalog.h"

#include "internal/check.h"
#include "tally/metrics/functional.h"
#include "tally/metrics/reduction.h"

namespace tally::metrics::detail {
namespace {

MetricInfo row(std::string class_name, std::vector<std::string> aliases, std::string family, Direction direction,
               Factory factory, std::string doc) {
  MetricInfo info;
  info.class_name = std::move(class_name);
  info.aliases = std::move(aliases);
  info.family = std::move(family);
  info.direction = direction;
  info.factory = std::move(factory);
  info.doc = std::move(doc);
  return info;
}

}  // namespace

std::vector<MetricInfo> builtin_catalog() {
  constexpr Direction kNone = Direction::kNone;
  std::vector<MetricInfo> rows;
  // --- reduction ---
  rows.push_back(row("Sum", {"sum"}, "reduction", kNone, &Sum::from_config, "Weighted sum of values."));
  rows.push_back(row("Mean", {"mean"}, "reduction", kNone, &Mean::from_config, "Weighted mean of values."));
  rows.push_back(row(
      "MeanMetricWrapper", {"mean_metric_wrapper"}, "reduction", kNone,
      [](const Json& config) -> std::unique_ptr<Metric> {
        if (!config.is_object() || !config.contains("fn") || !config["fn"].is_string()) {
          throw ConfigError("MeanMetricWrapper: config needs a string \"fn\" naming a per-sample function");
        }
        Json rest = config;
        const std::string fn = rest["fn"].get<std::string>();
        rest.erase("fn");
        return functional::make_wrapper(fn, rest);
      },
      "Weighted mean of a named per-sample function (config key fn)."));
  // --- accuracy (issue: catalog I) ---
  // --- regression ---
  // --- probabilistic ---
  // --- hinge ---
  // --- correlation ---
  // --- functional (loss functions exposed as metrics) ---
  // --- confusion (issue: catalog II) ---
  // --- f_score ---
  // --- iou ---
  return rows;
}

std::vector<functional::FunctionInfo> builtin_functions() {
  std::vector<functional::FunctionInfo> fns;
  // --- accuracy ---
  // --- regression ---
  // --- probabilistic ---
  // --- hinge ---
  // --- correlation ---
  return fns;
}

}  // namespace tally::metrics::detail
