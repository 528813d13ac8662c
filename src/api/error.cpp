// Error category and ipcx::Error (API layer).
#include "ipcx/error.hpp"

namespace ipcx {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ipcx"; }
  std::string message(int value) const override {
    return std::string(to_string(static_cast<Errc>(value)));
  }
};

std::string compose(Errc code, const std::string& endpoint, const std::string& detail) {
  std::string text;
  if (!endpoint.empty()) text += endpoint + ": ";
  text += detail.empty() ? std::string(to_string(code)) : detail;
  return text;
}

}  // namespace

const std::error_category& error_category() noexcept {
  static const Category category;
  return category;
}

std::error_code make_error_code(Errc code) noexcept {
  return {static_cast<int>(code), error_category()};
}

std::string_view to_string(Errc code) noexcept {
  switch (code) {
    case Errc::ok:
      return "ok";
    case Errc::timeout:
      return "timeout";
    case Errc::would_block:
      return "would_block";
    case Errc::peer_closed:
      return "peer_closed";
    case Errc::refused:
      return "refused";
    case Errc::message_too_large:
      return "message_too_large";
    case Errc::protocol_violation:
      return "protocol_violation";
    case Errc::bad_endpoint:
      return "bad_endpoint";
    case Errc::not_supported:
      return "not_supported";
    case Errc::permission_denied:
      return "permission_denied";
    case Errc::address_in_use:
      return "address_in_use";
    case Errc::resource_exhausted:
      return "resource_exhausted";
    case Errc::cancelled:
      return "cancelled";
    case Errc::io_error:
      return "io_error";
    case Errc::auth_failed:
      return "auth_failed";
  }
  return "unknown";
}

Error::Error(Errc code, std::string endpoint, const std::string& detail)
    : std::system_error(make_error_code(code), compose(code, endpoint, detail)),
      endpoint_(std::move(endpoint)) {}

}  // namespace ipcx
