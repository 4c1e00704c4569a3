#include "daemon/feeds/feeds.h"

#include "daemon/config/log.h"

namespace caravan::feeds {

Feeds::Feeds(FeedsDeps deps) : deps_(std::move(deps)) {}

Feeds::~Feeds() { Stop(); }

Status Feeds::Start() {
  const auto& cfg = *deps_.config;
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
  handler_ = std::make_unique<TaxiiHandler>(*deps_.store, std::move(accounts),
                                            deps_.submit, options);
  server_ = std::make_unique<TaxiiServer>(*deps_.io, *deps_.pool, *handler_,
                                          cfg.taxii.max_request_bytes);
  server_->set_metrics(deps_.metrics);
  CARAVAN_RETURN_IF_ERROR(server_->Start(*cfg.taxii.listen));
  daemon::LogNotice("taxii: serving on ", cfg.taxii.listen->ToString());
  return Status::Ok();
}

void Feeds::Stop() {
  if (server_) server_->Stop();
}

uint16_t Feeds::taxii_port() const { return server_ ? server_->port() : 0; }

}  // namespace caravan::feeds
