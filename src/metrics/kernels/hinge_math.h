#pragma once
// Per-element formulas of the hinge losses (Keras losses.py hinge, squared_hinge,
// categorical_hinge), shared by the metric classes and the per-sample functions.

#include <algorithm>

#ifndef TALLY_HD
#define TALLY_HD
#endif

namespace tally::metrics::kernels {

/// Keras convert_binary_labels_to_hinge for one label, once the batch is known to be {0, 1}.
TALLY_HD inline double hinge_label(double y, bool map_binary) { return map_binary ? 2.0 * y - 1.0 : y; }

/// max(1 − y·p, 0).
TALLY_HD inline double hinge_term(double y, double p) { return std::max(1.0 - y * p, 0.0); }

/// max(1 − y·p, 0)².
TALLY_HD inline double squared_hinge_term(double y, double p) {
  const double h = hinge_term(y, p);
  return h * h;
}

/// max(neg − pos + 1, 0) from pos = Σ y·p and neg = max (1 − y)·p over the class axis.
TALLY_HD inline double categorical_hinge_value(double pos, double neg) { return std::max(neg - pos + 1.0, 0.0); }

}  // namespace tally::metrics::kernels
