#pragma once
// What `caravan status` and `peers list` say of one peer's health, added
// to its entry of the peers list: records deferred to it (quota, embargo)
// and the earliest retry, the last handshake and the last link error.

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "daemon/node/node.h"
#include "daemon/store/reader.h"

namespace caravan::daemon {

// Adds "deferred", "deferred_retry_at", "last_handshake", "last_error",
// "last_error_at" (times RFC 3339 or null) and "refusal" (null, or the
// open roster refusal episode: reason, authenticated, since, count) to
// `peer`, whose "name" is set.
Status AddPeerHealthJson(store::Reader& reader,
                         const std::map<std::string, Node::LinkHealth>& links,
                         nlohmann::json& peer);

}  // namespace caravan::daemon
