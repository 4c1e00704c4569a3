#include "tests/integration/http_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace caravan::integration {
namespace {

using Clock = std::chrono::steady_clock;

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Closes the descriptor on every return path.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Milliseconds left until `deadline` for poll(), at least 0.
int MillisLeft(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Waits until `fd` is ready for `events` or the deadline passes.
bool WaitReady(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = poll(&p, 1, MillisLeft(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

// The non-blocking connect to 127.0.0.1:port, bounded by the deadline.
// Empty on success, else why not.
std::string Connect(int fd, uint16_t port, Clock::time_point deadline) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    return "";
  }
  if (errno != EINPROGRESS) {
    return std::string("connect: ") + std::strerror(errno);
  }
  if (!WaitReady(fd, POLLOUT, deadline)) return "connect: timed out";
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  return err == 0 ? "" : std::string("connect: ") + std::strerror(err);
}

std::string RenderRequest(const HttpRequest& r) {
  std::string out = r.method + " " + r.target +
                    " HTTP/1.1\r\nHost: localhost\r\n";
  for (const auto& h : r.headers) out += h + "\r\n";
  if (r.body) out += "Content-Length: " + std::to_string(r.body->size()) + "\r\n";
  out += "Connection: close\r\n\r\n";
  if (r.body) out += *r.body;
  return out;
}

// Parses a complete response (the stream ended) into `reply`.
void Parse(const std::string& raw, HttpReply* reply) {
  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos || raw.compare(0, 5, "HTTP/") != 0) {
    reply->error = "not an HTTP response (" + std::to_string(raw.size()) +
                   " bytes)";
    return;
  }
  const size_t space = raw.find(' ');
  if (space == std::string::npos || space + 4 > end ||
      !std::isdigit(static_cast<unsigned char>(raw[space + 1]))) {
    reply->error = "bad status line";
    return;
  }
  const int status = std::stoi(raw.substr(space + 1, 3));
  size_t line_start = raw.find("\r\n") + 2;
  while (line_start < end) {
    size_t line_end = raw.find("\r\n", line_start);
    const std::string line = raw.substr(line_start, line_end - line_start);
    line_start = line_end + 2;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    size_t value = colon + 1;
    while (value < line.size() && line[value] == ' ') ++value;
    reply->headers[Lower(line.substr(0, colon))] = line.substr(value);
  }
  reply->body = raw.substr(end + 4);
  // The servers under test send Content-Length; anything else would make
  // the body above wrong, so say so instead of passing it on.
  if (reply->headers.count("transfer-encoding")) {
    reply->error = "chunked responses are not supported by this client";
    return;
  }
  auto length = reply->headers.find("content-length");
  if (length != reply->headers.end() &&
      length->second != std::to_string(reply->body.size())) {
    reply->error = "body of " + std::to_string(reply->body.size()) +
                   " bytes, Content-Length " + length->second;
    return;
  }
  reply->status = status;
}

}  // namespace

nlohmann::json HttpReply::Json() const {
  return nlohmann::json::parse(body, nullptr, false);
}

std::string HttpReply::Header(const std::string& name) const {
  auto it = headers.find(Lower(name));
  return it == headers.end() ? "" : it->second;
}

std::string HttpReply::Describe() const {
  if (status == 0) return "no HTTP reply: " + error;
  return "HTTP " + std::to_string(status) + ": " + body;
}

HttpReply SendHttp(uint16_t port, const HttpRequest& request) {
  HttpReply reply;
  const auto deadline = Clock::now() + request.timeout;
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    reply.error = std::string("socket: ") + std::strerror(errno);
    return reply;
  }
  if (std::string why = Connect(fd.get(), port, deadline); !why.empty()) {
    reply.error = why;
    return reply;
  }
  const std::string out = RenderRequest(request);
  size_t sent = 0;
  while (sent < out.size()) {
    ssize_t n = send(fd.get(), out.data() + sent, out.size() - sent,
                     MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!WaitReady(fd.get(), POLLOUT, deadline)) {
        reply.error = "send: timed out";
        return reply;
      }
    } else {
      // The server may answer (413, 431) and close before reading all of
      // a request; what it sent is still read below.
      break;
    }
  }
  std::string raw;
  char buf[65536];
  for (;;) {
    ssize_t n = recv(fd.get(), buf, sizeof buf, 0);
    if (n > 0) {
      if (raw.size() + static_cast<size_t>(n) > kMaxHttpResponseBytes) {
        reply.error = "response larger than " +
                      std::to_string(kMaxHttpResponseBytes) + " bytes";
        return reply;
      }
      raw.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno == EAGAIN || errno == EINTR) {
      if (!WaitReady(fd.get(), POLLIN, deadline)) {
        reply.error = "no end of response within " +
                      std::to_string(request.timeout.count()) + " s (" +
                      std::to_string(raw.size()) + " bytes read)";
        return reply;
      }
    } else if (errno == ECONNRESET && !raw.empty()) {
      break;  // a reset after a complete answer (unread request bytes)
    } else {
      reply.error = std::string("recv: ") + std::strerror(errno);
      return reply;
    }
  }
  Parse(raw, &reply);
  return reply;
}

HttpReply HttpGet(uint16_t port, const std::string& target,
                  const std::vector<std::string>& headers) {
  HttpRequest request;
  request.target = target;
  request.headers = headers;
  return SendHttp(port, request);
}

std::string BasicAuthHeader(const std::string& user_colon_password) {
  const int variant = sodium_base64_VARIANT_ORIGINAL;
  std::string encoded(
      sodium_base64_encoded_len(user_colon_password.size(), variant), '\0');
  sodium_bin2base64(
      encoded.data(), encoded.size(),
      reinterpret_cast<const unsigned char*>(user_colon_password.data()),
      user_colon_password.size(), variant);
  encoded.resize(std::strlen(encoded.c_str()));
  return "Authorization: Basic " + encoded;
}

uint16_t FreeLoopbackPort() {
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("cannot bind a loopback port");
  }
  return ntohs(addr.sin_port);
}

}  // namespace caravan::integration
