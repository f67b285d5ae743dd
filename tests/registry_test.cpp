#include "tally/registry.h"

#include <gtest/gtest.h>

#include "tally/config.h"
#include "tally/metrics/reduction.h"

namespace tally::metrics {
namespace {

TEST(Registry, GetsByClassNameAliasAndJson) {
  EXPECT_EQ(get("Mean")->class_name(), "Mean");
  EXPECT_EQ(get("mean")->class_name(), "Mean");
  auto m = get(R"({"class_name": "Sum", "config": {"name": "total", "dtype": "float64"}})");
  EXPECT_EQ(m->name(), "total");
  EXPECT_EQ(m->dtype(), DType::kFloat64);
  EXPECT_EQ(get(Json("sum"))->class_name(), "Sum");
}

TEST(Registry, SerializeRoundTrips) {
  Mean mean("loss", DType::kFloat64);
  const Json spec = serialize(mean);
  EXPECT_EQ(spec["module"], "keras.metrics");
  EXPECT_EQ(spec["class_name"], "Mean");
  EXPECT_TRUE(spec["registered_name"].is_null());
  EXPECT_EQ(spec["config"], (Json{{"name", "loss"}, {"dtype", "float64"}}));
  EXPECT_EQ(get(spec)->get_config(), mean.get_config());
}

TEST(Registry, UnknownNamesListTheClosest) {
  try {
    get("maen");
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("\"mean\""), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("unknown metric \"maen\""), std::string::npos) << e.what();
  }
}

TEST(Registry, BadSpecsFailClearly) {
  EXPECT_THROW(get("{not json"), ConfigError);
  EXPECT_THROW(get(R"({"config": {}})"), ConfigError);
  EXPECT_THROW(get(R"({"class_name": "Mean", "config": {"nmae": "x"}})"), ConfigError);
  EXPECT_THROW(get(R"({"class_name": "Mean", "config": {"dtype": "int32"}})"), ConfigError);
  EXPECT_THROW(get(R"({"class_name": "Mean", "config": [1]})"), ConfigError);
  EXPECT_THROW(get(R"({"class_name": "Mean", "extra": 1})"), ConfigError);
  // Found by fuzz_selection (the same parser): a number beyond double's range is a ConfigError too.
  EXPECT_THROW(get(R"({"class_name": "AUC", "config": {"num_thresholds": 2e308}})"), ConfigError);
  try {
    get(R"({"class_name": "Mean", "config": {"nmae": "x"}})");
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown config key `nmae`; valid keys are dtype, name"), std::string::npos)
        << e.what();
  }
}

TEST(Registry, CatalogListsBuiltinsWithFamilies) {
  bool found = false;
  for (const MetricInfo& info : catalog()) {
    if (info.class_name == "Mean") {
      found = true;
      EXPECT_EQ(info.family, "reduction");
      EXPECT_TRUE(info.builtin);
      EXPECT_EQ(info.aliases.front(), "mean");
    }
  }
  EXPECT_TRUE(found);
  EXPECT_TRUE(find("sum").has_value());
  EXPECT_FALSE(find("nope").has_value());
}

TEST(ConfigReader, TypedGettersAndErrors) {
  const Json config{{"k", 3}, {"x", 0.5}, {"s", "hi"}, {"b", true}, {"list", {1, 2}}, {"f", 2.0}};
  ConfigReader r("Thing", config);
  EXPECT_EQ(r.get_int("k", 0), 3);
  EXPECT_EQ(r.get_int("f", 0), 2);
  EXPECT_DOUBLE_EQ(r.get_double("x", 0), 0.5);
  EXPECT_EQ(r.get_string("s", ""), "hi");
  EXPECT_TRUE(r.get_bool("b", false));
  EXPECT_EQ(r.get_optional_ints("list")->size(), 2u);
  EXPECT_FALSE(r.get_optional_double("missing").has_value());
  EXPECT_NO_THROW(r.finish());
  ConfigReader bad("Thing", Json{{"k", "three"}});
  EXPECT_THROW(bad.get_int("k", 0), ConfigError);
}

}  // namespace
}  // namespace tally::metrics
