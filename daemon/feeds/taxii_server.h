#pragma once
// TaxiiServer: the HTTP/1.1 listener of the TAXII API (Boost.Beast). One
// coroutine per connection on the node's io_context; every request is
// handed to TaxiiHandler on the worker pool (it reads SQLite). Requests
// whose body exceeds the limit get 413 before the body is read.
//
// Plain HTTP: put TLS in front with a reverse proxy (docs/taxii.md).
// Accepting is the shared listener's (daemon/net/listener.h): it backs off
// when out of descriptors and logs that rate-limited.
//
// Threading: Start/Stop on the io thread or while the io_context is not
// running. The handler, io_context and pool must outlive the server.

#include <boost/asio/io_context.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>

#include "daemon/net/listener.h"
#include "daemon/observe/metrics.h"
#include "daemon/feeds/taxii_handler.h"
#include "protocol/config/node_config.h"
#include "protocol/status.h"

namespace caravan::feeds {

class TaxiiServer {
 public:
  TaxiiServer(boost::asio::io_context& io, boost::asio::thread_pool& pool,
              TaxiiHandler& handler, uint64_t max_request_bytes);
  ~TaxiiServer();

  // Binds `listen` and starts accepting. Unavailable naming the address
  // when it cannot be bound.
  Status Start(const protocol::HostPort& listen);
  // Stops accepting; live connections end with their next read.
  void Stop();
  // The bound port (useful when listening on port 0).
  uint16_t port() const;
  // Request latency by status code goes here from now on (null: nowhere).
  void set_metrics(daemon::Metrics* metrics) { metrics_ = metrics; }

 private:
  boost::asio::awaitable<void> Session(boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& io_;
  boost::asio::thread_pool& pool_;
  TaxiiHandler& handler_;
  uint64_t max_request_bytes_;
  std::unique_ptr<daemon::net::Listener<boost::asio::ip::tcp>> listener_;
  std::shared_ptr<bool> stopped_;
  daemon::Metrics* metrics_ = nullptr;
};

}  // namespace caravan::feeds
