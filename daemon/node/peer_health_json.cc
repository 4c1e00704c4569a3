#include "daemon/node/peer_health_json.h"

#include "daemon/node/indicator_json.h"

namespace caravan::daemon {

Status AddPeerHealthJson(store::Reader& reader,
                         const std::map<std::string, Node::LinkHealth>& links,
                         nlohmann::json& peer) {
  const std::string name = peer.value("name", std::string());
  auto deferred = reader.DeferredForPeer(name);
  if (!deferred.ok()) return deferred.status();
  peer["deferred"] = deferred->records;
  peer["deferred_retry_at"] = TimeOrNull(deferred->next_retry_at);
  const auto it = links.find(name);
  const Node::LinkHealth health =
      it == links.end() ? Node::LinkHealth{} : it->second;
  peer["last_handshake"] = TimeOrNull(health.up_since);
  peer["last_error"] = health.last_error.empty()
                           ? nlohmann::json(nullptr)
                           : nlohmann::json(health.last_error);
  peer["last_error_at"] = TimeOrNull(health.last_error_at);
  // The member refuses us (authenticated): not on its roster.
  peer["refusal"] =
      health.refusal_reason.empty()
          ? nlohmann::json(nullptr)
          : nlohmann::json{{"reason", health.refusal_reason},
                           {"authenticated", true},
                           {"since", TimeOrNull(health.refused_since)},
                           {"count", health.refused_count}};
  return Status::Ok();
}

}  // namespace caravan::daemon
