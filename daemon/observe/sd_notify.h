#pragma once
// Tells systemd how caravand is doing (sd_notify(3)): ready, reloading,
// stopping, a status line, watchdog pings. caravan.service is Type=notify
// with WatchdogSec, so the daemon must call NotifyReady once it serves and
// NotifyWatchdog from its event loop at least every WatchdogInterval()/2.
//
// Outside systemd (no $NOTIFY_SOCKET) every call is a no-op that succeeds,
// so the daemon runs the same in a terminal or a test.
//
// Stateless wrappers over libsystemd; safe from any thread.

#include <chrono>
#include <optional>
#include <string_view>

#include "protocol/status.h"

namespace caravan::daemon {

// Each returns ok when the message was sent or there is no systemd to tell,
// kUnavailable naming the OS error when sending failed.
Status NotifyReady();                        // READY=1
Status NotifyReloading();                    // RELOADING=1 (then NotifyReady)
Status NotifyStopping();                     // STOPPING=1
Status NotifyWatchdog();                     // WATCHDOG=1
// STATUS=<text>, shown by `systemctl status`. Control characters in `text`
// become spaces (a newline would start another assignment) and it is cut at
// 200 bytes.
Status NotifyStatus(std::string_view text);

// EXTEND_TIMEOUT_USEC=<by>: systemd waits `by` more (from now) before it
// gives up on a start, a reload or a stop in progress.
Status NotifyExtendTimeout(std::chrono::microseconds by);

// The watchdog period systemd expects pings within (WatchdogSec=), or nullopt
// when the watchdog is off for this process.
std::optional<std::chrono::microseconds> WatchdogInterval();

}  // namespace caravan::daemon
