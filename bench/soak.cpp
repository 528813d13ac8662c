// Soak harness (bench, not in ctest; scripts/soak runs it): every mechanism of the registry that
// crosses processes by URL, under mixed load at once for a given time, every payload
// checksummed. Per mechanism: an echo server process with two client processes calling it with
// bodies of 64 B to 256 KiB (60,000 B on datagram mechanisms), a pusher process streaming into
// a puller process, and a lossless publisher process feeding two subscriber processes, where
// the mechanism's capabilities carry those patterns.
// Every receiver checks order and checksum. Reported per mechanism: what was sent, received,
// wrong and lost, and the server's descriptors and memory at the start and at the end.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <ipcx/ipcx.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// What each worker process reports through its pipe when it ends.
struct Report {
  std::uint64_t sent = 0;
  std::uint64_t received = 0;  // intact and in order
  std::uint64_t wrong = 0;     // checksum, order or content mismatch
  std::uint64_t errors = 0;    // calls that failed (timeouts, peer gone)
  std::uint64_t lost = 0;      // sequence numbers never seen
  bool ended = false;          // it saw the end (receivers) or finished (senders)
};

std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return x;
}

// A body of `size` bytes (>= 16): [u64 sequence][u64 checksum][bytes derived from both].
std::string payload(std::uint64_t sequence, std::size_t size, std::uint64_t salt) {
  std::string body(size, '\0');
  std::uint64_t checksum = 1469598103934665603ull;
  std::uint64_t state = mix(sequence ^ salt);
  for (std::size_t i = 16; i < size; ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    auto c = static_cast<char>(state >> 56);
    body[i] = c;
    checksum = (checksum ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  }
  std::memcpy(body.data(), &sequence, 8);
  std::memcpy(body.data() + 8, &checksum, 8);
  return body;
}

// The sequence of an intact body, or nothing.
std::optional<std::uint64_t> check(std::string_view body) {
  if (body.size() < 16) return std::nullopt;
  std::uint64_t sequence, checksum, actual = 1469598103934665603ull;
  std::memcpy(&sequence, body.data(), 8);
  std::memcpy(&checksum, body.data() + 8, 8);
  for (std::size_t i = 16; i < body.size(); ++i) {
    actual = (actual ^ static_cast<unsigned char>(body[i])) * 1099511628211ull;
  }
  if (actual != checksum) return std::nullopt;
  return sequence;
}

std::size_t pick_size(std::uint64_t n, std::size_t largest) {
  static const std::size_t sizes[] = {64, 512, 4096, 65536, 262144};
  std::size_t s = sizes[mix(n) % 5];
  return s > largest ? largest : s;
}

// A forked worker: runs `body`, which may print one line (a bound URL) before it returns its
// Report; both go through a pipe to the parent.
struct Worker {
  pid_t pid = -1;
  FILE* out = nullptr;
};

Worker spawn(std::function<Report(FILE*)> body) {
  int fds[2];
  if (::pipe(fds) != 0) std::abort();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    FILE* out = ::fdopen(fds[1], "w");
    Report r = body(out);
    std::fprintf(
        out, "report %llu %llu %llu %llu %llu %d\n", static_cast<unsigned long long>(r.sent),
        static_cast<unsigned long long>(r.received), static_cast<unsigned long long>(r.wrong),
        static_cast<unsigned long long>(r.errors), static_cast<unsigned long long>(r.lost),
        r.ended ? 1 : 0);
    std::fclose(out);
    ::_exit(0);
  }
  ::close(fds[1]);
  return {pid, ::fdopen(fds[0], "r")};
}

std::string read_line(Worker& w) {
  char line[512];
  if (std::fgets(line, sizeof line, w.out) == nullptr) return {};
  std::string s(line);
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

Report collect(Worker& w) {
  Report r;
  for (std::string line = read_line(w); !line.empty(); line = read_line(w)) {
    unsigned long long v[5];
    int ended = 0;
    if (std::sscanf(line.c_str(), "report %llu %llu %llu %llu %llu %d", &v[0], &v[1], &v[2], &v[3],
                    &v[4], &ended) == 6) {
      r = {v[0], v[1], v[2], v[3], v[4], ended != 0};
    }
  }
  std::fclose(w.out);
  ::waitpid(w.pid, nullptr, 0);
  return r;
}

Report& operator+=(Report& a, const Report& b) {
  a.sent += b.sent;
  a.received += b.received;
  a.wrong += b.wrong;
  a.errors += b.errors;
  a.lost += b.lost;
  a.ended = a.ended && b.ended;
  return a;
}

// Descriptors and memory of a process, from /proc.
struct Usage {
  long fds = 0;
  long rss_kib = 0;
  long peak_kib = 0;
};

Usage usage_of(pid_t pid) {
  Usage u;
  std::string dir = "/proc/" + std::to_string(pid);
  for (long fd = 0; fd < 4096; ++fd) {
    if (::access((dir + "/fd/" + std::to_string(fd)).c_str(), F_OK) == 0) ++u.fds;
  }
  std::ifstream status(dir + "/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") status >> u.rss_kib;
    if (key == "VmHWM:") status >> u.peak_kib;
  }
  return u;
}

// The soak's private directory, for mechanisms that name files.
const std::string& soak_dir() {
  static const std::string dir = [] {
    std::string pattern = "/tmp/ipcx-soak-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    return pattern;
  }();
  return dir;
}

std::string url_for(const ipcx::MechanismInfo& mech, const std::string& role) {
  return mech.private_url(soak_dir(), role);
}

// Runs until SIGTERM, answering each request with its own body once the checksum holds.
Report serve(const std::string& url, FILE* out) {
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &term, nullptr);
  Report r;
  std::atomic<std::uint64_t> bad{0}, good{0};
  ipcx::Server server;
  server.on_request([&](ipcx::Request& req) {
    auto body = req.body();
    if (body.size() == 1 && check(body.text(0))) {
      ++good;
    } else {
      ++bad;
    }
    req.reply(body);
  });
  std::fprintf(out, "%s\n", server.bind(url).url().c_str());
  std::fflush(out);
  server.start();
  int sig = 0;
  ::sigwait(&term, &sig);
  server.stop();
  r.received = good;
  r.wrong = bad;
  r.ended = true;
  return r;
}

Report call_until(const std::string& url, Clock::time_point end, std::uint64_t salt,
                  std::size_t largest) {
  Report r;
  ipcx::Client client(url);
  for (std::uint64_t n = 0; Clock::now() < end; ++n) {
    std::string body = payload(n, pick_size(n + salt, largest), salt);
    ++r.sent;
    auto reply = client.call(ipcx::Message{body}, 10s);
    if (!reply) {
      ++r.errors;
      continue;
    }
    if (reply->size() == 1 && reply->text(0) == body) {
      ++r.received;
    } else {
      ++r.wrong;
    }
  }
  r.ended = true;
  return r;
}

// Receives numbered, checksummed messages until the end marker (an empty body).
template <class Socket>
Report receive_stream(Socket& socket, std::size_t frame) {
  Report r;
  std::uint64_t expected = 0;
  ipcx::Message m;
  while (socket.receive(m, 60s)) {
    if (m.size() <= frame) {
      ++r.wrong;
      continue;
    }
    if (m.frame(frame).empty()) {
      r.ended = true;
      break;
    }
    auto sequence = check(m.text(frame));
    if (!sequence || *sequence < expected) {
      ++r.wrong;
      continue;
    }
    r.lost += *sequence - expected;
    expected = *sequence + 1;
    ++r.received;
  }
  return r;
}

struct MechanismResult {
  std::string mech;
  Report calls, server, pushed, pulled, published, subscribed;
  Usage start, end;
};

}  // namespace

int main(int argc, char** argv) {
  double minutes = argc > 1 ? std::atof(argv[1]) : 1.0;
  // Made before anything forks, so every process shares the one directory removed at the end.
  (void)soak_dir();
  // Every mechanism a server in one process and clients in others can use by URL.
  std::vector<const ipcx::MechanismInfo*> mechanisms;
  for (const auto& m : ipcx::mechanisms()) {
    if (m.caps.request_reply && m.caps.crosses_processes && m.caps.reach == ipcx::Reach::url) {
      mechanisms.push_back(&m);
    }
  }
  auto end = Clock::now() + std::chrono::milliseconds(static_cast<long>(minutes * 60000));
  ::signal(SIGPIPE, SIG_IGN);
  struct Running {
    std::string mech;
    Worker server, puller, publisher;
    std::vector<Worker> clients, subscribers;
    Worker pusher;
  };
  std::vector<Running> running;
  for (const ipcx::MechanismInfo* info : mechanisms) {
    const ipcx::MechanismInfo& mech = *info;
    Running m;
    m.mech = std::string(mech.scheme);
    bool pipeline = mech.caps.push_pull;
    bool pubsub = mech.caps.publish_subscribe && mech.caps.lossless_publish;
    std::size_t largest = mech.caps.boundaries == ipcx::Boundaries::datagram ? 60000 : 256 * 1024;
    m.server = spawn([&](FILE* out) { return serve(url_for(mech, "rr"), out); });
    std::string rr = read_line(m.server);
    for (std::uint64_t c = 0; c < 2; ++c) {
      m.clients.push_back(
          spawn([&, c](FILE*) { return call_until(rr, end, 1000 * c + 7, largest); }));
    }
    if (!pipeline) {
      running.push_back(std::move(m));
      continue;
    }
    m.puller = spawn([&](FILE* out) {
      ipcx::Puller puller;
      std::fprintf(out, "%s\n", puller.bind(url_for(mech, "pp")).url().c_str());
      std::fflush(out);
      return receive_stream(puller, 0);
    });
    std::string pp = read_line(m.puller);
    m.pusher = spawn([&](FILE*) {
      Report r;
      ipcx::Pusher pusher;
      pusher.connect(pp);
      for (std::uint64_t n = 0; Clock::now() < end; ++n) {
        if (pusher.send(ipcx::Message{payload(n, pick_size(n, 64 * 1024), 3)}, 60s)) {
          ++r.sent;
        } else {
          ++r.errors;
        }
      }
      r.ended = pusher.send(ipcx::Message{""}, 60s).has_value() && pusher.flush(60s);
      return r;
    });
    if (!pubsub) {
      running.push_back(std::move(m));
      continue;
    }
    // The publisher binds and waits for both subscribers before it starts.
    m.publisher = spawn([&](FILE* out) {
      Report r;
      ipcx::SocketOptions options;
      options.lossless = true;
      ipcx::Publisher pub(options);
      std::fprintf(out, "%s\n", pub.bind(url_for(mech, "ps")).url().c_str());
      std::fflush(out);
      while (pub.subscribers() < 2 && Clock::now() < end) {
        pub.poll();
        std::this_thread::sleep_for(1ms);
      }
      for (std::uint64_t n = 0; Clock::now() < end; ++n) {
        auto delivered = pub.publish(ipcx::Message{"soak", payload(n, pick_size(n, 16 * 1024), 5)});
        if (delivered && *delivered == 2) {
          ++r.sent;
        } else {
          ++r.errors;
        }
      }
      r.ended = pub.publish(ipcx::Message{"soak", ""}).has_value() && pub.flush(60s);
      return r;
    });
    std::string ps = read_line(m.publisher);
    for (int s = 0; s < 2; ++s) {
      m.subscribers.push_back(spawn([&](FILE*) {
        ipcx::Subscriber sub;
        sub.connect(ps);
        sub.subscribe("soak");
        return receive_stream(sub, 1);
      }));
    }
    running.push_back(std::move(m));
  }
  // Usage of each server once the load is on, and again just before the end.
  std::this_thread::sleep_for(2s);
  std::vector<MechanismResult> results;
  for (auto& m : running)
    results.push_back({m.mech, {}, {}, {}, {}, {}, {}, usage_of(m.server.pid), {}});
  std::this_thread::sleep_until(end);
  for (std::size_t i = 0; i < running.size(); ++i) results[i].end = usage_of(running[i].server.pid);
  std::printf("# soak: %.1f minutes, every mechanism at once\n", minutes);
  std::printf("%-5s %-10s %12s %12s %8s %8s %8s %s\n", "mech", "traffic", "sent", "received",
              "wrong", "errors", "lost", "ended");
  bool clean = true;
  for (std::size_t i = 0; i < running.size(); ++i) {
    auto& m = running[i];
    auto& out = results[i];
    out.calls.ended = true;
    for (auto& c : m.clients) out.calls += collect(c);
    if (m.pusher.out) {
      out.pushed = collect(m.pusher);
      out.pulled = collect(m.puller);
    }
    if (m.publisher.out) {
      out.published = collect(m.publisher);
      out.subscribed.ended = true;
      for (auto& s : m.subscribers) out.subscribed += collect(s);
    }
    ::kill(m.server.pid, SIGTERM);
    out.server = collect(m.server);
    auto row = [&](const char* what, std::uint64_t sent, const Report& got, std::uint64_t lost) {
      std::printf(
          "%-5s %-10s %12llu %12llu %8llu %8llu %8llu %s\n", m.mech.c_str(), what,
          static_cast<unsigned long long>(sent), static_cast<unsigned long long>(got.received),
          static_cast<unsigned long long>(got.wrong), static_cast<unsigned long long>(got.errors),
          static_cast<unsigned long long>(lost), got.ended ? "yes" : "NO");
      clean = clean && got.wrong == 0 && lost == 0 && got.ended;
    };
    // A call ends in a reply or an error its caller sees: none may vanish.
    row("calls", out.calls.sent, out.calls,
        out.calls.sent - out.calls.received - out.calls.wrong - out.calls.errors);
    if (m.pusher.out) {
      row("push/pull", out.pushed.sent, out.pulled,
          out.pushed.sent - std::min(out.pushed.sent, out.pulled.received));
    }
    if (m.publisher.out) {
      row("pub/sub x2", 2 * out.published.sent, out.subscribed,
          2 * out.published.sent - std::min(2 * out.published.sent, out.subscribed.received));
    }
    if (out.server.wrong > 0) clean = false;
  }
  std::printf("\n%-5s %18s %18s %22s\n", "mech", "server fds", "server RSS KiB",
              "server peak RSS KiB");
  for (const auto& r : results) {
    std::printf("%-5s %8ld -> %6ld %8ld -> %7ld %22ld\n", r.mech.c_str(), r.start.fds, r.end.fds,
                r.start.rss_kib, r.end.rss_kib, r.end.peak_kib);
  }
  std::printf("\n%s\n", clean ? "clean: nothing wrong, nothing lost" : "NOT CLEAN");
  std::error_code ec;
  std::filesystem::remove_all(soak_dir(), ec);
  return clean ? 0 : 1;
}
