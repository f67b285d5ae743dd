// tally's C++ errors as Python exceptions: each class also derives from the built-in
// Python exception users would catch (ShapeError is a ValueError, DTypeError a TypeError).
#include "bindings.h"

#include "tally/error.h"

namespace tally::python {
namespace {

PyObject* make(py::module_& m, const char* name, PyObject* bases, const char* doc) {
  const std::string qualified = std::string("tally.") + name;
  PyObject* cls = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases, nullptr);
  if (cls == nullptr) throw py::error_already_set();
  m.add_object(name, py::handle(cls));
  return cls;
}

PyObject* tuple(std::initializer_list<PyObject*> items) {
  PyObject* t = PyTuple_New(static_cast<Py_ssize_t>(items.size()));
  Py_ssize_t i = 0;
  for (PyObject* item : items) {
    Py_INCREF(item);
    PyTuple_SET_ITEM(t, i++, item);
  }
  return t;
}

}  // namespace

void bind_errors(py::module_& m) {
  static PyObject* error = make(m, "Error", tuple({PyExc_Exception}), "Base of every tally error.");
  static PyObject* invalid = make(m, "InvalidArgument", tuple({error, PyExc_ValueError}), "An argument is invalid.");
  static PyObject* shape = make(m, "ShapeError", tuple({invalid}), "Shapes do not agree.");
  static PyObject* dtype = make(m, "DTypeError", tuple({invalid, PyExc_TypeError}), "A dtype is not accepted.");
  static PyObject* config = make(m, "ConfigError", tuple({invalid}), "A config or spec is malformed.");
  static PyObject* state = make(m, "StateError", tuple({error, PyExc_ValueError}), "A state does not match.");
  static PyObject* io = make(m, "IOError", tuple({error, PyExc_OSError}), "A file could not be read or written.");
  static PyObject* distributed =
      make(m, "DistributedError", tuple({error, PyExc_RuntimeError}), "A collective operation failed.");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ShapeError& e) {
      PyErr_SetString(shape, e.what());
    } catch (const DTypeError& e) {
      PyErr_SetString(dtype, e.what());
    } catch (const ConfigError& e) {
      PyErr_SetString(config, e.what());
    } catch (const InvalidArgument& e) {
      PyErr_SetString(invalid, e.what());
    } catch (const StateError& e) {
      PyErr_SetString(state, e.what());
    } catch (const IOError& e) {
      PyErr_SetString(io, e.what());
    } catch (const DistributedError& e) {
      PyErr_SetString(distributed, e.what());
    } catch (const Error& e) {
      PyErr_SetString(error, e.what());
    }
  });
}

}  // namespace tally::python
