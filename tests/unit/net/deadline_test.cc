#include "daemon/net/deadline.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <thread>

namespace caravan::daemon::net {
namespace {

using namespace std::chrono_literals;

TEST(DeadlineTest, FiresOnceWhenNotRearmed) {
  boost::asio::io_context io;
  int fired = 0;
  Deadline deadline(io.get_executor(), [&] { ++fired; });
  deadline.ExpiresAfter(10ms);
  io.run_for(500ms);
  EXPECT_EQ(fired, 1);
  EXPECT_TRUE(deadline.expired());
}

TEST(DeadlineTest, RearmingAndCancelPostponeOrDisarm) {
  boost::asio::io_context io;
  int fired = 0;
  Deadline deadline(io.get_executor(), [&] { ++fired; });
  deadline.ExpiresAfter(20ms);
  deadline.ExpiresAfter(10s);  // replaces the first arming
  io.run_for(200ms);
  EXPECT_EQ(fired, 0);
  deadline.Cancel();
  io.restart();
  io.run_for(50ms);
  EXPECT_EQ(fired, 0);
  EXPECT_FALSE(deadline.expired());
}

TEST(DeadlineTest, AnExpiryAlreadyQueuedDoesNotFireAfterRearm) {
  boost::asio::io_context io;
  int fired = 0;
  Deadline deadline(io.get_executor(), [&] { ++fired; });
  deadline.ExpiresAfter(1ms);
  std::this_thread::sleep_for(20ms);
  // The first arming's time has passed but its handler has not run:
  // re-arming must void it.
  deadline.ExpiresAfter(10s);
  io.run_for(100ms);
  EXPECT_EQ(fired, 0);
}

TEST(DeadlineTest, DestroyedDeadlineNeverCallsBack) {
  boost::asio::io_context io;
  int fired = 0;
  auto deadline =
      std::make_unique<Deadline>(io.get_executor(), [&] { ++fired; });
  deadline->ExpiresAfter(1ms);
  std::this_thread::sleep_for(10ms);
  deadline.reset();
  io.run_for(100ms);
  EXPECT_EQ(fired, 0);
}

}  // namespace
}  // namespace caravan::daemon::net
