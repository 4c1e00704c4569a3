#pragma once
// Offload: run blocking work (SQLite, bulk crypto) on the worker pool and
// resume the calling coroutine on its own executor with the result. The
// network and control threads never call SQLite themselves (DESIGN.md,
// Threads).

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <type_traits>
#include <utility>

namespace caravan::daemon {

template <typename F>
boost::asio::awaitable<std::invoke_result_t<F>> Offload(
    boost::asio::thread_pool& pool, F work) {
  using R = std::invoke_result_t<F>;
  // co_spawn with use_awaitable completes on the awaiting coroutine's
  // executor, so only `work` runs on the pool.
  // The work is held by a shared_ptr made in its own statement rather
  // than moved into the capture inside the co_await expression (g++ 12
  // coroutine bug: double destruction of moved-from captures).
  auto shared = std::make_shared<F>(std::move(work));
  R result = co_await boost::asio::co_spawn(
      pool,
      [shared]() -> boost::asio::awaitable<R> { co_return (*shared)(); },
      boost::asio::use_awaitable);
  co_return result;
}

}  // namespace caravan::daemon
