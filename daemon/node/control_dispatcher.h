#pragma once
// ControlDispatcher: answers control requests (protocol/control.capnp) for
// one Node. The whole request, from decoding to the framed reply, runs on
// the node's worker pool, so the control connection's coroutine only
// shuttles bytes.
//
// Every change is audited with the caller's uid (SO_PEERCRED) as actor.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "daemon/control/control_server.h"
#include "daemon/store/reader.h"
#include "protocol/control.capnp.h"
#include "protocol/status.h"

namespace caravan::daemon {

class Node;

class ControlDispatcher : public ControlHandler {
 public:
  explicit ControlDispatcher(Node& node) : node_(node) {}

  boost::asio::awaitable<std::vector<uint8_t>> Handle(
      std::vector<capnp::word> request, ControlCall call) override;

  // Decodes and answers one request synchronously (worker pool; tests).
  // A request whose client has hung up, or whose deadline has passed, is
  // not run (it waited in the pool's queue too long): the first gets an
  // empty reply nobody reads, the second RetryLater naming the delay.
  std::vector<uint8_t> HandleNow(const std::vector<capnp::word>& request,
                                 const ControlCall& call);

 private:
  using Request = protocol::wire::Request;
  // The reply for a request that must not run (client gone, deadline
  // passed), or nullopt to run it.
  std::optional<std::vector<uint8_t>> Abandoned(Request::Reader request,
                                                const ControlCall& call,
                                                const std::string& kind);
  std::vector<uint8_t> Dispatch(Request::Reader request,
                                const std::string& actor);
  // A read's JSON, or its error, framed within max_frame_bytes.
  std::vector<uint8_t> Reply(const Result<std::string>& json);

  // Reads (control_reads.cc).
  Result<std::string> NodeStatus();
  // Adds "health" (node_health.h) to a status document.
  void AddHealthJson(nlohmann::json& status);
  Result<std::string> Query(protocol::wire::Query::Reader q, bool for_export);
  Result<std::string> Show(const std::string& id_hex);
  Result<std::string> Audit(protocol::wire::AuditQuery::Reader q);
  Result<std::string> AuditVerify();
  Result<std::string> KeyShow();
  Result<std::string> QuarantineList();
  // `caravan report` (control_report.cc).
  Result<std::string> Report(protocol::wire::ReportQuery::Reader q);

  // Changes (control_writes.cc).
  std::vector<uint8_t> Submit(protocol::wire::Submit::Reader s,
                              const std::string& actor);
  Result<std::string> Revoke(protocol::wire::Revoke::Reader r,
                             const std::string& actor);
  Result<std::string> Sight(protocol::wire::Sight::Reader s,
                            const std::string& actor);
  Result<std::string> QuarantineDecide(
      protocol::wire::QuarantineDecision::Reader d, const std::string& actor);
  Result<std::string> PeersList();
  // The "peers" array of `peers list` and `status`, read with `reader`.
  Result<nlohmann::json> PeersJson(store::Reader& reader);
  Result<std::string> PeersAdd(protocol::wire::PeerAdd::Reader p,
                               const std::string& actor);
  Result<std::string> PeersRemove(const std::string& name,
                                  const std::string& actor);
  // Leaving and compromise (issue 16): member_departure.cc,
  // member_compromise.cc.
  Result<std::string> PeersDepart(const std::string& name, bool purge,
                                  const std::string& actor);
  // InvalidInput when `key` was declared compromised (a member comes back
  // only with a new key).
  Status CheckNotCompromised(const protocol::PublicKey& key);
  Result<std::string> PeersCompromised(
      protocol::wire::PeerCompromised::Reader c, const std::string& actor);
  // `caravan key compromised --since` (key_compromise.cc): our own retired
  // identity key.
  // `key` names one of our retired keys (fingerprint or key text); empty:
  // the one retired last.
  Result<std::string> KeyCompromised(int64_t since, const std::string& key,
                                     const std::string& actor);

  // Policy (control_policy.cc).
  Result<std::string> PolicyReload(const std::string& actor);
  Result<std::string> PolicyExplain(protocol::wire::Explain::Reader e);

  Node& node_;
};

}  // namespace caravan::daemon
