#pragma once
// Test harness for integration tests: real `caravand` and `caravan`
// processes on one machine, talking over a Unix socket in a private temp
// directory. Nothing here touches the network.
//
// - TempDir: a fresh directory under /tmp (short, so socket paths stay far
//   below the 108-byte sun_path limit), removed with everything in it.
// - RunProgram(): runs a program to completion with a bounded time, feeding it
//   stdin and capturing stdout, stderr and the exit code.
// - Child: a running process whose stdout the test reads line by line
//   (bulk submits interrupted by a kill -9).
// - TestNode: one node: `caravan init`, the daemon as a child process
//   (stdout/stderr appended to DIR/../caravand.log), CLI calls against it.
//
// Ownership: each object owns its child processes. Destructors SIGKILL and
// reap whatever is still running, so a failing test never leaves a stray
// daemon behind. Not thread-safe: one test thread drives each object.
//
// Paths of the binaries under test come from the compile definitions
// CARAVAN_CARAVAND_PATH and CARAVAN_CARAVAN_PATH.

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace caravan::integration {

// The binaries under test.
std::string CaravandPath();
std::string CaravanPath();

// Bounds on every wait, so a hung daemon fails a test instead of hanging
// it. Generous: CI runs these under ASan on a loaded machine.
inline constexpr std::chrono::seconds kReadyTimeout{30};
inline constexpr std::chrono::seconds kStopTimeout{30};
inline constexpr std::chrono::seconds kCommandTimeout{240};

class TempDir {
 public:
  // Creates /tmp/cvt-XXXXXX; aborts the process if /tmp is unusable (no
  // test can run then).
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;  // the exit status; -1: killed by a signal or timed out
  std::string out;     // everything written to stdout
  std::string err;     // everything written to stderr
  bool timed_out = false;

  // "exit N; stderr: ...", for assertion messages.
  std::string Describe() const;
};

// Runs argv[0] (a path) with `input` on stdin. Kills it after `timeout`
// (then timed_out is set). Throws std::runtime_error only when the process
// cannot be started at all.
CommandResult RunProgram(const std::vector<std::string>& argv,
                  const std::string& input = "",
                  std::chrono::seconds timeout = kCommandTimeout);

// A running process with stdin from a file (or /dev/null), stdout on a
// pipe the test reads, stderr into a file.
class Child {
 public:
  // Starts argv. Throws std::runtime_error if it cannot be started.
  Child(const std::vector<std::string>& argv,
        const std::filesystem::path& stdin_path,
        const std::filesystem::path& stderr_path);
  ~Child();  // SIGKILL and reap if still running
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // The next stdout line (without '\n'), or nullopt at end of output or
  // when `timeout` passes first.
  std::optional<std::string> ReadLine(std::chrono::seconds timeout);
  // Waits for the exit; returns the exit status, or -1 for a signal or
  // when `timeout` passed (the process is then killed).
  int Wait(std::chrono::seconds timeout);
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buffer_;
};

// Waits for `pid` to exit, up to `timeout`. Returns its exit status, -1 if
// it died of a signal, or nullopt if it is still running.
std::optional<int> WaitForExit(pid_t pid, std::chrono::seconds timeout);

class TestNode {
 public:
  // A node in a fresh temp dir, initialized with `caravan init`. Check
  // init_result() before use (a test of init failures uses dir() alone).
  explicit TestNode(const std::string& name = "CERT-UZ",
                    const std::string& country = "UZ");
  ~TestNode();  // kills the daemon if it runs, removes the directory
  TestNode(const TestNode&) = delete;
  TestNode& operator=(const TestNode&) = delete;

  const CommandResult& init_result() const { return init_; }
  const std::filesystem::path& root() const { return tmp_.path(); }
  std::filesystem::path dir() const { return tmp_.path() / "node"; }
  std::filesystem::path config() const { return dir() / "caravand.toml"; }
  std::filesystem::path socket() const { return dir() / "caravand.sock"; }
  std::filesystem::path database() const { return dir() / "caravan.db"; }
  std::filesystem::path log() const { return tmp_.path() / "caravand.log"; }
  std::string LogText() const;

  // Starts caravand and waits until `caravan status` answers. On failure
  // (the daemon exited, or no answer within kReadyTimeout) returns false
  // with the reason and the daemon log in `*why`; the daemon is then not
  // running.
  bool Start(std::string* why);
  // Starts caravand without waiting; for tests where it must refuse.
  void Spawn();
  // Waits for a daemon started with Spawn() to exit by itself; its exit
  // status, or nullopt if it still runs after `timeout`.
  std::optional<int> WaitForDaemonExit(std::chrono::seconds timeout);
  // SIGTERM, then waits; returns the exit status (-1: signal or timeout,
  // after which it is killed).
  int Stop();
  // SIGKILL and reap.
  void Kill();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // Every later Start()/Spawn() runs caravand with RLIMIT_NOFILE (soft and
  // hard) at `limit`, set before exec (through `/bin/sh -c ulimit -n`, which
  // execs caravand, so pid() is still the daemon), so descriptor
  // exhaustion is reachable with a few thousand sockets. 0: inherit ours.
  void SetDaemonFileLimit(rlim_t limit) { file_limit_ = limit; }

  // Runs `caravan --config CONFIG args...`.
  CommandResult Cli(const std::vector<std::string>& args,
                    const std::string& input = "") const;
  // Runs `caravan --config CONFIG --json args...` and parses stdout. On a
  // non-zero exit or unparsable output, records a test failure and returns
  // null.
  nlohmann::json CliJson(const std::vector<std::string>& args) const;

 private:
  TempDir tmp_;
  CommandResult init_;
  pid_t pid_ = -1;
  rlim_t file_limit_ = 0;  // 0: the daemon inherits our RLIMIT_NOFILE
};

// Lines of a text file, without newlines (at most `max_lines`; 0 = all).
std::vector<std::string> ReadLines(const std::filesystem::path& path,
                                   size_t max_lines = 0);
void WriteFile(const std::filesystem::path& path, const std::string& text);
std::string ReadFile(const std::filesystem::path& path);

}  // namespace caravan::integration
