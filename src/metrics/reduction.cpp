#include "tally/metrics/reduction.h"

#include "internal/check.h"
#include "internal/samplewise.h"
#include "tally/config.h"

namespace tally::metrics {
namespace {

std::string who(const Metric& metric) { return metric.class_name() + " \"" + metric.name() + "\""; }

}  // namespace

// --- Sum --------------------------------------------------------------------------

Sum::Sum(std::string name, DType dtype) : MetricWithClone(std::move(name), dtype) { add_variable("total", {}); }

std::unique_ptr<Metric> Sum::from_config(const Json& config) {
  ConfigReader reader("Sum", config);
  auto metric = std::make_unique<Sum>(reader.name("sum"), reader.dtype());
  reader.finish();
  return metric;
}

void Sum::accumulate(Variables& vars, const Batch& batch) const {
  const internal::WeightedTotals t =
      internal::reduce_to_samplewise(who(*this), batch.y_pred, batch.sample_weight, internal::SampleReduce::kSum);
  vars.f64(0)[0] += t.total;
}

Tensor Sum::result_from(const Variables& vars) const { return Tensor::scalar(vars.f64(0)[0]); }

// --- Mean -------------------------------------------------------------------------

Mean::Mean(std::string name, DType dtype) : MetricWithClone(std::move(name), dtype) {
  add_variable("total", {});
  add_variable("count", {}, DType::kFloat64, Aggregation::kSum, Domain::kNonNegative);  // a sum of weights
}

std::unique_ptr<Metric> Mean::from_config(const Json& config) {
  ConfigReader reader("Mean", config);
  auto metric = std::make_unique<Mean>(reader.name("mean"), reader.dtype());
  reader.finish();
  return metric;
}

void Mean::accumulate(Variables& vars, const Batch& batch) const {
  const internal::WeightedTotals t =
      internal::reduce_to_samplewise(who(*this), batch.y_pred, batch.sample_weight, internal::SampleReduce::kMean);
  vars.f64(0)[0] += t.total;
  vars.f64(1)[0] += t.count;
}

Tensor Mean::result_from(const Variables& vars) const {
  const double count = vars.f64(1)[0];
  // Keras divide_no_nan: an empty Mean is 0, not NaN.
  return Tensor::scalar(count == 0.0 ? 0.0 : vars.f64(0)[0] / count);
}

// --- MeanMetricWrapper ------------------------------------------------------------

MeanMetricWrapper::MeanMetricWrapper(PerSampleFn fn, std::string name, DType dtype, std::string fn_name, Json fn_kwargs,
                                     Direction direction)
    : MetricWithClone(std::move(name), dtype),
      fn_(std::move(fn)),
      fn_name_(std::move(fn_name)),
      fn_kwargs_(std::move(fn_kwargs)),
      direction_(direction) {
  if (!fn_) throw InvalidArgument("MeanMetricWrapper \"" + this->name() + "\": argument `fn` must be callable");
  add_variable("total", {});
  add_variable("count", {}, DType::kFloat64, Aggregation::kSum, Domain::kNonNegative);  // a sum of weights
}

Json MeanMetricWrapper::get_config() const {
  Json config = Metric::get_config();
  if (!fn_name_.empty()) config["fn"] = fn_name_;
  if (fn_kwargs_.is_object()) {
    for (const auto& item : fn_kwargs_.items()) config[item.key()] = item.value();
  }
  return config;
}

void MeanMetricWrapper::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  internal::check_not_empty(me, "y_true", batch.y_true);
  internal::check_not_empty(me, "y_pred", batch.y_pred);
  internal::check_same_rows(me, "y_true", batch.y_true, "y_pred", batch.y_pred);
  const Tensor values = fn_(batch.y_true, batch.y_pred);
  if (values.ndim() == 0 || values.shape()[0] != batch.y_pred.shape()[0]) {
    throw ShapeError(internal::str_cat(me, ": the wrapped function returned shape ", shape_string(values.shape()),
                                       "; expected one value per row of y_pred (", batch.y_pred.shape()[0], " rows)"));
  }
  const internal::WeightedTotals t =
      internal::reduce_to_samplewise(me, values, batch.sample_weight, internal::SampleReduce::kMean);
  vars.f64(0)[0] += t.total;
  vars.f64(1)[0] += t.count;
}

Tensor MeanMetricWrapper::result_from(const Variables& vars) const {
  const double count = vars.f64(1)[0];
  return Tensor::scalar(count == 0.0 ? 0.0 : vars.f64(0)[0] / count);
}

// --- LambdaMetric -----------------------------------------------------------------

LambdaMetric::LambdaMetric(std::string name, const VariableLayout& variables, UpdateFn update, ResultFn result,
                           Direction direction)
    : MetricWithClone(std::move(name)), update_(std::move(update)), result_(std::move(result)), direction_(direction) {
  if (!update_ || !result_) {
    throw InvalidArgument("LambdaMetric \"" + this->name() + "\": arguments `update` and `result` must be callable");
  }
  for (const Variable& v : variables) add_variable(v.name, v.shape, v.dtype, v.aggregation);
}

}  // namespace tally::metrics
