// mq:// queue plumbing (transport layer): opening queues, their limits in words.
#include <fcntl.h>
#include <mqueue.h>
#include <sys/resource.h>

#include <cerrno>
#include <fstream>

#include "core/errno_map.hpp"
#include "transport/faults.hpp"
#include "transport/mq/mq.hpp"

namespace ipcx::transport::mq {

long queue_depth() {
  static const long depth = [] {
    long v = 10;
    std::ifstream("/proc/sys/fs/mqueue/msg_max") >> v;
    return v < 1 ? 1 : (v > 10 ? 10 : v);
  }();
  return depth;
}

std::string describe_mq_failure(const std::string& name, int err) {
  std::string what = "mq_open " + name + ": ";
  rlimit limit{};
  switch (err) {
    case EMFILE:
      ::getrlimit(RLIMIT_MSGQUEUE, &limit);
      return what + "the user's RLIMIT_MSGQUEUE (" + std::to_string(limit.rlim_cur) +
             " bytes for all its queues) or the process's descriptor limit is used up";
    case ENOSPC: {
      long max = 0;
      std::ifstream("/proc/sys/fs/mqueue/queues_max") >> max;
      return what + "the system's queue limit /proc/sys/fs/mqueue/queues_max (" +
             std::to_string(max) + ") is reached";
    }
    case EINVAL:
      return what + "queue size above /proc/sys/fs/mqueue/msg_max or msgsize_max";
    default:
      return describe_errno(what.c_str(), err);
  }
}

Errc mq_errc(int err) noexcept {
  return err == EMFILE || err == ENOSPC ? Errc::resource_exhausted : errc_from_errno(err);
}

Fd open_queue(const std::string& name, int flags, long msgsize, unsigned mode) noexcept {
  mq_attr attr{};
  attr.mq_maxmsg = queue_depth();
  attr.mq_msgsize = msgsize;
  return Fd(sys::mq_open(name.c_str(), flags | O_NONBLOCK, mode, msgsize > 0 ? &attr : nullptr));
}

long message_bytes_of(int queue) noexcept {
  mq_attr attr{};
  return ::mq_getattr(queue, &attr) == 0 ? attr.mq_msgsize : -1;
}

}  // namespace ipcx::transport::mq
