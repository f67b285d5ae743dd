// The compiled core of the tally Python package. Each layer binds itself in its own file.
#include "arrays.h"
#include "bindings.h"

PYBIND11_MODULE(_tally, m) {
  m.doc() = "tally's compiled core; import tally instead";
  tally::python::bind_errors(m);
  tally::python::bind_tensor(m);
  tally::python::bind_metric(m);
  tally::python::bind_distributed(m);
  tally::python::bind_collection(m);
  tally::python::bind_selection(m);
  tally::python::bind_ops(m);
  tally::python::bind_privacy(m);
  tally::python::bind_state_file(m);
  tally::python::bind_sliced(m);
}
