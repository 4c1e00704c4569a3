#pragma once
// Offload: run blocking work (SQLite, bulk crypto) on the worker pool and
// resume the calling coroutine on its own executor with the result. The
// network and control threads never call SQLite themselves (DESIGN.md,
// Threads).
//
// Usage (note the named lambda):
//   auto work = [&captures] { return store_call(); };
//   auto result = *co_await Offload(pool, std::move(work));
//
// Why this shape: g++ 12 miscompiles class-type temporaries (lambdas with
// captures, coroutine parameters moved into captures) that live inside a
// co_await expression, destroying them twice. So Offload is a plain
// function (no coroutine frame of its own), callers pass a named lambda,
// and the value comes back as std::optional because co_spawn needs a
// default-constructible type and Result<T> has no empty state.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <type_traits>
#include <utility>

namespace caravan::daemon {

template <typename F>
boost::asio::awaitable<std::optional<std::invoke_result_t<std::decay_t<F>&>>>
Offload(boost::asio::thread_pool& pool, F&& work) {
  using R = std::invoke_result_t<std::decay_t<F>&>;
  return boost::asio::co_spawn(
      pool,
      [work = std::forward<F>(work)]() mutable
      -> boost::asio::awaitable<std::optional<R>> {
        co_return std::optional<R>(work());
      },
      boost::asio::use_awaitable);
}

}  // namespace caravan::daemon
