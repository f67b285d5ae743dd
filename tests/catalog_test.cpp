// The catalog walk (issue 14): every built-in metric is checked from what its catalog row
// declares, so a metric added to the catalog cannot skip these checks. For each one: the
// class, the default name and the direction come from its spec; every registry name
// builds it; the config round trip rebuilds the same config; every described option is a
// config key with the described default; the description has the documented shape; and
// the property harness (batch splits, merge trees, threads, vectors, failed updates) runs
// on inputs made from the declared input contract.

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "support/metric_harness.h"
#include "support/random_inputs.h"
#include "tally/metrics/accuracy.h"
#include "tally/metrics/regression.h"
#include "tally/options.h"
#include "tally/registry.h"

namespace tally {
namespace {

std::vector<metrics::MetricInfo> builtins() {
  std::vector<metrics::MetricInfo> out;
  for (const metrics::MetricInfo& info : metrics::catalog()) {
    if (info.builtin && info.family != "functional") out.push_back(info);
  }
  return out;
}

std::unique_ptr<Metric> build(const metrics::MetricInfo& info) {
  return metrics::get(Json{{"class_name", info.class_name}, {"config", info.example_config}});
}

TEST(CatalogWalk, EveryNameBuildsItsClass) {
  ASSERT_GE(builtins().size(), 45u);
  for (const metrics::MetricInfo& info : builtins()) {
    SCOPED_TRACE(info.class_name);
    ASSERT_FALSE(info.aliases.empty()) << "a catalog row lists the snake_case name first";
    for (const std::string& name : info.aliases) {
      const Json spec{{"class_name", name}, {"config", info.example_config}};
      EXPECT_EQ(metrics::get(spec)->class_name(), info.class_name) << name;
    }
  }
}

TEST(CatalogWalk, DirectionComesFromTheSpec) {
  for (const metrics::MetricInfo& info : builtins()) {
    if (info.class_name == "MeanMetricWrapper") continue;  // its function's direction, per instance
    SCOPED_TRACE(info.class_name);
    EXPECT_EQ(build(info)->direction(), info.direction);
  }
  // Spot checks of the values themselves (docs/keras-differences.md §14).
  EXPECT_EQ(metrics::find("auc")->direction, Direction::kHigherIsBetter);
  EXPECT_EQ(metrics::find("kl_divergence")->direction, Direction::kLowerIsBetter);
  EXPECT_EQ(metrics::find("mean")->direction, Direction::kNone);
}

TEST(CatalogWalk, DefaultsAreTheDescribedDefaults) {
  for (const metrics::MetricInfo& info : builtins()) {
    SCOPED_TRACE(info.class_name);
    const std::unique_ptr<Metric> m = build(info);
    const Json config = m->get_config();
    if (!info.default_name.empty()) {
      EXPECT_EQ(m->name(), info.default_name);
    }
    std::set<std::string> described;
    for (const OptionInfo& o : info.options) {
      described.insert(o.key);
      if (o.required || info.example_config.contains(o.key) || !config.contains(o.key)) continue;
      if (o.nullable && o.default_value.is_null() && o.key == "name") continue;  // a name derived from another key
      EXPECT_EQ(config[o.key], o.default_value) << "option " << o.key;
    }
    if (info.options.empty()) continue;  // rows without a spec (none left among built-ins, see below)
    for (const auto& item : config.items()) {
      EXPECT_TRUE(described.contains(item.key())) << "config key " << item.key() << " is not described";
    }
  }
}

TEST(CatalogWalk, EveryBuiltinHasASpec) {
  for (const metrics::MetricInfo& info : builtins()) {
    SCOPED_TRACE(info.class_name);
    EXPECT_FALSE(info.options.empty()) << "no option table";
    EXPECT_FALSE(info.inputs.y_pred.empty()) << "no input contract";
    EXPECT_FALSE(info.doc.empty());
  }
}

TEST(CatalogWalk, ConfigRoundTripRebuildsTheSameMetric) {
  for (const metrics::MetricInfo& info : builtins()) {
    SCOPED_TRACE(info.class_name);
    const std::unique_ptr<Metric> m = build(info);
    const std::unique_ptr<Metric> again = metrics::from_config(info.class_name, m->get_config());
    EXPECT_EQ(again->get_config(), m->get_config());
    EXPECT_EQ(again->layout_fingerprint(), m->layout_fingerprint());
  }
  // A key Keras leaves out survives when set (§15).
  metrics::CosineSimilarityOptions axis0;
  axis0.axis = 0;
  metrics::CosineSimilarity cosine(axis0);
  EXPECT_EQ(cosine.get_config()["axis"], 0);
  EXPECT_FALSE(metrics::CosineSimilarity().get_config().contains("axis"));
}

TEST(CatalogWalk, DescriptionHasTheDocumentedShape) {
  const Json catalog = metrics::describe_catalog();
  ASSERT_TRUE(catalog.contains("version"));
  ASSERT_EQ(catalog["metrics"].size(), builtins().size());
  for (const Json& m : catalog["metrics"]) {
    SCOPED_TRACE(m["class_name"].get<std::string>());
    for (const char* key :
         {"class_name", "names", "family", "doc", "direction", "options", "inputs", "result", "state"}) {
      EXPECT_TRUE(m.contains(key)) << key;
    }
    EXPECT_TRUE(m["direction"] == "up" || m["direction"] == "down" || m["direction"] == "none");
    ASSERT_TRUE(m["state"].is_array());
    EXPECT_FALSE(m["state"].empty());
    for (const Json& o : m["options"]) {
      for (const char* key : {"key", "type", "default", "required", "nullable", "doc", "rule", "choices"}) {
        EXPECT_TRUE(o.contains(key)) << key;
      }
    }
  }
  const Json auc = metrics::describe("auc");
  EXPECT_EQ(auc["class_name"], "AUC");
  EXPECT_EQ(auc["options"][0]["key"], "num_thresholds");
  EXPECT_EQ(auc["options"][0]["default"], 200);
  EXPECT_FALSE(catalog["functions"].empty());
  EXPECT_THROW(metrics::describe("no_such_metric"), InvalidArgument);
}

TEST(CatalogWalk, ValidationMessagesHaveOneShape) {
  try {
    metrics::get(R"({"class_name": "BinaryAccuracy", "config": {"name": "acc", "threshold": 1.5}})");
    FAIL() << "accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "BinaryAccuracy \"acc\": argument `threshold` must be in [0, 1]; received 1.5");
  }
  try {
    metrics::get(R"({"class_name": "TopKCategoricalAccuracy", "config": {"k": "two"}})");
    FAIL() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "TopKCategoricalAccuracy \"top_k_categorical_accuracy\": argument `k` must be an integer; "
                 "received \"two\"");
  }
  // A value past int64 is reported as received, not wrapped to a negative number.
  try {
    metrics::get(R"({"class_name": "TopKCategoricalAccuracy", "config": {"k": 9223372036854775808}})");
    FAIL() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("received 9223372036854775808"), std::string::npos) << e.what();
  }
  // C++ constructors validate with the same rules and messages.
  EXPECT_THROW(metrics::TopKCategoricalAccuracy(0), ConfigError);
}

// Inputs for one metric made from its declared contract: 96 rows, 3 classes.
struct Inputs {
  Tensor y_true, y_pred;
  bool uses_y_true = true;
};

Inputs inputs_for(const metrics::MetricInfo& info) {
  constexpr std::int64_t n = 96, c = 3;
  const InputContract& in = info.inputs;
  // The first form each side declares ("one_hot|binary" is read as one_hot).
  const std::string yt = in.y_true.substr(0, in.y_true.find('|'));
  const std::string yp = in.y_pred.substr(0, in.y_pred.find('|'));
  Inputs out;
  if (yt == "none") {
    out.uses_y_true = false;
    out.y_true = testing::random_uniform({n}, 1);
    out.y_pred = testing::random_uniform({n}, 2);
  } else if (yt == "binary") {
    out.y_true = testing::random_labels({n, 1}, 3, 2, DType::kFloat32);
    out.y_pred = testing::random_uniform({n, 1}, 4, 0.0, 1.0, DType::kFloat32);
  } else if (yt == "one_hot" || yt == "probabilities") {
    const Tensor ids = testing::random_labels({n}, 5, c, DType::kInt64);
    out.y_true = Tensor(DType::kFloat64, {n, c});
    for (std::int64_t i = 0; i < n; ++i) out.y_true.data_as<double>()[i * c + ids.data_as<std::int64_t>()[i]] = 1.0;
    out.y_pred = testing::random_uniform({n, c}, 6, 0.05, 1.0);
  } else if (yt == "sparse_ids") {
    out.y_true = testing::random_labels({n}, 7, c, DType::kInt64);
    out.y_pred = yp == "ids" ? testing::random_labels({n}, 8, c, DType::kInt64) : testing::random_uniform({n, c}, 8);
  } else {  // values
    out.y_true = testing::random_uniform({n, 2}, 9, 0.1, 2.0);
    out.y_pred = testing::random_uniform({n, 2}, 10, 0.1, 2.0);
  }
  return out;
}

TEST(CatalogWalk, EveryBuiltinPassesTheHarness) {
  for (const metrics::MetricInfo& info : builtins()) {
    if (info.inputs.y_pred.empty()) continue;  // EveryBuiltinHasASpec reports it
    SCOPED_TRACE(info.class_name);
    const Inputs in = inputs_for(info);
    testing::HarnessCase h;
    h.factory = [info] { return build(info); };
    h.y_true = in.y_true;
    h.y_pred = in.y_pred;
    h.uses_y_true = in.uses_y_true;
    // Auxiliary inputs from the contract: queries of 8 rows (batches cut between them), and
    // the global row index, so that shards fed separately still know their rows.
    constexpr std::int64_t kQueryRows = 8;
    const std::int64_t rows = in.y_pred.shape()[0];
    if (info.inputs.aux_use(kAuxQueryIds) != AuxUse::kNone) {
      std::vector<std::int64_t> ids(static_cast<std::size_t>(rows));
      for (std::int64_t i = 0; i < rows; ++i) ids[static_cast<std::size_t>(i)] = i / kQueryRows;
      h.query_ids = Tensor::from_vector(std::span<const std::int64_t>(ids));
      h.cut_multiple = kQueryRows;
    }
    if (info.inputs.aux_use(kAuxIndex) != AuxUse::kNone) {
      std::vector<std::int64_t> index(static_cast<std::size_t>(rows));
      for (std::int64_t i = 0; i < rows; ++i) index[static_cast<std::size_t>(i)] = i;
      h.index = Tensor::from_vector(std::span<const std::int64_t>(index));
    }
    // Names build the metric from an empty config, which a metric with required keys refuses;
    // EveryNameBuildsItsClass covers those with their example config.
    if (info.example_config.empty()) h.names = {info.class_name};
    // Hinge maps {0, 1} labels per batch (§4): with mixed labels every batch maps the same way.
    h.batch_invariant = info.class_name != "Hinge" && info.class_name != "SquaredHinge";
    testing::check_metric_properties(h);
  }
}

}  // namespace
}  // namespace tally
