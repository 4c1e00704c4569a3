#pragma once
// ListenerCore: the protocol-independent bookkeeping of a Listener
// (daemon/net/listener.h): live connection counts and caps, the backoff
// after failed accepts, and the rate-limited log lines. Kept out of the
// template so it is compiled once and testable without sockets.
//
// Thread-safety: none; the Listener calls it from its io thread only.

#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "daemon/net/listener_options.h"

namespace caravan::daemon::net {

// Counts events and says when a log line is due: at the first event and
// then at most once per interval.
class LogLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LogLimiter(std::chrono::milliseconds interval)
      : interval_(interval) {}
  // Counts one event at `now`. Returns the number of events since the last
  // line (this one included) when a line is due, 0 when it is not.
  uint64_t Count(Clock::time_point now);

 private:
  std::chrono::milliseconds interval_;
  std::optional<Clock::time_point> last_line_;
  uint64_t pending_ = 0;
};

// How an accept error is handled.
enum class AcceptErrorKind {
  kStopped,         // the acceptor was closed: end the loop
  kOutOfResources,  // EMFILE, ENFILE, ENOBUFS, ENOMEM: pause with backoff
  kTransient,       // the one connection failed (ECONNABORTED...): go on
  kOther,           // unexpected: log, pause briefly so it cannot spin
};
AcceptErrorKind ClassifyAcceptError(const boost::system::error_code& ec);

class ListenerCore {
 public:
  explicit ListenerCore(ListenerOptions options);

  const ListenerOptions& options() const { return options_; }
  const ListenerStats& stats() const { return stats_; }
  size_t live() const { return live_; }
  // A socket was accepted from `source` ("" when not known). True: it holds
  // a slot until Release(source). False: it must be closed now (counted,
  // logged rate-limited). Resets the backoff either way.
  bool Admit(const std::string& source);
  void Release(const std::string& source);

  // An accept failed with `ec` (not kStopped). Counts and logs it
  // (rate-limited) and returns how long to pause before accepting again
  // (zero: do not pause).
  std::chrono::milliseconds OnAcceptError(const boost::system::error_code& ec);

 private:
  const ListenerOptions options_;
  ListenerStats stats_;
  size_t live_ = 0;
  std::map<std::string, size_t> live_by_source_;  // entries are > 0
  std::chrono::milliseconds next_pause_;
  uint64_t failures_in_episode_ = 0;  // resource failures since last accept
  LogLimiter resource_log_;
  LogLimiter other_log_;
  LogLimiter refused_log_;
  LogLimiter recovered_log_;
};

}  // namespace caravan::daemon::net
