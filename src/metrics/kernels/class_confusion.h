#pragma once
// The class-confusion counting kernel of the classification family (ConfusionMatrix,
// MatthewsCorrelationCoefficient, CohenKappa, BalancedAccuracy, Specificity, HammingLoss,
// ExactMatch): one pass over a batch that fills a fixed-size table of counts, int64 for
// unweighted batches and float64 for weighted ones, chunked so results do not depend on the
// thread count. Every metric of the family reads its result from this table; none has a
// counting loop of its own (docs/metrics.md, "Classification from confusion counts").
//
// Multi-class (and binary) table: [C * C], row = true class, column = predicted class.
//   y_true: class ids of shape [N] or [N, 1] (any dtype; floats must hold whole numbers).
//   y_pred: [N, C] scores (argmax, ties to the first index), or [N] / [N, 1] predicted ids;
//           with C = 2 a floating [N] / [N, 1] y_pred is a probability of class 1
//           (positive when strictly above the threshold).
// Multi-label table: [4 L + 2], per label (tn, fp, fn, tp) as scikit-learn's
// multilabel_confusion_matrix lays out [[tn, fp], [fn, tp]], then the rows whose labels all
// match and the rows counted (for ExactMatch).
//   y_true: [N, L] in {0, 1}; y_pred: [N, L] scores, positive when strictly above the threshold.

#include <cstdint>
#include <string_view>
#include <vector>

#include "metrics/kernels/weight_array.h"
#include "tally/metric.h"

namespace tally::metrics::kernels {

/// How a batch is counted: the classes (or labels), the task and the threshold.
struct ClassConfusionOptions {
  std::int64_t classes = 2;  ///< C for multi-class, L for multi-label
  bool multilabel = false;
  double threshold = 0.5;  ///< binary probabilities and multi-label scores: positive iff > threshold
};

/// Entries of the count table for these options: C * C, or 4 L + 2.
std::int64_t class_confusion_size(const ClassConfusionOptions& options);

/// One batch's counts: `counts` when unweighted, `weights` (sums of sample weights) otherwise.
struct ClassConfusion final : SharedWork {
  bool weighted = false;
  std::vector<std::int64_t> counts;
  std::vector<double> weights;
};

/// Validates the batch (shapes, class ids, NaN, sample weights) and counts it; throws a
/// tally::Error naming `who` before anything is returned.
ClassConfusion count_class_confusion(std::string_view who, const ClassConfusionOptions& options, const Batch& batch);

/// Class ids [N] or [N, 1] as a float32 one-hot [N, classes]; InvalidArgument naming `who`
/// and `arg` for a value that is not a class id (NaN, fractional, out of range). One-vs-rest
/// AUC counts these rows (docs/keras-differences.md §18); Precision, Recall and the F-scores
/// only for what their id paths do not take (thresholded scores, other score dtypes) and to
/// report a batch count_id_outcomes / count_id_rows refused.
Tensor one_hot_ids(std::string_view who, std::string_view arg, const TensorView& ids, std::int64_t classes);

/// Scores [N, classes] as the float32 one-hot of each row's argmax (ties to the first
/// index, numpy's argmax); InvalidArgument for NaN.
Tensor one_hot_argmax(std::string_view who, std::string_view arg, const TensorView& scores);

/// Integer labels counted without one-hot rows: class ids of rows [rb, re) against predicted
/// ids, or against the argmax (ties to the first index) of float32/float64 scores [N, classes].
struct IdRowsInput {
  TensorView truth;     ///< contiguous class ids [N], any dtype (floats must hold whole numbers)
  TensorView pred;      ///< contiguous predicted ids [N], or float32/float64 scores [N, classes]
  bool scores = false;  ///< pred holds scores (argmax) rather than ids
  std::int64_t classes = 0;
  const double* weight = nullptr;  ///< null when unweighted; else w[r * row_stride + c * class_stride]
  std::int64_t row_stride = 0;
  std::int64_t class_stride = 0;
  bool predict = true;  ///< false: no row counts as predicted (a threshold above the one-hot 1)
};

/// The IdRowsInput of a batch, with what it points to: `truth` ([N] class ids) and `pred` ([N]
/// ids, or [N, classes] float32/float64 scores) copied when not contiguous, and sample weights
/// already broadcast to [N, classes] (no value: unweighted) as a WeightArray. Built in place
/// (not copied or moved: `in` points into it) by the F-scores and by Precision / Recall.
struct IdRows {
  /// Sets `in` over these inputs; `in.predict` stays true.
  IdRows(const TensorView& truth, const TensorView& pred, std::int64_t classes, const TensorView& weight);
  IdRows(const IdRows&) = delete;
  IdRows& operator=(const IdRows&) = delete;

  IdRowsInput in;  ///< what the counting functions below read

 private:
  Tensor truth_copy_, pred_copy_;
  WeightArray weights_;
};

/// Adds rows [rb, re) into sums [tp | predicted | support] (classes each), each class's
/// weights in row order, exactly as the per-element F-score loop over one-hot rows adds them
/// (f_score_counts.h; tests/metrics/f_score_test.cpp compares the two). Returns false, with
/// `sums` partly written, when a row holds an id outside [0, classes) or a NaN score: the
/// caller then runs the one-hot path, which throws its error.
bool count_id_rows(const IdRowsInput& in, std::int64_t rb, std::int64_t re, double* sums);

/// Adds rows [rb, re) of an unweighted batch into per-class counts [tp | fp | missed]
/// (classes each): rows of class c predicted c, rows of another class predicted c, rows of
/// class c predicted as another (Precision and Recall over class ids: tp, fp and fn of the
/// one-hot rows at threshold 0.5). `in.weight` and `in.predict` are not read. Returns false,
/// with `counts` partly written, on an id outside [0, classes) or a NaN score.
bool count_id_outcomes(const IdRowsInput& in, std::int64_t rb, std::int64_t re, std::int64_t* counts);

/// The weighted form: sums [tp | fp | missed] of the sample weights w[r, c] of the one-hot
/// cells they come from (tp and missed: the true class's weight; fp: the predicted class's),
/// each class's sums in row order, as the multi-label count of one-hot rows adds them
/// (confusion_counts.cpp; tests/metrics/confusion_test.cpp compares the two).
bool count_id_outcomes(const IdRowsInput& in, std::int64_t rb, std::int64_t re, double* sums);

}  // namespace tally::metrics::kernels
