#include "daemon/feeds/metrics_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <set>

#include "daemon/feeds/http_lingering_close.h"
#include "daemon/net/listener.h"
#include "daemon/observe/log.h"
#include "daemon/observe/metrics.h"

namespace caravan::feeds {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

struct MetricsServer::State {
  explicit State(ScrapeFn fn) : scrape(std::move(fn)) {}
  ScrapeFn scrape;
  bool stopped = false;
  std::set<beast::tcp_stream*> live;  // io thread only
};

namespace {

http::response<http::string_body> Plain(http::status status, unsigned version,
                                        std::string body) {
  http::response<http::string_body> res(status, version);
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.body() = std::move(body);
  return res;
}

}  // namespace

MetricsServer::MetricsServer(asio::io_context& io, ScrapeFn scrape,
                             MetricsServerOptions options)
    : io_(io),
      options_(options),
      state_(std::make_shared<State>(std::move(scrape))) {}

MetricsServer::~MetricsServer() { Stop(); }

Status MetricsServer::Start(const protocol::HostPort& listen) {
  boost::system::error_code ec;
  tcp::resolver resolver(io_);
  auto endpoints = resolver.resolve(listen.host, std::to_string(listen.port),
                                    tcp::resolver::passive, ec);
  if (ec || endpoints.empty()) {
    return Unavailable("metrics listen " + listen.ToString() + ": " +
                       (ec ? ec.message() : "no address"));
  }
  tcp::endpoint ep = endpoints.begin()->endpoint();
  tcp::acceptor acceptor(io_);
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    return Unavailable("metrics listen " + listen.ToString() + ": " +
                       ec.message());
  }
  daemon::net::ListenerOptions options;
  options.name = "metrics";
  // Over the limit: refuse by closing; a scraper retries next interval.
  options.max_connections = options_.max_connections;
  options.max_per_source = options_.max_connections_per_source;
  listener_ = std::make_unique<daemon::net::Listener<tcp>>(
      io_, std::move(acceptor), std::move(options),
      [state = state_](tcp::socket socket) {
        return Session(state, std::move(socket));
      });
  listener_->Start();
  return Status::Ok();
}

void MetricsServer::Stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  boost::system::error_code ec;
  if (listener_) listener_->Stop();
  for (beast::tcp_stream* s : state_->live) {
    s->socket().close(ec);
  }
}

uint16_t MetricsServer::port() const {
  return listener_ ? listener_->local_endpoint().port() : 0;
}

asio::awaitable<void> MetricsServer::Session(std::shared_ptr<State> state,
                                             tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  state->live.insert(&stream);
  beast::flat_buffer buffer(kMaxMetricsRequestBytes);
  bool first = true;
  bool linger = false;  // a refusal left part of the request unread
  while (!state->stopped) {
    http::request_parser<http::empty_body> parser;
    parser.header_limit(kMaxMetricsRequestBytes);
    // The stream's timer closes the socket when it fires. Between requests
    // a connection may idle for kMetricsIdleTimeout; once a request has
    // begun, the whole head must arrive within kMetricsHeaderTimeout.
    if (buffer.size() == 0) {
      stream.expires_after(first ? kMetricsHeaderTimeout
                                 : kMetricsIdleTimeout);
      auto [rec, rn] = co_await stream.async_read_some(
          buffer.prepare(1024), asio::as_tuple(asio::use_awaitable));
      if (rec) break;
      buffer.commit(rn);
    }
    first = false;
    stream.expires_after(kMetricsHeaderTimeout);
    // Only the head is read: a request announcing a body is answered 413
    // without reading it.
    auto [ec, n] = co_await http::async_read_header(
        stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    (void)n;
    std::optional<http::response<http::string_body>> res;
    bool keep_alive = false;
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      res = Plain(http::status::request_header_fields_too_large, 11,
                  "request head too large\n");
      linger = true;
    } else if (!ec && !parser.is_done()) {
      res = Plain(http::status::payload_too_large, 11,
                  "a metrics request has no body\n");
      linger = true;
    } else if (ec) {
      break;
    } else {
      const auto& req = parser.get();
      keep_alive = req.keep_alive();
      std::string_view target(req.target().data(), req.target().size());
      target = target.substr(0, target.find('?'));
      if (req.method() != http::verb::get) {
        res = Plain(http::status::method_not_allowed, req.version(),
                    "only GET is served here\n");
        res->set(http::field::allow, "GET");
      } else if (target != "/metrics") {
        res = Plain(http::status::not_found, req.version(),
                    "not found: metrics are at /metrics\n");
      } else {
        std::string text = co_await state->scrape();
        if (state->stopped) break;
        res = Plain(http::status::ok, req.version(), std::move(text));
        res->set(http::field::content_type, daemon::kExpositionContentType);
      }
    }
    res->keep_alive(keep_alive);
    res->prepare_payload();
    stream.expires_after(kMetricsIdleTimeout);
    auto [wec, wn] = co_await http::async_write(
        stream, *res, asio::as_tuple(asio::use_awaitable));
    (void)wn;
    if (wec || !keep_alive) break;
  }
  if (linger && !state->stopped) {
    // Closing with the rest of the head unread would reset the connection
    // and lose the 431/413 just written.
    co_await LingeringClose(stream, kMetricsHeaderTimeout);
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream.socket().close(ignored);
  state->live.erase(&stream);
}

}  // namespace caravan::feeds
