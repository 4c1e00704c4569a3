#include "daemon/observe/sd_notify.h"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <cstring>
#include <string>

namespace caravan::daemon {

namespace {

constexpr size_t kMaxStatusBytes = 200;

Status Send(const std::string& state) {
  // unset_environment = 0: the watchdog needs NOTIFY_SOCKET for every ping.
  int r = sd_notify(0, state.c_str());
  if (r < 0) {
    return Unavailable("sd_notify(" + state.substr(0, state.find('=')) +
                       "): " + std::strerror(-r));
  }
  return Status::Ok();
}

}  // namespace

Status NotifyReady() { return Send("READY=1"); }
Status NotifyReloading() { return Send("RELOADING=1"); }
Status NotifyStopping() { return Send("STOPPING=1"); }
Status NotifyWatchdog() { return Send("WATCHDOG=1"); }

Status NotifyExtendTimeout(std::chrono::microseconds by) {
  return Send("EXTEND_TIMEOUT_USEC=" + std::to_string(by.count()));
}

Status NotifyStatus(std::string_view text) {
  std::string state = "STATUS=";
  for (char c : text.substr(0, kMaxStatusBytes)) {
    auto u = static_cast<unsigned char>(c);
    state += (u < 0x20 || u == 0x7f) ? ' ' : c;
  }
  return Send(state);
}

std::optional<std::chrono::microseconds> WatchdogInterval() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec);
}

}  // namespace caravan::daemon
