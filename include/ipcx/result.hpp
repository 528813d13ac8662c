// Result<T>: the hot path's return type (API layer). Shaped like C++23 std::expected<T, Errc> and
// using its member names, so it can become an alias once the toolchain offers <expected> in C++20.
#pragma once

#include <type_traits>
#include <utility>
#include <variant>

#include "ipcx/error.hpp"

namespace ipcx {

// The error side of a Result, as std::unexpected is for std::expected.
struct Unexpected {
  Errc code;
};
inline Unexpected unexpected(Errc code) noexcept { return Unexpected{code}; }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(const T& value) : v_(std::in_place_index<0>, value) {}
  Result(T&& value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Unexpected e) : v_(std::in_place_index<1>, e.code) {}

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  // Throws ipcx::Error when there is no value, as std::expected throws bad_expected_access.
  T& value() & {
    check();
    return std::get<0>(v_);
  }
  const T& value() const& {
    check();
    return std::get<0>(v_);
  }
  T&& value() && {
    check();
    return std::move(std::get<0>(v_));
  }
  T& operator*() noexcept { return *std::get_if<0>(&v_); }
  const T& operator*() const noexcept { return *std::get_if<0>(&v_); }
  T* operator->() noexcept { return std::get_if<0>(&v_); }
  const T* operator->() const noexcept { return std::get_if<0>(&v_); }

  // Errc::ok when there is a value.
  Errc error() const noexcept { return has_value() ? Errc::ok : std::get<1>(v_); }

  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  void check() const {
    if (!has_value()) throw Error(std::get<1>(v_), "", "Result has no value");
  }
  std::variant<T, Errc> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() noexcept = default;
  Result(Unexpected e) noexcept : code_(e.code) {}

  bool has_value() const noexcept { return code_ == Errc::ok; }
  explicit operator bool() const noexcept { return has_value(); }
  void value() const {
    if (!has_value()) throw Error(code_, "", "Result has no value");
  }
  Errc error() const noexcept { return code_; }

 private:
  Errc code_ = Errc::ok;
};

}  // namespace ipcx
