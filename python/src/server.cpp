// ipcx._ipcx: Server, Request and Responder. Handlers are Python callables run on the server's
// thread with the GIL held; one that raises is answered with an error reply ("ERR ...") and
// counted in stats()["handler_errors"], and the server goes on.
#include <pybind11/stl.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "bindings.hpp"

namespace ipcx::python {
namespace {

class PyResponder {
 public:
  explicit PyResponder(Responder responder) : responder_(std::move(responder)) {}
  void reply(const py::args& frames) {
    Message body = message_from(frames);
    Result<void> r;
    {
      Unlocked unlocked;
      r = responder_.reply(std::move(body));
    }
    check(r, "reply");
  }

 private:
  Responder responder_;
};

// The request a handler is given: valid while the handler runs (respond_later() for after).
class PyRequest {
 public:
  explicit PyRequest(Request* request) : request_(request) {}

  py::list frames() {
    if (!frames_) frames_ = frames_of(get().body());
    return *frames_;
  }
  py::dict peer() {
    const PeerInfo& p = get().peer();
    py::dict d;
    d["mechanism"] = p.mechanism;
    d["pid"] = p.pid;
    d["uid"] = p.uid;
    d["gid"] = p.gid;
    d["address"] = p.address;
    d["curve_key"] = p.curve_key;
    return d;
  }
  void reply(const py::args& frames) { get().reply(message_from(frames)); }
  PyResponder respond_later() { return PyResponder(get().respond_later()); }
  bool answered() { return get().answered(); }
  void end() noexcept { request_ = nullptr; }

 private:
  Request& get() {
    if (request_ == nullptr) {
      throw py::value_error("the request is over: its handler returned (use respond_later())");
    }
    return *request_;
  }
  Request* request_;
  std::optional<py::list> frames_;
};

// What a handler returned, as a reply: bytes-like or str is one frame, a list or tuple is the
// frames. None: the handler replied itself (or will, through a responder).
void reply_with(Request& request, const py::object& result) {
  if (result.is_none() || request.answered()) return;
  if (py::isinstance<py::list>(result) || py::isinstance<py::tuple>(result)) {
    request.reply(message_from_list(result));
  } else {
    request.reply(message_from_list(py::make_tuple(result)));
  }
}

class PyServer {
 public:
  explicit PyServer(const py::kwargs& kwargs) : server_(std::in_place, server_options(kwargs)) {}
  ~PyServer() { close(); }

  std::string bind(const std::string& url) { return get().bind(url).url(); }
  std::string connect(const std::string& url) { return get().connect(url).url(); }

  py::object handler(py::object fn) {
    auto held = keep(fn);
    get().on_request([held](Request& request) {
      py::gil_scoped_acquire locked;
      PyRequest r(&request);
      try {
        py::object result = (*held)(py::cast(&r, py::return_value_policy::reference));
        r.end();
        reply_with(request, result);
      } catch (py::error_already_set& e) {
        r.end();
        // The C++ server answers "ERR <what>" and counts a handler error.
        std::string what = std::string(py::str(e.type().attr("__name__"))) + ": " +
                           std::string(py::str(e.value()));
        throw std::runtime_error(what);
      }
    });
    return fn;
  }

  void start() {
    Server& s = get();
    Unlocked unlocked;
    s.start();
  }

  // Serves until stop() (from another thread or a handler) or a signal handler raises (Ctrl-C:
  // KeyboardInterrupt), which stops the server and propagates.
  void serve_forever() {
    start();
    for (;;) {
      {
        Unlocked unlocked;
        std::unique_lock lock(mutex_);
        stopped_.wait_for(lock, kSlice, [&] { return stop_asked_; });
        if (stop_asked_) break;
      }
      if (PyErr_CheckSignals() != 0) {
        stop();
        throw py::error_already_set();
      }
    }
    stop();
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stop_asked_ = true;
    }
    stopped_.notify_all();
    if (!server_) return;
    Unlocked unlocked;  // the loop may be waiting for the GIL in a handler
    server_->stop();
  }

  void close() {
    if (!server_) return;
    stop();
    Unlocked unlocked;
    server_.reset();
  }

  void run_once(const py::object& timeout) {
    Server& s = get();
    auto wait = timeout.is_none() ? std::chrono::milliseconds(0) : Deadline(timeout).whole();
    Result<void> r;
    {
      Unlocked unlocked;
      r = s.run_once(wait);
    }
    check(r, "run_once");
  }

  py::dict stats() {
    auto s = get().stats();
    py::dict d;
    d["accepted"] = s.accepted;
    d["open"] = s.open;
    d["rejected"] = s.rejected;
    d["requests"] = s.requests;
    d["replies"] = s.replies;
    d["handler_errors"] = s.handler_errors;
    d["peer_faults"] = s.peer_faults;
    d["dropped_replies"] = s.dropped_replies;
    d["dropped_input"] = s.dropped_input;
    return d;
  }
  int fd() { return get().fd(); }

 private:
  Server& get() {
    if (!server_) throw py::value_error("the server is closed");
    return *server_;
  }

  std::optional<Server> server_;
  std::mutex mutex_;
  std::condition_variable stopped_;
  bool stop_asked_ = false;
};

}  // namespace

void bind_server(py::module_& m) {
  py::class_<PyResponder>(m, "Responder", "Answers a request after its handler returned.")
      .def("reply", &PyResponder::reply, "Sends the reply (thread-safe).");

  py::class_<PyRequest>(m, "Request", "A request, valid while its handler runs.")
      .def_property_readonly("frames", &PyRequest::frames, "The frames, as a list of bytes.")
      .def_property_readonly("peer", &PyRequest::peer,
                             "Who sent it: mechanism, pid, uid, gid, address, curve_key.")
      .def("reply", &PyRequest::reply, "Answers with these frames.")
      .def("respond_later", &PyRequest::respond_later,
           "A Responder to answer after the handler returns, from any thread.")
      .def_property_readonly("answered", &PyRequest::answered);

  py::class_<PyServer>(m, "Server", "Request/reply server (a ROUTER on the wire).")
      .def(py::init<const py::kwargs&>())
      .def("bind", &PyServer::bind, py::arg("url"), "Binds; returns the bound URL.")
      .def("connect", &PyServer::connect, py::arg("url"),
           "Serves what arrives on a connection made out to url (a broker's backend).")
      .def("handler", &PyServer::handler, py::arg("fn"),
           "Sets the handler (usable as a decorator): fn(request) replies, or returns the reply.")
      .def("start", &PyServer::start, "Serves on a thread of its own.")
      .def("serve_forever", &PyServer::serve_forever,
           "Serves until stop() or Ctrl-C (which stops the server and raises).")
      .def("stop", &PyServer::stop, "Stops serving (thread-safe, idempotent).")
      .def("close", &PyServer::close)
      .def("run_once", &PyServer::run_once, py::arg("timeout") = py::none(),
           "One turn of the loop, for a caller's own event loop.")
      .def("stats", &PyServer::stats)
      .def("fileno", &PyServer::fd)
      .def("__enter__", [](PyServer& s) -> PyServer& { return s; })
      .def("__exit__", [](PyServer& s, const py::args&) { s.close(); });
}

}  // namespace ipcx::python
