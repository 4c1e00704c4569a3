#include "daemon/feeds/spool_service.h"

#include <boost/asio/post.hpp>
#include <exception>

#include "daemon/observe/log.h"

namespace caravan::feeds {

SpoolService::SpoolService(boost::asio::io_context& io,
                           boost::asio::thread_pool& pool,
                           SpoolOptions options,
                           std::chrono::seconds poll_interval,
                           SpoolSubmitFn submit, SpoolAuditFn audit)
    : pool_(pool),
      timer_(io),
      poll_interval_(poll_interval),
      spool_(std::move(options), std::move(submit), std::move(audit)) {}

SpoolService::~SpoolService() {
  Stop();
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return !running_; });
}

Status SpoolService::Start() {
  CARAVAN_RETURN_IF_ERROR(spool_.Prepare());
  daemon::LogNotice("spool: watching ", (spool_.dir() / "incoming").string(),
                    " every ", poll_interval_.count(), "s");
  Kick();
  Arm();
  return Status::Ok();
}

void SpoolService::Stop() {
  stop_ = true;
  timer_.cancel();
}

void SpoolService::Arm() {
  timer_.expires_after(poll_interval_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stop_) return;
    Kick();
    Arm();
  });
}

void SpoolService::Kick() {
  {
    std::lock_guard lock(mu_);
    if (running_ || stop_) return;  // the running scan re-lists anyway
    running_ = true;
  }
  boost::asio::post(pool_, [this] {
    try {
      (void)spool_.RunOnce(stop_);
    } catch (const std::exception& e) {
      // A bug or an OS failure: the file stays where it is and the next
      // tick retries it.
      daemon::LogError("spool: scan failed: ", e.what());
    }
    std::lock_guard lock(mu_);
    running_ = false;
    idle_.notify_all();
  });
}

}  // namespace caravan::feeds
