#pragma once
// Listener: the accept loop every listening socket of caravand uses (the
// control socket, TAXII, metrics, the peer link listener). It accepts
// connections in a coroutine and hands each to a handler coroutine, with
// the limits a server needs under hostile load:
// - a cap on live connections (and optionally per source): a connection
//   accepted at a cap is refused at once (an optional refuse hook may write
//   a short reply first) and closed; refusals are counted and logged at
//   most once per log interval;
// - when accept fails for lack of descriptors, buffers or memory (EMFILE,
//   ENFILE, ENOBUFS, ENOMEM) it pauses (100 ms doubling to 1 s by default)
//   instead of retrying at once, and logs once per interval with the count
//   of failures; other errors are logged rate-limited too;
// - every handler runs under a completion handler that logs an exception
//   instead of swallowing it.
// Per-connection time limits are the handler's: daemon/net/deadline.h.
//
// Works for `boost::asio::ip::tcp` and `boost::asio::local::stream_protocol`
// (Unix sockets); the source of a connection is its remote address (TCP) or
// its peer uid (Unix socket, SO_PEERCRED).
//
// Ownership: the Listener owns the acceptor. Its state is shared with the
// accept loop and the handlers' completion handlers, so destroying the
// Listener is safe at any time (the destructor calls Stop()); the `handler`
// and `refuse` functions are kept until the last connection ends and must
// not be called for connections after their owner is gone (they are not:
// Stop() ends accepting). Live connections are the owner's to close.
// Thread-safety: none; construct, Start and Stop on the thread that runs
// `io` (a single-threaded io_context), or while it is not running.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "daemon/net/listener_core.h"
#include "daemon/net/listener_options.h"

namespace caravan::daemon::net {

// The source key of a connection for per-source caps and log lines.
std::string SourceOf(boost::asio::ip::tcp::socket& socket);
std::string SourceOf(boost::asio::local::stream_protocol::socket& socket);

// Logs what a detached coroutine threw ("<what> failed: <message>").
void LogIfThrown(const std::string& what, std::exception_ptr e);

template <typename Protocol>
class Listener {
 public:
  using Socket = typename Protocol::socket;
  using Acceptor = typename Protocol::acceptor;
  // Serves one connection; the connection's slot is freed when it returns.
  using Handler = std::function<boost::asio::awaitable<void>(Socket)>;
  // Called with a connection refused at a cap, just before it is closed
  // (e.g. to write a "retry later" reply). Must not block for long.
  using RefuseFn = std::function<void(Socket&)>;

  // `acceptor` must be open and listening. Nothing is accepted before
  // Start().
  Listener(boost::asio::io_context& io, Acceptor acceptor,
           ListenerOptions options, Handler handler, RefuseFn refuse = nullptr)
      : state_(std::make_shared<State>(io, std::move(acceptor),
                                       std::move(options), std::move(handler),
                                       std::move(refuse))) {}
  ~Listener() { Stop(); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Starts the accept loop. Call once.
  void Start() {
    boost::asio::co_spawn(
        state_->io, AcceptLoop(state_),
        [name = state_->core.options().name](std::exception_ptr e) {
          LogIfThrown(name + " accept loop", e);
        });
  }

  // Closes the acceptor and ends the loop (also during a pause); returns at
  // once. Live connections are not touched. Idempotent.
  void Stop() {
    if (state_->stopped) return;
    state_->stopped = true;
    boost::system::error_code ignored;
    state_->acceptor.close(ignored);
    state_->pause.cancel();
  }

  // The bound endpoint (default-constructed when closed).
  typename Protocol::endpoint local_endpoint() const {
    boost::system::error_code ec;
    auto endpoint = state_->acceptor.local_endpoint(ec);
    return ec ? typename Protocol::endpoint() : endpoint;
  }
  size_t live_connections() const { return state_->core.live(); }
  const ListenerStats& stats() const { return state_->core.stats(); }
  // Whether the accept loop is running (false once it has ended).
  bool accepting() const { return state_->looping; }

 private:
  struct State {
    State(boost::asio::io_context& io_in, Acceptor acceptor_in,
          ListenerOptions options, Handler handler_in, RefuseFn refuse_in)
        : io(io_in),
          acceptor(std::move(acceptor_in)),
          pause(io_in),
          core(std::move(options)),
          handler(std::move(handler_in)),
          refuse(std::move(refuse_in)) {}
    boost::asio::io_context& io;
    Acceptor acceptor;
    boost::asio::steady_timer pause;  // the backoff sleep; Stop cancels it
    ListenerCore core;
    Handler handler;
    RefuseFn refuse;
    bool stopped = false;
    bool looping = false;
  };

  static boost::asio::awaitable<void> AcceptLoop(std::shared_ptr<State> self) {
    namespace asio = boost::asio;
    self->looping = true;
    struct Done {
      State& s;
      ~Done() { s.looping = false; }
    } done{*self};
    while (!self->stopped) {
      auto [ec, socket] = co_await self->acceptor.async_accept(
          asio::as_tuple(asio::use_awaitable));
      if (self->stopped) co_return;
      if (ec) {
        if (ClassifyAcceptError(ec) == AcceptErrorKind::kStopped) co_return;
        const auto pause = self->core.OnAcceptError(ec);
        if (pause.count() > 0) {
          self->pause.expires_after(pause);
          co_await self->pause.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        continue;
      }
      // One getpeername/getsockopt per accept: cheap, and a refusal's log
      // line can say whom it refused.
      std::string source = SourceOf(socket);
      if (!self->core.Admit(source)) {
        if (self->refuse) self->refuse(socket);
        boost::system::error_code ignored;
        socket.close(ignored);
        continue;
      }
      asio::co_spawn(
          self->io, self->handler(std::move(socket)),
          [self, source = std::move(source)](std::exception_ptr e) {
            LogIfThrown(self->core.options().name + " connection", e);
            self->core.Release(source);
          });
    }
  }

  std::shared_ptr<State> state_;
};

}  // namespace caravan::daemon::net
