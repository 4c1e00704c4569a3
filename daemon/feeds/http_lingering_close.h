#pragma once
// LingeringClose: how an HTTP server ends a connection after answering a
// request whose body (or rest of head) it did not read (401, 403, 413,
// 431). Closing at once with unread bytes in the receive buffer makes the
// kernel send a reset, and the client often loses the response it was
// about to read. Like nginx's lingering_close, this shuts down the sending
// side, then reads and discards what the client still sends for at most
// `max_time` or `max_bytes` (whichever comes first; memory: one small
// buffer), then closes.

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <cstddef>

namespace caravan::feeds {

inline constexpr std::chrono::seconds kLingerTime{2};
inline constexpr size_t kLingerBytes = 256 * 1024;

boost::asio::awaitable<void> LingeringClose(
    boost::beast::tcp_stream& stream,
    std::chrono::steady_clock::duration max_time = kLingerTime,
    size_t max_bytes = kLingerBytes);

}  // namespace caravan::feeds
