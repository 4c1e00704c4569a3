#include "daemon/feeds/taxii_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <chrono>

#include "daemon/net/listener.h"
#include "daemon/observe/log.h"
#include "daemon/sync/offload.h"

namespace caravan::feeds {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;

TaxiiServer::TaxiiServer(asio::io_context& io, asio::thread_pool& pool,
                         TaxiiHandler& handler, uint64_t max_request_bytes)
    : io_(io),
      pool_(pool),
      handler_(handler),
      max_request_bytes_(max_request_bytes),
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
  // No connection cap yet (TODO(security): the hostile-load issue sets
  // one); idle connections end after the 60 s read timeout.
  listener_ = std::make_unique<daemon::net::Listener<tcp>>(
      io_, std::move(acceptor), std::move(options),
      [this](tcp::socket socket) { return Session(std::move(socket)); });
  listener_->Start();
  return Status::Ok();
}

void TaxiiServer::Stop() {
  *stopped_ = true;
  if (listener_) listener_->Stop();
}

uint16_t TaxiiServer::port() const {
  return listener_ ? listener_->local_endpoint().port() : 0;
}

asio::awaitable<void> TaxiiServer::Session(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  auto stopped = stopped_;
  while (!*stopped) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(max_request_bytes_);
    stream.expires_after(std::chrono::seconds(60));
    auto [ec, n] = co_await http::async_read(
        stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    (void)n;
    if (ec == http::error::body_limit) {
      HttpResponse res(http::status::payload_too_large, 11);
      res.set(http::field::content_type, kTaxiiMediaType);
      res.body() = "{\"title\":\"request too large\",\"http_status\":\"413\"}";
      res.keep_alive(false);
      res.prepare_payload();
      auto [wec, wn] = co_await http::async_write(
          stream, res, asio::as_tuple(asio::use_awaitable));
      (void)wec;
      (void)wn;
      break;
    }
    if (ec) break;
    HttpRequest request = parser.release();
    const auto started = std::chrono::steady_clock::now();
    auto work = [this, &request] { return handler_.Handle(request); };
    auto response = co_await daemon::Offload(pool_, std::move(work));
    if (*stopped || !response) break;
    if (metrics_ != nullptr) {
      const std::chrono::duration<double> took =
          std::chrono::steady_clock::now() - started;
      metrics_->taxii_request_seconds
          .With({std::to_string(response->result_int())})
          .Observe(took.count());
    }
    const bool keep_alive = response->keep_alive();
    stream.expires_after(std::chrono::seconds(60));
    auto [wec, wn] = co_await http::async_write(
        stream, *response, asio::as_tuple(asio::use_awaitable));
    (void)wn;
    if (wec || !keep_alive) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

}  // namespace caravan::feeds
