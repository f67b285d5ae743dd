#pragma once
// Umbrella header: every public tally header.

#include "tally/config.h"
#include "tally/dlpack.h"
#include "tally/error.h"
#include "tally/metric.h"
#include "tally/metrics/hinge.h"
#include "tally/metrics/probabilistic.h"
#include "tally/metrics/reduction.h"
#include "tally/parallel.h"
#include "tally/registry.h"
#include "tally/tensor.h"
#include "tally/variables.h"
#include "tally/version.h"
