#pragma once
// Keeps systemd waiting while caravand starts (sd_notify.h). Opening the
// store runs its migrations, whose length grows with the store: migration
// 20 rewrote 20M deliveries of a 10M store in minutes, past systemd's
// default TimeoutStartSec of 90 s, which would kill the start, roll the
// migration back and restart it forever (Restart=on-failure). While a
// StartupKeepalive lives, a thread of its own tells systemd every `every`
// to wait 3 x `every` more (EXTEND_TIMEOUT_USEC) and shows what is being
// done (STATUS). Outside systemd it sends nothing.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace caravan::daemon {

class StartupKeepalive {
 public:
  explicit StartupKeepalive(
      std::string status,
      std::chrono::milliseconds every = std::chrono::seconds(20));
  ~StartupKeepalive();  // stops the thread; nothing is sent after it
  StartupKeepalive(const StartupKeepalive&) = delete;
  StartupKeepalive& operator=(const StartupKeepalive&) = delete;

 private:
  void Run();

  const std::string status_;
  const std::chrono::milliseconds every_;
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace caravan::daemon
