#include "daemon/node/id_lookup.h"

#include "protocol/id_prefix.h"
#include "protocol/record_codec.h"

namespace caravan::daemon {

Result<protocol::IndicatorId> ResolveId(store::Reader& reader,
                                        std::string_view text) {
  auto prefix = protocol::ParseIdPrefix(text);
  if (!prefix.ok()) return prefix.status();
  if (prefix->exact()) return prefix->low;
  // One more than listed, to know whether the list is complete.
  auto ids =
      reader.IdsInRange(prefix->low, prefix->high, kMaxListedCandidates + 1);
  if (!ids.ok()) return ids.status();
  if (ids->empty()) {
    return NotFound("no indicator id starts with '" + prefix->hex + "'");
  }
  if (ids->size() == 1) return ids->front();
  std::string message = "id prefix '" + prefix->hex + "' is ambiguous; it " +
                        "starts these ids (give more digits):";
  for (size_t i = 0; i < ids->size() && i < kMaxListedCandidates; ++i) {
    const auto& id = (*ids)[i];
    message += "\n  " + protocol::IdToHex(id).substr(0, 16);
    auto row = reader.Get(id);
    if (row.ok() && row->has_value()) {
      message += "  " +
                 std::string(protocol::TypeName((*row)->indicator.type)) +
                 " " + (*row)->indicator.value;
    }
  }
  if (ids->size() > kMaxListedCandidates) message += "\n  ... and more";
  return InvalidInput(message);
}

}  // namespace caravan::daemon
