#pragma once
// A minimal HTTP/1.1 client over loopback for integration tests of the
// daemon's HTTP servers (TAXII, /metrics). One request per fresh TCP
// connection to 127.0.0.1 with `Connection: close`; the response is read to
// the end of the stream and parsed into status, headers and body.
//
// The request is written exactly as given: a body, and with it a
// Content-Length header, only when the caller passes one, so tests can send
// heads without Content-Length or with a length that does not match (the
// /metrics server must refuse those without reading).
//
// Bounded: the whole exchange has one deadline (kHttpTimeout by default)
// and a response larger than kMaxHttpResponseBytes is not kept. Either
// ends the call with status 0 and the reason in `error`, as do a refused
// connection and a response that is not HTTP. Plain functions with no
// shared state: safe to call from any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace caravan::integration {

// Generous: CI runs the daemons under ASan on a loaded 2-core machine.
inline constexpr std::chrono::seconds kHttpTimeout{60};
// Far above the largest reply a test asks for (a 1000-object TAXII page).
inline constexpr size_t kMaxHttpResponseBytes = 32 << 20;

struct HttpReply {
  int status = 0;  // 0: no complete HTTP response (see `error`)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string error;  // why status is 0; empty otherwise

  // The body parsed as JSON; a discarded value (is_discarded()) if it is
  // not JSON, so a failed test reports instead of throwing.
  nlohmann::json Json() const;
  // The value of header `name` (any case), "" when absent.
  std::string Header(const std::string& name) const;
  // "HTTP 200: <body>" or "no HTTP reply: <error>", for assertion messages.
  std::string Describe() const;
};

struct HttpRequest {
  std::string method = "GET";
  std::string target = "/";
  // Extra header lines without CRLF ("Accept: ..."); Host and
  // Connection: close are always sent.
  std::vector<std::string> headers;
  // Sent with a matching Content-Length when set; nullopt sends neither.
  std::optional<std::string> body;
  std::chrono::seconds timeout = kHttpTimeout;
};

// Sends `request` to 127.0.0.1:`port` and reads the whole response. Never
// throws for network trouble: status 0 and `error` say what went wrong.
HttpReply SendHttp(uint16_t port, const HttpRequest& request);

// Shorthand for a GET of `target` with `headers`.
HttpReply HttpGet(uint16_t port, const std::string& target,
                  const std::vector<std::string>& headers = {});

// "Authorization: Basic base64(user_colon_password)".
std::string BasicAuthHeader(const std::string& user_colon_password);

// A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it
// back, close), for a server under test to listen on. Throws
// std::runtime_error if no socket can be bound at all.
uint16_t FreeLoopbackPort();

}  // namespace caravan::integration
