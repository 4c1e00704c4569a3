#include "daemon/link/roster_refusal.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <memory>
#include <vector>

#include "daemon/link/frame_codec.h"

namespace caravan::daemon::link {

namespace asio = boost::asio;
using asio::use_awaitable;

// g++ 12 false positive on Asio's coroutine frame allocator (GCC bug
// 109224; see handshake.cc).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
asio::awaitable<bool> SendRefusalAndClose(asio::ip::tcp::socket& socket,
                                          crypto::NoiseTransport& transport,
                                          std::string_view text,
                                          std::chrono::milliseconds linger) {
  std::vector<uint8_t> wire;
  for (const auto& piece :
       SplitAppMessage(RefusalMessage(text))) {
    auto frame = SealFrame(transport.send, piece);
    if (!frame) break;
    wire.insert(wire.end(), frame->begin(), frame->end());
  }
  // One deadline for the write and the drain: it closes the socket, which
  // ends whichever is pending.
  asio::steady_timer timer(socket.get_executor());
  timer.expires_after(linger);
  timer.async_wait([&socket](boost::system::error_code ec) {
    if (ec) return;
    boost::system::error_code ignored;
    socket.close(ignored);
  });
  bool sent = false;
  if (!wire.empty()) {
    auto [ec, n] = co_await asio::async_write(socket, asio::buffer(wire),
                                              asio::as_tuple(use_awaitable));
    sent = !ec && n == wire.size();
  }
  boost::system::error_code ignored;
  socket.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  // Dropped unread: an unknown identity gets nothing of its processed.
  std::array<uint8_t, 4096> sink{};
  size_t drained = 0;
  while (sent && socket.is_open() && drained < kRefusalDrainBytes) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(sink),
                                                   asio::as_tuple(use_awaitable));
    if (ec) break;
    drained += n;
  }
  timer.cancel();
  socket.close(ignored);
  co_return sent;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace caravan::daemon::link
