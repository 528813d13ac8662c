// MessageLink (transport layer): the base of the links of message mechanisms (shm, mq, udp's
// client): a message travels as compact fragments (wire/compact_header.hpp) of at most the
// medium's fragment size, written straight from the Message while the medium has room; what it
// cannot take at once waits in a bounded outbound queue, copied once, and goes out as room
// appears. Inbound fragments are assembled by one CompactAssembler. The medium is the derived
// class's (CRTP, so the per-message path has no virtual call of its own):
//   std::size_t max_fragment() const noexcept: the largest fragment, header included;
//   std::byte* reserve_fragment(std::size_t bytes) noexcept: room for one fragment, or nullptr
//     when the medium is full now (or failed: then failed() says so);
//   bool commit_fragment(std::size_t bytes) noexcept: publishes it; false when the medium
//     refused it after all (full: it goes again later, rewritten);
//   bool failed() const noexcept: the link failed while reserving or committing.
#pragma once

#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>

#include "transport/link.hpp"
#include "wire/compact_header.hpp"

namespace ipcx::transport {

template <class Medium>
class MessageLink : public Link {
 public:
  bool wants_write() const noexcept override { return !pending_.empty(); }
  std::size_t queued_bytes() const noexcept override { return queued_; }

 protected:
  explicit MessageLink(std::size_t max_message_size) noexcept : assembler_(max_message_size) {}

  // Sends one message: ok (all of it written or queued), would_block (the queue already holds
  // `max_queued` bytes), or error (message_too_large against `max_message_size`; resource_
  // exhausted; or the medium failed: protocol_violation).
  IoResult send_fragments(const Message& head, const Message& tail, std::size_t max_message_size,
                          std::size_t max_queued) noexcept {
    if (head.bytes() + tail.bytes() > max_message_size) {
      return {Io::error, 0, Errc::message_too_large};
    }
    if (put_whole(head, tail)) return {Io::ok, head.bytes() + tail.bytes()};
    if (medium().failed()) return {Io::error, 0, Errc::protocol_violation};
    std::size_t payload = wire::payload_size(head, tail);
    if (queued_ >= max_queued) return {Io::would_block};
    // Fragments straight from the message while the medium has room; only the rest is copied
    // aside.
    std::size_t sent = 0;
    if (pending_.empty()) {
      while (sent < payload) {
        std::size_t n =
            put_fragment(payload, sent, [&](std::byte* to, std::size_t at, std::size_t len) {
              wire::write_payload_range(to, head, tail, at, len);
            });
        if (n == 0) break;
        sent += n;
      }
      if (medium().failed()) return {Io::error, 0, Errc::protocol_violation};
      if (sent == payload) return {Io::ok, head.bytes() + tail.bytes()};
    }
    try {
      Pending p;
      p.payload.reset(new std::byte[payload - sent]);
      p.base = p.sent = sent;
      p.size = payload;
      wire::write_payload_range(p.payload.get(), head, tail, sent, payload - sent);
      pending_.push_back(std::move(p));
      queued_ += payload - sent;
    } catch (const std::bad_alloc&) {
      return {Io::error, 0, Errc::resource_exhausted};
    }
    if (auto r = flush_fragments(); r.status == Io::error) return r;
    return {Io::ok, head.bytes() + tail.bytes()};
  }

  // The usual send: the whole message as one fragment, written straight into the medium.
  // False, with nothing written, when messages are queued before it, it needs more than one
  // fragment, or the medium has no room now (or failed).
  bool put_whole(const Message& head, const Message& tail) noexcept {
    if (!pending_.empty()) return false;
    std::size_t payload = wire::payload_size(head, tail);
    if (payload > medium().max_fragment() - wire::kCompactHeaderSize) return false;
    std::byte* at = medium().reserve_fragment(wire::kCompactHeaderSize + payload);
    if (at == nullptr) return false;
    wire::write_whole_fragment(at, payload, head, tail);
    return medium().commit_fragment(wire::kCompactHeaderSize + payload);
  }

  // Writes queued fragments while the medium takes them: ok when none is left, would_block,
  // or error when the medium failed.
  IoResult flush_fragments() noexcept {
    std::size_t total = 0;
    while (!pending_.empty()) {
      Pending& p = pending_.front();
      std::size_t n =
          put_fragment(p.size, p.sent, [&](std::byte* to, std::size_t at, std::size_t len) {
            std::memcpy(to, p.payload.get() + (at - p.base), len);
          });
      if (n == 0) {
        if (medium().failed()) return {Io::error, total, Errc::protocol_violation};
        return {Io::would_block, total};
      }
      p.sent += n;
      queued_ -= n;
      total += n;
      if (p.sent == p.size) pending_.pop_front();
    }
    return {Io::ok, total};
  }

  // The size of the next queued fragment, header included (0 with nothing queued): what a
  // producer about to sleep waits for room for.
  std::size_t next_fragment_bytes() const noexcept {
    if (pending_.empty()) return 0;
    const Pending& p = pending_.front();
    return wire::kCompactHeaderSize +
           std::min(p.size - p.sent, medium().max_fragment() - wire::kCompactHeaderSize);
  }

  wire::CompactAssembler assembler_;

 private:
  // What is left of a message the medium could not take at once: payload bytes [base, size).
  struct Pending {
    std::unique_ptr<std::byte[]> payload;
    std::size_t base = 0;
    std::size_t size = 0;
    std::size_t sent = 0;
  };

  Medium& medium() noexcept { return static_cast<Medium&>(*this); }
  const Medium& medium() const noexcept { return static_cast<const Medium&>(*this); }

  // Writes the fragment of a `size`-byte payload that starts at `sent`, its bytes produced by
  // copy(destination, offset, length); its payload length, or 0 when the medium is full.
  template <class Copy>
  std::size_t put_fragment(std::size_t size, std::size_t sent, Copy&& copy) noexcept {
    std::size_t chunk = std::min(size - sent, medium().max_fragment() - wire::kCompactHeaderSize);
    std::byte* at = medium().reserve_fragment(wire::kCompactHeaderSize + chunk);
    if (at == nullptr) return 0;
    wire::write_fragment_header(at, size, sent, chunk);
    copy(at + wire::kCompactHeaderSize, sent, chunk);
    return medium().commit_fragment(wire::kCompactHeaderSize + chunk) ? chunk : 0;
  }

  std::deque<Pending> pending_;
  std::size_t queued_ = 0;
};

}  // namespace ipcx::transport
