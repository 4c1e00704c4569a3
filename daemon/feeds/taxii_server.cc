#include "daemon/feeds/taxii_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <chrono>

#include "daemon/feeds/http_lingering_close.h"
#include "daemon/net/listener.h"
#include "daemon/observe/log.h"
#include "daemon/sync/offload.h"

namespace caravan::feeds {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// A refusal made before any request head could be parsed (431, 413 on the
// announced length, 400).
HttpResponse HeadRefusal(http::status status, std::string title) {
  HttpRequest none;
  none.version(11);
  auto res = TaxiiErrorResponse(none, status, std::move(title));
  res.keep_alive(false);
  return res;
}

// The remote address alone: the per-source key of the throttle and logs.
std::string RemoteAddress(const tcp::socket& socket) {
  boost::system::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  return ec ? std::string("(unknown)") : ep.address().to_string();
}

}  // namespace

TaxiiServerOptions TaxiiServerOptionsFrom(
    const protocol::NodeConfig::Taxii& c) {
  TaxiiServerOptions o;
  o.max_request_bytes = c.max_request_bytes;
  o.max_header_bytes = c.max_header_bytes;
  o.max_connections = c.max_connections;
  o.max_connections_per_source = c.max_connections_per_source;
  o.header_timeout = c.header_timeout;
  o.idle_timeout = c.idle_timeout;
  o.request_timeout = c.request_timeout;
  o.login.throttle.failures_before_delay = c.login_failures_before_delay;
  o.login.throttle.max_delay = c.login_delay_max;
  o.login.max_pending = c.max_pending_logins;
  o.login.summary_interval = c.login_log_interval;
  return o;
}

TaxiiServer::TaxiiServer(asio::io_context& io, asio::thread_pool& pool,
                         TaxiiHandler& handler, TaxiiServerOptions options,
                         LoginAuditFn audit)
    : io_(io),
      pool_(pool),
      handler_(handler),
      options_(options),
      guard_(handler.accounts(), options.login, std::move(audit)),
      flush_timer_(io),
      stopped_(std::make_shared<bool>(false)) {}

TaxiiServer::~TaxiiServer() { Stop(); }

Status TaxiiServer::Start(const protocol::HostPort& listen) {
  boost::system::error_code ec;
  tcp::resolver resolver(io_);
  auto endpoints = resolver.resolve(listen.host, std::to_string(listen.port),
                                    tcp::resolver::passive, ec);
  if (ec || endpoints.empty()) {
    return Unavailable("taxii listen " + listen.ToString() + ": " +
                       ec.message());
  }
  tcp::endpoint ep = endpoints.begin()->endpoint();
  tcp::acceptor acceptor(io_);
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Unavailable("taxii listen " + listen.ToString() + ": " +
                       ec.message());
  }
  daemon::net::ListenerOptions options;
  options.name = "taxii";
  options.max_connections = options_.max_connections;
  options.max_per_source = options_.max_connections_per_source;
  listener_ = std::make_unique<daemon::net::Listener<tcp>>(
      io_, std::move(acceptor), std::move(options),
      [this](tcp::socket socket) { return Session(std::move(socket)); },
      [](tcp::socket& socket) {
        // A short 503 so a client at the cap learns why; non-blocking, a
        // client that does not read it simply misses it.
        static constexpr std::string_view kBusy =
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\n"
            "Content-Length: 0\r\nConnection: close\r\n\r\n";
        boost::system::error_code ignored;
        socket.non_blocking(true, ignored);
        socket.write_some(asio::buffer(kBusy.data(), kBusy.size()), ignored);
      });
  listener_->Start();
  asio::co_spawn(io_, FlushLoop(), [](std::exception_ptr e) {
    daemon::net::LogIfThrown("taxii login summary", e);
  });
  return Status::Ok();
}

void TaxiiServer::Stop() {
  if (*stopped_) return;
  *stopped_ = true;
  flush_timer_.cancel();
  if (listener_) listener_->Stop();
  guard_.FlushAll();
}

uint16_t TaxiiServer::port() const {
  return listener_ ? listener_->local_endpoint().port() : 0;
}

asio::awaitable<void> TaxiiServer::FlushLoop() {
  auto stopped = stopped_;
  while (!*stopped) {
    flush_timer_.expires_after(std::chrono::seconds(1));
    auto [ec] = co_await flush_timer_.async_wait(
        asio::as_tuple(asio::use_awaitable));
    if (*stopped) co_return;
    (void)ec;
    guard_.Flush(Clock::now());
  }
}

asio::awaitable<void> TaxiiServer::Session(tcp::socket socket) {
  const std::string source = RemoteAddress(socket);
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer(options_.max_header_bytes +
                            options_.max_request_bytes + 4096);
  auto stopped = stopped_;
  bool first = true;
  // Set when a reply is sent while part of the request is unread.
  bool linger = false;
  while (!*stopped) {
    // Wait for a request to begin: a fresh connection must send one soon
    // (header_timeout); a keep-alive one may idle for idle_timeout.
    if (buffer.size() == 0) {
      stream.expires_after(first ? options_.header_timeout
                                 : options_.idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(
          buffer.prepare(4096), asio::as_tuple(asio::use_awaitable));
      if (ec) break;
      buffer.commit(n);
    }
    first = false;
    const Clock::time_point began = Clock::now();
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(options_.max_header_bytes));
    parser.body_limit(options_.max_request_bytes);
    // The whole head within header_timeout (slowloris).
    stream.expires_after(options_.header_timeout);
    auto [hec, hn] = co_await http::async_read_header(
        stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    (void)hn;
    std::optional<HttpResponse> refusal;
    if (hec == http::error::header_limit ||
        hec == http::error::buffer_overflow) {
      refusal = HeadRefusal(http::status::request_header_fields_too_large,
                            "request head too large");
    } else if (hec == http::error::body_limit) {
      refusal = HeadRefusal(http::status::payload_too_large,
                            "request too large");
    } else if (hec && hec.category() == http::make_error_code(
                                            http::error::bad_version)
                                            .category() &&
               hec != http::error::end_of_stream &&
               hec != http::error::partial_message) {
      refusal = HeadRefusal(http::status::bad_request, "malformed request");
    } else if (hec) {
      break;  // closed, reset or timed out: nobody to answer
    }
    std::optional<TaxiiAccount> account;
    if (!refusal) {
      const HttpRequest& head = parser.get();
      auto decision = guard_.Before(source, head, Clock::now());
      if (decision.kind == TaxiiLoginGuard::Decision::Kind::kVerify) {
        const TaxiiAccounts& accounts = handler_.accounts();
        const Credentials& credentials = decision.credentials;
        auto verify = [&accounts, &credentials] {
          return accounts.Authenticate(credentials.name,
                                       credentials.password);
        };
        auto verified = co_await daemon::Offload(login_pool_,
                                                 std::move(verify));
        if (*stopped) break;
        std::optional<TaxiiAccount> result;
        if (verified) result = std::move(*verified);
        refusal = guard_.After(source, head, decision.credentials, result,
                               Clock::now());
        account = std::move(result);
      } else if (decision.kind == TaxiiLoginGuard::Decision::Kind::kAccepted) {
        account = std::move(decision.account);
      } else {
        refusal = std::move(decision.refusal);
      }
      if (!refusal && account) {
        refusal = handler_.RefuseBeforeBody(head, *account);
      }
    }
    if (!refusal && !parser.is_done()) {
      // curl and others wait for this before sending a large body.
      const HttpRequest& head = parser.get();
      if (beast::iequals(head[http::field::expect], "100-continue")) {
        static constexpr std::string_view kContinue =
            "HTTP/1.1 100 Continue\r\n\r\n";
        stream.expires_after(options_.request_timeout);
        auto [cec, cn] = co_await asio::async_write(
            stream, asio::buffer(kContinue.data(), kContinue.size()),
            asio::as_tuple(asio::use_awaitable));
        (void)cn;
        if (cec) break;
      }
      // The body by request_timeout after the request began.
      stream.expires_at(began + options_.request_timeout);
      auto [bec, bn] = co_await http::async_read(
          stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
      (void)bn;
      if (bec == http::error::body_limit) {
        refusal = HeadRefusal(http::status::payload_too_large,
                              "request too large");
      } else if (bec) {
        break;
      }
    }
    std::optional<HttpResponse> response;
    if (refusal) {
      response = std::move(refusal);
      // Part of the request is still unread: this connection cannot carry
      // another request.
      if (!parser.is_done() || hec) {
        response->keep_alive(false);
        linger = true;
      }
    } else {
      HttpRequest request = parser.release();
      const TaxiiAccount& caller = *account;
      auto work = [this, &request, &caller] {
        return handler_.Handle(request, caller);
      };
      auto handled = co_await daemon::Offload(pool_, std::move(work));
      if (*stopped || !handled) break;
      response = std::move(*handled);
    }
    if (metrics_ != nullptr) {
      const std::chrono::duration<double> took = Clock::now() - began;
      metrics_->taxii_request_seconds
          .With({std::to_string(response->result_int())})
          .Observe(took.count());
    }
    const bool keep_alive = response->keep_alive();
    // A client that does not take its response in time is dropped.
    stream.expires_after(options_.request_timeout);
    auto [wec, wn] = co_await http::async_write(
        stream, *response, asio::as_tuple(asio::use_awaitable));
    (void)wn;
    if (wec || !keep_alive) break;
  }
  if (linger && !*stopped) {
    co_await LingeringClose(stream);
  } else {
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }
}

}  // namespace caravan::feeds
