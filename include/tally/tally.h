#pragma once
// Umbrella header: every public tally header.

#include "tally/config.h"
#include "tally/dlpack.h"
#include "tally/error.h"
#include "tally/metric.h"
#include "tally/metrics/accuracy.h"
#include "tally/metrics/f_score.h"
#include "tally/metrics/functional.h"
#include "tally/metrics/iou.h"
#include "tally/metrics/reduction.h"
#include "tally/parallel.h"
#include "tally/registry.h"
#include "tally/tensor.h"
#include "tally/variables.h"
#include "tally/version.h"
