#pragma once
// SpoolService: runs a Spool (spool.h) for the node. A steady_timer on the
// io thread fires every `poll_interval`; each tick that finds no scan
// running posts one Spool::RunOnce to the worker pool, so file reading,
// parsing and store commits never block the io thread. The first scan
// runs right at Start (files left by an earlier run resume at once).
//
// Stop sets the stop flag and cancels the timer: a running scan returns
// after the batch it is committing (its progress marker then says where
// to resume). The owner must let the pool finish (Node joins it) or
// destroy the service, whose destructor waits for a running scan.
//
// Threading: Start and Stop on the io thread or while it is idle.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "daemon/feeds/spool.h"
#include "protocol/status.h"

namespace caravan::feeds {

class SpoolService {
 public:
  // `io` and `pool` must outlive the service.
  SpoolService(boost::asio::io_context& io, boost::asio::thread_pool& pool,
               SpoolOptions options, std::chrono::seconds poll_interval,
               SpoolSubmitFn submit, SpoolAuditFn audit);
  ~SpoolService();
  SpoolService(const SpoolService&) = delete;
  SpoolService& operator=(const SpoolService&) = delete;

  // Creates the spool directories and starts polling. kUnavailable naming
  // the directory when it cannot be created.
  Status Start();
  void Stop();

 private:
  void Arm();
  void Kick();

  boost::asio::thread_pool& pool_;
  boost::asio::steady_timer timer_;
  std::chrono::seconds poll_interval_;
  Spool spool_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable idle_;
  bool running_ = false;  // a scan is posted or running; guarded by mu_
};

}  // namespace caravan::feeds
