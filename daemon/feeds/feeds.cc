#include "daemon/feeds/feeds.h"

#include <boost/asio/post.hpp>

#include "daemon/observe/log.h"
#include "daemon/store/write_txn.h"

namespace caravan::feeds {
namespace {

// The spool wants only the error text of each item.
SpoolSubmitFn SpoolSubmit(SubmitFn submit) {
  return [submit = std::move(submit)](
             const std::vector<protocol::BulkItem>& items,
             const std::string& actor) {
    std::vector<std::string> errors;
    for (auto& outcome : submit(items, actor)) {
      errors.push_back(std::move(outcome.error));
    }
    return errors;
  };
}

}  // namespace

Feeds::Feeds(FeedsDeps deps) : deps_(std::move(deps)) {}

Feeds::~Feeds() { Stop(); }

Status Feeds::Start() {
  const auto& cfg = *deps_.config;
  CARAVAN_RETURN_IF_ERROR(StartSpool());
  if (!cfg.taxii.listen) return Status::Ok();
  TaxiiAccounts accounts;
  if (!cfg.taxii.accounts.empty()) {
    auto loaded = TaxiiAccounts::Load(cfg.taxii.accounts.string());
    if (!loaded.ok()) return loaded.status();
    accounts = std::move(*loaded);
  } else {
    daemon::LogNotice("taxii: no accounts file configured; every request "
                      "is refused with 401");
  }
  TaxiiOptions options;
  options.title = cfg.node.name;
  options.page_size_max = cfg.taxii.page_size_max;
  options.max_request_bytes = cfg.taxii.max_request_bytes;
  options.include_removed = cfg.taxii.include_removed;
  handler_ = std::make_unique<TaxiiHandler>(*deps_.store, std::move(accounts),
                                            deps_.submit, options);
  // Summarised failed logins (one entry per source and interval) go to
  // the audit log from the worker pool: the io thread never waits on the
  // store's writer.
  store::Store* store = deps_.store;
  boost::asio::thread_pool* pool = deps_.pool;
  LoginAuditFn audit = [store, pool](const std::string& source,
                                     const std::string& detail) {
    boost::asio::post(*pool, [store, source, detail] {
      Status s = store->Write([&](store::WriteTxn& txn) -> Status {
        auto r = txn.AppendAudit({txn.now(), "taxii:" + source,
                                  "taxii_login_failed", source, "", detail});
        return r.ok() ? Status::Ok() : r.status();
      }).get();
      if (!s.ok()) daemon::LogError("taxii: audit: ", s.message());
    });
  };
  server_ = std::make_unique<TaxiiServer>(*deps_.io, *deps_.pool, *handler_,
                                          TaxiiServerOptionsFrom(cfg.taxii),
                                          std::move(audit));
  server_->set_metrics(deps_.metrics);
  CARAVAN_RETURN_IF_ERROR(server_->Start(*cfg.taxii.listen));
  daemon::LogNotice("taxii: serving on ", cfg.taxii.listen->ToString());
  return Status::Ok();
}

Status Feeds::StartSpool() {
  const auto& cfg = *deps_.config;
  if (cfg.spool.dir.empty()) return Status::Ok();
  if (!deps_.submit) return Unavailable("spool: no submit function wired");
  SpoolOptions options;
  options.dir = cfg.spool.dir;
  options.max_file_bytes = cfg.spool.max_file_bytes;
  options.settle_time = cfg.spool.settle_time;
  store::Store* store = deps_.store;
  SpoolAuditFn audit = [store](const std::string& actor,
                               const std::string& action,
                               const std::string& subject,
                               const std::string& detail) {
    Status s = store->Write([&](store::WriteTxn& txn) -> Status {
      auto r = txn.AppendAudit({txn.now(), actor, action, subject, "", detail});
      return r.ok() ? Status::Ok() : r.status();
    }).get();
    if (!s.ok()) daemon::LogError("spool: audit: ", s.message());
  };
  spool_ = std::make_unique<SpoolService>(*deps_.io, *deps_.pool,
                                          std::move(options),
                                          cfg.spool.poll_interval,
                                          SpoolSubmit(deps_.submit),
                                          std::move(audit));
  return spool_->Start();
}

void Feeds::Stop() {
  if (spool_) spool_->Stop();
  if (server_) server_->Stop();
}

uint16_t Feeds::taxii_port() const { return server_ ? server_->port() : 0; }

}  // namespace caravan::feeds
