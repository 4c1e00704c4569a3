#pragma once
// Federation test fixture: several real caravand nodes on loopback, each
// listening for peer links on its own free 127.0.0.1 port, linked to each
// other through `caravan peers add` exactly as an operator would. Built on
// the single-node harness (tests/integration/harness.h).
//
// - FreeLoopbackPort() (tests/integration/http_client.h) picks each node's
//   port, so parallel test runs rarely collide; FedNode::Start retries with
//   a fresh port if the bind fails.
// - FedNode: one node (TestNode) whose caravand.toml is rewritten after
//   `caravan init` to listen on its port, redial quickly (dial_backoff_max
//   1s) and keep links alive with a short keepalive, so restarts and kills
//   are noticed within seconds. Helpers read counts, values and peer state.
// - AddPeer(): one roster entry (with or without an endpoint to dial).
// - WaitFor(): polls a condition until it holds or a bound passes.
// - FederationFixture: a GoogleTest fixture owning the nodes of one test,
//   stopping them cleanly (and asserting so) at the end.
//
// Ownership: a FedNode owns its TestNode (directory and daemon); the
// fixture owns its FedNodes. Not thread-safe: one test thread drives all
// nodes.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/harness.h"
#include "tests/integration/http_client.h"

namespace caravan::integration {

// Upper bound for every federation wait; generous for ASan on a shared
// 2-core machine. Waits end as soon as their condition holds.
inline constexpr std::chrono::seconds kSyncTimeout{120};

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
  // Writes policies/<country in lower case>.toml: share with the peers of
  // `country` up to `max_tlp`. `more` follows those [outbound] lines, each
  // of its lines ending in '\n' (further [outbound] keys, then any other
  // table).
  void ShareWith(const std::string& country, const std::string& max_tlp,
                 const std::string& more = "") const;
  // The same as policies/default.toml: applies to every peer that no other
  // policy file names.
  void ShareWithAll(const std::string& max_tlp,
                    const std::string& more = "") const;

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

// A test that owns its FedNodes. TearDown stops every node still running
// and expects exit 0, printing the log of one that did not stop cleanly.
class FederationFixture : public ::testing::Test {
 protected:
  // A new node (see FedNode); records a failure if its set-up failed.
  FedNode& Make(const std::string& name, const std::string& country);
  // Starts every node made so far; a fatal failure (with the reason) if
  // one does not start: call inside ASSERT_NO_FATAL_FAILURE.
  void StartAll();
  // StartAll, then links `a` and `b` both ways (Connect).
  void StartAllAndConnect(const FedNode& a, const FedNode& b);
  void TearDown() override;

  // `caravan submit args...` at `n`: its output without the trailing
  // newline (the id, or "updated rev N: ..."); a failure is recorded when
  // it does not exit 0.
  std::string Submit(FedNode& n, const std::vector<std::string>& args);
  // Waits until `from` has everything decided and acknowledged by `to`; a
  // fatal failure with both logs when it does not settle.
  void WaitSettled(const FedNode& from, const FedNode& to);

  std::vector<std::unique_ptr<FedNode>> nodes_;
};

// RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" (as the CLI prints times) to Unix
// seconds; -1 when `t` is not such a string.
int64_t ParseTime(const nlohmann::json& t);

// Sets [inbound] act_on_compromise_notices in a node's caravand.toml (as
// `caravan init` rendered it, "flag") before the node starts; a fatal
// failure when the key is not there.
void ActOnNotices(const FedNode& n, const std::string& how);

// Writes `lines` (one per line) to `path`.
void WriteLinesFile(const std::filesystem::path& path,
                    const std::vector<std::string>& lines);

}  // namespace caravan::integration
