#include <dlpack/dlpack.h>

#include "arrays.h"
#include "tally/dlpack.h"

namespace tally::python {
namespace {

std::optional<DType> dtype_of_numpy(const py::dtype& dt) {
  const char kind = dt.kind();
  const auto size = dt.itemsize();
  if (kind == 'b' && size == 1) return DType::kBool;
  if (kind == 'u' && size == 1) return DType::kUInt8;
  if (kind == 'i' && size == 4) return DType::kInt32;
  if (kind == 'i' && size == 8) return DType::kInt64;
  if (kind == 'f' && size == 2) return DType::kFloat16;
  if (kind == 'f' && size == 4) return DType::kFloat32;
  if (kind == 'f' && size == 8) return DType::kFloat64;
  return std::nullopt;
}

bool native_byte_order(const py::dtype& dt) {
  const char order = py::cast<std::string>(dt.attr("byteorder"))[0];
  return order == '=' || order == '|' || (order == '<') == (std::endian::native == std::endian::little);
}

TensorView view_of_numpy(const py::array& array) {
  const py::dtype dt = array.dtype();
  const std::optional<DType> dtype = dtype_of_numpy(dt);
  if (!dtype) {
    throw DTypeError("unsupported numpy dtype " + py::cast<std::string>(py::str(static_cast<py::handle>(dt))));
  }
  Shape shape(array.shape(), array.shape() + array.ndim());
  Shape strides(static_cast<std::size_t>(array.ndim()));
  const auto item = static_cast<py::ssize_t>(dtype_size(*dtype));
  for (py::ssize_t i = 0; i < array.ndim(); ++i) {
    strides[static_cast<std::size_t>(i)] = array.strides(i) / item;
  }
  return TensorView(array.data(), *dtype, std::move(shape), std::move(strides));
}

}  // namespace

ArrayArg to_view(py::handle object, const char* argument) {
  ArrayArg out;
  if (object.is_none()) return out;
  // DLPack producers that are not numpy arrays (torch, jax, cupy on host).
  py::object exported;
  if (!py::isinstance<py::array>(object) && py::hasattr(object, "__dlpack__")) {
    try {
      exported = object.attr("__dlpack__")();
    } catch (const py::error_already_set&) {
      // The producer cannot export this dtype (torch 1.13 refuses bool): read it through
      // numpy below instead (torch tensors have __array__).
    }
  }
  if (exported) {
    py::capsule capsule = py::reinterpret_borrow<py::capsule>(exported);
    auto* managed = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(capsule.ptr(), "dltensor"));
    if (managed == nullptr) {
      PyErr_Clear();
      throw InvalidArgument(std::string("argument `") + argument + "`: __dlpack__ returned an invalid capsule");
    }
    // The capsule's memory now belongs to us: rename it so the producer does not free it too.
    PyCapsule_SetName(capsule.ptr(), "used_dltensor");
    out.owned = from_dlpack(managed);
    out.view = out.owned.view();
    out.keep_alive = py::reinterpret_borrow<py::object>(object);
    return out;
  }
  if (py::isinstance<py::array>(object)) {
    // numpy subclasses: a masked array's data would be read with the masked values in it.
    static PyTypeObject* const ndarray =
        reinterpret_cast<PyTypeObject*>(py::object(py::module_::import("numpy").attr("ndarray")).release().ptr());
    if (Py_TYPE(object.ptr()) != ndarray && py::hasattr(object, "mask")) {
      throw InvalidArgument(std::string("argument `") + argument +
                            "`: numpy masked arrays are not read (the mask would be ignored); pass "
                            "a.compressed() for the kept values, or a.filled(v) and sample_weight=~a.mask");
    }
  } else if (PyIter_Check(object.ptr())) {
    throw InvalidArgument(std::string("argument `") + argument + "`: a generator is not an array (received " +
                          py::cast<std::string>(py::str(py::type::of(object).attr("__name__"))) +
                          "); pass a list or a numpy array, e.g. list(values)");
  }
  py::module_ np = py::module_::import("numpy");
  py::object array_obj =
      py::isinstance<py::array>(object) ? py::reinterpret_borrow<py::object>(object) : np.attr("asarray")(object);
  py::array array = py::reinterpret_borrow<py::array>(array_obj);
  const py::dtype dt = array.dtype();
  const bool item_strides = [&] {
    for (py::ssize_t i = 0; i < array.ndim(); ++i) {
      if (array.strides(i) % static_cast<py::ssize_t>(std::max<py::ssize_t>(dt.itemsize(), 1)) != 0) return false;
    }
    return true;
  }();
  if (!dtype_of_numpy(dt)) {
    // Widen what tally does not read directly: int8/int16/uint16+ to int64, object
    // arrays of numbers to float64.
    const char kind = dt.kind();
    const char* target = kind == 'b' ? "bool" : (kind == 'i' || kind == 'u') ? "int64" : "float64";
    try {
      array_obj = np.attr("ascontiguousarray")(array, py::arg("dtype") = target);
    } catch (const py::error_already_set&) {
      throw DTypeError(std::string("argument `") + argument + "`: cannot convert numpy dtype " +
                       py::cast<std::string>(py::str(static_cast<py::handle>(dt))) + " to a number type");
    }
  } else if (!native_byte_order(dt)) {
    array_obj = np.attr("ascontiguousarray")(array, py::arg("dtype") = dt.attr("newbyteorder")("="));
  } else if (!item_strides) {
    array_obj = np.attr("ascontiguousarray")(array);
  }
  array = py::reinterpret_borrow<py::array>(array_obj);
  out.view = view_of_numpy(array);
  out.keep_alive = array_obj;
  return out;
}

py::array to_numpy(const Tensor& tensor) {
  const Tensor& t = tensor;
  py::array out;
  if (t.dtype() == DType::kInt64) {
    py::array_t<std::int64_t> a(t.shape());
    std::copy_n(t.data_as<std::int64_t>(), t.numel(), a.mutable_data());
    out = a;
  } else {
    py::array_t<double> a(t.shape());
    const std::vector<double> values = t.to_doubles();
    std::copy(values.begin(), values.end(), a.mutable_data());
    out = a;
  }
  return out;
}

py::object result_to_python(const Tensor& tensor) {
  if (tensor.ndim() == 0) return py::float_(tensor.item());
  return to_numpy(tensor);
}

void bind_tensor(py::module_& m) {
  m.def(
      "_as_numpy_view",
      [](py::handle obj) {
        ArrayArg arg = to_view(obj, "value");
        const Tensor copy = Tensor::copy_of(arg.view);
        return to_numpy(Tensor::from_vector(copy.to_doubles(), copy.shape().empty() ? Shape{1} : copy.shape()));
      },
      "Test helper: how tally reads an array (as float64).");
}

}  // namespace tally::python
