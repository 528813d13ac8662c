// SmallVector: a growable array of trivially copyable elements that keeps its first N elements
// inline, so small messages never touch the heap. Internal to Message; not a public API.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

namespace ipcx::detail {

// Large blocks are kept for reuse by the thread that freed them (a few, bounded), because
// allocating a fresh megabyte means the kernel faulting in and zeroing 256 pages, every
// message: most of a large round trip's time. Defined in src/api/message.cpp.
inline constexpr std::size_t kKeptBlockBytes = 64 * 1024;  // smaller blocks go to malloc
// A kept block of at least `bytes` (its size in *capacity), or nullptr.
void* take_kept_block(std::size_t bytes, std::size_t* capacity) noexcept;
// Keeps a block of `bytes` for reuse, or frees it when the cache is full.
void keep_block(void* block, std::size_t bytes) noexcept;

template <class T, std::size_t N>
class SmallVector {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  SmallVector() noexcept = default;
  SmallVector(const SmallVector& other) { assign(other.data(), other.size_); }
  SmallVector(SmallVector&& other) noexcept { steal(other); }
  SmallVector& operator=(const SmallVector& other) {
    if (this != &other) {
      size_ = 0;
      assign(other.data(), other.size_);
    }
    return *this;
  }
  SmallVector& operator=(SmallVector&& other) noexcept {
    if (this != &other) {
      release();
      steal(other);
    }
    return *this;
  }
  ~SmallVector() { release(); }

  // data_ points at the inline buffer or the heap block: one load, no branch, on every access.
  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }
  bool on_heap() const noexcept { return data_ != inline_; }
  T& operator[](std::size_t i) noexcept { return data()[i]; }
  const T& operator[](std::size_t i) const noexcept { return data()[i]; }
  T& back() noexcept { return data()[size_ - 1]; }

  void clear() noexcept { size_ = 0; }
  void push_back(const T& value) { *grow_by(1) = value; }
  void append(const T* from, std::size_t count) {
    if (count != 0) std::memcpy(static_cast<void*>(grow_by(count)), from, count * sizeof(T));
  }
  // Appends count uninitialised elements and returns a pointer to the first.
  T* grow_by(std::size_t count) {
    reserve(size_ + count);
    T* first = data() + size_;
    size_ += count;
    return first;
  }
  void resize(std::size_t count) {
    reserve(count);
    size_ = count;
  }
  void reserve(std::size_t wanted) {
    if (wanted <= capacity()) return;
    std::size_t grown = capacity() * 2;
    if (grown < wanted) grown = wanted;
    T* fresh = nullptr;
    if (grown * sizeof(T) >= kKeptBlockBytes) {
      std::size_t bytes = 0;
      fresh = static_cast<T*>(take_kept_block(grown * sizeof(T), &bytes));
      if (fresh != nullptr) grown = bytes / sizeof(T);
    }
    if (fresh == nullptr) fresh = static_cast<T*>(std::malloc(grown * sizeof(T)));
    if (fresh == nullptr) throw std::bad_alloc();
    if (size_ != 0) std::memcpy(static_cast<void*>(fresh), data_, size_ * sizeof(T));
    free_heap();
    data_ = fresh;
    capacity_ = grown;
  }

 private:
  void assign(const T* from, std::size_t count) { append(from, count); }
  void free_heap() noexcept {
    if (data_ == inline_) return;  // most messages never leave the inline buffer
    if (capacity_ * sizeof(T) >= kKeptBlockBytes) {
      keep_block(data_, capacity_ * sizeof(T));
    } else {
      std::free(data_);
    }
  }
  void release() noexcept {
    free_heap();
    data_ = inline_;
    capacity_ = N;
    size_ = 0;
  }
  void steal(SmallVector& other) noexcept {
    size_ = other.size_;
    if (other.data_ != other.inline_) {
      data_ = other.data_;
      capacity_ = other.capacity_;
      other.data_ = other.inline_;
      other.capacity_ = N;
    } else if (size_ != 0) {
      // The whole inline buffer, a compile-time size: a few vector moves instead of a call to
      // memcpy with a run-time length. Messages move several times per request.
      std::memcpy(static_cast<void*>(inline_), other.inline_, sizeof inline_);
    }
    other.size_ = 0;
  }

  T* data_ = inline_;
  std::size_t size_ = 0;
  std::size_t capacity_ = N;
  T inline_[N];
};

}  // namespace ipcx::detail
