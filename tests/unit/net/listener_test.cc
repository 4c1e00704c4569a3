#include "daemon/net/listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/write.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "daemon/observe/log.h"

namespace caravan::daemon::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using local = asio::local::stream_protocol;
using namespace std::chrono_literals;

std::mutex g_log_mu;
std::vector<std::string> g_log;

void CaptureSink(std::string_view line) {
  std::lock_guard<std::mutex> lock(g_log_mu);
  g_log.emplace_back(line);
}

size_t LinesContaining(const std::string& needle) {
  std::lock_guard<std::mutex> lock(g_log_mu);
  size_t n = 0;
  for (const auto& line : g_log) n += line.find(needle) != std::string::npos;
  return n;
}

// Runs `io` until `done()` holds or `timeout` passes; returns whether it
// held. `done` is evaluated once per round (it may consume input).
template <typename Pred>
bool RunUntil(asio::io_context& io, Pred done,
              std::chrono::milliseconds timeout = 5s) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    io.restart();
    io.run_for(5ms);
  }
}

struct Counters {
  int served = 0;
  int ended = 0;
};

// Greets with one byte, then waits for the client to hang up.
template <typename Socket>
asio::awaitable<void> Greet(Socket socket, std::shared_ptr<Counters> c) {
  ++c->served;
  co_await asio::async_write(socket, asio::buffer("h", 1),
                             asio::as_tuple(asio::use_awaitable));
  char buf[64];
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(
        asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (ec) break;
  }
  ++c->ended;
}

// Client side: raw descriptors, so the test never waits on the io thread.
int ConnectTcp(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int ConnectUnix(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

enum class Seen { kNothing, kByte, kClosed };

// What the server did to `fd` so far (reads one byte if there is one).
Seen Probe(int fd, char* byte = nullptr) {
  char c = 0;
  ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
  if (n == 1) {
    if (byte != nullptr) *byte = c;
    return Seen::kByte;
  }
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
    return Seen::kClosed;
  }
  return Seen::kNothing;
}

class ListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    {
      std::lock_guard<std::mutex> lock(g_log_mu);
      g_log.clear();
    }
    SetLogSink(CaptureSink);
  }
  void TearDown() override {
    SetLogSink(nullptr);
    for (int fd : fds_) close(fd);
  }
  int Track(int fd) {
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }

  std::unique_ptr<Listener<tcp>> MakeTcp(ListenerOptions options,
                                         std::shared_ptr<Counters> c) {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    auto listener = std::make_unique<Listener<tcp>>(
        io_, std::move(acceptor), std::move(options),
        [c](tcp::socket s) { return Greet(std::move(s), c); });
    listener->Start();
    return listener;
  }

  asio::io_context io_;
  std::vector<int> fds_;
};

TEST(LogLimiterTest, FirstEventThenOneLinePerIntervalWithTheCount) {
  LogLimiter limiter(100ms);
  const auto t0 = LogLimiter::Clock::now();
  EXPECT_EQ(limiter.Count(t0), 1u);
  EXPECT_EQ(limiter.Count(t0 + 10ms), 0u);
  EXPECT_EQ(limiter.Count(t0 + 99ms), 0u);
  EXPECT_EQ(limiter.Count(t0 + 100ms), 3u);
  EXPECT_EQ(limiter.Count(t0 + 150ms), 0u);
}

TEST(ClassifyAcceptErrorTest, OutOfResourcesTransientAndStopped) {
  using boost::system::error_code;
  using boost::system::system_category;
  EXPECT_EQ(ClassifyAcceptError(error_code(EMFILE, system_category())),
            AcceptErrorKind::kOutOfResources);
  EXPECT_EQ(ClassifyAcceptError(error_code(ENFILE, system_category())),
            AcceptErrorKind::kOutOfResources);
  EXPECT_EQ(ClassifyAcceptError(error_code(ENOBUFS, system_category())),
            AcceptErrorKind::kOutOfResources);
  EXPECT_EQ(ClassifyAcceptError(error_code(ENOMEM, system_category())),
            AcceptErrorKind::kOutOfResources);
  EXPECT_EQ(ClassifyAcceptError(error_code(ECONNABORTED, system_category())),
            AcceptErrorKind::kTransient);
  EXPECT_EQ(ClassifyAcceptError(asio::error::operation_aborted),
            AcceptErrorKind::kStopped);
  EXPECT_EQ(ClassifyAcceptError(error_code(EINVAL, system_category())),
            AcceptErrorKind::kOther);
}

TEST_F(ListenerTest, TcpServesUpToTheCapAndRefusesBeyondIt) {
  auto c = std::make_shared<Counters>();
  ListenerOptions options;
  options.name = "test";
  options.max_connections = 2;
  auto listener = MakeTcp(options, c);
  const uint16_t port = listener->local_endpoint().port();

  int a = Track(ConnectTcp(port));
  int b = Track(ConnectTcp(port));
  ASSERT_TRUE(RunUntil(io_, [&] { return c->served == 2; }));
  int over = Track(ConnectTcp(port));
  ASSERT_TRUE(RunUntil(io_, [&] { return Probe(over) == Seen::kClosed; }));
  EXPECT_EQ(c->served, 2);
  EXPECT_EQ(listener->live_connections(), 2u);
  EXPECT_EQ(listener->stats().refused_at_cap, 1u);
  EXPECT_EQ(Probe(a), Seen::kByte);
  EXPECT_EQ(Probe(b), Seen::kByte);

  // A second refusal within the log interval is counted, not logged.
  int over2 = Track(ConnectTcp(port));
  ASSERT_TRUE(RunUntil(io_, [&] { return Probe(over2) == Seen::kClosed; }));
  EXPECT_EQ(listener->stats().refused_at_cap, 2u);
  EXPECT_EQ(LinesContaining("test: refused 1 connection(s) at the cap of 2 "
                            "connections; last from 127.0.0.1"),
            1u);
  EXPECT_EQ(LinesContaining("refused"), 1u);

  // A freed slot is served again.
  close(a);
  fds_.erase(fds_.begin());
  ASSERT_TRUE(RunUntil(io_, [&] { return listener->live_connections() == 1; }));
  int d = Track(ConnectTcp(port));
  ASSERT_TRUE(RunUntil(io_, [&] { return c->served == 3; }));
  EXPECT_TRUE(RunUntil(io_, [&] { return Probe(d) == Seen::kByte; }));
}

class UnixListenerTest : public ListenerTest {
 protected:
  void SetUp() override {
    ListenerTest::SetUp();
    char tmpl[] = "/tmp/caravan-net-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/s.sock";
  }
  void TearDown() override {
    ListenerTest::TearDown();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string dir_;
  std::string path_;
};

TEST_F(UnixListenerTest, CapsPerSourceByUidAndRunsTheRefuseHook) {
  auto c = std::make_shared<Counters>();
  ListenerOptions options;
  options.name = "unix";
  options.max_per_source = 1;  // every client here has our uid
  local::acceptor acceptor(io_, local::endpoint(path_));
  int refused_hook = 0;
  Listener<local> listener(
      io_, std::move(acceptor), options,
      [c](local::socket s) { return Greet(std::move(s), c); },
      [&](local::socket& s) {
        ++refused_hook;
        boost::system::error_code ignored;
        asio::write(s, asio::buffer("busy", 4), ignored);
      });
  listener.Start();

  int a = Track(ConnectUnix(path_));
  ASSERT_GE(a, 0);
  ASSERT_TRUE(RunUntil(io_, [&] { return c->served == 1; }));
  int b = Track(ConnectUnix(path_));
  char byte = 0;
  ASSERT_TRUE(RunUntil(io_, [&] { return Probe(b, &byte) == Seen::kByte; }));
  EXPECT_EQ(byte, 'b');  // the hook's reply, then the close
  EXPECT_EQ(refused_hook, 1);
  EXPECT_EQ(c->served, 1);
  EXPECT_EQ(listener.stats().refused_per_source, 1u);
  EXPECT_EQ(LinesContaining("last from uid " + std::to_string(getuid())), 1u);

  close(a);
  fds_.erase(fds_.begin());
  ASSERT_TRUE(RunUntil(io_, [&] { return listener.live_connections() == 0; }));
  int d = Track(ConnectUnix(path_));
  ASSERT_TRUE(RunUntil(io_, [&] { return Probe(d) == Seen::kByte; }));
  EXPECT_EQ(c->served, 2);
}

TEST_F(UnixListenerTest, StopEndsTheLoopAndLeavesLiveConnectionsAlone) {
  auto c = std::make_shared<Counters>();
  local::acceptor acceptor(io_, local::endpoint(path_));
  Listener<local> listener(io_, std::move(acceptor), ListenerOptions{},
                           [c](local::socket s) { return Greet(std::move(s), c); });
  listener.Start();
  int a = Track(ConnectUnix(path_));
  ASSERT_TRUE(RunUntil(io_, [&] { return Probe(a) == Seen::kByte; }));
  ASSERT_TRUE(listener.accepting());

  listener.Stop();
  ASSERT_TRUE(RunUntil(io_, [&] { return !listener.accepting(); }, 2s));
  EXPECT_EQ(Probe(a), Seen::kNothing);  // still served
  EXPECT_EQ(listener.live_connections(), 1u);
  EXPECT_EQ(ConnectUnix(path_), -1);  // nobody accepts any more
  close(a);
  fds_.clear();
  EXPECT_TRUE(RunUntil(io_, [&] { return c->ended == 1; }));
  // Nothing is left running: the io_context runs out of work.
  io_.restart();
  const auto started = std::chrono::steady_clock::now();
  io_.run_for(2s);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
}

TEST_F(ListenerTest, HandlerExceptionIsLoggedAndFreesItsSlot) {
  tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  ListenerOptions options;
  options.name = "thrower";
  options.max_connections = 1;
  Listener<tcp> listener(io_, std::move(acceptor), options,
                         [](tcp::socket) -> asio::awaitable<void> {
                           throw std::runtime_error("boom");
                           co_return;
                         });
  listener.Start();
  const uint16_t port = listener.local_endpoint().port();
  Track(ConnectTcp(port));
  ASSERT_TRUE(RunUntil(io_, [&] {
    return LinesContaining("thrower connection failed: boom") == 1;
  }));
  EXPECT_EQ(listener.live_connections(), 0u);
  // The loop goes on: the next connection gets the freed slot.
  Track(ConnectTcp(port));
  EXPECT_TRUE(RunUntil(io_, [&] {
    return LinesContaining("thrower connection failed: boom") == 2;
  }));
  EXPECT_EQ(listener.stats().refused_at_cap, 0u);
}

// Lowers RLIMIT_NOFILE and fills the descriptor table; undoes both.
class DescriptorFamine {
 public:
  DescriptorFamine() {
    getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit low = saved_;
    low.rlim_cur = 128;
    if (setrlimit(RLIMIT_NOFILE, &low) != 0) return;
    lowered_ = true;
    for (;;) {
      int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) break;
      hogs_.push_back(fd);
    }
  }
  ~DescriptorFamine() { End(); }
  bool exhausted() const { return lowered_ && OpenFails(); }
  void End() {
    for (int fd : hogs_) close(fd);
    hogs_.clear();
    if (lowered_) setrlimit(RLIMIT_NOFILE, &saved_);
    lowered_ = false;
  }

 private:
  static bool OpenFails() {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      close(fd);
      return false;
    }
    return errno == EMFILE;
  }
  rlimit saved_{};
  bool lowered_ = false;
  std::vector<int> hogs_;
};

// Regression: with its descriptors exhausted (idle connections flooding
// TAXII), the control socket's accept loop retried at once and wrote five
// million log lines in 40 s. Now it pauses, logs once per interval and
// serves again once descriptors are free.
TEST_F(ListenerTest, OutOfDescriptorsPausesLogsOncePerIntervalAndRecovers) {
#if defined(__SANITIZE_ADDRESS__)
  // TODO(test): under UBSan, Asio's scheduler reports a vptr mismatch
  // (scheduler.ipp:543, "does not point to an object of type
  // scheduler_task") when it runs with no descriptor left in the test
  // process. The backoff itself is checked by the plain build in CI.
  GTEST_SKIP() << "descriptor famine is checked without sanitizers only";
#endif
  auto c = std::make_shared<Counters>();
  ListenerOptions options;
  options.name = "famine";
  options.log_interval = 400ms;  // backoff: 100 ms doubling to 1 s
  auto listener = MakeTcp(options, c);
  const uint16_t port = listener->local_endpoint().port();
  // Client sockets need descriptors too: create them, then starve, then
  // connect (connect needs no new descriptor; accept does).
  int a = Track(socket(AF_INET, SOCK_STREAM, 0));
  int b = Track(socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  DescriptorFamine famine;
  ASSERT_TRUE(famine.exhausted());
  ASSERT_EQ(connect(a, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(connect(b, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const auto started = std::chrono::steady_clock::now();
  io_.restart();
  io_.run_for(1500ms);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  const ListenerStats starved = listener->stats();
  EXPECT_EQ(c->served, 0);
  // 100 + 200 + 400 + 800 ms of pauses: about five attempts in 1.5 s (a
  // spinning loop makes hundreds of thousands).
  EXPECT_GE(starved.resource_failures, 2u);
  EXPECT_LE(starved.resource_failures, 8u);
  EXPECT_EQ(starved.pauses, starved.resource_failures);
  const size_t lines = LinesContaining("famine: cannot accept: ");
  const auto intervals = elapsed / options.log_interval;
  EXPECT_GE(lines, 1u);
  EXPECT_LE(lines, static_cast<size_t>(intervals) + 1);
  EXPECT_LE(lines, 5u);
  EXPECT_LT(lines, starved.resource_failures);  // some were only counted

  famine.End();
  // The longest pause is 1 s: both clients are served within it.
  ASSERT_TRUE(RunUntil(io_, [&] { return c->served == 2; }, 3s));
  EXPECT_TRUE(RunUntil(io_, [&] { return Probe(a) == Seen::kByte; }));
  EXPECT_EQ(Probe(b), Seen::kByte);
  EXPECT_EQ(LinesContaining("famine: accepting again after "), 1u);
}

TEST_F(ListenerTest, StopDuringABackoffPauseEndsTheLoopAtOnce) {
#if defined(__SANITIZE_ADDRESS__)
  // TODO(test): under UBSan, Asio's scheduler reports a vptr mismatch
  // (scheduler.ipp:543, "does not point to an object of type
  // scheduler_task") when it runs with no descriptor left in the test
  // process. The backoff itself is checked by the plain build in CI.
  GTEST_SKIP() << "descriptor famine is checked without sanitizers only";
#endif
  auto c = std::make_shared<Counters>();
  ListenerOptions options;
  options.backoff_initial = 10s;
  options.backoff_max = 10s;
  auto listener = MakeTcp(options, c);
  int a = Track(socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(listener->local_endpoint().port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  {
    DescriptorFamine famine;
    ASSERT_TRUE(famine.exhausted());
    ASSERT_EQ(connect(a, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_TRUE(RunUntil(io_, [&] { return listener->stats().pauses == 1; }));
  }
  const auto started = std::chrono::steady_clock::now();
  listener->Stop();
  ASSERT_TRUE(RunUntil(io_, [&] { return !listener->accepting(); }, 2s));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_EQ(c->served, 0);
}

}  // namespace
}  // namespace caravan::daemon::net
