#include "daemon/net/deadline.h"

#include <utility>

namespace caravan::daemon::net {

Deadline::Deadline(boost::asio::any_io_executor executor,
                   std::function<void()> on_expiry)
    : timer_(std::move(executor)),
      on_expiry_(std::move(on_expiry)),
      shared_(std::make_shared<Shared>()) {}

Deadline::~Deadline() {
  shared_->alive = false;
  timer_.cancel();
}

void Deadline::ExpiresAfter(std::chrono::steady_clock::duration duration) {
  const uint64_t generation = ++shared_->generation;
  shared_->expired = false;
  timer_.expires_after(duration);
  // The handler holds only the shared flags and `this`, which it touches
  // after checking that the Deadline is alive and this arming is current: a
  // handler queued with success just before a re-arm must not fire.
  timer_.async_wait([this, shared = shared_,
                     generation](boost::system::error_code ec) {
    if (ec || !shared->alive || shared->generation != generation) return;
    shared->expired = true;
    if (on_expiry_) on_expiry_();
  });
}

void Deadline::Cancel() {
  ++shared_->generation;
  timer_.cancel();
}

}  // namespace caravan::daemon::net
