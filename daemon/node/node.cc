#include "daemon/node/node.h"

#include "crypto/identity_rotation.h"

#include <algorithm>
#include <ctime>
#include <iterator>

#include "crypto/key_file.h"
#include "daemon/net/listener_core.h"
#include "daemon/observe/log.h"
#include "daemon/observe/sd_notify.h"
#include "daemon/node/control_dispatcher.h"
#include "daemon/node/indicator_json.h"
#include "daemon/node/link_rotation.h"
#include "daemon/node/metrics_collect.h"
#include "daemon/link/link_metrics.h"
#include "protocol/time_text.h"
#include "daemon/sync/offload.h"
#include "daemon/policy/policy_eval.h"
#include "protocol/record_codec.h"
#include "protocol/config/roster_file.h"

#include <boost/asio/post.hpp>

namespace caravan::daemon {
namespace {

// Worker threads for control requests: SQLite reads run in parallel on
// their own connections; writes queue for the single store writer.
constexpr int kWorkerThreads = 4;

// Disk full, I/O errors and the like: loud (error level, at most one line
// per interval with the count since the last) and counted in /metrics by
// kind. Runs on the store's writer thread only, so the limiter needs no
// lock.
std::function<void(std::string_view, const Status&)> StoreErrorReporter(
    Metrics& metrics) {
  auto limiter = std::make_shared<net::LogLimiter>(std::chrono::seconds(10));
  return [&metrics, limiter](std::string_view kind, const Status& error) {
    metrics.store_errors.With({std::string(kind)}).Inc();
    if (uint64_t n = limiter->Count(std::chrono::steady_clock::now())) {
      LogError("store: ", n, " write(s) failed since the last report (",
               kind, "): ", error.message());
    }
  };
}

}  // namespace

Node::Node(protocol::NodeConfig config, boost::asio::io_context& io)
    : config_(std::move(config)),
      io_(io),
      pool_(kWorkerThreads),
      policy_(config_.policy.dir),
      warninglists_(config_.warninglists),
      watchdog_timer_(io),
      retention_timer_(io),
      link_rotate_timer_(io),
      reload_timer_(io) {}

Node::~Node() { Stop(); }

Result<std::unique_ptr<Node>> Node::Open(protocol::NodeConfig config,
                                         boost::asio::io_context& io) {
  std::unique_ptr<Node> node(new Node(std::move(config), io));
  const auto& cfg = node->config_;
  std::string error;
  node->identity_ = crypto::LoadIdentityKey(cfg.keys.identity, &error);
  if (!node->identity_) return InvalidInput(error);
  // A missing link key is made here (the identity key certifies it, so no
  // peer needs a roster change); a broken one still stops the start.
  auto link_key = LoadOrCreateLinkKey(cfg.keys.link, std::time(nullptr));
  if (!link_key.ok()) return link_key.status();
  node->link_key_ = link_key->credential;
  node->link_key_created_ = link_key->created;

  store::StoreOptions options;
  options.sync = cfg.store.synchronous == protocol::StoreSynchronous::kFull
                     ? store::StoreOptions::Sync::kFull
                     : store::StoreOptions::Sync::kNormal;
  options.writer_cache_kib = int64_t{cfg.store.cache_mib} * 1024;
  options.writer_mmap_bytes = int64_t{cfg.store.mmap_mib} << 20;
  options.id_filter_bytes = size_t{cfg.store.id_filter_mib} << 20;
  options.on_storage_error = StoreErrorReporter(node->metrics_);
  auto store = store::Store::Open(cfg.store.database.string(), options);
  if (!store.ok()) {
    return Status(store.status().code(),
                  "store " + cfg.store.database.string() + ": " +
                      store.status().message());
  }
  node->store_ = std::move(*store);
  node->readers_ = std::make_unique<store::ReaderPool>(*node->store_);
  {
    // Our own identity key rotations (identity_rotate.cc): finish one a
    // crash interrupted, refuse a key rotated away, know our whole chain.
    auto rows = node->WithReader([](store::Reader& r) { return r.IdentityRotations(); });
    if (!rows.ok()) return rows.status();
    CARAVAN_RETURN_IF_ERROR(FinishIdentityRotation(cfg.keys.identity, *rows, node->identity_));
    node->own_keys_ = {node->identity_->public_key()};
    for (size_t step = 0; step < sync::kMaxRotationsPerChain; ++step) {
      const auto* introduced = [&]() -> const store::IdentityRotationRow* {
        for (const auto& row : *rows) {
          if (row.new_key == node->own_keys_.back()) return &row;
        }
        return nullptr;
      }();
      if (introduced == nullptr) break;
      node->own_keys_.push_back(introduced->old_key);
    }
  }

  // At start there is no running set to fall back on: a broken policy
  // directory keeps the daemon from starting rather than sharing under
  // rules nobody wrote.
  Status loaded = node->policy_.Reload(std::time(nullptr));
  if (!loaded.ok()) {
    return InvalidInput("policies in " + cfg.policy.dir.string() +
                        " refused:\n" + loaded.message());
  }
  Status lists = node->warninglists_.Reload();
  if (!lists.ok()) {
    return InvalidInput("warninglists in " + cfg.warninglists.dir.string() +
                        " refused:\n" + lists.message());
  }
  node->submitter_ = std::make_unique<Submitter>(
      *node->store_, *node->readers_, *node->identity_, cfg, &node->metrics_);
  node->submitter_->SetWarninglists(&node->warninglists_);
  node->submitter_->SetRetiredKeys(
      std::vector<protocol::PublicKey>(node->own_keys_.begin() + 1, node->own_keys_.end()));
  node->roster_ = std::make_shared<const sync::RosterIndex>(
      std::vector<protocol::RosterMember>{});
  Status roster = node->ReloadRoster();
  if (!roster.ok()) return roster;
  return node;
}

Status Node::Start() {
  started_at_ = std::time(nullptr);
  dispatcher_ = std::make_unique<ControlDispatcher>(*this);
  ControlServerOptions options;
  options.socket_path = config_.control.socket;
  options.group = config_.control.group;
  options.max_frame_bytes = config_.control.max_frame_bytes;
  options.max_connections = config_.control.max_connections;
  options.max_buffered_bytes = config_.control.max_buffered_bytes;
  options.idle_timeout = config_.control.idle_timeout;
  options.frame_timeout = config_.control.frame_timeout;
  options.write_timeout = config_.control.write_timeout;
  control_ = std::make_unique<ControlServer>(io_, *dispatcher_, options,
                                             &metrics_);
  CARAVAN_RETURN_IF_ERROR(control_->Start());
  Status audited = store_->Write([&](store::WriteTxn& txn) -> Status {
    auto r = txn.AppendAudit(
        {txn.now(), "node", "start", config_.node.name, "",
         DumpJson({{"policy_files", policy_.info().files}})});
    return r.ok() ? Status::Ok() : r.status();
  }).get();
  if (!audited.ok()) return audited;
  if (link_key_created_) {
    LogNotice("keys: ", config_.keys.link.string(), " was missing; made a new link key (serial ",
              link_key_.serial, ")");
    Status created = store_->Write([&](store::WriteTxn& txn) -> Status {
      auto r = txn.AppendAudit(
          {txn.now(), "node", "link-key-create", config_.node.name, "",
           DumpJson({{"serial", link_key_.serial},
                     {"path", config_.keys.link.string()},
                     {"reason", "the link key file was missing"}})});
      return r.ok() ? Status::Ok() : r.status();
    }).get();
    if (!created.ok()) return created;
  }

  sync::SyncDeps deps;
  deps.io = &io_;
  deps.pool = &pool_;
  deps.store = store_.get();
  deps.identity = identity_.get();
  deps.config = &config_;
  deps.policy = [this] { return policy_.current(); };
  deps.roster = [this] { return roster(); };
  deps.warninglists = [this] { return warninglists_.current(); };
  deps.on_new_records = [this] { NotifyCommitted(); };
  deps.metrics = &metrics_;
  deps.on_identity_rotation = [this](std::vector<uint8_t> statement, std::string via) {
    OnIdentityRotation(std::move(statement), std::move(via));
  };
  deps.on_keys_compromised = [this] { (void)RefuseCompromisedKeys(); };
  sync_ = std::make_unique<sync::SyncEngine>(std::move(deps));
  CARAVAN_RETURN_IF_ERROR(sync_->StartPrekeys());  // forward secrecy
  link::LinkOptions link_options;
  link_options.listen = config_.peers.listen;
  link_options.keepalive = config_.peers.keepalive;
  link_options.idle_timeout = config_.peers.keepalive * 3;
  link_options.handshake_timeout = config_.peers.handshake_timeout;
  link_options.backoff_max = config_.peers.dial_backoff_max;
  link_options.refused_backoff_max = config_.peers.refused_backoff_max;
  link_options.own_name = config_.node.name;
  link_options.own_country = config_.node.country;
  link_options.max_message_bytes = config_.peers.max_message_bytes;
  link_options.max_handshakes = config_.peers.max_handshakes;
  link_options.max_handshakes_per_source = config_.peers.max_handshakes_per_source;
  link_options.first_message_timeout = config_.peers.first_message_timeout;
  link_options.failure_report_interval = config_.peers.failure_report_interval;
  link_options.compression = config_.links.compression;
  link_options.compression_level = config_.links.compression_level;
  CARAVAN_RETURN_IF_ERROR(RefuseCompromisedKeys());  // issue 16
  links_ = std::make_unique<link::LinkManager>(
      io_, *identity_, link_key_, link_options,
      [this](std::shared_ptr<link::Link> l) { return sync_->RunSession(l); },
      [this](const link::LinkEvent& e) { OnLinkEvent(e); });
  // The highest link serial seen per member survives restarts (table
  // link_serials): a retired link key stays refused after we restart. A
  // store that cannot be read stops the start rather than forgetting them.
  auto serials = WithReader([](store::Reader& r) { return r.LinkSerials(); });
  if (!serials.ok()) {
    return Status(serials.status().code(),
                  "store: reading the link serials seen: " + serials.status().message());
  }
  // Our rotation chain in every handshake; peers' chains followed
  // (docs/wire.md, "Rotation chain").
  links_->SetIdentityChain(
      {OwnHandshakeChain(),
       [this](const protocol::PublicKey& presented,
              const std::vector<crypto::RotationStatement>& chain) {
         return MemberByChain(presented, chain);
       }});
  links_->SetLinkSerials(std::move(*serials),
                         [this](const std::string& name, const protocol::PublicKey& key,
                                uint64_t serial, int64_t not_before) {
                           OnPeerLinkSerial(name, key, serial, not_before);
                         });
  CARAVAN_RETURN_IF_ERROR(links_->Start(RosterPeers()));

  feeds::FeedsDeps feeds_deps;
  feeds_deps.io = &io_;
  feeds_deps.pool = &pool_;
  feeds_deps.store = store_.get();
  feeds_deps.config = &config_;
  feeds_deps.metrics = &metrics_;
  feeds_deps.submit = [this](const std::vector<protocol::BulkItem>& items,
                             const std::string& actor) {
    std::vector<SubmissionInput> inputs;
    for (const auto& it : items) {
      inputs.push_back({it.type, it.value, it.tlp, it.confidence, it.tags,
                        it.description, it.valid_until, it.first_seen,
                        it.last_seen, it.reshare, it.line});
    }
    std::vector<feeds::SubmitOutcome> outcomes;
    for (const auto& out : submitter_->Submit(inputs, actor)) {
      outcomes.push_back(
          {out.error.ok() ? std::string() : out.error.message(), out.id});
    }
    NotifyCommitted();
    return outcomes;
  };
  feeds_ = std::make_unique<feeds::Feeds>(std::move(feeds_deps));
  CARAVAN_RETURN_IF_ERROR(feeds_->Start());
  if (config_.metrics.listen) {
    metrics_server_ = std::make_unique<feeds::MetricsServer>(
        io_, [this] { return ScrapeMetrics(); },
        feeds::MetricsServerOptions{config_.metrics.max_connections,
                                    config_.metrics.max_connections_per_source});
    CARAVAN_RETURN_IF_ERROR(metrics_server_->Start(*config_.metrics.listen));
    LogNotice("metrics: serving /metrics on ",
              config_.metrics.listen->ToString(), " (port ",
              metrics_server_->port(), ")");
  }

  ScheduleWatchdog();
  ScheduleRetentionSweep();
  ScheduleLinkRotation();
  return Status::Ok();
}

void Node::ScheduleLinkRotation() {
  if (config_.keys.link_rotate.count() == 0) return;  // "off"
  int64_t not_before = 0;
  {
    std::lock_guard lock(link_key_mu_);
    not_before = link_key_.not_before;
  }
  // From the key's not-before (for a serial-0 key: this start).
  link_rotate_timer_.expires_after(
      TimeToLinkRotation(not_before, config_.keys.link_rotate, std::time(nullptr)));
  link_rotate_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    boost::asio::post(pool_, [this] {
      auto rotated = RotateLinkKey("schedule", /*scheduled=*/true);
      if (!rotated.ok()) {
        LogError("keys: scheduled link key rotation failed: ", rotated.status().message());
      }
      // Re-armed from the new key's not-before; after a failure, an hour on.
      boost::asio::post(io_, [this, ok = rotated.ok()] {
        if (!ok) {
          link_rotate_timer_.expires_after(std::chrono::hours(1));
          link_rotate_timer_.async_wait([this](boost::system::error_code e) {
            if (!e) ScheduleLinkRotation();
          });
          return;
        }
        ScheduleLinkRotation();
      });
    });
  });
}

Result<std::string> Node::RotateLinkKey(const std::string& actor, bool scheduled) {
  link::LinkCredential next;
  uint64_t old_serial = 0;
  {
    // One rotation at a time: each follows the key the last one wrote.
    std::lock_guard lock(link_key_mu_);
    old_serial = link_key_.serial;
    auto made = MakeNextLinkKey(config_.keys.link, link_key_, std::time(nullptr));
    if (!made.ok()) return made.status();
    next = std::move(*made);
    link_key_ = next;
  }
  (scheduled ? link_rotations_schedule_ : link_rotations_operator_).fetch_add(1);
  LogNotice("keys: link key rotated (", scheduled ? "schedule" : actor, "): serial ",
            old_serial, " -> ", next.serial, "; links re-handshake with the new key");
  // The link manager lives on the io thread.
  boost::asio::post(io_, [this, next] {
    if (!links_) return;
    Status s = links_->RotateLinkKey(next);
    if (!s.ok()) LogError("keys: link manager kept its link key: ", s.message());
  });
  const std::string details = DumpJson({{"old_serial", old_serial},
                                        {"serial", next.serial},
                                        {"not_before", next.not_before},
                                        {"trigger", scheduled ? "schedule" : "operator"}});
  Status audited = store_->Write([&](store::WriteTxn& txn) -> Status {
    auto r = txn.AppendAudit(
        {txn.now(), actor, "link-key-rotate", config_.node.name, "", details});
    return r.ok() ? Status::Ok() : r.status();
  }).get();
  if (!audited.ok()) return audited;
  return DumpJson({{"serial", next.serial},
                   {"old_serial", old_serial},
                   {"not_before", next.not_before},
                   {"path", config_.keys.link.string()}});
}

void Node::OnPeerLinkSerial(const std::string& name, const protocol::PublicKey& key,
                            uint64_t serial, int64_t not_before) {
  // Serial 0 is the link key every node starts with: nothing to tell.
  if (serial == 0) return;
  // Persisted with its audit entry, asynchronously (we are on the io
  // thread). A failed write is logged, not fatal: the link manager keeps
  // enforcing the serial in memory until the next restart.
  store_->Submit(
      [name, key, serial, not_before](store::WriteTxn& txn) -> Status {
        CARAVAN_RETURN_IF_ERROR(txn.RaiseLinkSerial(key, serial));
        auto r = txn.AppendAudit(
            {txn.now(), "link", "link-key-accept", name, name,
             DumpJson({{"serial", serial}, {"not_before", not_before}})});
        return r.ok() ? Status::Ok() : r.status();
      },
      [name, serial](Status s) {
        if (!s.ok()) {
          LogError("link: could not store link serial ", serial, " of ", name,
                   " (a restart would forget it): ", s.message());
        }
      });
}

bool Node::IsOwnKey(const protocol::PublicKey& key) const {
  return std::find(own_keys_.begin(), own_keys_.end(), key) != own_keys_.end();
}

std::vector<link::PeerIdentity> Node::RosterPeers() const {
  std::vector<link::PeerIdentity> peers;
  std::set<protocol::PublicKey> refused;
  {
    std::lock_guard lock(roster_mu_);
    refused = refused_keys_;
  }
  for (const auto& m : roster()->members()) {
    if (refused.count(m.key)) continue;  // compromised (issue 16)
    peers.push_back({m.name, m.country, m.key, m.endpoint});
  }
  return peers;
}

std::shared_ptr<const sync::RosterIndex> Node::roster() const {
  std::lock_guard lock(roster_mu_);
  return roster_;
}

Status Node::ReloadRoster() {
  auto members = protocol::LoadRosterFile(config_.peers.roster);
  if (!members.ok()) {
    if (members.status().code() != StatusCode::kNotFound) {
      return members.status();
    }
    members = std::vector<protocol::RosterMember>{};
  }
  // Identity key rotations held (docs/federation.md): members' current
  // keys, and their retired keys for records made before a rotation.
  auto rotations = WithReader([](store::Reader& r) { return r.IdentityRotations(); });
  if (!rotations.ok()) return rotations.status();
  std::vector<crypto::RotationStatement> held;
  for (const auto& row : *rotations) {
    if (auto s = crypto::ParseRotationStatement(row.statement)) held.push_back(*s);
  }
  {
    std::lock_guard lock(roster_mu_);
    roster_ = std::make_shared<const sync::RosterIndex>(std::move(*members),
                                                        sync::KeyChains(std::move(held)));
  }
  if (links_) {
    // The link manager lives on the io thread.
    boost::asio::post(io_, [this, peers = RosterPeers()] {
      if (links_) links_->UpdateRoster(peers);
    });
  }
  if (sync_) sync_->RosterChanged();  // hub routes (via) may have changed
  return Status::Ok();
}

void Node::NotifyCommitted() {
  if (sync_) sync_->Wake();
}

std::map<std::string, std::string> Node::LinkStates() const {
  std::lock_guard lock(roster_mu_);
  return link_states_;
}

std::map<protocol::PublicKey, sync::SyncEngine::PrekeyView>
Node::PrekeyViews() const {
  if (!sync_) return {};
  return sync_->PrekeyViews();
}

std::map<std::pair<std::string, std::string>, sync::HubDelayBook::View>
Node::HubDelayViews() const {
  if (!sync_) return {};
  return sync_->HubDelayViews();
}

std::map<std::string, Node::LinkHealth> Node::LinkHealthByPeer() const {
  std::lock_guard lock(roster_mu_);
  return link_health_;
}

void Node::OnLinkEvent(const link::LinkEvent& e) {
  const std::string kind(link::LinkEventKindName(e.kind));
  {
    std::lock_guard lock(roster_mu_);
    if (e.kind == link::LinkEvent::kUp) link_states_[e.peer_name] = "up";
    if (e.kind == link::LinkEvent::kDown && !e.peer_name.empty()) {
      link_states_[e.peer_name] = "down";
    }
    if (!e.peer_name.empty()) {
      LinkHealth& health = link_health_[e.peer_name];
      if (e.kind == link::LinkEvent::kUp) {
        health.up_since = std::time(nullptr);
      } else if (e.kind == link::LinkEvent::kRosterRefused ||
                 e.kind == link::LinkEvent::kRosterRefusals) {
        // Roster refusals (docs/wire.md 4.4): the episode, for status.
        if (e.ended) {
          health.refusal_reason.clear();
          health.refused_since = 0;
          health.refused_count = 0;
        } else {
          health.refusal_reason = e.refusal_reason;
          health.refused_since = e.refused_since;
          health.refused_count = e.refused_count;
          if (e.kind == link::LinkEvent::kRosterRefused) {
            // "not on CERT-UZ's roster (told by CERT-UZ, authenticated)"
            health.last_error = e.detail.substr(0, e.detail.find(';'));
            health.last_error_at = e.refused_since;
          }
        }
      } else if (e.kind != link::LinkEvent::kHandshakeFailures &&
                 e.kind != link::LinkEvent::kDuplicateClosed) {
        health.last_error = kind + (e.detail.empty() ? "" : ": " + e.detail);
        health.last_error_at = std::time(nullptr);
      }
    }
  }
  if (e.quiet) return;  // status only: inside an episode already audited
  // The link manager has logged the event; here it is only audited (it
  // was logged twice, issue 14). Failed handshakes arrive already
  // summarised: the first of a source's window, then one kHandshakeFailures
  // per source and interval, so this stays bounded under a flood.
  nlohmann::json details = {{"remote", e.remote_endpoint}, {"detail", e.detail}};
  if (e.kind == link::LinkEvent::kHandshakeFailures) {
    details["count"] = e.failure_count;
    details["reasons"] = e.failure_reasons;
  }
  if (e.kind == link::LinkEvent::kRosterRefused ||
      e.kind == link::LinkEvent::kRosterRefusals) {
    details["reason"] = e.refusal_reason;
    details["count"] = e.refused_count;
    details["since"] = protocol::FormatTime(e.refused_since);
    details["ended"] = e.ended;
  }
  // Audited off the io thread (the store writer queues it).
  store_->Submit(
      [e, kind, details = DumpJson(details)](store::WriteTxn& txn) -> Status {
        auto r = txn.AppendAudit(
            {txn.now(), "link", "link-" + kind, e.peer_name, e.peer_name,
             details});
        return r.ok() ? Status::Ok() : r.status();
      },
      [](Status) {});
  if (e.kind == link::LinkEvent::kUp) {
    boost::asio::post(io_, [this, name = e.peer_name] {
      store_->Submit(
          [name](store::WriteTxn& txn) -> Status {
            return txn.SetLinkState(name, "up");
          },
          [](Status) {});
    });
  }
}

boost::asio::awaitable<std::string> Node::ScrapeMetrics() {
  std::map<std::string, link::LinkManager::LinkStatus> links;
  std::vector<CollectedFamily> link_families;
  if (links_) {
    links = links_->LinkStates();  // io thread, like us
    link_families = link::PreauthMetrics(links_->PreauthFailures(),
                                         links_->handshakes_in_progress());
    link_families.push_back(link::RefusalMetrics(links_->RefusalsReceived(),
                                                 links_->RefusalsSent()));
  }
  auto collect = [this, links, link_families] {
    auto families = WithReader(
        [&](store::Reader& r) -> Result<std::vector<CollectedFamily>> {
          auto counts = StoreCounts(r);
          if (!counts.ok()) return counts.status();
          auto f = CollectNodeMetrics(r, *counts, links, std::time(nullptr),
                                      started_at_);
          if (!f.ok()) return f;
          const auto roster_now = roster();  // hub queue depth per member
          auto chains = CollectSealedChainMetrics(r, roster_now->members());
          if (!chains.ok()) return chains.status();
          std::move(chains->begin(), chains->end(), std::back_inserter(*f));
          if (!config_.hub.enabled) return f;
          auto hub = CollectHubMetrics(r, roster_now->members());
          if (!hub.ok()) return hub.status();
          std::move(hub->begin(), hub->end(), std::back_inserter(*f));
          return f;
        });
    if (!families.ok()) {
      LogWarning("metrics: store not readable: ", families.status().message());
      return metrics_.Render({});
    }
    families->insert(families->end(), link_families.begin(),
                     link_families.end());
    families->push_back(LinkRotationMetrics(link_rotations_operator_.load(),
                                            link_rotations_schedule_.load()));
    families->push_back(IdentityRotationMetrics(own_keys_.size() - 1,
                                                identity_rotations_accepted_.load(),
                                                identity_rotations_refused_.load()));
    return metrics_.Render(*families);
  };
  auto text = co_await Offload(pool_, std::move(collect));
  co_return text ? std::move(*text) : std::string();
}

void Node::ScheduleRetentionSweep() {
  retention_timer_.expires_after(config_.retention.sweep_interval);
  retention_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    boost::asio::post(pool_, [this] { SweepRetention(); });
    ScheduleRetentionSweep();
  });
}

void Node::SweepRetention() {
  // Received indicators past the retention of their sender's scope are
  // deleted (data minimization), each deletion audited.
  auto set = policy_.current();
  const int64_t now = std::time(nullptr);
  std::map<std::string, int64_t> retention_by_country;
  for (const auto& m : roster()->members()) {
    const auto scope = policy::ScopeFor(*set, m.country);
    if (scope.inbound().retention) {
      retention_by_country[m.country] = *scope.inbound().retention;
    }
  }
  for (const auto& [country, retention] : retention_by_country) {
    auto ids = WithReader([&](store::Reader& r) {
      return r.ReceivedBefore(country, now - retention, 1000);
    });
    if (!ids.ok() || ids->empty()) continue;
    Status swept = store_->Write([&](store::WriteTxn& txn) -> Status {
      for (const auto& id : *ids) {
        auto deleted = txn.DeleteIndicator(id);
        if (!deleted.ok()) continue;  // gone meanwhile
        auto a = txn.AppendAudit(
            {txn.now(), "node", "expire", protocol::IdToHex(id), "",
             DumpJson({{"country", country}, {"retention_seconds", retention}})});
        if (!a.ok()) return a.status();
      }
      return Status::Ok();
    }).get();
    if (swept.ok()) {
      LogInfo("retention: deleted ", ids->size(), " indicators from ", country);
    }
  }
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
  if (metrics_server_) metrics_server_->Stop();
  // Link byte totals of live sessions reach the store before it closes.
  if (sync_) sync_->FlushContacts();
  if (feeds_) feeds_->Stop();
  if (control_) control_->Stop();
  if (links_) links_->Stop();
  watchdog_timer_.cancel();
  retention_timer_.cancel();
  link_rotate_timer_.cancel();
  reload_timer_.cancel();
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
  Status roster_loaded = ReloadRoster();
  if (!roster_loaded.ok()) {
    LogEachLine(LogLevel::kError,
                "roster reload refused, keeping the running roster: ",
                roster_loaded.message());
  }
  if (Status lists = warninglists_.Reload(); !lists.ok()) {
    LogEachLine(LogLevel::kError,
                "warninglists reload refused, keeping the running set: ",
                lists.message());
  } else if (!config_.warninglists.dir.empty()) {
    LogNotice("warninglists reloaded from ", config_.warninglists.dir.string(),
              " (", warninglists_.current()->list_count(), " lists)");
  }
  Status loaded = policy_.Reload(std::time(nullptr));
  if (links_) {
    // The operator may have just talked to a peer that refused us (not on
    // its roster): ask it again now (docs/federation.md, Onboarding).
    boost::asio::post(io_, [this] {
      if (links_) links_->RetryRefused();
    });
  }
  if (loaded.ok()) {
    if (sync_) sync_->RerunWithheld();
    LogNotice("policies reloaded from ", config_.policy.dir.string(), " (",
              policy_.info().files, " files)");
  } else {
    LogEachLine(LogLevel::kError,
                "policy reload refused, keeping the running set: ",
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

Result<store::Counts> Node::StoreCounts(store::Reader& reader) {
  auto counts = counts_cache_.Get(store_->writes_committed(),
                                  [&reader] { return reader.GetCounts(); });
  if (!counts.ok()) return counts;
  auto last_log_seq = reader.LastLogSeq();
  if (!last_log_seq.ok()) return last_log_seq.status();
  counts->last_log_seq = *last_log_seq;
  return counts;
}

}  // namespace caravan::daemon
