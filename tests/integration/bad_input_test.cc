// Promise 6 of DESIGN.md: bad input gets a clear error and changes nothing.
// A daemon that is not running, raw garbage on the control socket, a bad
// caravand.toml, a broken policy directory at start, a caller without
// access to the socket.
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <random>
#include <thread>

#include "protocol/control.capnp.h"
#include "protocol/control_framing.h"
#include "tests/integration/harness.h"
#include "tests/integration/node_fixture.h"

namespace caravan::integration {
namespace {

namespace fs = std::filesystem;

// A raw client of the control socket, for bytes the CLI would never send.
class RawConnection {
 public:
  explicit RawConnection(const fs::path& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    connected_ =
        connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawConnection() { close(fd_); }
  bool connected() const { return connected_; }

  bool Send(const std::vector<uint8_t>& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent,
                       MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += size_t(n);
    }
    return true;
  }
  void ShutdownWrite() { shutdown(fd_, SHUT_WR); }

  // Reads until one whole response frame arrives or the daemon closes the
  // connection (or 20 s pass). Returns the response's status code, or
  // nullopt when the connection ended without a (complete) reply.
  std::optional<int> ReadReply(bool* closed) {
    *closed = false;
    for (;;) {
      auto next = decoder_.Next();
      if (!next.ok()) {
        ADD_FAILURE() << "daemon sent a bad frame: " << next.status().message();
        return std::nullopt;
      }
      if (next->has_value()) {
        capnp::FlatArrayMessageReader reader(
            kj::arrayPtr((*next)->data(), (*next)->size()),
            protocol::ControlReaderOptions());
        auto response = reader.getRoot<protocol::wire::Response>();
        last_message_ = response.getMessage().cStr();
        return response.getCode();
      }
      pollfd p = {fd_, POLLIN, 0};
      if (poll(&p, 1, 20000) <= 0) return std::nullopt;
      uint8_t buf[4096];
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        *closed = true;
        return std::nullopt;
      }
      decoder_.Append(std::span<const uint8_t>(buf, size_t(n)));
    }
  }
  // After a reply: true if the daemon then closes the connection.
  bool ClosedByPeer() {
    pollfd p = {fd_, POLLIN, 0};
    if (poll(&p, 1, 20000) <= 0) return false;
    uint8_t b;
    return recv(fd_, &b, 1, 0) == 0;
  }
  const std::string& last_message() const { return last_message_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  protocol::FrameDecoder decoder_;
  std::string last_message_;
};

std::vector<uint8_t> StatusRequestFrame() {
  capnp::MallocMessageBuilder message;
  message.initRoot<protocol::wire::Request>().setStatus();
  return protocol::FrameMessage(message);
}

std::vector<uint8_t> Bytes(const std::string& s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

std::vector<uint8_t> LengthPrefix(uint32_t n) {
  return {uint8_t(n), uint8_t(n >> 8), uint8_t(n >> 16), uint8_t(n >> 24)};
}

TEST(DaemonDownTest, CliExitsFiveAndNamesTheSocket) {
  TestNode node;
  ASSERT_EQ(node.init_result().exit_code, 0) << node.init_result().Describe();
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"status"},
        std::vector<std::string>{"query", "1.2.3.4"},
        std::vector<std::string>{"submit", "ipv4", "1.2.3.4"}}) {
    CommandResult r = node.Cli(args);
    EXPECT_EQ(r.exit_code, 5) << args[0] << ": " << r.Describe();
    EXPECT_NE(r.err.find(node.socket().string()), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("not running"), std::string::npos) << r.err;
  }
  // No config where the CLI looks: also "unreachable", with the hint.
  CommandResult no_config = RunProgram({CaravanPath(), "--config",
                                 (node.root() / "missing.toml").string(),
                                 "status"});
  EXPECT_EQ(no_config.exit_code, 5) << no_config.Describe();
  EXPECT_NE(no_config.err.find("--config"), std::string::npos)
      << no_config.err;
}

using ControlSocketTest = RunningNodeTest;

TEST_F(ControlSocketTest, GarbageFramesAreRefusedAndTheDaemonKeepsServing) {
  Submit("ipv4", "192.0.2.1");
  Submit("domain", "kept.example");
  const std::string before =
      node_->Cli({"export", "--format", "csv", "--include-revoked"}).out;

  struct Case {
    std::string name;
    std::vector<uint8_t> bytes;
  };
  std::vector<Case> hang_up_cases = {
      // "GET " read as a length is ~540 MB: over the frame limit.
      {"http request", Bytes("GET / HTTP/1.1\r\nHost: caravan\r\n\r\n")},
      {"oversize length", LengthPrefix(0xFFFFFFFFu)},
      {"just over the limit",
       LengthPrefix(uint32_t(protocol::kMaxControlFrameBytes + 8))},
      {"zero length", LengthPrefix(0)},
      {"unaligned length", [] {
         auto b = LengthPrefix(13);
         b.resize(b.size() + 13, 0x41);
         return b;
       }()},
  };
  for (auto& c : hang_up_cases) {
    SCOPED_TRACE(c.name);
    RawConnection conn(node_->socket());
    ASSERT_TRUE(conn.connected());
    conn.Send(c.bytes);
    bool closed = false;
    auto code = conn.ReadReply(&closed);
    // The daemon explains the refusal, then hangs up (or just hangs up).
    if (code) {
      EXPECT_NE(*code, 0);
      EXPECT_FALSE(conn.last_message().empty());
      EXPECT_TRUE(conn.ClosedByPeer()) << "stream cannot be resynchronized";
    } else {
      EXPECT_TRUE(closed) << "neither a reply nor a close";
    }
  }

  {
    SCOPED_TRACE("truncated frame, then EOF");
    RawConnection conn(node_->socket());
    auto b = LengthPrefix(64);
    b.resize(b.size() + 10, 0);
    conn.Send(b);
    conn.ShutdownWrite();
    bool closed = false;
    auto code = conn.ReadReply(&closed);
    EXPECT_TRUE(closed || (code && *code != 0));
  }
  {
    SCOPED_TRACE("well-framed garbage, then a good request on the same "
                 "connection");
    RawConnection conn(node_->socket());
    auto b = LengthPrefix(16);
    b.resize(b.size() + 16, 0xFF);
    conn.Send(b);
    bool closed = false;
    auto code = conn.ReadReply(&closed);
    ASSERT_TRUE(code.has_value()) << "closed=" << closed;
    EXPECT_EQ(*code, 1) << "kInvalidInput: " << conn.last_message();
    EXPECT_NE(conn.last_message().find("malformed"), std::string::npos)
        << conn.last_message();
    conn.Send(StatusRequestFrame());
    code = conn.ReadReply(&closed);
    ASSERT_TRUE(code.has_value()) << "closed=" << closed;
    EXPECT_EQ(*code, 0) << conn.last_message();
  }
  {
    SCOPED_TRACE("random bytes");
    std::mt19937 rng(20240501);
    for (int i = 0; i < 20; ++i) {
      RawConnection conn(node_->socket());
      std::vector<uint8_t> noise(8 + rng() % 2048);
      for (auto& x : noise) x = uint8_t(rng());
      conn.Send(noise);
      conn.ShutdownWrite();
      bool closed = false;
      (void)conn.ReadReply(&closed);  // any answer, or a hang-up
    }
  }
  {
    SCOPED_TRACE("an idle connection does not block others");
    RawConnection idle(node_->socket());
    ASSERT_TRUE(idle.connected());
    idle.Send(LengthPrefix(1024));  // a frame that never completes
    CommandResult status = node_->Cli({"status"});
    EXPECT_EQ(status.exit_code, 0) << status.Describe();
  }

  EXPECT_EQ(node_->Cli({"status"}).exit_code, 0);
  EXPECT_EQ(node_->Cli({"export", "--format", "csv", "--include-revoked"}).out,
            before)
      << "stored data changed";
  EXPECT_EQ(node_->Cli({"audit", "verify"}).exit_code, 0);
  EXPECT_TRUE(node_->running());
}

// The connection cap (ControlServerOptions::max_connections, 64), now
// enforced by the shared listener (daemon/net/listener.h): one connection
// over it gets a RetryLater reply and is closed; a freed slot serves again.
TEST_F(ControlSocketTest, ConnectionsOverTheCapAreToldToRetryLater) {
  constexpr int kCap = 64;
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < kCap; ++i) {
    auto conn = std::make_unique<RawConnection>(node_->socket());
    ASSERT_TRUE(conn->connected()) << i;
    // A reply proves the connection was accepted and holds a slot.
    ASSERT_TRUE(conn->Send(StatusRequestFrame()));
    bool closed = false;
    auto code = conn->ReadReply(&closed);
    ASSERT_TRUE(code.has_value()) << i << " closed=" << closed;
    ASSERT_EQ(*code, 0) << conn->last_message();
    held.push_back(std::move(conn));
  }
  RawConnection over(node_->socket());
  ASSERT_TRUE(over.connected());
  bool closed = false;
  auto code = over.ReadReply(&closed);
  ASSERT_TRUE(code.has_value()) << "closed=" << closed;
  EXPECT_EQ(*code, int(StatusCode::kRetryLater)) << over.last_message();
  EXPECT_NE(over.last_message().find("too many control connections (64)"),
            std::string::npos)
      << over.last_message();
  EXPECT_TRUE(over.ClosedByPeer());

  held.pop_back();  // frees a slot once the daemon sees the hang-up
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    served = node_->Cli({"status"}).exit_code == 0;
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(served);
  held.clear();
  EXPECT_TRUE(node_->running());
}

// Regression: caravand died with SIGSEGV after a few bulk submits whose
// requests span several reads (boost::asio::cancellation_slot::clear from
// the `async_read_some || timer.async_wait` awaitable operator in
// daemon/control/control_server.cc, a Boost 1.81 use-after-free in
// parallel-group cancellation). It failed within ~10 iterations.
TEST_F(ControlSocketTest, ManyLargeRequestsKeepTheDaemonAlive) {
  const fs::path file = node_->root() / "batch.txt";
  std::string text;
  for (const auto& v : ReadLines(
           fs::path(CARAVAN_TESTDATA_DIR) / "real" / "ipv4.txt", 900)) {
    text += v + "\n";
  }
  WriteFile(file, text);
  for (int i = 0; i < 30; ++i) {
    CommandResult r = node_->Cli({"submit", "--file", file.string()});
    ASSERT_EQ(r.exit_code, 0) << "submit " << i << ": " << r.Describe()
                              << "\ncaravand log:\n" << node_->LogText();
  }
  EXPECT_EQ(Counts()["indicators"], 900);
}

TEST(BadConfigTest, UnknownKeyStopsTheDaemonWithExit78AndTheLine) {
  TestNode node;
  ASSERT_EQ(node.init_result().exit_code, 0);
  std::string config = ReadFile(node.config());
  const size_t line =
      std::count(config.begin(), config.end(), '\n') + 2;  // after a blank
  config += "\n[node2]\nname = \"x\"\n";
  WriteFile(node.config(), config);
  node.Spawn();
  auto code = node.WaitForDaemonExit(kStopTimeout);
  ASSERT_TRUE(code.has_value()) << "caravand kept running on a bad config";
  EXPECT_EQ(*code, 78);
  EXPECT_NE(node.LogText().find("caravand.toml:" + std::to_string(line) + ":"),
            std::string::npos)
      << node.LogText();
  EXPECT_FALSE(fs::exists(node.socket()));
}

TEST(BadConfigTest, BadValueAndMissingFileExit78) {
  TestNode node;
  ASSERT_EQ(node.init_result().exit_code, 0);
  std::string config = ReadFile(node.config());
  const std::string needle = "tlp = \"amber\"";
  const size_t at = config.find(needle);
  ASSERT_NE(at, std::string::npos) << config;
  const size_t line = std::count(config.begin(), config.begin() + long(at),
                                 '\n') + 1;
  config.replace(at, needle.size(), "tlp = \"amber-strict\"");
  WriteFile(node.config(), config);
  node.Spawn();
  auto code = node.WaitForDaemonExit(kStopTimeout);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 78);
  EXPECT_NE(node.LogText().find("caravand.toml:" + std::to_string(line) + ":"),
            std::string::npos)
      << node.LogText();

  CommandResult missing = RunProgram({CaravandPath(), "--config",
                               (node.root() / "nope.toml").string()});
  EXPECT_EQ(missing.exit_code, 78) << missing.Describe();
  EXPECT_NE(missing.err.find("nope.toml"), std::string::npos) << missing.err;
  CommandResult no_flag = RunProgram({CaravandPath()});
  EXPECT_EQ(no_flag.exit_code, 78) << no_flag.Describe();
}

TEST(BadConfigTest, BrokenPolicyAtStartExits78) {
  TestNode node;
  ASSERT_EQ(node.init_result().exit_code, 0);
  WriteFile(node.dir() / "policies" / "kz.toml",
            "applies_to = [\"KZ\"]\n"
            "[outbound]\n"
            "share = \"yes please\"\n");
  node.Spawn();
  auto code = node.WaitForDaemonExit(kStopTimeout);
  ASSERT_TRUE(code.has_value()) << "caravand started on a broken policy";
  EXPECT_EQ(*code, 78);
  EXPECT_NE(node.LogText().find("kz.toml:3"), std::string::npos)
      << node.LogText();
}

// Runs `argv` as uid/gid 65534 (nobody) in a forked child; root only.
CommandResult RunAsNobody(const std::vector<std::string>& argv,
                          const fs::path& err_file) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd >= 0) dup2(fd, STDERR_FILENO);
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, STDOUT_FILENO);
    if (setgroups(0, nullptr) != 0 || setgid(65534) != 0 ||
        setuid(65534) != 0) {
      _exit(120);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(121);
  }
  CommandResult r;
  auto code = WaitForExit(pid, kCommandTimeout);
  if (!code) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  r.exit_code = code.value_or(-1);
  r.err = ReadFile(err_file);
  return r;
}

TEST_F(ControlSocketTest, CallerWithoutSocketAccessIsDenied) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to run the CLI as nobody";
  // Let nobody read the config (to find the socket) but not use the socket
  // (0660, root's or the caravan group).
  ASSERT_EQ(chmod(node_->root().c_str(), 0755), 0);
  ASSERT_EQ(chmod(node_->dir().c_str(), 0755), 0);
  ASSERT_EQ(chmod(node_->config().c_str(), 0644), 0);
  struct stat st {};
  ASSERT_EQ(stat(node_->socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  // nobody must be able to execute the CLI even when the build tree sits
  // under a 0700 directory (a clone in `mktemp -d`): run a 0755 copy from
  // a 0755 directory of its own (exit 121 was execv failing).
  TempDir bin_dir;
  ASSERT_EQ(chmod(bin_dir.path().c_str(), 0755), 0);
  const fs::path cli = bin_dir.path() / "caravan";
  std::error_code copy_error;
  fs::copy_file(CaravanPath(), cli, copy_error);
  ASSERT_FALSE(copy_error) << copy_error.message();
  ASSERT_EQ(chmod(cli.c_str(), 0755), 0);
  CommandResult r = RunAsNobody({cli.string(), "--config",
                                 node_->config().string(), "submit", "ipv4",
                                 "192.0.2.66"},
                                node_->root() / "nobody.err");
  ASSERT_NE(r.exit_code, 120) << "setuid failed";
  ASSERT_NE(r.exit_code, 121) << "nobody cannot execute " << cli;
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("permission denied on control socket"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(Counts()["indicators"], 0);
}

}  // namespace
}  // namespace caravan::integration
