#pragma once
// ControlServer: the daemon's Unix control socket. Accepts connections from
// the `caravan` CLI, reads length-framed Cap'n Proto requests
// (protocol/control_framing.h), hands each to a ControlHandler together with
// the caller's credentials (SO_PEERCRED), and writes the framed response
// back, one request at a time per connection.
//
// The socket is created with mode 0660 and, when the group exists, owned by
// the configured group, so only root and members of that group can talk to
// the daemon. Limits: frame size, number of live connections, idle time.
//
// Threading: everything runs on the io_context given to the constructor;
// the handler must not block it (run store work on a worker pool).

#include <sys/types.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <capnp/common.h>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "daemon/net/listener.h"
#include "protocol/status.h"

namespace caravan::daemon {

// Who is on the other end of a control connection, from SO_PEERCRED.
struct ControlPeer {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
};

class ControlHandler {
 public:
  virtual ~ControlHandler() = default;
  // Handles one request message (already size-checked, not yet
  // interpreted) and returns the framed response bytes. Never throws for
  // bad input: a malformed request gets an error Response.
  virtual boost::asio::awaitable<std::vector<uint8_t>> Handle(
      std::vector<capnp::word> request, ControlPeer peer) = 0;
};

struct ControlServerOptions {
  std::filesystem::path socket_path;
  std::string group;  // empty or missing group: keep the daemon's group
  size_t max_frame_bytes = 16u << 20;
  size_t max_connections = 64;
  std::chrono::seconds idle_timeout{300};
};

class ControlServer {
 public:
  // `io` and `handler` must outlive the server.
  ControlServer(boost::asio::io_context& io, ControlHandler& handler,
                ControlServerOptions options);
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

 private:
  class Connection;
  // Serves one accepted connection until it ends (the listener's handler).
  boost::asio::awaitable<void> Serve(
      boost::asio::local::stream_protocol::socket socket);

  boost::asio::io_context& io_;
  ControlHandler& handler_;
  ControlServerOptions options_;
  // Bound in Start, then handed to listener_.
  std::unique_ptr<boost::asio::local::stream_protocol::acceptor> acceptor_;
  std::unique_ptr<net::Listener<boost::asio::local::stream_protocol>>
      listener_;
  std::set<std::shared_ptr<Connection>> connections_;
  bool stopped_ = false;
};

}  // namespace caravan::daemon
