// The Python extension module ipcx._ipcx (pybind11, over include/ipcx only): what its files
// share. module.cpp defines the module, the exceptions and the message conversions; client.cpp,
// server.cpp and sockets.cpp one family of classes each. Every blocking call releases the GIL
// and waits in slices, taking signals between them, so Ctrl-C interrupts it.
#pragma once

#include <pybind11/pybind11.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "ipcx/ipcx.hpp"

namespace ipcx::python {

namespace py = pybind11;
using Clock = std::chrono::steady_clock;

// How long a blocking call waits with the GIL released before it looks for signals.
inline constexpr std::chrono::milliseconds kSlice{50};

// Frames from Python: bytes-like objects (bytes, bytearray, memoryview, anything with the
// buffer protocol) are copied as they are; str is encoded as UTF-8.
Message message_from(const py::args& frames);
Message message_from_list(const py::handle& frames);
Message message_from(PyObject* const* frames, Py_ssize_t count);
// Raises the ipcx.Error subclass for a C++ ipcx::Error, with its whole message.
void set_python_error(const Error& e);
// A message as a list of bytes.
py::list frames_of(const Message& message);
// A received view as an ipcx.View (a context manager of memoryviews).
py::object view_object(MessageView&& view);

// Raises the Python exception that mirrors `code` (ipcx.Timeout, ipcx.PeerClosed, ...).
[[noreturn]] void raise(Errc code, const char* what);
template <class T>
T take(Result<T>&& r, const char* what) {
  if (!r) raise(r.error(), what);
  return std::move(*r);
}
inline void check(const Result<void>& r, const char* what) {
  if (!r) raise(r.error(), what);
}

// The GIL released for a scope: Py_BEGIN/END_ALLOW_THREADS as an object. pybind11's
// gil_scoped_release looks up its internals first, which a round trip would pay every time.
class Unlocked {
 public:
  Unlocked() noexcept : state_(PyEval_SaveThread()) {}
  ~Unlocked() { PyEval_RestoreThread(state_); }
  Unlocked(const Unlocked&) = delete;
  Unlocked& operator=(const Unlocked&) = delete;

 private:
  PyThreadState* state_;
};

// A Python timeout in seconds (None: without limit) as a deadline.
class Deadline {
 public:
  // `seconds`: None, or a number (int or float) of seconds.
  explicit Deadline(const py::object& seconds);
  bool forever() const noexcept { return forever_; }
  // What is left, at most `slice` (zero once passed). The first slice is known without
  // reading the clock: most waits end within it.
  std::chrono::milliseconds next_slice(std::chrono::milliseconds slice = kSlice);
  bool passed() const noexcept { return !forever_ && Clock::now() >= at_; }
  // The whole wait, for calls that cannot be sliced.
  std::chrono::milliseconds whole() const;

 private:
  bool forever_ = true;
  bool started_ = false;
  std::chrono::milliseconds length_{0};
  Clock::time_point at_{};
};

// Repeats `attempt(slice)` (run without the GIL) until it returns a value, the deadline passes
// (then the last result, a timeout), or a signal handler raises (then that exception).
template <class T, class Attempt>
Result<T> sliced(Deadline& deadline, Attempt&& attempt) {
  for (;;) {
    auto slice = deadline.next_slice();
    Result<T> r = [&] {
      Unlocked unlocked;
      return attempt(slice);
    }();
    if (r.has_value() || r.error() != Errc::timeout || deadline.passed()) return r;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  }
}

// `self` of a method of the bound class T (or a Python subclass of it): the C++ object, found
// without pybind11's cast, which looks the type up by a hash of its name and, for an object
// whose __init__ never ran, lends it fresh uninitialised memory.
template <class T>
T& self_as(py::handle self) {
  static py::detail::type_info* const info = py::detail::get_type_info(typeid(T));
  if (info == nullptr || !PyObject_TypeCheck(self.ptr(), info->type)) {
    throw py::type_error("a method called on the wrong kind of object");
  }
  auto v_h = reinterpret_cast<py::detail::instance*>(self.ptr())->get_value_and_holder(info, false);
  if (!v_h || !v_h.holder_constructed()) {
    throw py::type_error(std::string(Py_TYPE(self.ptr())->tp_name) + ".__init__() has not run");
  }
  return *static_cast<T*>(v_h.value_ptr());
}

// A Python object kept by C++ code that may drop it without the GIL (a callback in a socket's
// options, a handler): released under the GIL whoever lets it go.
std::shared_ptr<py::object> keep(py::object object);

// Hot methods in CPython's vectorcall convention: pybind11's general dispatch (a tuple of the
// arguments, a copy of the keywords, several allocations) cost more instructions than a whole
// C++ round trip underneath. `Body` gets the positional arguments and the `timeout` keyword
// (None when absent); with `takes_frames` false the one positional argument allowed is the
// timeout. Exceptions become Python's as pybind11's own would.
using FastBody = py::object (*)(py::handle self, PyObject* const* frames, Py_ssize_t count,
                                const py::object& timeout);
PyObject* run_fast(FastBody body, bool takes_frames, const char* name, PyObject* self,
                   PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) noexcept;

template <FastBody Body, bool TakesFrames, const char* Name>
PyObject* fast_method(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                      PyObject* kwnames) noexcept {
  return run_fast(Body, TakesFrames, Name, self, args, nargs, kwnames);
}

// The method table entry of such a method.
template <FastBody Body, bool TakesFrames, const char* Name>
PyMethodDef fast_def(const char* doc) {
  return {Name,
          reinterpret_cast<PyCFunction>(
              reinterpret_cast<void (*)()>(fast_method<Body, TakesFrames, Name>)),
          METH_FASTCALL | METH_KEYWORDS, doc};
}

// Replaces the method `def->ml_name` of class `cls` with `def` (static storage).
void add_fast_method(py::handle cls, PyMethodDef* def);

// Options from keyword arguments: every field of the C++ struct by the same name; durations in
// seconds (float), keys as str; unknown names raise TypeError.
ServerOptions server_options(const py::kwargs& kwargs);
ClientOptions client_options(const py::kwargs& kwargs);
SocketOptions socket_options(const py::kwargs& kwargs);
ProxyOptions proxy_options(const py::kwargs& kwargs);

void bind_client(py::module_& m);
void bind_server(py::module_& m);
void bind_sockets(py::module_& m);

}  // namespace ipcx::python
