#include "tests/hostile/link_flood.h"

#include <poll.h>
#include <sodium.h>
#include <sys/socket.h>

#include <cerrno>
#include <vector>

#include "tests/hostile/hostile_sockets.h"

namespace caravan::hostile {
namespace {

using Clock = std::chrono::steady_clock;

// A garbage handshake in progress: its bytes are written once the connect
// completes; it ends when the daemon closes it or after kGarbageLifetime.
struct GarbageConn {
  int fd = -1;
  bool sent = false;
  Clock::time_point started;
};

constexpr auto kGarbageLifetime = std::chrono::seconds(5);

std::string Framed(size_t length) {
  std::string out = {static_cast<char>(length >> 8),
                     static_cast<char>(length & 0xff)};
  std::string body(length, '\0');
  randombytes_buf(body.data(), body.size());
  return out + body;
}

// Advances `conn` on its poll events; true when it is finished (closed).
bool ServiceGarbage(GarbageConn& conn, short revents,
                    std::atomic<int64_t>* sent) {
  if (Clock::now() - conn.started > kGarbageLifetime) {
    CloseHard(conn.fd);
    return true;
  }
  if ((revents & (POLLERR | POLLHUP)) != 0 && !conn.sent) {
    CloseHard(conn.fd);
    return true;
  }
  if (!conn.sent && (revents & POLLOUT) != 0) {
    // Small enough for one send on a fresh socket.
    const std::string bytes = GarbageHandshake();
    if (send(conn.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(bytes.size())) {
      CloseHard(conn.fd);
      return true;
    }
    conn.sent = true;
    sent->fetch_add(1);
    return false;
  }
  if ((revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
    char buf[4096];
    const ssize_t n = recv(conn.fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      CloseHard(conn.fd);
      return true;
    }
  }
  return false;
}

short GarbageEvents(const GarbageConn& conn) {
  return conn.sent ? POLLIN : POLLOUT;
}

}  // namespace

std::string GarbageHandshake() {
  [[maybe_unused]] static const int sodium = sodium_init();
  // Message 3 of XX: encrypted static key (32 + 16) and payload (96 + 16).
  return Framed(32) + Framed(160);
}

void LinkFlood::Start() {
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void LinkFlood::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void LinkFlood::Run() {
  constexpr auto kTick = std::chrono::milliseconds(10);
  std::vector<int> stalled;
  std::vector<GarbageConn> garbage;
  double garbage_due = 0;
  while (!stop_) {
    // Refill: at most a tenth of the stalled target per tick, so a daemon
    // that refuses at once still sees the whole flood within 100 ms.
    const int refill = std::max(1, stalled_ / 10);
    for (int i = 0; i < refill && static_cast<int>(stalled.size()) < stalled_;
         ++i) {
      const int fd = OpenFrom(kAttacker, port_);
      if (fd < 0) break;
      stalled.push_back(fd);
      connections_.fetch_add(1);
    }
    garbage_due += garbage_per_second_ * 0.01;
    for (; garbage_due >= 1; garbage_due -= 1) {
      const int fd = OpenFrom(kAttacker, port_);
      if (fd < 0) break;
      garbage.push_back({fd, false, Clock::now()});
      connections_.fetch_add(1);
    }
    const size_t n_stalled = stalled.size();
    stalled_open_ = static_cast<int64_t>(n_stalled);

    std::vector<pollfd> fds;
    fds.reserve(stalled.size() + garbage.size());
    for (int fd : stalled) fds.push_back({fd, POLLIN, 0});
    for (const auto& g : garbage) fds.push_back({g.fd, GarbageEvents(g), 0});
    poll(fds.data(), fds.size(), static_cast<int>(kTick.count()));

    std::vector<int> still_stalled;
    for (size_t i = 0; i < stalled.size(); ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
        still_stalled.push_back(stalled[i]);
        continue;
      }
      char buf[4096];
      const ssize_t n = recv(stalled[i], buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        CloseHard(stalled[i]);  // the daemon let go: re-opened next tick
      } else {
        still_stalled.push_back(stalled[i]);
      }
    }
    stalled.swap(still_stalled);
    std::vector<GarbageConn> still_garbage;
    for (size_t i = 0; i < garbage.size(); ++i) {
      if (!ServiceGarbage(garbage[i], fds[n_stalled + i].revents,
                          &garbage_sent_)) {
        still_garbage.push_back(garbage[i]);
      }
    }
    garbage.swap(still_garbage);
  }
  for (int fd : stalled) CloseHard(fd);
  for (const auto& g : garbage) CloseHard(g.fd);
  stalled_open_ = 0;
}

int64_t SpamHandshakes(uint16_t port, int count, int in_flight,
                       Clock::time_point deadline) {
  std::atomic<int64_t> sent{0};
  std::vector<GarbageConn> live;
  int started = 0;
  while (Clock::now() < deadline && (started < count || !live.empty())) {
    while (started < count && static_cast<int>(live.size()) < in_flight) {
      const int fd = OpenFrom(kAttacker, port);
      if (fd < 0) break;
      live.push_back({fd, false, Clock::now()});
      ++started;
    }
    std::vector<pollfd> fds;
    for (const auto& g : live) fds.push_back({g.fd, GarbageEvents(g), 0});
    poll(fds.data(), fds.size(), 10);
    std::vector<GarbageConn> still;
    for (size_t i = 0; i < live.size(); ++i) {
      if (!ServiceGarbage(live[i], fds[i].revents, &sent)) {
        still.push_back(live[i]);
      }
    }
    live.swap(still);
  }
  for (const auto& g : live) CloseHard(g.fd);
  return sent.load();
}

}  // namespace caravan::hostile
