#include "tally/metrics/functional.h"

#include "internal/check.h"
#include "metrics/catalog.h"

namespace tally::metrics::functional {

std::vector<FunctionInfo> functions() {
  static const std::vector<FunctionInfo> table = detail::builtin_functions();
  return table;
}

std::optional<FunctionInfo> find_function(std::string_view name) {
  for (const FunctionInfo& info : functions()) {
    if (info.name == name) return info;
    for (const std::string& alias : info.aliases) {
      if (alias == name) return info;
    }
  }
  return std::nullopt;
}

std::unique_ptr<MeanMetricWrapper> make_wrapper(std::string_view fn_name, const Json& config) {
  std::optional<FunctionInfo> info = find_function(fn_name);
  if (!info) {
    std::string known;
    for (const FunctionInfo& f : functions()) known += (known.empty() ? "" : ", ") + f.name;
    throw ConfigError(
        internal::str_cat("MeanMetricWrapper: unknown function \"", fn_name, "\"; known functions: ", known));
  }
  ConfigReader reader(info->name, config);
  const std::string name = reader.name(info->name);
  const DType dtype = reader.dtype();
  BoundFunction bound = info->factory(reader);
  reader.finish();
  return std::make_unique<MeanMetricWrapper>(std::move(bound.fn), name, dtype, info->name, std::move(bound.kwargs),
                                             info->direction);
}

}  // namespace tally::metrics::functional
