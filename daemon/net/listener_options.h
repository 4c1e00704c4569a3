#pragma once
// The knobs and counters of a Listener (daemon/net/listener.h). Separate so
// that config code can fill ListenerOptions without pulling in Asio.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace caravan::daemon::net {

struct ListenerOptions {
  // Names the listener in log lines: "control socket", "taxii", "metrics".
  std::string name = "listener";
  // Live connections (handlers not yet returned) at most; a connection
  // accepted at the cap is refused and closed at once. 0: no cap.
  size_t max_connections = 0;
  // Live connections from one source at most (TCP: the remote address;
  // Unix socket: the peer's uid). 0: no per-source cap.
  size_t max_per_source = 0;
  // Pause after an accept failed for lack of descriptors, buffers or memory
  // (EMFILE, ENFILE, ENOBUFS, ENOMEM): backoff_initial, doubling on each
  // consecutive failure up to backoff_max; a successful accept resets it.
  // Invariant: 0 < backoff_initial <= backoff_max.
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{1000};
  // At most one log line per interval for each kind of trouble (out of
  // resources, other accept errors, refusals at a cap, recovery), carrying
  // the number of events since the previous line.
  std::chrono::milliseconds log_interval{std::chrono::seconds(10)};
};

// Totals since the listener was created.
struct ListenerStats {
  uint64_t accepted = 0;           // sockets accepted (served or refused)
  uint64_t refused_at_cap = 0;     // closed at once: global cap
  uint64_t refused_per_source = 0; // closed at once: per-source cap
  uint64_t resource_failures = 0;  // EMFILE, ENFILE, ENOBUFS, ENOMEM
  uint64_t other_failures = 0;     // any other accept error
  uint64_t pauses = 0;             // backoff sleeps taken
};

}  // namespace caravan::daemon::net
