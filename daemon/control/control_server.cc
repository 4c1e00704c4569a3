#include "daemon/control/control_server.h"

#include <grp.h>
#include <malloc.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <exception>

#include "daemon/observe/log.h"
#include "daemon/control/control_response.h"
#include "daemon/net/deadline.h"
#include "protocol/control_framing.h"

namespace caravan::daemon {
namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using asio::local::stream_protocol;

namespace {

ControlPeer PeerCredentials(stream_protocol::socket& socket) {
  ucred cred{};
  socklen_t len = sizeof cred;
  ControlPeer peer;
  if (getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred,
                 &len) == 0) {
    peer.uid = cred.uid;
    peer.gid = cred.gid;
    peer.pid = cred.pid;
  } else {
    // Without credentials we cannot attribute changes: treat the caller as
    // nobody so the audit log never names a wrong uid.
    peer.uid = static_cast<uid_t>(-1);
  }
  return peer;
}

// Gives the socket at `path` to `group_name`. Without the group the socket
// keeps the daemon's own group (root's, under a root daemon): the CLI then
// works for root only, which an operator must hear about, not discover.
void GiveSocketToGroup(const std::string& path, const std::string& group_name) {
  std::array<char, 16384> buf;
  group grp{};
  group* found = nullptr;
  const int rc = getgrnam_r(group_name.c_str(), &grp, buf.data(), buf.size(),
                            &found);
  if (rc != 0 || found == nullptr) {
    LogWarning("control socket ", path, ": group '", group_name, "' ",
               rc != 0 ? std::string("cannot be looked up: ") +
                             std::strerror(rc)
                       : std::string("does not exist"),
               "; the socket keeps the daemon's group (gid ", getegid(),
               "), so only root and that group can use the caravan CLI. "
               "Create the group (systemd-sysusers) or set [control] group");
    return;
  }
  if (chown(path.c_str(), static_cast<uid_t>(-1), found->gr_gid) != 0) {
    LogWarning("cannot give control socket " + path + " to group " +
               group_name + ": " + std::strerror(errno));
  }
}

}  // namespace

class ControlServer::Connection
    : public std::enable_shared_from_this<ControlServer::Connection> {
 public:
  Connection(stream_protocol::socket socket, ControlServer& server)
      : socket_(std::move(socket)),
        deadline_(socket_.get_executor(), [this] { OnDeadline(); }),
        budget_wait_(socket_.get_executor()),
        server_(server) {}

  awaitable<void> Run() {
    ControlCall call;
    call.peer = PeerCredentials(socket_);
    const auto& o = server_.options_;
    for (;;) {
      // Idle until the first byte of the next frame; from then on the whole
      // frame must arrive within frame_timeout (a slow-loris client cannot
      // hold a slot by trickling bytes).
      std::array<uint8_t, protocol::kControlFrameHeaderBytes> header{};
      size_t got = 0;
      Arm(Phase::kIdle, o.idle_timeout);
      while (got < header.size()) {
        auto [ec, n] = co_await socket_.async_read_some(
            asio::buffer(header.data() + got, header.size() - got),
            asio::as_tuple(use_awaitable));
        if (ec) co_return;  // closed by the client, a deadline, or Stop()
        if (got == 0) Arm(Phase::kFrame, o.frame_timeout);
        got += n;
      }
      auto length = protocol::ParseFrameHeader(header, o.max_frame_bytes);
      if (!length.ok()) {
        // A broken frame leaves the stream unsynchronized: say why, then
        // hang up.
        ++server_.stats_.frames_too_large;
        server_.CountDropped("bad_frame");
        if (uint64_t n = server_.bad_frame_log_.Count(Clock::now())) {
          LogWarning("control socket: refused ", n, " bad frame(s), last: ",
                     length.status().message());
        }
        std::vector<uint8_t> refusal = ErrorResponse(length.status());
        co_await WriteReply(std::move(refusal));
        DiscardPending();
        co_return;
      }
      BudgetCharge charge(server_.budget_);
      std::vector<capnp::word> words;
      if (!co_await ReadBody(*length, words, charge)) co_return;
      deadline_.Cancel();
      phase_ = Phase::kHandling;

      auto gone = std::make_shared<std::atomic<bool>>(false);
      call.client_gone = gone;
      WatchForHangup(gone);
      std::vector<uint8_t> reply =
          co_await server_.handler_.Handle(std::move(words), call);
      boost::system::error_code ignored;
      socket_.cancel(ignored);  // ends the hang-up watch
      charge.Release();
      server_.OnBuffersReleased();
      if (gone->load()) co_return;  // nobody to answer
      if (!co_await WriteReply(std::move(reply))) co_return;
    }
  }

  void Close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
    deadline_.Cancel();
    budget_wait_.cancel();
  }

 private:
  using Clock = std::chrono::steady_clock;
  enum class Phase { kIdle, kFrame, kHandling, kWrite };

  void Arm(Phase phase, std::chrono::seconds after) {
    phase_ = phase;
    deadline_.ExpiresAfter(after);
  }

  void OnDeadline() {
    auto& s = server_;
    const auto now = Clock::now();
    switch (phase_) {
      case Phase::kIdle:
        ++s.stats_.idle_closed;  // normal: a client left a connection open
        break;
      case Phase::kFrame:
        ++s.stats_.frame_timeouts;
        s.CountDropped("frame_timeout");
        if (uint64_t n = s.frame_timeout_log_.Count(now)) {
          LogWarning("control socket: closed ", n,
                     " connection(s) whose request frame did not arrive "
                     "within frame_timeout (",
                     s.options_.frame_timeout.count(), "s)");
        }
        break;
      case Phase::kWrite:
        ++s.stats_.write_timeouts;
        s.CountDropped("write_timeout");
        if (uint64_t n = s.write_timeout_log_.Count(now)) {
          LogWarning("control socket: closed ", n,
                     " connection(s) that did not read their reply within "
                     "write_timeout (",
                     s.options_.write_timeout.count(), "s)");
        }
        break;
      case Phase::kHandling:
        break;
    }
    Close();
  }

  // Reads a body of `length` bytes into `words`, growing the buffer as
  // bytes arrive (doubling, capped at `length`) and taking every byte past
  // the free allowance from the budget first. False: the connection ended.
  awaitable<bool> ReadBody(uint32_t length, std::vector<capnp::word>& words,
                           BudgetCharge& charge) {
    size_t received = 0;
    while (received < length) {
      const size_t capacity = words.size() * sizeof(capnp::word);
      if (received == capacity) {
        const size_t target = std::min<size_t>(
            length, std::max(kFreeBytesPerConnection, 2 * capacity));
        const size_t counted_now =
            capacity > kFreeBytesPerConnection
                ? capacity - kFreeBytesPerConnection
                : 0;
        const size_t counted_then =
            target > kFreeBytesPerConnection ? target - kFreeBytesPerConnection
                                             : 0;
        if (!co_await TakeBudget(counted_then - counted_now)) co_return false;
        charge.Add(counted_then - counted_now);
        words.resize(target / sizeof(capnp::word));
      }
      auto* bytes = reinterpret_cast<uint8_t*>(words.data());
      auto [ec, n] = co_await socket_.async_read_some(
          asio::buffer(bytes + received,
                       words.size() * sizeof(capnp::word) - received),
          asio::as_tuple(use_awaitable));
      if (ec) co_return false;
      received += n;
    }
    co_return true;
  }

  // Takes `n` bytes from the shared budget, waiting while it is exhausted.
  // The frame deadline keeps running: a connection that waits too long is
  // closed like any slow one. False: closed while waiting.
  awaitable<bool> TakeBudget(size_t n) {
    auto& budget = server_.budget_;
    bool counted = false;
    while (!budget.TryTake(n)) {
      if (!counted) {
        counted = true;
        ++server_.stats_.budget_waits;
        if (uint64_t k = server_.budget_log_.Count(Clock::now())) {
          LogWarning("control socket: ", k,
                     " request(s) waited for buffer memory: "
                     "max_buffered_bytes (",
                     budget.limit(), ") is in use");
        }
      }
      if (!socket_.is_open()) co_return false;
      budget_wait_.expires_at(asio::steady_timer::time_point::max());
      const uint64_t key = budget.Wait([this] { budget_wait_.cancel(); });
      co_await budget_wait_.async_wait(asio::as_tuple(use_awaitable));
      budget.Forget(key);
      if (!socket_.is_open()) co_return false;
    }
    co_return true;
  }

  // Writes `reply` under the write deadline, its bytes counted in the
  // budget until written. False: the write failed or timed out.
  awaitable<bool> WriteReply(std::vector<uint8_t> reply) {
    BudgetCharge charge(server_.budget_);
    server_.budget_.TakeForced(reply.size());
    charge.Add(reply.size());
    Arm(Phase::kWrite, server_.options_.write_timeout);
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(reply),
                                              asio::as_tuple(use_awaitable));
    deadline_.Cancel();
    reply = {};
    charge.Release();
    server_.OnBuffersReleased();
    co_return !ec;
  }

  // Sets `gone` when the client hangs up while its request is handled. A
  // hang-up that happened before the watch starts is seen at once; one
  // after it by the wait. Data the client sends meanwhile (a pipelined
  // request) or a half-close is left for the next read and ends the watch.
  void WatchForHangup(std::shared_ptr<std::atomic<bool>> gone) {
    if (PeerHungUp()) {
      MarkGone(*gone);
      return;
    }
    socket_.async_wait(
        stream_protocol::socket::wait_read,
        [self = shared_from_this(), gone](boost::system::error_code ec) {
          if (!ec && self->PeerHungUp()) self->MarkGone(*gone);
        });
  }

  // Drops what the client already sent after a bad header (up to 64 KiB,
  // without waiting): closing a Unix socket with unread bytes makes the
  // client read ECONNRESET instead of our error reply and a clean EOF.
  void DiscardPending() {
    std::array<uint8_t, 4096> sink;
    for (size_t total = 0; total < 64 * 1024;) {
      const ssize_t r = recv(socket_.native_handle(), sink.data(), sink.size(),
                             MSG_DONTWAIT);
      if (r <= 0) return;
      total += static_cast<size_t>(r);
    }
  }

  // Whether the client closed its end entirely. POLLHUP, not an EOF read:
  // a client that only shut down its writing side (`send; shutdown(WR);
  // read`) still waits for the reply.
  bool PeerHungUp() {
    pollfd p{socket_.native_handle(), POLLIN | POLLRDHUP, 0};
    if (poll(&p, 1, 0) <= 0) return false;
    return (p.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0;
  }

  void MarkGone(std::atomic<bool>& gone) {
    if (!gone.exchange(true)) ++server_.stats_.hangups_seen;
  }

  stream_protocol::socket socket_;
  net::Deadline deadline_;
  Phase phase_ = Phase::kIdle;
  // Sleeps while the budget is exhausted; a Give or Close() cancels it.
  asio::steady_timer budget_wait_;
  ControlServer& server_;
};

void ControlServer::CountDropped(const char* reason) {
  if (metrics_ != nullptr) metrics_->control_connections_dropped.With({reason}).Inc();
}

void ControlServer::OnBuffersReleased() {
  // glibc keeps freed heap memory for reuse (and raises its mmap threshold
  // after a large free), so after a flood of big frames RSS would stay
  // high. Once every counted buffer is back and at least a few MiB were
  // given back since the last trim, hand the free memory to the kernel;
  // trimming walks the free lists, so it is not done on every free.
  constexpr uint64_t kTrimAfterBytes = 4u << 20;
  if (budget_.used() > 0) return;
  if (budget_.given_total() - given_at_last_trim_ < kTrimAfterBytes) return;
  given_at_last_trim_ = budget_.given_total();
  malloc_trim(0);
}

ControlServer::ControlServer(asio::io_context& io, ControlHandler& handler,
                             ControlServerOptions options, Metrics* metrics)
    : io_(io),
      handler_(handler),
      options_(std::move(options)),
      metrics_(metrics),
      budget_(std::max(options_.max_buffered_bytes, options_.max_frame_bytes)) {}

ControlServer::~ControlServer() { Stop(); }

Status ControlServer::Start() {
  const std::string path = options_.socket_path.string();
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return InvalidInput("control socket path too long (" +
                        std::to_string(path.size()) + " bytes): " + path);
  }
  boost::system::error_code ec;
  if (std::filesystem::exists(options_.socket_path)) {
    stream_protocol::socket probe(io_);
    probe.connect(stream_protocol::endpoint(path), ec);
    if (!ec) {
      return Unavailable("another caravand is already listening on " + path);
    }
    std::filesystem::remove(options_.socket_path, ec);
  }
  acceptor_ = std::make_unique<stream_protocol::acceptor>(io_);
  acceptor_->open(stream_protocol(), ec);
  if (!ec) acceptor_->bind(stream_protocol::endpoint(path), ec);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Unavailable("cannot listen on control socket " + path + ": " +
                       ec.message());
  }
  if (!options_.group.empty()) GiveSocketToGroup(path, options_.group);
  if (chmod(path.c_str(), 0660) != 0) {
    return Internal("cannot chmod control socket " + path + ": " +
                    std::strerror(errno));
  }
  net::ListenerOptions listener_options;
  listener_options.name = "control socket";
  listener_options.max_connections = options_.max_connections;
  // Refuse rather than queue: a flood of clients must not exhaust
  // descriptors or memory. The CLI gets a reply it can show.
  auto refuse = [max = options_.max_connections](stream_protocol::socket& s) {
    auto reply = ErrorResponse(RetryLater("too many control connections (" +
                                          std::to_string(max) + ")"));
    boost::system::error_code ignored;
    asio::write(s, asio::buffer(reply), ignored);
  };
  listener_ = std::make_unique<net::Listener<stream_protocol>>(
      io_, std::move(*acceptor_), std::move(listener_options),
      [this](stream_protocol::socket s) { return Serve(std::move(s)); },
      std::move(refuse));
  acceptor_.reset();
  listener_->Start();
  return Status::Ok();
}

awaitable<void> ControlServer::Serve(stream_protocol::socket socket) {
  auto connection = std::make_shared<Connection>(std::move(socket), *this);
  connections_.insert(connection);
  // The registry entry goes whatever Run does; an exception is passed on to
  // the listener, which logs it.
  std::exception_ptr failure;
  try {
    co_await connection->Run();
  } catch (...) {
    failure = std::current_exception();
  }
  connection->Close();
  connections_.erase(connection);
  // Run's frame (and with it the request buffer and its budget charge) is
  // gone by now.
  OnBuffersReleased();
  if (failure) std::rethrow_exception(failure);
}

void ControlServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ec;
  if (acceptor_) acceptor_->close(ec);  // Start failed half way
  if (listener_) listener_->Stop();
  if (acceptor_ || listener_) {
    std::filesystem::remove(options_.socket_path, ec);
  }
  for (const auto& c : connections_) c->Close();
}

}  // namespace caravan::daemon
