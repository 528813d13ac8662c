// LazyDeque (core layer): a std::deque that allocates nothing until something is pushed.
// libstdc++'s deque allocates its map and a 512-byte node on construction; a server holds a
// few per connection, nearly always empty, and with 10,000 connections that is megabytes.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <utility>

namespace ipcx {

template <class T>
class LazyDeque {
 public:
  bool empty() const noexcept { return !items_ || items_->empty(); }
  std::size_t size() const noexcept { return items_ ? items_->size() : 0; }
  T& front() { return items_->front(); }
  const T& front() const { return items_->front(); }
  template <class U>
  void push_back(U&& item) {
    if (!items_) items_ = std::make_unique<std::deque<T>>();
    items_->push_back(std::forward<U>(item));
  }
  void pop_front() { items_->pop_front(); }
  void clear() noexcept { items_.reset(); }

 private:
  std::unique_ptr<std::deque<T>> items_;
};

}  // namespace ipcx
