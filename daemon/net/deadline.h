#pragma once
// Deadline: a per-connection watchdog. When it expires it calls the function
// given at construction (typically: close the connection's socket, which
// ends every pending operation on it), unless it was re-armed or cancelled
// first. Connection code uses it for idle limits and pre-authentication
// time budgets instead of awaitable `||` (Boost 1.81's awaitable operators
// have a use-after-free in cancellation, asio issue 1332).
//
// Ownership: the Deadline owns its timer; `on_expiry` must stay callable for
// the Deadline's lifetime and is never called after the Deadline is
// destroyed, nor for an arming that was replaced or cancelled, even if the
// timer had already fired and its handler was queued.
// Thread-safety: none; use it on the thread that runs its executor.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace caravan::daemon::net {

class Deadline {
 public:
  Deadline(boost::asio::any_io_executor executor,
           std::function<void()> on_expiry);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // (Re)arms: `on_expiry` runs after `duration` unless ExpiresAfter or
  // Cancel is called before. A previous arming is forgotten.
  void ExpiresAfter(std::chrono::steady_clock::duration duration);
  // Disarms; a no-op when not armed.
  void Cancel();
  // Whether on_expiry has run since the last arming.
  bool expired() const { return shared_->expired; }

 private:
  // Shared with queued timer handlers, which may run after this object is
  // gone: they act only while `alive` and their `generation` is current.
  struct Shared {
    bool alive = true;
    bool expired = false;
    uint64_t generation = 0;
  };

  boost::asio::steady_timer timer_;
  std::function<void()> on_expiry_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace caravan::daemon::net
