#include "daemon/node/node.h"

#include <ctime>

#include "crypto/key_file.h"
#include "daemon/config/log.h"
#include "daemon/config/sd_notify.h"
#include "daemon/node/control_dispatcher.h"
#include "daemon/node/indicator_json.h"

namespace caravan::daemon {
namespace {

// Worker threads for control requests: SQLite reads run in parallel on
// their own connections; writes queue for the single store writer.
constexpr int kWorkerThreads = 4;

}  // namespace

Node::Node(protocol::NodeConfig config, boost::asio::io_context& io)
    : config_(std::move(config)),
      io_(io),
      pool_(kWorkerThreads),
      policy_(config_.policy.dir),
      watchdog_timer_(io) {}

Node::~Node() { Stop(); }

Result<std::unique_ptr<Node>> Node::Open(protocol::NodeConfig config,
                                         boost::asio::io_context& io) {
  std::unique_ptr<Node> node(new Node(std::move(config), io));
  const auto& cfg = node->config_;
  std::string error;
  node->identity_ = crypto::LoadIdentityKey(cfg.keys.identity, &error);
  if (!node->identity_) return InvalidInput(error);
  node->link_key_ = crypto::LoadLinkKey(cfg.keys.link, &error);
  if (!node->link_key_) return InvalidInput(error);

  store::StoreOptions options;
  options.sync = cfg.store.synchronous == protocol::StoreSynchronous::kFull
                     ? store::StoreOptions::Sync::kFull
                     : store::StoreOptions::Sync::kNormal;
  auto store = store::Store::Open(cfg.store.database.string(), options);
  if (!store.ok()) {
    return Status(store.status().code(),
                  "store " + cfg.store.database.string() + ": " +
                      store.status().message());
  }
  node->store_ = std::move(*store);

  // At start there is no running set to fall back on: a broken policy
  // directory keeps the daemon from starting rather than sharing under
  // rules nobody wrote.
  Status loaded = node->policy_.Reload(std::time(nullptr));
  if (!loaded.ok()) {
    return InvalidInput("policies in " + cfg.policy.dir.string() +
                        " refused:\n" + loaded.message());
  }
  node->submitter_ =
      std::make_unique<Submitter>(*node->store_, *node->identity_, cfg);
  return node;
}

Status Node::Start() {
  started_at_ = std::time(nullptr);
  dispatcher_ = std::make_unique<ControlDispatcher>(*this);
  ControlServerOptions options;
  options.socket_path = config_.control.socket;
  options.group = config_.control.group;
  options.max_frame_bytes = config_.control.max_frame_bytes;
  control_ = std::make_unique<ControlServer>(io_, *dispatcher_, options);
  CARAVAN_RETURN_IF_ERROR(control_->Start());
  Status audited = store_->Write([&](store::WriteTxn& txn) -> Status {
    auto r = txn.AppendAudit(
        {txn.now(), "node", "start", config_.node.name, "",
         DumpJson({{"policy_files", policy_.info().files}})});
    return r.ok() ? Status::Ok() : r.status();
  }).get();
  if (!audited.ok()) return audited;
  ScheduleWatchdog();
  return Status::Ok();
}

void Node::ScheduleWatchdog() {
  auto interval = WatchdogInterval();
  if (!interval) return;
  // Ping at half the period systemd allows, from the event loop itself: a
  // wedged loop stops the pings and systemd restarts us.
  watchdog_timer_.expires_after(*interval / 2);
  watchdog_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    (void)NotifyWatchdog();
    ScheduleWatchdog();
  });
}

void Node::Stop() {
  if (control_) control_->Stop();
  watchdog_timer_.cancel();
  // In-flight requests on the pool finish; their store writes commit.
  pool_.join();
  if (store_) {
    (void)store_->Write([&](store::WriteTxn& txn) -> Status {
      auto r = txn.AppendAudit({txn.now(), "node", "stop", config_.node.name,
                                "", "{}"});
      return r.ok() ? Status::Ok() : r.status();
    }).get();
    store_->Close();
  }
  control_.reset();
}

Status Node::ReloadPolicies(const std::string& actor) {
  Status loaded = policy_.Reload(std::time(nullptr));
  if (loaded.ok()) {
    LogNotice("policies reloaded from ", config_.policy.dir.string(), " (",
              policy_.info().files, " files)");
  } else {
    LogError("policy reload refused, keeping the running set: ",
             loaded.message());
  }
  Status audited = store_->Write([&](store::WriteTxn& txn) -> Status {
    auto r = txn.AppendAudit(
        {txn.now(), actor, loaded.ok() ? "policy-load" : "policy-refused",
         config_.policy.dir.string(), "",
         DumpJson(loaded.ok()
                      ? nlohmann::json{{"files", policy_.info().files}}
                      : nlohmann::json{{"errors", loaded.message()}})});
    return r.ok() ? Status::Ok() : r.status();
  }).get();
  if (!loaded.ok()) {
    return InvalidInput("policy set refused, the running one stays:\n" +
                        loaded.message());
  }
  return audited;
}

Result<std::unique_ptr<store::Reader>> Node::AcquireReader() {
  {
    std::lock_guard lock(readers_mu_);
    if (!idle_readers_.empty()) {
      auto reader = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return reader;
    }
  }
  return store_->OpenReader();
}

void Node::ReleaseReader(std::unique_ptr<store::Reader> reader) {
  std::lock_guard lock(readers_mu_);
  idle_readers_.push_back(std::move(reader));
}

}  // namespace caravan::daemon
