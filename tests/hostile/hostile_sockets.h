#pragma once
// The attacker's side of the hostile-load suite: raw non-blocking TCP
// sockets from a chosen loopback source address, so a flood comes from one
// host (127.0.0.2) while the good path keeps 127.0.0.1, as a per-source
// limit in the daemon would see it.
//
// Attacker sockets are closed with SO_LINGER 0 (a reset): thousands of
// them must not leave TIME_WAIT entries that exhaust the source ports of
// the next test. Plain functions and an owning set; not thread-safe.

#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace caravan::hostile {

// The one host every flood comes from; the good path uses 127.0.0.1.
inline constexpr const char* kAttacker = "127.0.0.2";

// Raises this process's RLIMIT_NOFILE soft limit to its hard limit (the
// floods hold thousands of sockets); returns the soft limit now in force.
rlim_t RaiseOwnFileLimit();

// A non-blocking TCP socket bound to `source` and connecting to
// 127.0.0.1:`port` (the connect may still be in progress). -1 with errno
// set when no socket could be made (descriptors or source ports ran out).
int OpenFrom(const std::string& source, uint16_t port);

// A non-blocking connection to the Unix socket at `path` (the control
// socket); -1 with errno set on failure.
int OpenUnix(const std::string& path);

// Closes `fd` with a reset (no TIME_WAIT).
void CloseHard(int fd);

// Writes all of `data` to the non-blocking `fd` by `deadline`; false if the
// connection failed or the deadline passed first (the daemon stopped
// reading).
bool SendAllBy(int fd, const std::string& data,
               std::chrono::steady_clock::time_point deadline);

// True once the daemon closed `fd` (EOF or error) before `deadline`; bytes
// it sends meanwhile are read and dropped.
bool WaitClosedBy(int fd, std::chrono::steady_clock::time_point deadline);

// Sockets the test owns; every one is closed (hard) on Clear() or
// destruction.
class SocketSet {
 public:
  SocketSet() = default;
  ~SocketSet() { Clear(); }
  SocketSet(const SocketSet&) = delete;
  SocketSet& operator=(const SocketSet&) = delete;

  void Add(int fd) { fds_.push_back(fd); }
  size_t size() const { return fds_.size(); }
  const std::vector<int>& fds() const { return fds_; }
  void Clear();

 private:
  std::vector<int> fds_;
};

// `count` idle connections from kAttacker to `port` (connects may still be
// in progress). Stops early if no more sockets can be made; the set holds
// what was opened.
void OpenIdle(uint16_t port, int count, SocketSet* out);

// Sends `head` and then `body_bytes` filler bytes on every socket of
// `fds` at once (non-blocking, one poll loop), until each is done, failed
// (the daemon closed it) or `deadline` passes. Returns the bytes sent in
// all, so the caller can tell how much the daemon took in.
int64_t PushToAll(const std::vector<int>& fds, const std::string& head,
                  size_t body_bytes,
                  std::chrono::steady_clock::time_point deadline);

}  // namespace caravan::hostile
