// ipcx._ipcx: the module, its exceptions, message conversions, deadlines and options.
#include <pybind11/stl.h>

#include <array>
#include <string>
#include <utility>

#include "bindings.hpp"

namespace ipcx::python {
namespace {

// One exception class per Errc, all under ipcx.Error; filled when the module loads.
constexpr std::size_t kCodes = static_cast<std::size_t>(Errc::auth_failed) + 1;
std::array<PyObject*, kCodes> exception_for{};

struct ExceptionName {
  Errc code;
  const char* name;
  PyObject* builtin;  // a standard exception it also derives from, or null
  const char* doc;
};

void add_exceptions(py::module_& m) {
  PyObject* base = PyErr_NewExceptionWithDoc(
      "ipcx.Error", "Base of every ipcx error; .code names it as ipcx::Errc does.", PyExc_Exception,
      nullptr);
  m.add_object("Error", py::handle(base));
  exception_for[0] = base;
  const ExceptionName names[] = {
      {Errc::timeout, "Timeout", PyExc_TimeoutError, "The deadline passed; it may be retried."},
      {Errc::would_block, "WouldBlock", nullptr, "A non-blocking call could make no progress."},
      {Errc::peer_closed, "PeerClosed", PyExc_ConnectionError,
       "The other side went away; requests in flight are lost, not re-sent."},
      {Errc::refused, "Refused", PyExc_ConnectionError,
       "Nobody accepted the connection, or the handshake was refused."},
      {Errc::message_too_large, "MessageTooLarge", nullptr, "Above a size limit."},
      {Errc::protocol_violation, "ProtocolViolation", nullptr, "The peer broke the protocol."},
      {Errc::bad_endpoint, "BadEndpoint", PyExc_ValueError, "The URL is malformed."},
      {Errc::not_supported, "NotSupported", nullptr, "Valid, but not supported here."},
      {Errc::permission_denied, "PermissionDenied", PyExc_PermissionError, "Access refused."},
      {Errc::address_in_use, "AddressInUse", nullptr, "A live server owns the address."},
      {Errc::resource_exhausted, "ResourceExhausted", nullptr, "Out of a resource or limit."},
      {Errc::cancelled, "Cancelled", nullptr, "The server stopped before answering."},
      {Errc::io_error, "IoError", PyExc_OSError, "Another OS failure."},
      {Errc::auth_failed, "AuthFailed", nullptr, "CURVE: the keys do not match."},
  };
  for (const auto& n : names) {
    py::tuple bases = n.builtin != nullptr ? py::make_tuple(py::handle(base), py::handle(n.builtin))
                                           : py::make_tuple(py::handle(base));
    std::string qualified = std::string("ipcx.") + n.name;
    PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), n.doc, bases.ptr(), nullptr);
    if (type == nullptr) throw py::error_already_set();
    py::handle(type).attr("code") = std::string(to_string(n.code));
    m.add_object(n.name, py::handle(type));
    exception_for[static_cast<std::size_t>(n.code)] = type;
  }
  py::handle(base).attr("code") = "error";
}

// A frame from a Python object, appended to `message`.
void add_frame(Message& message, const py::handle& frame) {
  if (PyUnicode_Check(frame.ptr())) {
    Py_ssize_t size = 0;
    const char* text = PyUnicode_AsUTF8AndSize(frame.ptr(), &size);
    if (text == nullptr) throw py::error_already_set();
    message.add(std::string_view(text, static_cast<std::size_t>(size)));
    return;
  }
  if (PyBytes_CheckExact(frame.ptr())) {  // the usual frame, without the buffer protocol
    message.add(std::span(reinterpret_cast<const std::byte*>(PyBytes_AS_STRING(frame.ptr())),
                          static_cast<std::size_t>(PyBytes_GET_SIZE(frame.ptr()))));
    return;
  }
  Py_buffer view;
  if (PyObject_GetBuffer(frame.ptr(), &view, PyBUF_C_CONTIGUOUS) != 0) {
    PyErr_Clear();
    throw py::type_error("a frame must be bytes-like or str, not " +
                         std::string(py::str(frame.get_type().attr("__name__"))));
  }
  message.add(
      std::span(static_cast<const std::byte*>(view.buf), static_cast<std::size_t>(view.len)));
  PyBuffer_Release(&view);
}

std::chrono::milliseconds ms_of(const py::handle& seconds) {
  if (seconds.is_none()) return std::chrono::milliseconds(-1);
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds.cast<double>() * 1000.0));
}

std::vector<std::uint32_t> uids_of(const py::handle& value) {
  return value.cast<std::vector<std::uint32_t>>();
}

// Sets the fields every options struct has; false for a name it does not know.
template <class O>
bool set_common(O& o, const std::string& name, const py::handle& value) {
  if (name == "max_message_size") {
    o.max_message_size = value.cast<std::size_t>();
  } else if (name == "max_queued_bytes") {
    o.max_queued_bytes = value.cast<std::size_t>();
  } else if (name == "spin") {
    o.spin = std::chrono::microseconds(static_cast<std::int64_t>(value.cast<double>() * 1e6));
  } else if (name == "handshake_timeout") {
    o.handshake_timeout = ms_of(value);
  } else if (name == "heartbeat") {
    o.heartbeat = ms_of(value);
  } else if (name == "server_uids") {
    o.server_uids = uids_of(value);
  } else if (name == "curve_secret_key") {
    o.security.curve_secret_key = value.cast<std::string>();
  } else if (name == "curve_server_key") {
    o.security.curve_server_key = value.cast<std::string>();
  } else if (name == "curve_allow") {
    o.security.curve_allow = value.cast<std::vector<std::string>>();
  } else if (name == "curve_allow_any") {
    o.security.curve_allow_any = value.cast<bool>();
  } else if (name == "log") {
    auto log = keep(py::reinterpret_borrow<py::object>(value));
    o.log = [log](std::string_view line) {
      py::gil_scoped_acquire locked;
      try {
        (*log)(py::str(line.data(), line.size()));
      } catch (py::error_already_set& e) {
        e.discard_as_unraisable("ipcx log callback");
      }
    };
  } else if (name == "on_event") {
    auto on_event = keep(py::reinterpret_borrow<py::object>(value));
    o.on_event = [on_event](const ConnectionEvent& e) {
      py::gil_scoped_acquire locked;
      try {
        py::dict event;
        event["kind"] = std::string(to_string(e.kind));
        event["endpoint"] = e.endpoint;
        event["peer"] = e.peer;
        event["pid"] = e.pid;
        event["reason"] = e.reason;
        event["error"] = std::string(to_string(e.error));
        (*on_event)(event);
      } catch (py::error_already_set& err) {
        err.discard_as_unraisable("ipcx on_event callback");
      }
    };
  } else {
    return false;
  }
  return true;
}

// The fields of sockets that bind (Server, the one-way sockets): false for another name.
template <class O>
bool set_binding(O& o, const std::string& name, const py::handle& value) {
  if (name == "shm_ring_bytes") {
    o.shm_ring_bytes = value.cast<std::size_t>();
  } else if (name == "file_mode") {
    o.file_mode = value.cast<std::uint32_t>();
  } else if (name == "allow_uids") {
    o.allow_uids = uids_of(value);
  } else {
    return false;
  }
  return true;
}

// The fields of sockets that dial (Client, the one-way sockets): false for another name.
template <class O>
bool set_dialling(O& o, const std::string& name, const py::handle& value) {
  if (name == "reconnect_min") {
    o.reconnect_min = ms_of(value);
  } else if (name == "reconnect_max") {
    o.reconnect_max = ms_of(value);
  } else {
    return false;
  }
  return true;
}

[[noreturn]] void unknown(const std::string& name) {
  throw py::type_error("unknown option '" + name + "'");
}

}  // namespace

std::shared_ptr<py::object> keep(py::object object) {
  return std::shared_ptr<py::object>(new py::object(std::move(object)), [](py::object* o) {
    py::gil_scoped_acquire locked;
    delete o;
  });
}

Message message_from(PyObject* const* frames, Py_ssize_t count) {
  Message message;
  for (Py_ssize_t i = 0; i < count; ++i) add_frame(message, py::handle(frames[i]));
  return message;
}

PyObject* run_fast(FastBody body, bool takes_frames, const char* name, PyObject* self,
                   PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) noexcept {
  try {
    // Keyword names are usually interned: most calls match by pointer.
    static PyObject* const timeout_name = PyUnicode_InternFromString("timeout");
    py::object timeout = py::none();
    Py_ssize_t positional = nargs;
    if (!takes_frames && nargs > 0) {
      if (nargs > 1) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most one argument, the timeout", name);
        return nullptr;
      }
      timeout = py::reinterpret_borrow<py::object>(args[0]);
      nargs = 0;
    }
    Py_ssize_t keywords = kwnames == nullptr ? 0 : PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t i = 0; i < keywords; ++i) {
      PyObject* keyword = PyTuple_GET_ITEM(kwnames, i);
      if (keyword != timeout_name && PyUnicode_CompareWithASCIIString(keyword, "timeout") != 0) {
        PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'", name,
                     keyword);
        return nullptr;
      }
      if (!takes_frames && positional > 0) {
        PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument 'timeout'", name);
        return nullptr;
      }
      timeout = py::reinterpret_borrow<py::object>(args[positional + i]);
    }
    return body(py::handle(self), args, nargs, timeout).release().ptr();
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (const py::cast_error&) {
    PyErr_Format(PyExc_TypeError, "%s() called on the wrong kind of object", name);
  } catch (const py::builtin_exception& e) {
    e.set_error();
  } catch (const Error& e) {
    set_python_error(e);
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return nullptr;
}

void add_fast_method(py::handle cls, PyMethodDef* def) {
  py::object method = py::reinterpret_steal<py::object>(
      PyDescr_NewMethod(reinterpret_cast<PyTypeObject*>(cls.ptr()), def));
  if (!method) throw py::error_already_set();
  cls.attr(def->ml_name) = method;
}

void set_python_error(const Error& e) {
  auto i = static_cast<std::size_t>(e.errc());
  PyErr_SetString(i < kCodes && exception_for[i] != nullptr ? exception_for[i] : exception_for[0],
                  e.what());
}

Message message_from(const py::args& frames) {
  Message message;
  for (const auto& frame : frames) add_frame(message, frame);
  return message;
}

Message message_from_list(const py::handle& frames) {
  Message message;
  for (const auto& frame : frames) add_frame(message, frame);
  return message;
}

py::list frames_of(const Message& message) {
  auto count = static_cast<Py_ssize_t>(message.size());
  auto frames = py::reinterpret_steal<py::list>(PyList_New(count));
  if (!frames) throw py::error_already_set();
  for (Py_ssize_t i = 0; i < count; ++i) {
    auto f = message.frame(static_cast<std::size_t>(i));
    PyObject* bytes = PyBytes_FromStringAndSize(reinterpret_cast<const char*>(f.data()),
                                                static_cast<Py_ssize_t>(f.size()));
    if (bytes == nullptr) throw py::error_already_set();
    PyList_SET_ITEM(frames.ptr(), i, bytes);  // steals it
  }
  return frames;
}

void raise(Errc code, const char* what) {
  auto i = static_cast<std::size_t>(code);
  PyObject* type = i < kCodes && exception_for[i] != nullptr ? exception_for[i] : exception_for[0];
  PyErr_SetString(type, (std::string(what) + ": " + std::string(to_string(code))).c_str());
  throw py::error_already_set();
}

Deadline::Deadline(const py::object& timeout) {
  if (timeout.is_none()) return;
  double seconds = PyFloat_AsDouble(timeout.ptr());  // ints too, without a float object
  if (seconds == -1.0 && PyErr_Occurred() != nullptr) throw py::error_already_set();
  if (!(seconds >= 0)) throw py::value_error("timeout must be None or >= 0");
  forever_ = false;
  auto length = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  length_ = std::chrono::ceil<std::chrono::milliseconds>(length);
  at_ = Clock::now() + length;
}

std::chrono::milliseconds Deadline::next_slice(std::chrono::milliseconds slice) {
  if (forever_) return slice;
  if (!std::exchange(started_, true)) return length_ < slice ? length_ : slice;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(at_ - Clock::now());
  if (left.count() < 0) return std::chrono::milliseconds(0);
  return left < slice ? left : slice;
}

std::chrono::milliseconds Deadline::whole() const {
  constexpr std::chrono::milliseconds kYears{std::int64_t{50} * 365 * 24 * 3600 * 1000};
  if (forever_) return kYears;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(at_ - Clock::now());
  return left.count() < 0 ? std::chrono::milliseconds(0) : left;
}

ServerOptions server_options(const py::kwargs& kwargs) {
  ServerOptions o;
  for (const auto& [key, value] : kwargs) {
    auto name = key.cast<std::string>();
    if (set_common(o, name, value) || set_binding(o, name, value)) continue;
    if (name == "max_connections") {
      o.max_connections = value.cast<std::size_t>();
    } else if (name == "workers") {
      o.workers = value.cast<unsigned>();
    } else if (name == "stop_grace") {
      o.stop_grace = ms_of(value);
    } else {
      unknown(name);
    }
  }
  return o;
}

ClientOptions client_options(const py::kwargs& kwargs) {
  ClientOptions o;
  for (const auto& [key, value] : kwargs) {
    auto name = key.cast<std::string>();
    if (set_common(o, name, value) || set_dialling(o, name, value)) continue;
    if (name == "envelope") {
      auto e = value.cast<std::string>();
      if (e == "automatic") {
        o.envelope = RequestEnvelope::automatic;
      } else if (e == "request_ids") {
        o.envelope = RequestEnvelope::request_ids;
      } else if (e == "plain") {
        o.envelope = RequestEnvelope::plain;
      } else {
        throw py::value_error("envelope must be 'automatic', 'request_ids' or 'plain'");
      }
    } else {
      unknown(name);
    }
  }
  return o;
}

SocketOptions socket_options(const py::kwargs& kwargs) {
  SocketOptions o;
  for (const auto& [key, value] : kwargs) {
    auto name = key.cast<std::string>();
    if (set_common(o, name, value) || set_binding(o, name, value) || set_dialling(o, name, value)) {
      continue;
    }
    if (name == "hwm") {
      o.hwm = value.cast<std::size_t>();
    } else if (name == "lossless") {
      o.lossless = value.cast<bool>();
    } else if (name == "linger") {
      o.linger = ms_of(value);
    } else if (name == "max_peers") {
      o.max_peers = value.cast<std::size_t>();
    } else if (name == "batch_bytes") {
      o.batch_bytes = value.cast<std::size_t>();
    } else {
      unknown(name);
    }
  }
  return o;
}

ProxyOptions proxy_options(const py::kwargs& kwargs) {
  ProxyOptions o;
  for (const auto& [key, value] : kwargs) {
    auto name = key.cast<std::string>();
    if (name == "max_message_size") {
      o.max_message_size = value.cast<std::size_t>();
    } else if (name == "max_held") {
      o.max_held = value.cast<std::size_t>();
    } else if (name == "hwm") {
      o.hwm = value.cast<std::size_t>();
    } else if (name == "heartbeat") {
      o.heartbeat = ms_of(value);
    } else if (name == "handshake_timeout") {
      o.handshake_timeout = ms_of(value);
    } else if (name == "server_uids") {
      o.server_uids = uids_of(value);
    } else {
      unknown(name);
    }
  }
  return o;
}

}  // namespace ipcx::python

PYBIND11_MODULE(_ipcx, m) {
  using namespace ipcx::python;
  m.doc() = "ipcx: one API for every Linux IPC mechanism (the compiled part of the package)";
  m.attr("__version__") = ipcx::kVersionString;
  add_exceptions(m);
  // Setup calls throw ipcx::Error: raise the matching Python class with its whole message.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ipcx::Error& e) {
      set_python_error(e);
    }
  });
  m.def(
      "curve_key_pair",
      [] {
        auto pair = ipcx::curve_key_pair();
        return py::make_tuple(pair.public_key, pair.secret_key);
      },
      "A new CURVE key pair, (public, secret), each 40 Z85 characters.");
  bind_client(m);
  bind_server(m);
  bind_sockets(m);
}
