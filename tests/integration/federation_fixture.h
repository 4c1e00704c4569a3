#pragma once
// Federation test fixture: several real caravand nodes on loopback, each
// listening for peer links on its own free 127.0.0.1 port, linked to each
// other through `caravan peers add` exactly as an operator would. Built on
// the single-node harness (tests/integration/harness.h).
//
// - FreeLoopbackPort(): a port the kernel just handed out for 127.0.0.1
//   (bind port 0, read it back, close), so parallel test runs rarely
//   collide; FedNode::Start retries with a fresh port if the bind fails.
// - FedNode: one node (TestNode) whose caravand.toml is rewritten after
//   `caravan init` to listen on its port, redial quickly (dial_backoff_max
//   1s) and keep links alive with a short keepalive, so restarts and kills
//   are noticed within seconds. Helpers read counts, values and peer state.
// - AddPeer(): one roster entry (with or without an endpoint to dial).
// - WaitFor(): polls a condition until it holds or a bound passes.
//
// Ownership: a FedNode owns its TestNode (directory and daemon). Not
// thread-safe: one test thread drives all nodes.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/harness.h"

namespace caravan::integration {

// Upper bound for every federation wait; generous for ASan on a shared
// 2-core machine. Waits end as soon as their condition holds.
inline constexpr std::chrono::seconds kSyncTimeout{120};

// A TCP port on 127.0.0.1 that was free a moment ago. Throws
// std::runtime_error if no socket can be bound at all.
uint16_t FreeLoopbackPort();

// Polls `done` every 100 ms until it returns true (then true) or `timeout`
// passes (then false).
bool WaitFor(const std::function<bool()>& done,
             std::chrono::seconds timeout = kSyncTimeout);

class FedNode {
 public:
  // `caravan init` in a fresh temp dir and the config rewrite; check ok()
  // (and why()) before use.
  FedNode(const std::string& name, const std::string& country);

  bool ok() const { return ok_; }
  const std::string& why() const { return why_; }
  const std::string& name() const { return name_; }
  const std::string& country() const { return country_; }
  uint16_t port() const { return port_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }
  // The identity key text ("caravan:..."), read with `caravan key show`
  // once the daemon first started.
  const std::string& key() const { return key_; }
  TestNode& node() { return *node_; }
  const TestNode& node() const { return *node_; }

  // Starts the daemon (retrying on a fresh port if the listen address was
  // taken meanwhile). False with the reason and log in *why on failure.
  bool Start(std::string* why);
  // SIGTERM and wait; the exit status (0 expected).
  int Stop() { return node_->Stop(); }
  // SIGKILL.
  void Kill() { node_->Kill(); }

  // Writes DIR/policies/<file> (a whole policy file).
  void WritePolicy(const std::string& file, const std::string& text) const;

  // Runs the CLI (see TestNode::Cli / CliJson).
  CommandResult Cli(const std::vector<std::string>& args,
                    const std::string& input = "") const {
    return node_->Cli(args, input);
  }
  nlohmann::json CliJson(const std::vector<std::string>& args) const {
    return node_->CliJson(args);
  }

  // counts.indicators of `caravan status --json`; -1 if status failed.
  int64_t Count() const;
  // counts.log_seq; -1 if status failed.
  int64_t LogSeq() const;
  // The peers array entry named `peer` from `caravan status --json`, or
  // null.
  nlohmann::json PeerState(const std::string& peer) const;
  // Every current value (`caravan export --format plain --include-revoked`)
  // as a multiset, so a duplicate would show.
  std::multiset<std::string> Values() const;
  // The current view of `value` from `caravan query VALUE --json
  // --include-revoked`: the first indicator, or null when absent.
  nlohmann::json Lookup(const std::string& value) const;
  // Audit entries (oldest first) from `caravan audit --json --limit N`,
  // only those naming `peer` if it is not empty. The daemon caps N (10000
  // at the time of writing) and cannot page past the oldest entries, so
  // filter by peer where the log is long.
  std::vector<nlohmann::json> Audit(size_t limit = 10000,
                                    const std::string& peer = "") const;
  // True iff `caravan audit verify --json` says ok.
  bool AuditVerifies() const;
  // True once the peer `peer` has acknowledged everything in this node's log
  // (acked_seq == log_seq): every record is decided, and what was sent is
  // committed there.
  bool Settled(const std::string& peer) const;

 private:
  bool RewriteConfig();
  bool ReadKey(std::string* why);

  std::string name_, country_;
  std::unique_ptr<TestNode> node_;
  uint16_t port_ = 0;
  std::string key_;
  bool ok_ = false;
  std::string why_;
};

// `a` adds `b` to its roster; with `dial`, also b's endpoint (a then dials
// b). Records a test failure if the CLI refuses.
void AddPeer(const FedNode& a, const FedNode& b, bool dial = true);
// Both directions of AddPeer.
void Connect(const FedNode& a, const FedNode& b);

// Writes `lines` (one per line) to `path`.
void WriteLinesFile(const std::filesystem::path& path,
                    const std::vector<std::string>& lines);

}  // namespace caravan::integration
