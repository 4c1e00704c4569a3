#pragma once
// TaxiiLoginGuard: everything the TAXII server decides about a login
// before and after the slow Argon2 check, on its io thread:
// - no or malformed credentials: 401 at once (no hashing, not counted);
// - a name and password verified recently (TaxiiAccounts::Cached): accepted
//   at once, even while the source or account is throttled (it proves the
//   password and costs no Argon2, so good clients keep working during an
//   attack);
// - a source or account name throttled (LoginThrottle, exponential delay
//   after a number of failures): 429 with Retry-After, no hashing;
// - more than `max_pending` checks queued for the login pool: 503 with
//   Retry-After, no hashing (guessing cannot queue unbounded work);
// - otherwise the caller runs TaxiiAccounts::Authenticate on the login
//   pool and reports the outcome with After(): a failure is counted for the
//   source and the name, logged at once for the first failure of a source's
//   window and summarised (log line and one audit entry per source and
//   window, with the count) by Flush().
// Unknown names are treated exactly like known ones (throttled, counted,
// answered 401), so neither answers nor timing tell them apart; only the
// operator's log says "unknown account".
//
// Thread-safety: none; use on the io thread.

#include <boost/beast/http.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "daemon/feeds/taxii_accounts.h"
#include "daemon/feeds/taxii_handler.h"
#include "daemon/feeds/taxii_login_throttle.h"
#include "daemon/net/failure_tally.h"

namespace caravan::feeds {

// Records one summarised entry in the audit log for `source`; `detail` is
// JSON: {"failed_logins": N, "reasons": {...}, "over_seconds": S,
// "summary": "..."}.
using LoginAuditFn =
    std::function<void(const std::string& source, const std::string& detail)>;

class TaxiiLoginGuard {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    LoginThrottle::Options throttle;
    size_t max_pending = 16;  // Argon2 checks queued or running, >= 1
    // One log line and audit entry per source and interval.
    std::chrono::milliseconds summary_interval{std::chrono::seconds(60)};
  };

  // What to do with a request after its head was read.
  struct Decision {
    enum class Kind { kAccepted, kRefused, kVerify };
    Kind kind = Kind::kRefused;
    std::optional<TaxiiAccount> account;  // kAccepted
    std::optional<HttpResponse> refusal;  // kRefused
    Credentials credentials;              // kVerify: run Authenticate
  };

  // `accounts` must outlive the guard; `audit` may be empty.
  TaxiiLoginGuard(const TaxiiAccounts& accounts, Options options,
                  LoginAuditFn audit);

  // Decides from the head alone. kVerify reserves a pending slot that
  // After() frees: call After() exactly once for every kVerify.
  Decision Before(const std::string& source,
                  const HttpRequest& header, Clock::time_point now);
  // The outcome of Authenticate for a kVerify decision: nullopt when
  // `account` is set (accepted), else the 401 to send.
  std::optional<HttpResponse> After(const std::string& source,
                                    const HttpRequest& header,
                                    const Credentials& credentials,
                                    const std::optional<TaxiiAccount>& account,
                                    Clock::time_point now);

  // Logs and audits the summaries of windows that have ended (call about
  // once a second). FlushAll, at shutdown, logs the open windows without
  // auditing them (the store may be closing).
  void Flush(Clock::time_point now);
  void FlushAll();

  size_t pending() const { return pending_; }
  uint64_t failures() const { return tally_.total(); }

 private:
  void Summarise(const daemon::net::FailureTally::Summary& summary);

  const TaxiiAccounts& accounts_;
  Options options_;
  LoginAuditFn audit_;
  LoginThrottle by_source_;
  LoginThrottle by_account_;
  daemon::net::FailureTally tally_;
  size_t pending_ = 0;
};

}  // namespace caravan::feeds
