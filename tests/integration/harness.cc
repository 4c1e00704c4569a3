#include "tests/integration/harness.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace caravan::integration {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<char*> Argv(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  return argv;
}

// Milliseconds left until `deadline`, at least 0, for poll().
int MillisLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

int DecodeStatus(int wstatus) {
  return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
}

// posix_spawn with file actions; throws when the program cannot start
// (a missing binary is a broken build, not a test outcome).
pid_t SpawnOrThrow(const std::vector<std::string>& args,
                   const posix_spawn_file_actions_t* actions) {
  auto argv = Argv(args);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], actions, nullptr, argv.data(),
                             environ);
  if (rc != 0) {
    throw std::runtime_error("cannot start " + args[0] + ": " +
                             std::strerror(rc));
  }
  return pid;
}

// True once something accepts connections on `path`: cheaper than a CLI
// round trip while the daemon is still starting.
bool SocketAccepts(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string p = path.string();
  if (p.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool ok =
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// A child that exits before reading its stdin must fail that test, not
// kill the whole test binary with SIGPIPE.
const bool kIgnoreSigpipe = [] {
  signal(SIGPIPE, SIG_IGN);
  return true;
}();

void KillAndReap(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGKILL);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

std::string CaravandPath() { return CARAVAN_CARAVAND_PATH; }
std::string CaravanPath() { return CARAVAN_CARAVAN_PATH; }

TempDir::TempDir() {
  char templ[] = "/tmp/cvt-XXXXXX";
  if (mkdtemp(templ) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string CommandResult::Describe() const {
  std::string s = "exit " + std::to_string(exit_code);
  if (timed_out) s += " (timed out)";
  s += "; stderr: " + err.substr(0, 2000);
  if (!out.empty()) s += "; stdout: " + out.substr(0, 2000);
  return s;
}

CommandResult RunProgram(const std::vector<std::string>& args,
                  const std::string& input, std::chrono::seconds timeout) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0 ||
      pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  pid_t pid = -1;
  try {
    pid = SpawnOrThrow(args, &actions);
  } catch (...) {
    posix_spawn_file_actions_destroy(&actions);
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1],
                   err_pipe[0], err_pipe[1]}) {
      close(fd);
    }
    throw;
  }
  posix_spawn_file_actions_destroy(&actions);
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  // Non-blocking stdin: a child that never reads must not block us.
  fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
  int in_fd = in_pipe[1];
  if (input.empty()) {
    close(in_fd);
    in_fd = -1;
  }

  CommandResult result;
  size_t written = 0;
  int out_fd = out_pipe[0], err_fd = err_pipe[0];
  const auto deadline = Clock::now() + timeout;
  char buf[65536];
  while (out_fd >= 0 || err_fd >= 0) {
    pollfd fds[3];
    int n = 0;
    if (out_fd >= 0) fds[n++] = {out_fd, POLLIN, 0};
    if (err_fd >= 0) fds[n++] = {err_fd, POLLIN, 0};
    if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
    const int ready = poll(fds, n, MillisLeft(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      result.timed_out = true;
      break;
    }
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in_fd) {
        ssize_t w = write(in_fd, input.data() + written,
                          input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN && errno != EINTR) written = input.size();
        if (written == input.size()) {
          close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      ssize_t r = read(fds[i].fd, buf, sizeof buf);
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      std::string& sink = fds[i].fd == out_fd ? result.out : result.err;
      if (r > 0) {
        sink.append(buf, static_cast<size_t>(r));
        continue;
      }
      close(fds[i].fd);
      (fds[i].fd == out_fd ? out_fd : err_fd) = -1;
    }
  }
  for (int fd : {in_fd, out_fd, err_fd}) {
    if (fd >= 0) close(fd);
  }
  if (result.timed_out) {
    KillAndReap(pid);
    result.exit_code = -1;
    return result;
  }
  auto code = WaitForExit(pid, timeout);
  if (!code) {
    KillAndReap(pid);
    result.timed_out = true;
    result.exit_code = -1;
  } else {
    result.exit_code = *code;
  }
  return result;
}

std::optional<int> WaitForExit(pid_t pid, std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int wstatus = 0;
    const pid_t r = waitpid(pid, &wstatus, WNOHANG);
    if (r == pid) return DecodeStatus(wstatus);
    if (r < 0 && errno != EINTR) return -1;  // not our child any more
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Child::Child(const std::vector<std::string>& args,
             const std::filesystem::path& stdin_path,
             const std::filesystem::path& stderr_path) {
  int out_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string in = stdin_path.empty() ? "/dev/null" : stdin_path.string();
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, in.c_str(),
                                   O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO,
                                   stderr_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0600);
  try {
    pid_ = SpawnOrThrow(args, &actions);
  } catch (...) {
    posix_spawn_file_actions_destroy(&actions);
    close(out_pipe[0]);
    close(out_pipe[1]);
    throw;
  }
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  out_fd_ = out_pipe[0];
}

Child::~Child() {
  if (out_fd_ >= 0) close(out_fd_);
  if (pid_ > 0) KillAndReap(pid_);
}

std::optional<std::string> Child::ReadLine(std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    if (out_fd_ < 0) return std::nullopt;
    pollfd fd = {out_fd_, POLLIN, 0};
    const int ready = poll(&fd, 1, MillisLeft(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return std::nullopt;
    char buf[65536];
    const ssize_t r = read(out_fd_, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      close(out_fd_);
      out_fd_ = -1;
      continue;  // hand out a last unterminated line? none expected
    }
    buffer_.append(buf, static_cast<size_t>(r));
  }
}

int Child::Wait(std::chrono::seconds timeout) {
  if (pid_ <= 0) return -1;
  auto code = WaitForExit(pid_, timeout);
  if (!code) {
    KillAndReap(pid_);
    pid_ = -1;
    return -1;
  }
  pid_ = -1;
  return *code;
}

TestNode::TestNode(const std::string& name, const std::string& country) {
  init_ = RunProgram({CaravanPath(), "init", dir().string(), "--name", name,
               "--country", country});
}

TestNode::~TestNode() { Kill(); }

std::string TestNode::LogText() const { return ReadFile(log()); }

void TestNode::Spawn() {
  Kill();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  const std::string log_path = log().string();
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<std::string> argv = {CaravandPath(), "--config",
                                   config().string()};
  if (file_limit_ > 0) {
    // The shell lowers both limits and execs the daemon in its place.
    argv.insert(argv.begin(),
                {"/bin/sh", "-c",
                 "ulimit -n " + std::to_string(file_limit_) +
                     " && exec \"$0\" \"$@\""});
  }
  try {
    pid_ = SpawnOrThrow(argv, &actions);
  } catch (...) {
    posix_spawn_file_actions_destroy(&actions);
    throw;
  }
  posix_spawn_file_actions_destroy(&actions);
}

std::optional<int> TestNode::WaitForDaemonExit(std::chrono::seconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  auto code = WaitForExit(pid_, timeout);
  if (code) pid_ = -1;
  return code;
}

bool TestNode::Start(std::string* why) {
  Spawn();
  const auto deadline = Clock::now() + kReadyTimeout;
  while (Clock::now() < deadline) {
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      *why = "caravand exited with " + std::to_string(DecodeStatus(wstatus)) +
             " while starting; log:\n" + LogText();
      return false;
    }
    if (SocketAccepts(socket())) {
      // Degraded (exit 1, e.g. indicators waiting in quarantine after a
      // compromise) is an answer too.
      CommandResult status = Cli({"status"});
      if (status.exit_code == 0 ||
          (status.exit_code == 1 && status.out.rfind("degraded: ", 0) == 0)) {
        return true;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Kill();
  *why = "caravand did not answer `caravan status` within " +
         std::to_string(kReadyTimeout.count()) + " s; log:\n" + LogText();
  return false;
}

int TestNode::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  auto code = WaitForExit(pid_, kStopTimeout);
  if (!code) {
    Kill();
    return -1;
  }
  pid_ = -1;
  return *code;
}

void TestNode::Kill() {
  KillAndReap(pid_);
  pid_ = -1;
}

CommandResult TestNode::Cli(const std::vector<std::string>& args,
                            const std::string& input) const {
  std::vector<std::string> argv = {CaravanPath(), "--config",
                                   config().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProgram(argv, input);
}

nlohmann::json TestNode::CliJson(const std::vector<std::string>& args) const {
  std::vector<std::string> with_json = args;
  with_json.push_back("--json");
  CommandResult r = Cli(with_json);
  std::string joined;
  for (const auto& a : args) joined += a + " ";
  if (r.exit_code != 0) {
    ADD_FAILURE() << "caravan " << joined << "failed: " << r.Describe();
    return nullptr;
  }
  auto doc = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    ADD_FAILURE() << "caravan " << joined << "printed no JSON: " << r.out;
    return nullptr;
  }
  return doc;
}

std::vector<std::string> ReadLines(const std::filesystem::path& path,
                                   size_t max_lines) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while ((max_lines == 0 || lines.size() < max_lines) &&
         std::getline(in, line)) {
    lines.push_back(line);
  }
  return lines;
}

void WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace caravan::integration
