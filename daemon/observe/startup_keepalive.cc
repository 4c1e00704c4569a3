#include "daemon/observe/startup_keepalive.h"

#include <utility>

#include "daemon/observe/sd_notify.h"

namespace caravan::daemon {

StartupKeepalive::StartupKeepalive(std::string status,
                                   std::chrono::milliseconds every)
    : status_(std::move(status)), every_(every) {
  thread_ = std::thread([this] { Run(); });
}

StartupKeepalive::~StartupKeepalive() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
}

void StartupKeepalive::Run() {
  for (;;) {
    // Sent without the lock: a notify socket nobody reads blocks a send
    // once its queue is full, and the destructor must still get in.
    // Failures are not worth stopping a start for: systemd then simply
    // applies its own timeout, as it would without this.
    (void)NotifyStatus(status_);
    (void)NotifyExtendTimeout(3 * every_);
    std::unique_lock<std::mutex> lock(mu_);
    if (stop_cv_.wait_for(lock, every_, [this] { return stop_; })) return;
  }
}

}  // namespace caravan::daemon
