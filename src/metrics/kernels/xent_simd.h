#pragma once
// The crossentropy row kernels on Highway's runtime-dispatched SIMD targets (those of
// simd_math.h), whole rows in float64 lanes:
// - sparse categorical, rows of at most kSparseXentMaxWidth classes, from logits or from
//   probabilities: one row per lane, so each row's maximum and its sums combine in class
//   order, as the scalar loop does. float32 rows are loaded whole and transposed in
//   registers (float64 ones gathered per class); the label's value is picked by comparison.
// - categorical from logits (soft or one-hot labels), rows of at most kSparseXentMaxWidth
//   classes: the same layout, the labels' columns beside the logits'.
// - binary, one value per sample: max(x, 0) − x·y + ln(1 + e^−|x|) per lane from logits;
//   −[y ln p + (1 − y) ln(1 − p)] (one log for hard labels) from probabilities.
// exp is the kernels' own table-driven one for arguments ≤ 0 (within 2 ulp of libm, tested);
// log / log1p are Highway's (simd_math.h: within a few ulp of libm). Rows with a non-finite
// logit (sparse) or |x| > 700 (binary) take the scalar libm formula, NaN probabilities give
// NaN, so special values behave as before. A row's result depends only on its own values,
// never on its lane or on the rows around it. See docs/performance.md ("Crossentropies").

#include <cstddef>
#include <cstdint>

namespace tally::metrics::kernels::simd {

/// The widest rows the sparse and categorical row kernels take.
inline constexpr std::int64_t kSparseXentMaxWidth = 32;

/// loss[i] = (m − x[i, label_i]) + ln Σ_k e^(x[i, k] − m), m = max_k x[i, k], for rows
/// [0, rows) of logits `x` ([rows, width], width ≤ kSparseXentMaxWidth). Labels are valid
/// class ids; with `has_ignore`, rows labelled `ignored` get loss 0 (the caller marks them).
void sparse_xent_from_logits(const float* x, const std::int64_t* labels, std::int64_t rows, std::int64_t width,
                             bool has_ignore, std::int64_t ignored, double* loss);
/// sparse_xent_from_logits for float64 logits.
void sparse_xent_from_logits(const double* x, const std::int64_t* labels, std::int64_t rows, std::int64_t width,
                             bool has_ignore, std::int64_t ignored, double* loss);
/// sparse_xent_from_logits for int32 labels.
void sparse_xent_from_logits(const float* x, const std::int32_t* labels, std::int64_t rows, std::int64_t width,
                             bool has_ignore, std::int64_t ignored, double* loss);
/// sparse_xent_from_logits for int32 labels and float64 logits.
void sparse_xent_from_logits(const double* x, const std::int32_t* labels, std::int64_t rows, std::int64_t width,
                             bool has_ignore, std::int64_t ignored, double* loss);
/// sparse_xent_from_logits for float32 labels (integral values).
void sparse_xent_from_logits(const float* x, const float* labels, std::int64_t rows, std::int64_t width,
                             bool has_ignore, std::int64_t ignored, double* loss);
/// sparse_xent_from_logits for float32 labels and float64 logits.
void sparse_xent_from_logits(const double* x, const float* labels, std::int64_t rows, std::int64_t width,
                             bool has_ignore, std::int64_t ignored, double* loss);
/// sparse_xent_from_logits for float64 labels (integral values).
void sparse_xent_from_logits(const float* x, const double* labels, std::int64_t rows, std::int64_t width,
                             bool has_ignore, std::int64_t ignored, double* loss);
/// sparse_xent_from_logits for float64 labels and logits.
void sparse_xent_from_logits(const double* x, const double* labels, std::int64_t rows, std::int64_t width,
                             bool has_ignore, std::int64_t ignored, double* loss);

/// loss[i] = −ln clip(p[i, label_i] / Σ_k p[i, k], lo, hi) (Keras's sparse crossentropy from
/// probabilities: the row normalised, then clipped; NaN stays NaN) for rows [0, rows) of `p`
/// ([rows, width], width ≤ kSparseXentMaxWidth), the row sum in class order; ignored rows as
/// in sparse_xent_from_logits. One log per row and no exp.
void sparse_xent_from_probabilities(const float* p, const std::int64_t* labels, std::int64_t rows, std::int64_t width,
                                    bool has_ignore, std::int64_t ignored, double lo, double hi, double* loss);
/// sparse_xent_from_probabilities for float64 probabilities.
void sparse_xent_from_probabilities(const double* p, const std::int64_t* labels, std::int64_t rows, std::int64_t width,
                                    bool has_ignore, std::int64_t ignored, double lo, double hi, double* loss);
/// sparse_xent_from_probabilities for int32 labels.
void sparse_xent_from_probabilities(const float* p, const std::int32_t* labels, std::int64_t rows, std::int64_t width,
                                    bool has_ignore, std::int64_t ignored, double lo, double hi, double* loss);
/// sparse_xent_from_probabilities for int32 labels and float64 probabilities.
void sparse_xent_from_probabilities(const double* p, const std::int32_t* labels, std::int64_t rows, std::int64_t width,
                                    bool has_ignore, std::int64_t ignored, double lo, double hi, double* loss);
/// sparse_xent_from_probabilities for float32 labels (integral values).
void sparse_xent_from_probabilities(const float* p, const float* labels, std::int64_t rows, std::int64_t width,
                                    bool has_ignore, std::int64_t ignored, double lo, double hi, double* loss);
/// sparse_xent_from_probabilities for float32 labels and float64 probabilities.
void sparse_xent_from_probabilities(const double* p, const float* labels, std::int64_t rows, std::int64_t width,
                                    bool has_ignore, std::int64_t ignored, double lo, double hi, double* loss);
/// sparse_xent_from_probabilities for float64 labels (integral values).
void sparse_xent_from_probabilities(const float* p, const double* labels, std::int64_t rows, std::int64_t width,
                                    bool has_ignore, std::int64_t ignored, double lo, double hi, double* loss);
/// sparse_xent_from_probabilities for float64 labels and probabilities.
void sparse_xent_from_probabilities(const double* p, const double* labels, std::int64_t rows, std::int64_t width,
                                    bool has_ignore, std::int64_t ignored, double lo, double hi, double* loss);

/// loss[i] = Σ_k ys_ik (m − x_ik) + (Σ_k ys_ik) ln Σ_k e^(x_ik − m), m = max_k x_ik,
/// ys = y(1 − ls) + ls/width, terms with ys = 0 skipped (Keras's categorical crossentropy from
/// logits, without cancellation) for rows [0, rows) of logits `x` and labels `y` ([rows,
/// width], width ≤ kSparseXentMaxWidth); float32 logits and labels.
void categorical_xent_from_logits(const float* x, const float* y, std::int64_t rows, std::int64_t width, double ls,
                                  double* loss);
/// categorical_xent_from_logits for float64 logits and labels.
void categorical_xent_from_logits(const double* x, const double* y, std::int64_t rows, std::int64_t width, double ls,
                                  double* loss);
/// categorical_xent_from_logits for float32 logits and float64 labels.
void categorical_xent_from_logits(const float* x, const double* y, std::int64_t rows, std::int64_t width, double ls,
                                  double* loss);
/// categorical_xent_from_logits for float64 logits and float32 labels.
void categorical_xent_from_logits(const double* x, const float* y, std::int64_t rows, std::int64_t width, double ls,
                                  double* loss);

/// loss[i] = max(x_i, 0) − x_i·ys_i + ln(1 + e^−|x_i|), ys_i = y_i(1 − ls) + ls/2 (Keras's
/// sigmoid crossentropy, exact form), for i < n; float32 logits and labels.
void binary_xent_from_logits(const float* x, const float* y, std::int64_t n, double ls, double* loss);
/// binary_xent_from_logits for float64 logits and labels.
void binary_xent_from_logits(const double* x, const double* y, std::int64_t n, double ls, double* loss);
/// binary_xent_from_logits for float32 logits and float64 labels.
void binary_xent_from_logits(const float* x, const double* y, std::int64_t n, double ls, double* loss);
/// binary_xent_from_logits for float64 logits and float32 labels.
void binary_xent_from_logits(const double* x, const float* y, std::int64_t n, double ls, double* loss);

/// loss[i] = −[ys_i ln p_i + (1 − ys_i) ln(1 − p_i)], p_i clipped to [lo, hi], ys_i = y_i(1 − ls)
/// + ls/2 (probabilistic_math.h's bce_from_probability: one log for hard labels), for i < n;
/// float32 probabilities and labels.
void binary_xent_from_probabilities(const float* p, const float* y, std::int64_t n, double ls, double lo, double hi,
                                    double* loss);
/// binary_xent_from_probabilities for float64 probabilities and labels.
void binary_xent_from_probabilities(const double* p, const double* y, std::int64_t n, double ls, double lo, double hi,
                                    double* loss);
/// binary_xent_from_probabilities for float32 probabilities and float64 labels.
void binary_xent_from_probabilities(const float* p, const double* y, std::int64_t n, double ls, double lo, double hi,
                                    double* loss);
/// binary_xent_from_probabilities for float64 probabilities and float32 labels.
void binary_xent_from_probabilities(const double* p, const float* y, std::int64_t n, double ls, double lo, double hi,
                                    double* loss);

/// Whether labels[0, n) are all class ids in [0, classes) (integral values) or, with
/// `has_ignore`, equal to `ignored`: the fast pass of the sparse crossentropy's label check.
bool sparse_labels_valid(const std::int64_t* labels, std::int64_t n, std::int64_t classes, bool has_ignore,
                         std::int64_t ignored);
/// sparse_labels_valid for int32 labels.
bool sparse_labels_valid(const std::int32_t* labels, std::int64_t n, std::int64_t classes, bool has_ignore,
                         std::int64_t ignored);
/// sparse_labels_valid for float32 labels.
bool sparse_labels_valid(const float* labels, std::int64_t n, std::int64_t classes, bool has_ignore,
                         std::int64_t ignored);
/// sparse_labels_valid for float64 labels.
bool sparse_labels_valid(const double* labels, std::int64_t n, std::int64_t classes, bool has_ignore,
                         std::int64_t ignored);

/// x[i] = e^x[i] by the kernels' own exp (valid on [−708, 0] only), on the best SIMD target of
/// this CPU: for tests of its accuracy against std::exp.
void exp_non_positive_in_place(double* x, std::size_t n);

}  // namespace tally::metrics::kernels::simd
