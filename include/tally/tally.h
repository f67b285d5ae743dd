#pragma once
// Umbrella header: every public tally header.

#include "tally/collection.h"
#include "tally/config.h"
#include "tally/distributed.h"
#include "tally/dlpack.h"
#include "tally/error.h"
#include "tally/metric.h"
#include "tally/metrics/accuracy.h"
#include "tally/metrics/correlation.h"
#include "tally/metrics/functional.h"
#include "tally/metrics/reduction.h"
#include "tally/metrics/regression.h"
#include "tally/parallel.h"
#include "tally/registry.h"
#include "tally/tensor.h"
#include "tally/variables.h"
#include "tally/version.h"
