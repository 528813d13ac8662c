// ipcx._ipcx: Pusher, Puller, Publisher, Subscriber and Proxy. The four sockets share their
// making, binding, connecting, stats and closing, written once over the C++ class.
#include <pybind11/stl.h>

#include "bindings.hpp"

namespace ipcx::python {
namespace {

py::dict stats_dict(const SocketStats& s) {
  py::dict d;
  d["peers"] = s.peers;
  d["ready"] = s.ready;
  d["messages"] = s.messages;
  d["bytes"] = s.bytes;
  d["dropped"] = s.dropped;
  d["peer_faults"] = s.peer_faults;
  d["rejected"] = s.rejected;
  d["lost"] = s.lost;
  return d;
}

template <class Socket>
class PySocket {
 public:
  explicit PySocket(const py::kwargs& kwargs) : socket_(std::in_place, socket_options(kwargs)) {}
  ~PySocket() { close(); }

  std::string bind(const std::string& url) { return get().bind(url).url(); }
  void connect(const std::string& url) { get().connect(url); }
  py::dict stats() { return stats_dict(get().stats()); }
  int fd() { return get().fd(); }
  void close() {
    if (!socket_) return;
    Unlocked unlocked;  // a Pusher or Publisher lingers to flush
    socket_.reset();
  }

 protected:
  Socket& get() {
    if (!socket_) throw py::value_error("the socket is closed");
    return *socket_;
  }
  // Waits in slices until flush() says everything left; false at the deadline.
  bool flush_until(const py::object& timeout) {
    Deadline deadline(timeout);
    Socket& s = get();
    auto r = sliced<bool>(deadline, [&](std::chrono::milliseconds slice) -> Result<bool> {
      if (s.flush(slice)) return true;
      return unexpected(Errc::timeout);
    });
    return r.has_value();
  }
  std::optional<Socket> socket_;
};

class PyPusher : public PySocket<Pusher> {
 public:
  using PySocket::PySocket;
  void send_message(const Message& message, const py::object& timeout) {
    Deadline deadline(timeout);
    Pusher& p = get();
    auto r = sliced<bool>(deadline, [&](std::chrono::milliseconds slice) -> Result<bool> {
      auto sent = p.send(message, slice);
      if (!sent) return unexpected(sent.error());
      return true;
    });
    (void)take(std::move(r), "send");
  }
  bool flush(const py::object& timeout) { return flush_until(timeout); }
};

// A receive in slices, for Puller and Subscriber.
template <class Socket>
py::list receive_from(Socket& s, const py::object& timeout) {
  Deadline deadline(timeout);
  Message message;
  auto r = sliced<bool>(deadline, [&](std::chrono::milliseconds slice) -> Result<bool> {
    auto got = s.receive(message, slice);
    if (!got) return unexpected(got.error());
    return true;
  });
  (void)take(std::move(r), "receive");
  return frames_of(message);
}

class PyPuller : public PySocket<Puller> {
 public:
  using PySocket::PySocket;
  py::list receive(const py::object& timeout) { return receive_from(get(), timeout); }
  py::object receive_view(const py::object& timeout) {
    Deadline deadline(timeout);
    Puller& p = get();
    std::optional<MessageView> view;
    auto r = sliced<bool>(deadline, [&](std::chrono::milliseconds slice) -> Result<bool> {
      auto got = p.receive_view(slice);
      if (!got) return unexpected(got.error());
      view.emplace(std::move(*got));
      return true;
    });
    (void)take(std::move(r), "receive_view");
    return view_object(std::move(*view));
  }
};

class PyPublisher : public PySocket<Publisher> {
 public:
  using PySocket::PySocket;
  std::size_t publish_message(const Message& message) {
    Publisher& p = get();
    Result<std::size_t> r = unexpected(Errc::io_error);
    {
      Unlocked unlocked;
      r = p.publish(message);
    }
    return take(std::move(r), "publish");
  }
  void poll() {
    Publisher& p = get();
    Unlocked unlocked;
    p.poll();
  }
  bool flush(const py::object& timeout) { return flush_until(timeout); }
  std::size_t subscribers() { return get().subscribers(); }
};

std::string topic_of(const py::handle& topic) {
  if (PyUnicode_Check(topic.ptr())) return topic.cast<std::string>();
  return std::string(topic.cast<py::bytes>());
}

class PySubscriber : public PySocket<Subscriber> {
 public:
  using PySocket::PySocket;
  void subscribe(const py::object& topic) { get().subscribe(topic_of(topic)); }
  void unsubscribe(const py::object& topic) { get().unsubscribe(topic_of(topic)); }
  py::list receive(const py::object& timeout) { return receive_from(get(), timeout); }
  std::uint64_t gap() { return get().gap(); }
};

ProxyPattern pattern_of(const std::string& name) {
  if (name == "request_reply") return ProxyPattern::request_reply;
  if (name == "pipeline") return ProxyPattern::pipeline;
  if (name == "publish_subscribe") return ProxyPattern::publish_subscribe;
  throw py::value_error("pattern must be 'request_reply', 'pipeline' or 'publish_subscribe'");
}

class PyProxy {
 public:
  PyProxy(const std::string& pattern, const py::kwargs& kwargs) {
    ProxyOptions o = proxy_options(kwargs);
    o.pattern = pattern_of(pattern);
    proxy_.emplace(std::move(o));
  }
  ~PyProxy() { close(); }
  std::string bind_frontend(const std::string& url) { return get().bind_frontend(url).url(); }
  void connect_frontend(const std::string& url) { get().connect_frontend(url); }
  std::string bind_backend(const std::string& url) { return get().bind_backend(url).url(); }
  void connect_backend(const std::string& url) { get().connect_backend(url); }
  std::string bind_capture(const std::string& url) { return get().bind_capture(url).url(); }
  void start() {
    Proxy& p = get();
    Unlocked unlocked;
    p.start();
  }
  void stop() {
    if (!proxy_) return;
    Unlocked unlocked;
    proxy_->stop();
  }
  void close() {
    stop();
    Unlocked unlocked;
    proxy_.reset();
  }
  py::dict stats() {
    auto s = get().stats();
    py::dict d;
    d["to_backend"] = s.to_backend;
    d["to_frontend"] = s.to_frontend;
    d["dropped"] = s.dropped;
    d["captured"] = s.captured;
    return d;
  }

 private:
  Proxy& get() {
    if (!proxy_) throw py::value_error("the proxy is closed");
    return *proxy_;
  }
  std::optional<Proxy> proxy_;
};

template <class Wrapper>
py::class_<Wrapper> socket_class(py::module_& m, const char* name, const char* doc) {
  return py::class_<Wrapper>(m, name, doc)
      .def(py::init<const py::kwargs&>())
      .def("bind", &Wrapper::bind, py::arg("url"), "Binds; returns the bound URL.")
      .def("connect", &Wrapper::connect, py::arg("url"))
      .def("stats", &Wrapper::stats)
      .def("fileno", &Wrapper::fd)
      .def("close", &Wrapper::close)
      .def("__enter__", [](Wrapper& w) -> Wrapper& { return w; })
      .def("__exit__", [](Wrapper& w, const py::args&) { w.close(); });
}

}  // namespace

// The hot paths, past pybind11's general dispatch (see fast_method()).
py::object fast_push(py::handle self, PyObject* const* frames, Py_ssize_t count,
                     const py::object& timeout) {
  self_as<PyPusher>(self).send_message(message_from(frames, count), timeout);
  return py::none();
}
py::object fast_publish(py::handle self, PyObject* const* frames, Py_ssize_t count,
                        const py::object&) {
  return py::int_(self_as<PyPublisher>(self).publish_message(message_from(frames, count)));
}
template <class Wrapper>
py::object fast_receive(py::handle self, PyObject* const*, Py_ssize_t, const py::object& timeout) {
  return self_as<Wrapper>(self).receive(timeout);
}

constexpr char kSend[] = "send";
constexpr char kPublish[] = "publish";
constexpr char kReceive[] = "receive";
PyMethodDef push_def = fast_def<fast_push, true, kSend>(
    "send(*frames, timeout=None)\n\nQueues one message of these frames, waiting while every "
    "puller is full.");
PyMethodDef publish_def = fast_def<fast_publish, true, kPublish>(
    "publish(*frames) -> int\n\nPublishes one message; how many subscribers took it.");
PyMethodDef pull_def = fast_def<fast_receive<PyPuller>, false, kReceive>(
    "receive(timeout=None) -> list[bytes]\n\nThe next message.");
PyMethodDef subscribed_def = fast_def<fast_receive<PySubscriber>, false, kReceive>(
    "receive(timeout=None) -> list[bytes]\n\nThe next matching message.");

void bind_sockets(py::module_& m) {
  socket_class<PyPusher>(m, "Pusher", "Sends messages round robin to pullers (PUSH).")
      .def("flush", &PyPusher::flush, py::arg("timeout") = py::none(),
           "Waits until everything queued has left; False at the timeout.");
  socket_class<PyPuller>(m, "Puller", "Receives what pushers send (PULL).")
      .def("receive_view", &PyPuller::receive_view, py::arg("timeout") = py::none(),
           "The next message lent in place, as a View.");
  socket_class<PyPublisher>(m, "Publisher", "Publishes to subscribers by topic prefix (PUB).")
      .def("poll", &PyPublisher::poll, "Takes in subscribers and subscriptions.")
      .def("flush", &PyPublisher::flush, py::arg("timeout") = py::none())
      .def_property_readonly("subscribers", &PyPublisher::subscribers);
  socket_class<PySubscriber>(m, "Subscriber", "Receives published messages it subscribed to (SUB).")
      .def("subscribe", &PySubscriber::subscribe, py::arg("topic") = py::bytes(""),
           "A prefix of the first frame, bytes or str; '' for everything.")
      .def("unsubscribe", &PySubscriber::unsubscribe, py::arg("topic"))
      .def_property_readonly("gap", &PySubscriber::gap,
                             "Messages lost just before the last one received.");

  add_fast_method(m.attr("Pusher"), &push_def);
  add_fast_method(m.attr("Publisher"), &publish_def);
  add_fast_method(m.attr("Puller"), &pull_def);
  add_fast_method(m.attr("Subscriber"), &subscribed_def);

  py::class_<PyProxy>(m, "Proxy", "zmq_proxy over any mechanisms, for each pattern.")
      .def(py::init<const std::string&, const py::kwargs&>(), py::arg("pattern") = "request_reply")
      .def("bind_frontend", &PyProxy::bind_frontend)
      .def("connect_frontend", &PyProxy::connect_frontend)
      .def("bind_backend", &PyProxy::bind_backend)
      .def("connect_backend", &PyProxy::connect_backend)
      .def("bind_capture", &PyProxy::bind_capture)
      .def("start", &PyProxy::start, "Forwards on a thread of its own.")
      .def("stop", &PyProxy::stop)
      .def("close", &PyProxy::close)
      .def("stats", &PyProxy::stats)
      .def("__enter__", [](PyProxy& p) -> PyProxy& { return p; })
      .def("__exit__", [](PyProxy& p, const py::args&) { p.close(); });
}

}  // namespace ipcx::python
