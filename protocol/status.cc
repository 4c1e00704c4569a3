#include "protocol/status.h"

namespace caravan {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidInput: return "invalid input";
    case StatusCode::kNotFound: return "not found";
    case StatusCode::kDenied: return "denied";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kRetryLater: return "retry later";
    case StatusCode::kCorrupt: return "corrupt";
    case StatusCode::kInternal: return "internal error";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(StatusCodeName(code_)) + ": " + message_;
}

int ExitCodeFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 0;
    case StatusCode::kNotFound: return 3;
    case StatusCode::kInvalidInput:
    case StatusCode::kDenied: return 4;
    case StatusCode::kUnavailable: return 5;
    default: return 1;
  }
}

}  // namespace caravan
