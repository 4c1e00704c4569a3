#pragma once
// TaxiiServer: the HTTP/1.1 listener of the TAXII API (Boost.Beast). One
// coroutine per connection on the node's io_context. Built to hold under
// hostile load (issue 14, docs/taxii.md "Limits"):
// - connections: at most `max_connections`, and `max_connections_per_source`
//   per remote address (the shared listener, daemon/net/listener.h, which
//   also backs off when out of descriptors); more are closed at accept;
// - time: the first byte of a request must come within `header_timeout` on
//   a new connection and `idle_timeout` between keep-alive requests, the
//   whole head within `header_timeout`, the body by `request_timeout` after
//   the request began, and each response must be taken by the client
//   within `request_timeout` (a client that never reads is dropped);
// - order: the head is read first (at most `max_header_bytes`, 431 above),
//   the login is checked from it (TaxiiLoginGuard: throttling, bounded
//   queue), and only an authenticated caller allowed to send a body has it
//   read (at most `max_request_bytes`, 413 above). Every refusal whose body
//   stays unread closes the connection (LingeringClose);
// - Argon2 runs on its own one-thread pool, so password guessing cannot
//   occupy the worker pool the CLI, /metrics and good clients need.
// Requests are then handed to TaxiiHandler on the worker pool (SQLite).
//
// Plain HTTP: put TLS in front with a reverse proxy (docs/taxii.md).
//
// Threading: Start/Stop on the io thread or while the io_context is not
// running. The handler, io_context and pool must outlive the server.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <memory>

#include "daemon/feeds/taxii_handler.h"
#include "daemon/feeds/taxii_login_guard.h"
#include "daemon/net/listener.h"
#include "daemon/observe/metrics.h"
#include "protocol/config/node_config.h"
#include "protocol/status.h"

namespace caravan::feeds {

struct TaxiiServerOptions {
  uint64_t max_request_bytes = 8 * 1024 * 1024;
  size_t max_header_bytes = 16 * 1024;
  size_t max_connections = 256;
  size_t max_connections_per_source = 32;
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds request_timeout{std::chrono::seconds(60)};
  TaxiiLoginGuard::Options login;
};

// The server's options from [taxii] (docs/config.md).
TaxiiServerOptions TaxiiServerOptionsFrom(const protocol::NodeConfig::Taxii& c);

class TaxiiServer {
 public:
  // `audit` records summarised failed logins (may be empty).
  TaxiiServer(boost::asio::io_context& io, boost::asio::thread_pool& pool,
              TaxiiHandler& handler, TaxiiServerOptions options,
              LoginAuditFn audit);
  ~TaxiiServer();

  // Binds `listen` and starts accepting. Unavailable naming the address
  // when it cannot be bound.
  Status Start(const protocol::HostPort& listen);
  // Stops accepting, logs the pending failed-login summaries; live
  // connections end with their next read.
  void Stop();
  // The bound port (useful when listening on port 0).
  uint16_t port() const;
  // Request latency by status code goes here from now on (null: nowhere).
  void set_metrics(daemon::Metrics* metrics) { metrics_ = metrics; }

 private:
  boost::asio::awaitable<void> Session(boost::asio::ip::tcp::socket socket);
  boost::asio::awaitable<void> FlushLoop();

  boost::asio::io_context& io_;
  boost::asio::thread_pool& pool_;
  TaxiiHandler& handler_;
  TaxiiServerOptions options_;
  TaxiiLoginGuard guard_;
  // Argon2 only; one thread: a login costs ~64 MiB and a core for ~0.1 s.
  boost::asio::thread_pool login_pool_{1};
  boost::asio::steady_timer flush_timer_;
  std::unique_ptr<daemon::net::Listener<boost::asio::ip::tcp>> listener_;
  std::shared_ptr<bool> stopped_;
  daemon::Metrics* metrics_ = nullptr;
};

}  // namespace caravan::feeds
