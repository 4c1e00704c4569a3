#pragma once
// Status and Result<T>: how every fallible call in caravan reports an
// expected failure (bad input, not found, denied, ...). Exceptions stay for
// bugs and operational failures; a Status is a value the caller must look at.
//
// Codes are named for what the caller does next, and map one to one onto the
// CLI's exit codes (see ExitCodeFor).
//
// Thread-safety: plain values, copy freely.

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace caravan {

enum class StatusCode {
  kOk = 0,
  kInvalidInput,  // the caller's input is wrong: fix it and retry
  kNotFound,      // the thing asked for does not exist
  kDenied,        // refused by policy or permissions
  kUnavailable,   // a dependency (daemon, file, peer) cannot be reached
  kRetryLater,    // transient: the same call may succeed later
  kCorrupt,       // stored or received data failed an integrity check
  kInternal,      // a bug or an OS failure we did not expect
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "invalid input: <message>" style text for logs and diagnostics.
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;  // empty when ok
};

inline Status InvalidInput(std::string m) {
  return Status(StatusCode::kInvalidInput, std::move(m));
}
inline Status NotFound(std::string m) {
  return Status(StatusCode::kNotFound, std::move(m));
}
inline Status Denied(std::string m) {
  return Status(StatusCode::kDenied, std::move(m));
}
inline Status Unavailable(std::string m) {
  return Status(StatusCode::kUnavailable, std::move(m));
}
inline Status RetryLater(std::string m) {
  return Status(StatusCode::kRetryLater, std::move(m));
}
inline Status Corrupt(std::string m) {
  return Status(StatusCode::kCorrupt, std::move(m));
}
inline Status Internal(std::string m) {
  return Status(StatusCode::kInternal, std::move(m));
}

std::string_view StatusCodeName(StatusCode code);

// CLI exit codes from CONTRACT.md: 0 ok, 1 failure, 3 not found,
// 4 rejected input (validation or policy), 5 daemon unreachable.
int ExitCodeFor(StatusCode code);

// A value or the Status that explains why there is none. Never holds an ok
// Status without a value.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) status_ = Internal("Result built from an ok Status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace caravan

// Early return on failure: CARAVAN_RETURN_IF_ERROR(store.Insert(r));
#define CARAVAN_RETURN_IF_ERROR(expr)            \
  do {                                           \
    ::caravan::Status caravan_status_ = (expr);  \
    if (!caravan_status_.ok()) return caravan_status_; \
  } while (0)
