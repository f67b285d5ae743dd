#pragma once
// Registry bindings of the probabilistic and hinge per-sample functions: each reads its
// Keras kwargs from a config and returns the bound function with the kwargs for get_config.
// The catalog table (src/metrics/catalog.cpp) lists them; defined beside the functions.

#include "tally/config.h"
#include "tally/metrics/functional.h"

namespace tally::metrics::functional::bindings {

/// Keys from_logits, label_smoothing, axis.
BoundFunction bind_binary_crossentropy(ConfigReader& kwargs);
/// Keys from_logits, label_smoothing, axis.
BoundFunction bind_categorical_crossentropy(ConfigReader& kwargs);
/// Keys from_logits, ignore_class, axis.
BoundFunction bind_sparse_categorical_crossentropy(ConfigReader& kwargs);
/// No keys.
BoundFunction bind_kl_divergence(ConfigReader& kwargs);
/// No keys.
BoundFunction bind_poisson(ConfigReader& kwargs);
/// Keys apply_class_balancing, alpha, gamma, from_logits, label_smoothing, axis.
BoundFunction bind_binary_focal_crossentropy(ConfigReader& kwargs);
/// Keys alpha, gamma, from_logits, label_smoothing, axis.
BoundFunction bind_categorical_focal_crossentropy(ConfigReader& kwargs);
/// No keys.
BoundFunction bind_hinge(ConfigReader& kwargs);
/// No keys.
BoundFunction bind_squared_hinge(ConfigReader& kwargs);
/// No keys.
BoundFunction bind_categorical_hinge(ConfigReader& kwargs);

}  // namespace tally::metrics::functional::bindings
