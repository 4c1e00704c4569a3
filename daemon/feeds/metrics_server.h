#pragma once
// MetricsServer: the HTTP/1.1 listener for Prometheus ([metrics] listen,
// docs/metrics.md). It answers GET (and HEAD) /metrics with the exposition
// text a ScrapeFn produces, 404 for every other path and 405 for other
// methods. There is no authentication: operators bind it to loopback or put
// it behind a proxy.
//
// Limits, so a stray or hostile client costs little: request head at most
// kMaxMetricsRequestBytes (431 above, then the connection is closed), no
// request body (413), at most `max_connections` at once and
// `max_connections_per_source` from one address ([metrics], later ones are
// closed at accept by the shared listener, daemon/net/listener.h, which
// also backs off when out of descriptors), so one local user holding
// connections cannot block scrapes from another address. A request head
// must arrive whole within kMetricsHeaderTimeout, and a connection idle
// between requests for kMetricsIdleTimeout is closed (the stream's own
// timer; no awaitable operators): slow or idle clients free their slots
// quickly.
//
// Threading: one coroutine per connection on the io_context; the ScrapeFn
// runs there too (it offloads store reads itself). Start/Stop on the io
// thread or while the io_context is not running. The io_context must
// outlive the server.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "daemon/net/listener.h"
#include "protocol/config/node_config.h"
#include "protocol/status.h"

namespace caravan::feeds {

inline constexpr size_t kMaxMetricsRequestBytes = 8 * 1024;
inline constexpr std::chrono::seconds kMetricsHeaderTimeout{5};
inline constexpr std::chrono::seconds kMetricsIdleTimeout{10};

struct MetricsServerOptions {
  size_t max_connections = 16;
  size_t max_connections_per_source = 4;
};

// Produces the whole exposition text (Metrics::Render), on the io thread.
using ScrapeFn = std::function<boost::asio::awaitable<std::string>()>;

class MetricsServer {
 public:
  MetricsServer(boost::asio::io_context& io, ScrapeFn scrape,
                MetricsServerOptions options = {});
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Binds `listen` and starts accepting. Unavailable naming the address
  // when it cannot be bound.
  Status Start(const protocol::HostPort& listen);
  // Stops accepting and closes live connections. Idempotent.
  void Stop();
  // The bound port (0 when not listening).
  uint16_t port() const;

 private:
  struct State;
  static boost::asio::awaitable<void> Session(
      std::shared_ptr<State> state, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& io_;
  MetricsServerOptions options_;
  // Shared with the coroutines, which may outlive the server object.
  std::shared_ptr<State> state_;
  std::unique_ptr<daemon::net::Listener<boost::asio::ip::tcp>> listener_;
};

}  // namespace caravan::feeds
