// ipcx._ipcx: Client, View and spawn.
#include <pybind11/stl.h>

#include <unordered_map>
#include <utility>

#include "bindings.hpp"

namespace ipcx::python {
namespace {

// A reply lent in place (shm://: the frames are the ring's own bytes). The memoryviews it hands
// out are released with it; reading one afterwards raises ValueError.
class View {
 public:
  explicit View(MessageView view) : view_(std::move(view)) {}
  View(View&& other) noexcept
      : view_(std::exchange(other.view_, std::nullopt)),
        memoryviews_(std::exchange(other.memoryviews_, std::nullopt)) {}
  View& operator=(View&&) = delete;
  ~View() { release_views(); }

  py::list frames() {
    if (!view_) throw py::value_error("the view was released");
    if (!memoryviews_) {
      py::list list(view_->size());
      for (std::size_t i = 0; i < view_->size(); ++i) {
        auto f = view_->frame(i);
        list[i] = py::memoryview::from_memory(static_cast<const void*>(f.data()),
                                              static_cast<py::ssize_t>(f.size()));
      }
      memoryviews_ = std::move(list);
    }
    return *memoryviews_;
  }
  bool zero_copy() const { return view_ && view_->zero_copy(); }
  std::size_t size() const { return view_ ? view_->size() : 0; }
  void release() {
    release_views();
    if (view_) view_->release();
    view_.reset();
  }

 private:
  void release_views() {
    if (!memoryviews_) return;
    for (auto mv : *memoryviews_) mv.attr("release")();
    memoryviews_.reset();
  }
  std::optional<MessageView> view_;
  std::optional<py::list> memoryviews_;
};

class PyClient {
 public:
  PyClient(const std::string& url, const py::kwargs& kwargs)
      : client_(std::in_place, url, client_options(kwargs)) {}
  explicit PyClient(Client client) : client_(std::move(client)) {}

  py::list call_message(const Message& request, const py::object& timeout) {
    Deadline deadline(timeout);
    Client& c = get();
    // A short wait in one piece: the usual path, spinning or reading in the link itself. A
    // long one as a send and receives in slices, so that signals are taken between them.
    if (!deadline.forever() && deadline.whole() <= kSlice) {
      Result<Message> r = [&] {
        Unlocked unlocked;
        return c.call(request, deadline.whole());
      }();
      if (!r) raise(r.error(), "call");
      return frames_of(*r);
    }
    RequestId id = take(c.send(request), "call");
    return wait_for(id, deadline);
  }

  View call_view(const py::args& frames, const py::object& timeout) {
    Message request = message_from(frames);
    Deadline deadline(timeout);
    Client& c = get();
    Result<MessageView> r = [&] {
      Unlocked unlocked;
      return c.call_view(request, deadline.whole());
    }();
    return View(take(std::move(r), "call_view"));
  }

  RequestId send_message(const Message& request) { return take(get().send(request), "send"); }

  py::tuple receive(const py::object& timeout) {
    if (!stash_.empty()) {
      auto it = stash_.begin();
      py::tuple out = py::make_tuple(it->first, frames_of(it->second));
      stash_.erase(it);
      return out;
    }
    Deadline deadline(timeout);
    Client& c = get();
    auto r =
        sliced<Reply>(deadline, [&](std::chrono::milliseconds slice) { return c.receive(slice); });
    if (!r) raise(r.error(), "receive");
    return py::make_tuple(r->id, frames_of(r->body));
  }

  int fd() const { return client_ ? client_->fd() : -1; }
  std::string url() const { return client_ ? client_->endpoint().url() : std::string(); }
  std::uint64_t unmatched_replies() const {
    return client_ ? client_->stats().unmatched_replies : 0;
  }
  void close() {
    Unlocked unlocked;  // a spawned child is waited for
    client_.reset();
  }

 private:
  Client& get() {
    if (!client_) throw py::value_error("the client is closed");
    return *client_;
  }

  // The frames of the reply to `id`, others kept for receive().
  py::list wait_for(RequestId id, Deadline& deadline) {
    Client& c = get();
    for (;;) {
      auto r = sliced<Reply>(deadline,
                             [&](std::chrono::milliseconds slice) { return c.receive(slice); });
      if (!r) raise(r.error(), "call");
      if (r->id == id) return frames_of(r->body);
      stash_.emplace(r->id, std::move(r->body));
    }
  }

  std::optional<Client> client_;
  std::unordered_map<RequestId, Message> stash_;  // replies that came while waiting for another
};

py::object fast_call(py::handle self, PyObject* const* frames, Py_ssize_t count,
                     const py::object& timeout) {
  return self_as<PyClient>(self).call_message(message_from(frames, count), timeout);
}
py::object fast_send(py::handle self, PyObject* const* frames, Py_ssize_t count,
                     const py::object&) {
  return py::int_(self_as<PyClient>(self).send_message(message_from(frames, count)));
}
py::object fast_receive(py::handle self, PyObject* const*, Py_ssize_t, const py::object& timeout) {
  return self_as<PyClient>(self).receive(timeout);
}

constexpr char kCall[] = "call";
constexpr char kSend[] = "send";
constexpr char kReceive[] = "receive";
PyMethodDef fast_methods[] = {
    fast_def<fast_call, true, kCall>(
        "call(*frames, timeout=None) -> list[bytes]\n\nSends the frames as one request and "
        "returns the reply's frames as a list of bytes."),
    fast_def<fast_send, true, kSend>("send(*frames) -> int\n\nQueues a request; returns its id."),
    fast_def<fast_receive, false, kReceive>(
        "receive(timeout=None) -> (int, list[bytes])\n\nThe next reply to any request sent."),
};

}  // namespace

py::object view_object(MessageView&& view) { return py::cast(View(std::move(view))); }

void bind_client(py::module_& m) {
  py::class_<View>(m, "View", "A reply lent in place; use it in a with block.")
      .def_property_readonly("frames", &View::frames,
                             "The frames as read-only memoryviews into the transport.")
      .def_property_readonly("zero_copy", &View::zero_copy,
                             "True when the frames are the shm ring's own bytes.")
      .def("__len__", &View::size)
      .def("release", &View::release, "Gives the space back; the memoryviews are released.")
      .def("__enter__", [](View& v) -> View& { return v; })
      .def("__exit__", [](View& v, const py::args&) { v.release(); });

  auto client = py::class_<PyClient>(m, "Client", "Request/reply client (a DEALER on the wire).");
  client.def(py::init<const std::string&, const py::kwargs&>(), py::arg("url"))
      .def("call_view", &PyClient::call_view, py::arg("timeout") = py::none(),
           "As call(), the reply lent in place as a View.")
      .def("fileno", &PyClient::fd)
      .def_property_readonly("fd", &PyClient::fd)
      .def_property_readonly("url", &PyClient::url)
      .def_property_readonly("unmatched_replies", &PyClient::unmatched_replies)
      .def("close", &PyClient::close)
      .def("__enter__", [](PyClient& c) -> PyClient& { return c; })
      .def("__exit__", [](PyClient& c, const py::args&) { c.close(); });
  // call, send and receive: vectorcall methods (fast_def()).
  for (auto& def : fast_methods) add_fast_method(client, &def);

  m.def(
      "spawn",
      [](const std::vector<std::string>& argv, const py::kwargs& kwargs) {
        ClientOptions options = client_options(kwargs);
        std::optional<Client> child;
        {
          Unlocked unlocked;
          child.emplace(spawn(argv, std::move(options)));
        }
        return PyClient(std::move(*child));
      },
      py::arg("argv"), "Starts argv as a child serving on its stdin/stdout; a Client to it.");
}

}  // namespace ipcx::python
