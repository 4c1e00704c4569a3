#pragma once
// The attacker's HTTP for the TAXII attacks: requests written by hand and
// sent from a chosen loopback source (the good client's http_client always
// comes from 127.0.0.1), so guessing and body holds come from other hosts
// than the good path. Plain functions; safe from any thread.

#include <chrono>
#include <cstdint>
#include <string>

namespace caravan::hostile {

// A GET of `target` with HTTP Basic `user_colon_password` and
// `Connection: close`.
std::string GetRequest(const std::string& target,
                       const std::string& user_colon_password);

// The head of an unauthenticated TAXII add-objects POST to `target`
// announcing a body of `content_length` bytes (the body is not included).
std::string UnauthenticatedPostHead(const std::string& target,
                                    size_t content_length);

struct RawReply {
  int status = 0;  // 0: no HTTP status line before the timeout or close
  std::chrono::milliseconds elapsed{0};
};

// Sends `request` from `source` to 127.0.0.1:`port` and reads until the
// server closes (or `timeout`); the status of the reply's status line.
RawReply RequestFrom(const std::string& source, uint16_t port,
                     const std::string& request,
                     std::chrono::milliseconds timeout);

}  // namespace caravan::hostile
