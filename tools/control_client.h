#pragma once
// ControlClient: the CLI's blocking connection to caravand's control socket.
// Sends one framed Request at a time and waits for its Response.
//
// Failures are Status values the CLI turns into exit codes: the daemon not
// running is kUnavailable (exit 5) and names the socket tried; a permission
// problem says which group to join; a request too large for a frame is
// kInvalidInput (never an abort).
//
// Every call carries a deadline (Request.deadlineUnixMs): the CLI stops
// waiting then (kUnavailable), and the daemon does not start a request
// whose deadline has passed, so nothing the CLI gave up on runs later.

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "protocol/control.capnp.h"
#include "protocol/control_framing.h"
#include "protocol/status.h"

namespace caravan::tools {

// A decoded Response; owns the words its reader points into.
class ControlReply {
 public:
  explicit ControlReply(std::vector<capnp::word> words,
                        size_t max_frame_bytes = protocol::kMaxControlFrameBytes);
  protocol::wire::Response::Reader response() const;
  // The Status the daemon reported (ok for code 0).
  Status status() const;

 private:
  std::vector<capnp::word> words_;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader_;
};

// What a client may send and how long it waits.
struct ClientLimits {
  // The daemon's [control] max_frame_bytes: no request is built larger,
  // no reply accepted larger.
  size_t max_frame_bytes = protocol::kMaxControlFrameBytes;
  // How long one Call may take, sending included; 0: no limit.
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
};

class ControlClient {
 public:
  // Connects to the daemon's socket.
  static Result<std::unique_ptr<ControlClient>> Connect(
      const std::filesystem::path& socket_path, ClientLimits limits = {});
  ~ControlClient();
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;

  // Sends `request` (its root must be a Request; its deadline is set here)
  // and waits for the reply. Transport failures (daemon gone mid-call, no
  // answer within the timeout) are kUnavailable; a request over the frame
  // limit is kInvalidInput and nothing is sent; the daemon's own verdict
  // is in the reply's status().
  Result<std::unique_ptr<ControlReply>> Call(capnp::MessageBuilder& request);

  // The socket this client is connected to, and its limits.
  const std::filesystem::path& path() const { return path_; }
  const ClientLimits& limits() const { return limits_; }

 private:
  ControlClient(int fd, std::filesystem::path path, ClientLimits limits)
      : fd_(fd), path_(std::move(path)), limits_(limits) {}
  int fd_;
  std::filesystem::path path_;
  ClientLimits limits_;
};

}  // namespace caravan::tools
