#pragma once
// ControlClient: the CLI's blocking connection to caravand's control socket.
// Sends one framed Request at a time and waits for its Response.
//
// Failures are Status values the CLI turns into exit codes: the daemon not
// running is kUnavailable (exit 5) and names the socket tried; a permission
// problem says which group to join.

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "protocol/control.capnp.h"
#include "protocol/status.h"

namespace caravan::tools {

// A decoded Response; owns the words its reader points into.
class ControlReply {
 public:
  explicit ControlReply(std::vector<capnp::word> words);
  protocol::wire::Response::Reader response() const;
  // The Status the daemon reported (ok for code 0).
  Status status() const;

 private:
  std::vector<capnp::word> words_;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader_;
};

class ControlClient {
 public:
  // Connects to the daemon's socket.
  static Result<std::unique_ptr<ControlClient>> Connect(
      const std::filesystem::path& socket_path);
  ~ControlClient();
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;

  // Sends `request` and waits for the reply. Transport failures (daemon
  // gone mid-call) are kUnavailable; the daemon's own verdict is in the
  // reply's status().
  Result<std::unique_ptr<ControlReply>> Call(capnp::MessageBuilder& request);

  // The socket this client is connected to.
  const std::filesystem::path& path() const { return path_; }

 private:
  ControlClient(int fd, std::filesystem::path path)
      : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::filesystem::path path_;
};

}  // namespace caravan::tools
