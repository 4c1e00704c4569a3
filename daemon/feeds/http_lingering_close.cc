#include "daemon/feeds/http_lingering_close.h"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace caravan::feeds {

namespace asio = boost::asio;

asio::awaitable<void> LingeringClose(boost::beast::tcp_stream& stream,
                                     std::chrono::steady_clock::duration
                                         max_time,
                                     size_t max_bytes) {
  boost::system::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  // The stream's timer closes the socket at the deadline, ending the read.
  stream.expires_after(max_time);
  std::array<char, 4096> sink{};
  size_t drained = 0;
  while (drained < max_bytes) {
    auto [ec, n] = co_await stream.async_read_some(
        asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    drained += n;
  }
  stream.socket().close(ignored);
}

}  // namespace caravan::feeds
