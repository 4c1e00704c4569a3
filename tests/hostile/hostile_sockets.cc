#include "tests/hostile/hostile_sockets.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace caravan::hostile {
namespace {

using Clock = std::chrono::steady_clock;

int MillisLeft(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

}  // namespace

rlim_t RaiseOwnFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

int OpenFrom(const std::string& source, uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  // Let connect() pick the source port per destination: thousands of
  // connections from one address need not each reserve a port at bind().
  const int one = 1;
  setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  inet_pton(AF_INET, source.c_str(), &from.sin_addr);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
      (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 &&
       errno != EINPROGRESS)) {
    const int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

int OpenUnix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 &&
      errno != EINPROGRESS && errno != EAGAIN) {
    const int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

void CloseHard(int fd) {
  if (fd < 0) return;
  linger reset{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  close(fd);
}

bool SendAllBy(int fd, const std::string& data, Clock::time_point deadline) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    pollfd p{fd, POLLOUT, 0};
    const int left = MillisLeft(deadline);
    if (left == 0 || poll(&p, 1, left) == 0) return false;
  }
  return true;
}

bool WaitClosedBy(int fd, Clock::time_point deadline) {
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, MillisLeft(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return true;
  }
}

void SocketSet::Clear() {
  for (int fd : fds_) CloseHard(fd);
  fds_.clear();
}

void OpenIdle(uint16_t port, int count, SocketSet* out) {
  for (int i = 0; i < count; ++i) {
    const int fd = OpenFrom(kAttacker, port);
    if (fd < 0) return;
    out->Add(fd);
  }
}

int64_t PushToAll(const std::vector<int>& fds, const std::string& head,
                  size_t body_bytes, Clock::time_point deadline) {
  static const std::string filler(64 * 1024, '0');
  const size_t total = head.size() + body_bytes;
  std::vector<size_t> sent(fds.size(), 0);
  std::vector<bool> done(fds.size(), false);
  int64_t sum = 0;
  for (;;) {
    std::vector<pollfd> polls;
    std::vector<size_t> which;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (done[i]) continue;
      polls.push_back({fds[i], POLLOUT, 0});
      which.push_back(i);
    }
    if (polls.empty() || Clock::now() >= deadline) return sum;
    const int ready =
        poll(polls.data(), polls.size(), std::min(MillisLeft(deadline), 100));
    if (ready < 0 && errno != EINTR) return sum;
    for (size_t k = 0; k < polls.size(); ++k) {
      if (polls[k].revents == 0) continue;
      const size_t i = which[k];
      if ((polls[k].revents & (POLLERR | POLLHUP)) != 0) {
        done[i] = true;
        continue;
      }
      // The head first, then filler, never past `total`.
      const char* from;
      size_t len;
      if (sent[i] < head.size()) {
        from = head.data() + sent[i];
        len = head.size() - sent[i];
      } else {
        from = filler.data();
        len = std::min(filler.size(), total - sent[i]);
      }
      const ssize_t n = send(fds[i], from, len, MSG_NOSIGNAL);
      if (n > 0) {
        sent[i] += static_cast<size_t>(n);
        sum += n;
        if (sent[i] == total) done[i] = true;
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        done[i] = true;
      }
    }
  }
}

}  // namespace caravan::hostile
