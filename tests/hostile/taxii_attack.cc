#include "tests/hostile/taxii_attack.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "tests/hostile/hostile_sockets.h"
#include "tests/integration/http_client.h"

namespace caravan::hostile {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kTaxiiMedia = "application/taxii+json;version=2.1";

}  // namespace

std::string GetRequest(const std::string& target,
                       const std::string& user_colon_password) {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
         integration::BasicAuthHeader(user_colon_password) +
         "\r\nAccept: " + kTaxiiMedia + "\r\nConnection: close\r\n\r\n";
}

std::string UnauthenticatedPostHead(const std::string& target,
                                    size_t content_length) {
  return "POST " + target +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: " + kTaxiiMedia +
         "\r\nContent-Type: " + kTaxiiMedia +
         "\r\nContent-Length: " + std::to_string(content_length) + "\r\n\r\n";
}

RawReply RequestFrom(const std::string& source, uint16_t port,
                     const std::string& request,
                     std::chrono::milliseconds timeout) {
  const auto start = Clock::now();
  const auto deadline = start + timeout;
  RawReply reply;
  const int fd = OpenFrom(source, port);
  if (fd < 0) return reply;
  std::string got;
  if (SendAllBy(fd, request, deadline)) {
    char buf[16384];
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - Clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd, POLLIN, 0};
      const int ready = poll(&p, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) break;
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
  }
  CloseHard(fd);
  reply.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      Clock::now() - start);
  // "HTTP/1.1 401 ..."
  if (got.rfind("HTTP/1.", 0) == 0 && got.size() >= 12) {
    reply.status = std::atoi(got.c_str() + 9);
  }
  return reply;
}

}  // namespace caravan::hostile
