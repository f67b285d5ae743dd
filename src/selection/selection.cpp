#include "tally/selection.h"

#include <cmath>
#include <filesystem>

#include "internal/atomic_file.h"
#include "internal/check.h"
#include "internal/json_bounded.h"

namespace tally {

SelectionOperator ModelSelector::greater() {
  return [](double candidate, double best) { return candidate > best; };
}

SelectionOperator ModelSelector::less() {
  return [](double candidate, double best) { return candidate < best; };
}

SelectionOperator ModelSelector::from_direction(const Metric& metric) {
  switch (metric.direction()) {
    case Direction::kHigherIsBetter:
      return greater();
    case Direction::kLowerIsBetter:
      return less();
    case Direction::kNone:
      break;
  }
  throw InvalidArgument(internal::str_cat("ModelSelector: ", metric.class_name(), " \"", metric.name(),
                                          "\" has no direction (higher or lower is better); pass greater() or less()"));
}

ModelSelector::ModelSelector(std::string metric_name, SelectionOperator op, std::string logdir)
    : metric_name_(std::move(metric_name)), op_(std::move(op)), logdir_(std::move(logdir)) {
  if (metric_name_.empty() || metric_name_.find('/') != std::string::npos || metric_name_ == "." ||
      metric_name_ == "..") {
    throw InvalidArgument("ModelSelector: the metric name must be a plain file name; received \"" + metric_name_ +
                          "\"");
  }
  const std::string record = best_model_sel_file();
  std::error_code error;
  const bool exists = std::filesystem::exists(record, error);
  if (error) throw IOError(internal::str_cat(record, ": cannot read the record: ", error.message()));
  if (!exists) return;
  const Json j = json_read(record);
  if (!j.is_object() || !j.contains("metric") || !j.contains("value") || !j.contains("step") ||
      !j["metric"].is_string() || !j["value"].is_number() || !j["step"].is_number_integer()) {
    throw ConfigError(record +
                      ": not a tally model-selection record (needs \"metric\", \"value\" and \"step\"); "
                      "refusing to overwrite it");
  }
  if (j["metric"].get<std::string>() != metric_name_) {
    throw ConfigError(internal::str_cat(record, ": the record is for metric \"", j["metric"].get<std::string>(),
                                        "\", not \"", metric_name_, "\"; refusing to overwrite it"));
  }
  best_value_ = j["value"].get<double>();
  best_step_ = j["step"].get<std::int64_t>();
}

std::string ModelSelector::best_folder() const {
  return (std::filesystem::path(logdir_) / "best" / metric_name_).string() + "/";
}

std::string ModelSelector::best_model_sel_file() const {
  return (std::filesystem::path(logdir_) / "best" / metric_name_ / (metric_name_ + ".json")).string();
}

bool ModelSelector::update(double value, std::int64_t step, const std::function<void(const std::string&)>& checkpoint) {
  if (!op_ || std::isnan(value)) return false;
  if (best_value_ && !op_(value, *best_value_)) return false;
  internal::create_folders(best_folder());  // IOError naming the folder and the OS reason
  if (checkpoint) checkpoint(best_folder());
  json_write(best_model_sel_file(), Json{{"metric", metric_name_}, {"value", value}, {"step", step}});
  best_value_ = value;
  best_step_ = step;
  return true;
}

bool ModelSelector::update(const Metric& metric, std::int64_t step,
                           const std::function<void(const std::string&)>& checkpoint) {
  return update(metric.value(), step, checkpoint);
}

Json ModelSelector::json_read(const std::string& path) {
  return internal::parse_json_bounded<ConfigError>(internal::read_file(path), path);
}

void ModelSelector::json_write(const std::string& path, const Json& object) {
  internal::check_json_depth<ConfigError>(object, path);  // dump() recurses once per level
  internal::write_file_atomically(path, object.dump(2) + "\n");
}

}  // namespace tally
