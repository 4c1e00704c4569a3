#include "tools/control_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "protocol/control_framing.h"

namespace caravan::tools {

ControlReply::ControlReply(std::vector<capnp::word> words)
    : words_(std::move(words)),
      reader_(std::make_unique<capnp::FlatArrayMessageReader>(
          kj::arrayPtr(words_.data(), words_.size()),
          protocol::ControlReaderOptions())) {}

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
    const std::filesystem::path& socket_path) {
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
  return std::unique_ptr<ControlClient>(new ControlClient(fd, socket_path));
}

ControlClient::~ControlClient() { close(fd_); }

Result<std::unique_ptr<ControlReply>> ControlClient::Call(
    capnp::MessageBuilder& request) {
  const std::vector<uint8_t> frame = protocol::FrameMessage(request);
  size_t sent = 0;
  while (sent < frame.size()) {
    ssize_t n = send(fd_, frame.data() + sent, frame.size() - sent,
                     MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Unavailable("lost the connection to caravand on " +
                         path_.string() + " while sending");
    }
    sent += static_cast<size_t>(n);
  }
  protocol::FrameDecoder decoder;
  std::vector<uint8_t> buffer(64 * 1024);
  for (;;) {
    auto next = decoder.Next();
    if (!next.ok()) return next.status();
    if (next->has_value()) {
      return std::make_unique<ControlReply>(std::move(**next));
    }
    ssize_t n = recv(fd_, buffer.data(), buffer.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Unavailable("caravand closed the connection on " +
                         path_.string() + " before replying");
    }
    decoder.Append(std::span<const uint8_t>(buffer.data(), size_t(n)));
  }
}

}  // namespace caravan::tools
