#pragma once
// Feeds: the node's interop services, started and stopped with the node:
// the TAXII 2.1 server and plain blocklist feeds (when [taxii] listen is
// set) and the spool directory (when [spool] dir is set, spool_service.h).
// Node owns one and wires it with the store, the worker pool and a
// submit function (so this library does not depend on daemon/node).
//
// Threading: Start/Stop on the io thread or while the io_context is idle.

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>

#include "daemon/observe/metrics.h"
#include "daemon/feeds/spool_service.h"
#include "daemon/feeds/taxii_handler.h"
#include "daemon/feeds/taxii_server.h"
#include "daemon/store/store.h"
#include "protocol/config/node_config.h"
#include "protocol/status.h"

namespace caravan::feeds {

struct FeedsDeps {
  boost::asio::io_context* io = nullptr;
  boost::asio::thread_pool* pool = nullptr;
  store::Store* store = nullptr;
  const protocol::NodeConfig* config = nullptr;
  SubmitFn submit;  // may be empty: nothing writable
  daemon::Metrics* metrics = nullptr;  // may be null: nothing measured
};

class Feeds {
 public:
  // Everything in `deps` must outlive the Feeds.
  explicit Feeds(FeedsDeps deps);
  ~Feeds();
  // Starts the spool and loads the TAXII accounts file and binds the
  // listener, each if configured. The error names the file, directory or
  // address.
  Status Start();
  void Stop();
  // The TAXII port actually bound, 0 when off.
  uint16_t taxii_port() const;

 private:
  Status StartSpool();

  FeedsDeps deps_;
  std::unique_ptr<TaxiiHandler> handler_;
  std::unique_ptr<TaxiiServer> server_;
  std::unique_ptr<SpoolService> spool_;
};

}  // namespace caravan::feeds
