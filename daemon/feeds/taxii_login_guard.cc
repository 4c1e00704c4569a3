#include "daemon/feeds/taxii_login_guard.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "daemon/observe/log.h"

namespace caravan::feeds {

namespace {

// Retry-After in whole seconds, rounded up (never 0: "now" would invite
// an immediate retry that is refused again).
std::string RetryAfterSeconds(std::chrono::steady_clock::duration wait) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(wait).count();
  return std::to_string(std::max<int64_t>(1, (ms + 999) / 1000));
}

}  // namespace

TaxiiLoginGuard::TaxiiLoginGuard(const TaxiiAccounts& accounts,
                                 Options options, LoginAuditFn audit)
    : accounts_(accounts),
      options_(options),
      audit_(std::move(audit)),
      by_source_(options.throttle),
      by_account_(options.throttle),
      tally_(daemon::net::FailureTally::Options{
          options.summary_interval, options.throttle.max_keys, 8}) {
  options_.max_pending = std::max<size_t>(1, options_.max_pending);
}

TaxiiLoginGuard::Decision TaxiiLoginGuard::Before(
    const std::string& source, const HttpRequest& header,
    Clock::time_point now) {
  Decision d;
  std::optional<Credentials> credentials = BasicCredentials(header);
  if (!credentials) {
    d.refusal = TaxiiErrorResponse(header, http::status::unauthorized,
                                   "authentication required");
    return d;
  }
  if (auto cached = accounts_.Cached(credentials->name,
                                     credentials->password)) {
    by_source_.RecordSuccess(source);
    by_account_.RecordSuccess(credentials->name);
    d.kind = Decision::Kind::kAccepted;
    d.account = std::move(cached);
    return d;
  }
  const auto wait = std::max(by_source_.RetryAfter(source, now),
                             by_account_.RetryAfter(credentials->name, now));
  if (wait > Clock::duration::zero()) {
    if (tally_.Record(source, "throttled", now)) {
      daemon::LogWarning("taxii: login attempts from ", source,
                         " are throttled after repeated failures (further "
                         "ones are summarised)");
    }
    d.refusal = TaxiiErrorResponse(header, http::status::too_many_requests,
                                   "too many failed logins",
                                   "retry after the delay in Retry-After");
    d.refusal->set(http::field::retry_after, RetryAfterSeconds(wait));
    return d;
  }
  if (pending_ >= options_.max_pending) {
    d.refusal = TaxiiErrorResponse(header, http::status::service_unavailable,
                                   "too many logins in progress");
    d.refusal->set(http::field::retry_after, "1");
    return d;
  }
  ++pending_;
  d.kind = Decision::Kind::kVerify;
  d.credentials = std::move(*credentials);
  return d;
}

std::optional<HttpResponse> TaxiiLoginGuard::After(
    const std::string& source, const HttpRequest& header,
    const Credentials& credentials,
    const std::optional<TaxiiAccount>& account, Clock::time_point now) {
  if (pending_ > 0) --pending_;
  if (account) {
    by_source_.RecordSuccess(source);
    by_account_.RecordSuccess(credentials.name);
    return std::nullopt;
  }
  by_source_.RecordFailure(source, now);
  by_account_.RecordFailure(credentials.name, now);
  // Only names from the accounts file reach the log: an unknown "name" may
  // be a password typed into the wrong field, and is attacker text.
  const std::string reason =
      accounts_.Exists(credentials.name)
          ? "bad password for account '" + credentials.name + "'"
          : "unknown account";
  if (tally_.Record(source, reason, now)) {
    // The first failure of a window is logged and audited at once, so an
    // operator sees a guessing run start; the window's summary (count
    // included) follows when it closes.
    daemon::LogWarning("taxii: failed login from ", source, ": ", reason,
                       " (further failures from it are summarised)");
    if (audit_) {
      audit_(source, nlohmann::json{{"failed_logins", 1},
                                    {"reasons", {{reason, 1}}},
                                    {"first_of_window", true}}
                         .dump(-1, ' ', false,
                               nlohmann::json::error_handler_t::replace));
    }
  }
  return TaxiiErrorResponse(header, http::status::unauthorized,
                            "authentication required");
}

void TaxiiLoginGuard::Flush(Clock::time_point now) {
  for (const auto& summary : tally_.TakeDue(now)) Summarise(summary);
}

void TaxiiLoginGuard::FlushAll() {
  // At shutdown the store may already be closing: log only.
  for (const auto& summary : tally_.TakeAll()) {
    daemon::LogWarning("taxii: failed logins from ", summary.source, ": ",
                       daemon::net::DescribeFailures(summary),
                       " (at shutdown; not audited)");
  }
}

void TaxiiLoginGuard::Summarise(
    const daemon::net::FailureTally::Summary& summary) {
  const std::string detail = daemon::net::DescribeFailures(summary);
  daemon::LogWarning("taxii: failed logins from ", summary.source, ": ",
                     detail);
  if (!audit_) return;
  // The audit detail is JSON (as every audit entry's): the count, and the
  // count per reason.
  nlohmann::json reasons = nlohmann::json::object();
  for (const auto& [reason, count] : summary.reasons) reasons[reason] = count;
  const auto window = std::chrono::duration_cast<std::chrono::seconds>(
      summary.last - summary.first);
  audit_(summary.source,
         nlohmann::json{{"failed_logins", summary.count},
                        {"reasons", reasons},
                        {"over_seconds", window.count()},
                        {"summary", detail}}
             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace caravan::feeds
