#include "daemon/control/control_server.h"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <exception>

#include "daemon/observe/log.h"
#include "daemon/control/control_response.h"
#include "daemon/net/deadline.h"
#include "protocol/control_framing.h"

namespace caravan::daemon {
namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using asio::local::stream_protocol;

namespace {

ControlPeer PeerCredentials(stream_protocol::socket& socket) {
  ucred cred{};
  socklen_t len = sizeof cred;
  ControlPeer peer;
  if (getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred,
                 &len) == 0) {
    peer.uid = cred.uid;
    peer.gid = cred.gid;
    peer.pid = cred.pid;
  } else {
    // Without credentials we cannot attribute changes: treat the caller as
    // nobody so the audit log never names a wrong uid.
    peer.uid = static_cast<uid_t>(-1);
  }
  return peer;
}

}  // namespace

class ControlServer::Connection {
 public:
  Connection(stream_protocol::socket socket, ControlServer& server)
      : socket_(std::move(socket)),
        idle_(socket_.get_executor(), [this] { Close(); }),
        server_(server) {}

  awaitable<void> Run() {
    const ControlPeer peer = PeerCredentials(socket_);
    protocol::FrameDecoder decoder;
    std::array<uint8_t, 64 * 1024> buffer;
    for (;;) {
      // Answer every complete frame already buffered, in order.
      for (;;) {
        auto next = decoder.Next();
        if (!next.ok()) {
          // A broken frame leaves the stream unsynchronized: say why, then
          // hang up.
          auto reply = ErrorResponse(next.status());
          co_await asio::async_write(socket_, asio::buffer(reply),
                                     asio::as_tuple(use_awaitable));
          co_return;
        }
        if (!next->has_value()) break;
        std::vector<uint8_t> reply =
            co_await server_.handler_.Handle(std::move(**next), peer);
        auto [ec, n] = co_await asio::async_write(
            socket_, asio::buffer(reply), asio::as_tuple(use_awaitable));
        if (ec) co_return;
      }
      // Idle limit as a watchdog that closes the socket, not as an
      // awaitable `||`: Boost 1.81's awaitable operators have a
      // use-after-free in cancellation (asio issue 1332) that crashed the
      // daemon under bulk submits.
      idle_.ExpiresAfter(server_.options_.idle_timeout);
      auto [ec, n] = co_await socket_.async_read_some(
          asio::buffer(buffer), asio::as_tuple(use_awaitable));
      idle_.Cancel();
      if (ec) co_return;  // closed by the client, idle, or by Stop()
      decoder.Append(std::span<const uint8_t>(buffer.data(), n));
    }
  }

  void Close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
    idle_.Cancel();
  }

 private:
  stream_protocol::socket socket_;
  net::Deadline idle_;
  ControlServer& server_;
};

ControlServer::ControlServer(asio::io_context& io, ControlHandler& handler,
                             ControlServerOptions options)
    : io_(io), handler_(handler), options_(std::move(options)) {}

ControlServer::~ControlServer() { Stop(); }

Status ControlServer::Start() {
  const std::string path = options_.socket_path.string();
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return InvalidInput("control socket path too long (" +
                        std::to_string(path.size()) + " bytes): " + path);
  }
  boost::system::error_code ec;
  if (std::filesystem::exists(options_.socket_path)) {
    stream_protocol::socket probe(io_);
    probe.connect(stream_protocol::endpoint(path), ec);
    if (!ec) {
      return Unavailable("another caravand is already listening on " + path);
    }
    std::filesystem::remove(options_.socket_path, ec);
  }
  acceptor_ = std::make_unique<stream_protocol::acceptor>(io_);
  acceptor_->open(stream_protocol(), ec);
  if (!ec) acceptor_->bind(stream_protocol::endpoint(path), ec);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Unavailable("cannot listen on control socket " + path + ": " +
                       ec.message());
  }
  if (!options_.group.empty()) {
    std::array<char, 4096> buf;
    group grp{};
    group* found = nullptr;
    if (getgrnam_r(options_.group.c_str(), &grp, buf.data(), buf.size(),
                   &found) == 0 &&
        found != nullptr) {
      if (chown(path.c_str(), static_cast<uid_t>(-1), found->gr_gid) != 0) {
        LogWarning("cannot give control socket " + path + " to group " +
                   options_.group + ": " + std::strerror(errno));
      }
    }
  }
  if (chmod(path.c_str(), 0660) != 0) {
    return Internal("cannot chmod control socket " + path + ": " +
                    std::strerror(errno));
  }
  net::ListenerOptions listener_options;
  listener_options.name = "control socket";
  listener_options.max_connections = options_.max_connections;
  // Refuse rather than queue: a flood of clients must not exhaust
  // descriptors or memory. The CLI gets a reply it can show.
  auto refuse = [max = options_.max_connections](stream_protocol::socket& s) {
    auto reply = ErrorResponse(RetryLater("too many control connections (" +
                                          std::to_string(max) + ")"));
    boost::system::error_code ignored;
    asio::write(s, asio::buffer(reply), ignored);
  };
  listener_ = std::make_unique<net::Listener<stream_protocol>>(
      io_, std::move(*acceptor_), std::move(listener_options),
      [this](stream_protocol::socket s) { return Serve(std::move(s)); },
      std::move(refuse));
  acceptor_.reset();
  listener_->Start();
  return Status::Ok();
}

awaitable<void> ControlServer::Serve(stream_protocol::socket socket) {
  auto connection = std::make_shared<Connection>(std::move(socket), *this);
  connections_.insert(connection);
  // The registry entry goes whatever Run does; an exception is passed on to
  // the listener, which logs it.
  std::exception_ptr failure;
  try {
    co_await connection->Run();
  } catch (...) {
    failure = std::current_exception();
  }
  connection->Close();
  connections_.erase(connection);
  if (failure) std::rethrow_exception(failure);
}

void ControlServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ec;
  if (acceptor_) acceptor_->close(ec);  // Start failed half way
  if (listener_) listener_->Stop();
  if (acceptor_ || listener_) {
    std::filesystem::remove(options_.socket_path, ec);
  }
  for (const auto& c : connections_) c->Close();
}

}  // namespace caravan::daemon
