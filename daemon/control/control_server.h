#pragma once
// ControlServer: the daemon's Unix control socket. Accepts connections from
// the `caravan` CLI, reads length-framed Cap'n Proto requests
// (protocol/control_framing.h), hands each to a ControlHandler together with
// the caller's credentials (SO_PEERCRED), and writes the framed response
// back, one request at a time per connection.
//
// The socket is created with mode 0660 and, when the group exists, owned by
// the configured group, so only root and members of that group can talk to
// the daemon (a missing group is logged as a warning naming it).
//
// Limits (docs/config.md, [control]), so that no client, however broken or
// hostile, holds memory or a slot for long:
// - live connections (max_connections), refused with a "retry later" reply;
// - frame size (max_frame_bytes): a larger declared length gets an error
//   reply and the connection is closed; a request buffer grows with the
//   bytes that arrive, never to the announced length up front;
// - bytes buffered by all connections together (max_buffered_bytes): the
//   first kFreeBytesPerConnection of each request are not counted (small
//   requests such as `caravan status` never wait); beyond them a connection
//   takes from a shared ControlBudget and waits while it is exhausted;
// - time: idle_timeout between requests, frame_timeout from the first byte
//   of a frame to its last, write_timeout for a reply to be read. A
//   connection that breaks one is closed, counted and logged (rate-limited).
// While a request runs, the server watches the connection: if the client
// hangs up, ControlCall::client_gone is set and a request that has not
// started yet is not run.
//
// Threading: everything runs on the io_context given to the constructor;
// the handler must not block it (run store work on a worker pool).

#include <sys/types.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <capnp/common.h>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "daemon/control/control_budget.h"
#include "daemon/net/listener.h"
#include "daemon/net/listener_core.h"
#include "daemon/observe/metrics.h"
#include "protocol/status.h"

namespace caravan::daemon {

// Who is on the other end of a control connection, from SO_PEERCRED.
struct ControlPeer {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
};

// One request as the server hands it over: who sent it, and a flag the
// server sets (on its io thread) when the client hangs up before the reply.
struct ControlCall {
  ControlPeer peer;
  std::shared_ptr<const std::atomic<bool>> client_gone =
      std::make_shared<std::atomic<bool>>(false);
};

class ControlHandler {
 public:
  virtual ~ControlHandler() = default;
  // Handles one request message (already size-checked, not yet
  // interpreted) and returns the framed response bytes. Never throws for
  // bad input: a malformed request gets an error Response.
  virtual boost::asio::awaitable<std::vector<uint8_t>> Handle(
      std::vector<capnp::word> request, ControlCall call) = 0;
};

// The first bytes of every request that do not count against
// max_buffered_bytes (so max_connections x this is the uncounted worst case).
inline constexpr size_t kFreeBytesPerConnection = 64 * 1024;

struct ControlServerOptions {
  std::filesystem::path socket_path;
  std::string group;  // empty or missing group: keep the daemon's group
  size_t max_frame_bytes = 16u << 20;
  size_t max_connections = 64;
  // Invariant: max_buffered_bytes >= max_frame_bytes (one full frame fits).
  size_t max_buffered_bytes = 64u << 20;
  std::chrono::seconds idle_timeout{120};
  std::chrono::seconds frame_timeout{30};
  std::chrono::seconds write_timeout{30};
};

// Totals since start, for /metrics and tests.
struct ControlServerStats {
  uint64_t idle_closed = 0;       // idle_timeout passed between requests
  uint64_t frame_timeouts = 0;    // a frame did not complete in time
  uint64_t write_timeouts = 0;    // a reply was not read in time
  uint64_t frames_too_large = 0;  // declared length over the limit, or bad
  uint64_t budget_waits = 0;      // a request waited for max_buffered_bytes
  uint64_t hangups_seen = 0;      // clients gone while their request ran
};

class ControlServer {
 public:
  // `io`, `handler` and `metrics` (may be null) must outlive the server.
  ControlServer(boost::asio::io_context& io, ControlHandler& handler,
                ControlServerOptions options, Metrics* metrics = nullptr);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Binds the socket (replacing a stale one left by a crashed daemon,
  // refusing if another daemon answers on it), sets its mode and group and
  // starts accepting. Fails with a message naming the path.
  Status Start();

  // Stops accepting, closes every live connection and removes the socket
  // file. Idempotent.
  void Stop();

  size_t live_connections() const { return connections_.size(); }
  const ControlServerStats& stats() const { return stats_; }
  // Bytes held by request buffers and replies beyond the free allowance,
  // and the most ever held at once.
  size_t buffered_bytes() const { return budget_.used(); }
  size_t peak_buffered_bytes() const { return budget_.peak(); }

 private:
  class Connection;
  // Serves one accepted connection until it ends (the listener's handler).
  boost::asio::awaitable<void> Serve(
      boost::asio::local::stream_protocol::socket socket);
  // Counts a connection closed for breaking a limit in /metrics.
  void CountDropped(const char* reason);
  // Called when a connection gave buffer bytes back: returns freed memory
  // to the kernel once the flood is over.
  void OnBuffersReleased();

  boost::asio::io_context& io_;
  ControlHandler& handler_;
  ControlServerOptions options_;
  Metrics* metrics_;  // may be null
  // Bound in Start, then handed to listener_.
  std::unique_ptr<boost::asio::local::stream_protocol::acceptor> acceptor_;
  std::unique_ptr<net::Listener<boost::asio::local::stream_protocol>>
      listener_;
  std::set<std::shared_ptr<Connection>> connections_;
  ControlBudget budget_;
  ControlServerStats stats_;
  // One line per interval for each way a connection is dropped.
  net::LogLimiter frame_timeout_log_{std::chrono::seconds(10)};
  net::LogLimiter write_timeout_log_{std::chrono::seconds(10)};
  net::LogLimiter bad_frame_log_{std::chrono::seconds(10)};
  net::LogLimiter budget_log_{std::chrono::seconds(10)};
  // budget_.given_total() at the last malloc_trim (OnBuffersReleased).
  uint64_t given_at_last_trim_ = 0;
  bool stopped_ = false;
};

}  // namespace caravan::daemon
