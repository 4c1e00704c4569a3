#include "tools/control_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <cstring>

#include "protocol/control_framing.h"

namespace caravan::tools {

ControlReply::ControlReply(std::vector<capnp::word> words,
                           size_t max_frame_bytes)
    : words_(std::move(words)),
      reader_(std::make_unique<capnp::FlatArrayMessageReader>(
          kj::arrayPtr(words_.data(), words_.size()),
          protocol::ControlReaderOptions(max_frame_bytes))) {}

protocol::wire::Response::Reader ControlReply::response() const {
  return reader_->getRoot<protocol::wire::Response>();
}

Status ControlReply::status() const {
  auto r = response();
  const auto code = static_cast<StatusCode>(r.getCode());
  if (code == StatusCode::kOk) return Status::Ok();
  if (r.getCode() > static_cast<uint8_t>(StatusCode::kInternal)) {
    return Internal("daemon replied with unknown status code " +
                    std::to_string(r.getCode()));
  }
  return Status(code, std::string(r.getMessage().cStr()));
}

Result<std::unique_ptr<ControlClient>> ControlClient::Connect(
    const std::filesystem::path& socket_path, ClientLimits limits) {
  const std::string path = socket_path.string();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return InvalidInput("control socket path too long: " + path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Internal(std::string("socket: ") + std::strerror(errno));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    close(fd);
    if (err == EACCES || err == EPERM) {
      return Denied("permission denied on control socket " + path +
                    " (are you root or in the caravan group?)");
    }
    return Unavailable("caravand is not running: cannot connect to " + path +
                       " (" + std::strerror(err) + ")");
  }
  return std::unique_ptr<ControlClient>(
      new ControlClient(fd, socket_path, limits));
}

ControlClient::~ControlClient() { close(fd_); }

namespace {

using Clock = std::chrono::steady_clock;

// Waits until `fd` is ready for `events` or `deadline` passes (nullopt:
// never). False: the deadline passed first.
bool WaitReady(int fd, short events, std::optional<Clock::time_point> deadline) {
  for (;;) {
    int wait_ms = -1;
    if (deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          *deadline - Clock::now());
      if (left.count() <= 0) return false;
      wait_ms = static_cast<int>(std::min<int64_t>(left.count(), 60'000));
    }
    pollfd p{fd, events, 0};
    const int r = poll(&p, 1, wait_ms);
    if (r > 0) return true;  // ready, or an error the next call reports
    if (r < 0 && errno != EINTR) return true;
  }
}

// A whole reply frame the daemon already sent on `fd` (read without
// waiting), nullptr when there is none.
std::unique_ptr<ControlReply> ReplyWaiting(int fd, size_t max_frame_bytes) {
  protocol::FrameDecoder decoder(max_frame_bytes);
  std::vector<uint8_t> buffer(64 * 1024);
  for (;;) {
    auto next = decoder.Next();
    if (!next.ok()) return nullptr;
    if (next->has_value()) {
      return std::make_unique<ControlReply>(std::move(**next), max_frame_bytes);
    }
    ssize_t n = recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return nullptr;
    decoder.Append(std::span<const uint8_t>(buffer.data(), size_t(n)));
  }
}

}  // namespace

Result<std::unique_ptr<ControlReply>> ControlClient::Call(
    capnp::MessageBuilder& request) {
  std::optional<Clock::time_point> deadline;
  if (limits_.timeout.count() > 0) {
    deadline = Clock::now() + limits_.timeout;
    const auto wall = std::chrono::system_clock::now() + limits_.timeout;
    request.getRoot<protocol::wire::Request>().setDeadlineUnixMs(
        std::chrono::duration_cast<std::chrono::milliseconds>(
            wall.time_since_epoch())
            .count());
  }
  const std::string waited =
      std::to_string(limits_.timeout.count() / 1000) + "s";
  auto framed = protocol::FrameMessageWithin(request, limits_.max_frame_bytes);
  if (!framed.ok()) return framed.status();
  const std::vector<uint8_t>& frame = *framed;
  size_t sent = 0;
  while (sent < frame.size()) {
    if (!WaitReady(fd_, POLLOUT, deadline)) {
      return Unavailable("caravand did not take the request within " +
                         waited + " on " + path_.string() +
                         " (it is not run once that deadline has passed)");
    }
    ssize_t n = send(fd_, frame.data() + sent, frame.size() - sent,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
      continue;
    }
    if (n <= 0) {
      // A daemon at its max_connections answers "retry later" and closes
      // before reading: show that answer, not a bare broken pipe.
      if (auto refusal = ReplyWaiting(fd_, limits_.max_frame_bytes)) {
        return refusal;
      }
      return Unavailable("lost the connection to caravand on " +
                         path_.string() + " while sending");
    }
    sent += static_cast<size_t>(n);
  }
  protocol::FrameDecoder decoder(limits_.max_frame_bytes);
  std::vector<uint8_t> buffer(64 * 1024);
  for (;;) {
    auto next = decoder.Next();
    if (!next.ok()) return next.status();
    if (next->has_value()) {
      return std::make_unique<ControlReply>(std::move(**next),
                                            limits_.max_frame_bytes);
    }
    if (!WaitReady(fd_, POLLIN, deadline)) {
      return Unavailable("caravand did not answer within " + waited +
                         " on " + path_.string() +
                         " (a request that had not started is not run)");
    }
    ssize_t n = recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
      continue;
    }
    if (n <= 0) {
      return Unavailable("caravand closed the connection on " +
                         path_.string() + " before replying");
    }
    decoder.Append(std::span<const uint8_t>(buffer.data(), size_t(n)));
  }
}

}  // namespace caravan::tools
