// Tests of readiness and watchdog notification (daemon/observe/sd_notify.h).

#include "daemon/observe/sd_notify.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>

#include "daemon/observe/startup_keepalive.h"

namespace caravan {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the system temp dir, removed at the end.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "caravan-notify-XXXXXX");
    char* made = mkdtemp(tmpl.data());
    if (made == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// The message of a failed load, or "" when it succeeded.
template <typename T>
std::string ErrorOf(const Result<T>& r) {
  return r.ok() ? "" : r.status().message();
}


// ---- sd_notify ---------------------------------------------------------------

// A datagram socket standing in for systemd's notify socket.
class NotifySocket {
 public:
  explicit NotifySocket(const fs::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    if (fd_ < 0 ||
        ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("cannot bind notify socket");
    }
    setenv("NOTIFY_SOCKET", path.c_str(), 1);
  }
  ~NotifySocket() {
    unsetenv("NOTIFY_SOCKET");
    ::close(fd_);
  }
  // The next datagram (sd_notify has sent it before returning).
  std::string Receive() {
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
  }

 private:
  fs::path path_;
  int fd_ = -1;
};

TEST(SdNotifyTest, NoOpsWithoutSystemd) {
  unsetenv("NOTIFY_SOCKET");
  EXPECT_TRUE(daemon::NotifyReady().ok());
  EXPECT_TRUE(daemon::NotifyStatus("x").ok());
  EXPECT_TRUE(daemon::NotifyWatchdog().ok());
  EXPECT_TRUE(daemon::NotifyStopping().ok());
  unsetenv("WATCHDOG_USEC");
  EXPECT_FALSE(daemon::WatchdogInterval().has_value());
}

TEST(SdNotifyTest, SendsStatesToTheNotifySocket) {
  TempDir dir;
  NotifySocket sock(dir.path() / "notify");
  ASSERT_TRUE(daemon::NotifyReady().ok());
  EXPECT_EQ(sock.Receive(), "READY=1");
  ASSERT_TRUE(daemon::NotifyReloading().ok());
  EXPECT_EQ(sock.Receive(), "RELOADING=1");
  ASSERT_TRUE(daemon::NotifyWatchdog().ok());
  EXPECT_EQ(sock.Receive(), "WATCHDOG=1");
  ASSERT_TRUE(daemon::NotifyStopping().ok());
  EXPECT_EQ(sock.Receive(), "STOPPING=1");
  // A newline would let the text add its own assignment, such as READY=1.
  ASSERT_TRUE(daemon::NotifyStatus("3 peers\nREADY=1").ok());
  EXPECT_EQ(sock.Receive(), "STATUS=3 peers READY=1");
  ASSERT_TRUE(daemon::NotifyStatus(std::string(500, 's')).ok());
  EXPECT_EQ(sock.Receive(), "STATUS=" + std::string(200, 's'));
}

TEST(SdNotifyTest, ReportsAnUnreachableSocket) {
  TempDir dir;
  setenv("NOTIFY_SOCKET", (dir.path() / "nobody").c_str(), 1);
  Status s = daemon::NotifyReady();
  unsetenv("NOTIFY_SOCKET");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("READY"), std::string::npos);
}

TEST(SdNotifyTest, WatchdogIntervalComesFromTheEnvironment) {
  setenv("WATCHDOG_USEC", "30000000", 1);
  setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
  std::optional<std::chrono::microseconds> w = daemon::WatchdogInterval();
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(*w, std::chrono::seconds(30));
  // Meant for another process: not ours to ping.
  setenv("WATCHDOG_PID", std::to_string(getpid() + 1).c_str(), 1);
  EXPECT_FALSE(daemon::WatchdogInterval().has_value());
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
}

TEST(SdNotifyTest, ExtendsTheTimeoutByMicroseconds) {
  TempDir dir;
  NotifySocket sock(dir.path() / "notify");
  ASSERT_TRUE(daemon::NotifyExtendTimeout(std::chrono::seconds(60)).ok());
  EXPECT_EQ(sock.Receive(), "EXTEND_TIMEOUT_USEC=60000000");
}

// While it lives: the status and a timeout extension of three periods,
// again every period; nothing once it is gone.
TEST(StartupKeepaliveTest, KeepsSystemdWaitingUntilDestroyed) {
  TempDir dir;
  NotifySocket sock(dir.path() / "notify");
  int statuses = 0;
  int extensions = 0;
  auto drain = [&] {
    for (std::string m = sock.Receive(); !m.empty(); m = sock.Receive()) {
      if (m == "STATUS=opening the store") {
        ++statuses;
      } else {
        EXPECT_EQ(m, "EXTEND_TIMEOUT_USEC=300000");
        ++extensions;
      }
    }
  };
  {
    daemon::StartupKeepalive keep("opening the store",
                                  std::chrono::milliseconds(100));
    // Read as systemd would, so the socket's queue never fills.
    const auto limit =
        std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (extensions < 3 && std::chrono::steady_clock::now() < limit) {
      drain();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  drain();
  EXPECT_GE(extensions, 3);
  EXPECT_EQ(statuses, extensions);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(sock.Receive(), "");
}

}  // namespace
}  // namespace caravan
