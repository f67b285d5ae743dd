// THE catalog: every built-in metric listed once with its Keras class name, aliases
// (snake_case first), family, direction, factory and one-line doc. The registry, the
// command-line `tally list`, docs/metrics.md and the Python __all__ all read this table.

#include "metric/catalog.h"

#include "internal/check.h"
#include "metrics/loss_function_bindings.h"
#include "tally/metrics/functional.h"
#include "tally/metrics/hinge.h"
#include "tally/metrics/probabilistic.h"
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
  rows.push_back(row("BinaryCrossentropy", {"binary_crossentropy", "bce", "BCE"}, "probabilistic",
                     Direction::kLowerIsBetter, &BinaryCrossentropy::from_config,
                     "Mean binary crossentropy (clipped probabilities or exact log-sigmoid from logits)."));
  rows.push_back(row("CategoricalCrossentropy", {"categorical_crossentropy"}, "probabilistic",
                     Direction::kLowerIsBetter, &CategoricalCrossentropy::from_config,
                     "Mean crossentropy of one-hot or soft labels against class probabilities or logits."));
  rows.push_back(row("SparseCategoricalCrossentropy", {"sparse_categorical_crossentropy"}, "probabilistic",
                     Direction::kLowerIsBetter, &SparseCategoricalCrossentropy::from_config,
                     "Mean crossentropy of integer labels against class probabilities or logits (ignore_class)."));
  rows.push_back(row("KLDivergence", {"kl_divergence", "kld", "KLD", "kullback_leibler_divergence"}, "probabilistic",
                     Direction::kLowerIsBetter, &KLDivergence::from_config,
                     "Mean Kullback-Leibler divergence sum(y * ln(y / p)) over the last axis."));
  rows.push_back(row("Poisson", {"poisson"}, "probabilistic", Direction::kLowerIsBetter, &Poisson::from_config,
                     "Mean Poisson loss p - y * ln(p + eps)."));
  // --- hinge ---
  rows.push_back(row("Hinge", {"hinge"}, "hinge", Direction::kLowerIsBetter, &Hinge::from_config,
                     "Mean hinge loss max(1 - y * p, 0); {0, 1} labels mapped to {-1, 1} per batch."));
  rows.push_back(row("SquaredHinge", {"squared_hinge"}, "hinge", Direction::kLowerIsBetter,
                     &SquaredHinge::from_config,
                     "Mean squared hinge loss max(1 - y * p, 0)^2; {0, 1} labels mapped per batch."));
  rows.push_back(row("CategoricalHinge", {"categorical_hinge"}, "hinge", Direction::kLowerIsBetter,
                     &CategoricalHinge::from_config, "Mean categorical hinge loss max(neg - pos + 1, 0)."));
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
  fns.push_back({"binary_crossentropy", {"bce", "BCE"}, "probabilistic", Direction::kLowerIsBetter,
                 "Per-sample binary crossentropy (from_logits, label_smoothing, axis).",
                 &functional::bindings::bind_binary_crossentropy});
  fns.push_back({"categorical_crossentropy", {}, "probabilistic", Direction::kLowerIsBetter,
                 "Per-sample categorical crossentropy (from_logits, label_smoothing, axis).",
                 &functional::bindings::bind_categorical_crossentropy});
  fns.push_back({"sparse_categorical_crossentropy", {}, "probabilistic", Direction::kLowerIsBetter,
                 "Per-sample sparse categorical crossentropy (from_logits, ignore_class, axis).",
                 &functional::bindings::bind_sparse_categorical_crossentropy});
  fns.push_back({"kl_divergence", {"kld", "KLD", "kullback_leibler_divergence"}, "probabilistic", Direction::kLowerIsBetter,
                 "Per-sample Kullback-Leibler divergence.",
                 &functional::bindings::bind_kl_divergence});
  fns.push_back({"poisson", {}, "probabilistic", Direction::kLowerIsBetter,
                 "Per-sample Poisson loss.",
                 &functional::bindings::bind_poisson});
  fns.push_back({"binary_focal_crossentropy", {}, "probabilistic", Direction::kLowerIsBetter,
                 "Per-sample binary focal crossentropy (apply_class_balancing, alpha, gamma, from_logits, label_smoothing, axis).",
                 &functional::bindings::bind_binary_focal_crossentropy});
  fns.push_back({"categorical_focal_crossentropy", {}, "probabilistic", Direction::kLowerIsBetter,
                 "Per-sample categorical focal crossentropy (alpha, gamma, from_logits, label_smoothing, axis).",
                 &functional::bindings::bind_categorical_focal_crossentropy});
  // --- hinge ---
  fns.push_back({"hinge", {}, "hinge", Direction::kLowerIsBetter,
                 "Per-sample hinge loss.",
                 &functional::bindings::bind_hinge});
  fns.push_back({"squared_hinge", {}, "hinge", Direction::kLowerIsBetter,
                 "Per-sample squared hinge loss.",
                 &functional::bindings::bind_squared_hinge});
  fns.push_back({"categorical_hinge", {}, "hinge", Direction::kLowerIsBetter,
                 "Per-sample categorical hinge loss.",
                 &functional::bindings::bind_categorical_hinge});
  // --- correlation ---
  return fns;
}

}  // namespace tally::metrics::detail
