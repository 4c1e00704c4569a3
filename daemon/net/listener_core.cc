#include "daemon/net/listener_core.h"

#include <boost/asio/error.hpp>
#include <algorithm>
#include <cerrno>

#include "daemon/observe/log.h"

namespace caravan::daemon::net {

namespace asio = boost::asio;

uint64_t LogLimiter::Count(Clock::time_point now) {
  ++pending_;
  if (last_line_ && now - *last_line_ < interval_) return 0;
  last_line_ = now;
  const uint64_t count = pending_;
  pending_ = 0;
  return count;
}

AcceptErrorKind ClassifyAcceptError(const boost::system::error_code& ec) {
  if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) {
    return AcceptErrorKind::kStopped;
  }
  if (ec.category() != boost::system::system_category()) {
    return AcceptErrorKind::kOther;
  }
  switch (ec.value()) {
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
      return AcceptErrorKind::kOutOfResources;
    // accept(2) on Linux passes on the new socket's pending network errors
    // and firewall denials; they concern that connection only.
    case ECONNABORTED:
    case EPROTO:
    case EPERM:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
    case EINTR:
    case EAGAIN:
      return AcceptErrorKind::kTransient;
    default:
      return AcceptErrorKind::kOther;
  }
}

ListenerCore::ListenerCore(ListenerOptions options)
    : options_(std::move(options)),
      next_pause_(options_.backoff_initial),
      resource_log_(options_.log_interval),
      other_log_(options_.log_interval),
      refused_log_(options_.log_interval),
      recovered_log_(options_.log_interval) {}

bool ListenerCore::Admit(const std::string& source) {
  ++stats_.accepted;
  next_pause_ = options_.backoff_initial;
  const auto now = LogLimiter::Clock::now();
  if (failures_in_episode_ > 0) {
    if (uint64_t n = recovered_log_.Count(now)) {
      LogNotice(options_.name, ": accepting again after ", failures_in_episode_,
                " failed accepts",
                n > 1 ? " (" + std::to_string(n) + " recoveries since the last report)"
                      : std::string());
    }
    failures_in_episode_ = 0;
  }
  const char* refused = nullptr;
  size_t cap = 0;
  if (options_.max_connections > 0 && live_ >= options_.max_connections) {
    ++stats_.refused_at_cap;
    refused = "connections";
    cap = options_.max_connections;
  } else if (options_.max_per_source > 0) {
    auto it = live_by_source_.find(source);
    if (it != live_by_source_.end() && it->second >= options_.max_per_source) {
      ++stats_.refused_per_source;
      refused = "connections from one source";
      cap = options_.max_per_source;
    }
  }
  if (refused != nullptr) {
    if (uint64_t n = refused_log_.Count(now)) {
      LogWarning(options_.name, ": refused ", n, " connection(s) at the cap of ",
                 cap, " ", refused, source.empty() ? "" : "; last from ",
                 source);
    }
    return false;
  }
  ++live_;
  if (options_.max_per_source > 0) ++live_by_source_[source];
  return true;
}

void ListenerCore::Release(const std::string& source) {
  if (live_ > 0) --live_;
  if (options_.max_per_source == 0) return;
  auto it = live_by_source_.find(source);
  if (it != live_by_source_.end() && --it->second == 0) {
    live_by_source_.erase(it);
  }
}

std::chrono::milliseconds ListenerCore::OnAcceptError(
    const boost::system::error_code& ec) {
  const auto now = LogLimiter::Clock::now();
  switch (ClassifyAcceptError(ec)) {
    case AcceptErrorKind::kStopped:
      return std::chrono::milliseconds(0);
    case AcceptErrorKind::kOutOfResources: {
      // Retrying at once would fail again at once: the pending connection
      // stays in the backlog and the acceptor stays readable (the spin that
      // wrote millions of log lines). Pause and let descriptors free up.
      ++stats_.resource_failures;
      ++failures_in_episode_;
      const std::chrono::milliseconds pause = next_pause_;
      next_pause_ = std::min(next_pause_ * 2, options_.backoff_max);
      if (uint64_t n = resource_log_.Count(now)) {
        LogWarning(options_.name, ": cannot accept: ", ec.message(),
                   "; pausing accepts for ", pause.count(), " ms (", n,
                   " failed accepts since the last report)");
      }
      ++stats_.pauses;
      return pause;
    }
    case AcceptErrorKind::kTransient:
      ++stats_.other_failures;
      if (uint64_t n = other_log_.Count(now)) {
        LogInfo(options_.name, ": accept failed: ", ec.message(), " (", n,
                " since the last report)");
      }
      return std::chrono::milliseconds(0);
    case AcceptErrorKind::kOther:
      break;
  }
  ++stats_.other_failures;
  if (uint64_t n = other_log_.Count(now)) {
    LogWarning(options_.name, ": accept failed: ", ec.message(), " (", n,
               " since the last report)");
  }
  ++stats_.pauses;
  return options_.backoff_initial;
}

}  // namespace caravan::daemon::net
