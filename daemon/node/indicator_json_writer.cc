#include "daemon/node/indicator_json_writer.h"

#include <charconv>
#include <string_view>

#include "crypto/key_text.h"
#include "protocol/config/roster_file.h"
#include "protocol/formats/stix_json_writer.h"
#include "protocol/record_codec.h"
#include "protocol/time_text.h"

namespace caravan::daemon {
namespace {

using protocol::AppendJsonString;

// Members of one object, written in the caller's order: the caller lists
// them sorted as std::map sorts keys (byte order), as nlohmann dumps them.
class ObjectText {
 public:
  explicit ObjectText(std::string& out) : out_(out) { out_ += '{'; }
  ~ObjectText() { out_ += '}'; }
  ObjectText(const ObjectText&) = delete;
  ObjectText& operator=(const ObjectText&) = delete;

  // Starts member `key` (plain ASCII, nothing to escape); the caller
  // appends its value to out().
  std::string& Key(std::string_view key) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += '"';
    out_ += key;
    out_ += "\":";
    return out_;
  }
  void String(std::string_view key, std::string_view value) {
    AppendJsonString(value, Key(key));
  }
  void Bool(std::string_view key, bool value) {
    Key(key) += value ? "true" : "false";
  }
  void Null(std::string_view key) { Key(key) += "null"; }
  template <typename Int>
  void Number(std::string_view key, Int value) {
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    Key(key).append(digits, end);
  }
  // TimeOrNull: RFC 3339 text, null for 0.
  void Time(std::string_view key, int64_t unix_seconds) {
    if (unix_seconds == 0) {
      Null(key);
    } else {
      String(key, protocol::FormatTime(unix_seconds));
    }
  }

 private:
  std::string& out_;
  bool first_ = true;
};

void AppendStrings(const std::vector<std::string>& items, std::string& out) {
  out += '[';
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    AppendJsonString(items[i], out);
  }
  out += ']';
}

void AppendCompromise(const store::CompromisedKey& c, std::string& out) {
  ObjectText o(out);
  o.String("action", store::CompromiseActionName(c.action));
  o.Time("declared_at", c.declared_at);
  o.String("declared_by", protocol::PublicKeyToText(c.declared_by));
  o.Time("since", c.since);
}

void AppendWarninglist(const store::WarninglistHit& hit, std::string& out) {
  ObjectText o(out);
  o.String("entry", hit.entry);
  o.Bool("forced", hit.forced);
  o.String("name", hit.list);
}

}  // namespace

void AppendIndicatorJson(const store::IndicatorRow& row,
                         const IndicatorJsonMarks& marks, std::string& out) {
  const protocol::Indicator& ind = row.indicator;
  const auto* trust = marks.trust ? &*marks.trust : nullptr;
  const auto* record = marks.record;
  ObjectText o(out);
  if (trust != nullptr) {
    if (trust->compromise == nullptr) {
      o.Null("compromise");
    } else {
      AppendCompromise(*trust->compromise, o.Key("compromise"));
    }
  }
  o.Number("confidence", ind.confidence);
  o.Time("created", row.created);
  o.String("description", ind.description);
  if (record != nullptr) o.Time("first_created", record->first_created);
  o.Time("first_seen", ind.first_seen);
  o.String("id", protocol::IdToHex(row.id));
  o.Time("last_seen", ind.last_seen);
  o.String("origin", row.origin_country);
  o.String("origin_key", crypto::KeyText(row.origin));
  o.String("origin_name", row.origin_name);
  if (trust != nullptr) {
    o.Bool("origin_removed", trust->origin_removed);
    if (row.quarantined) {
      const bool by_compromise =
          trust->compromise != nullptr &&
          trust->compromise->action == store::CompromiseAction::kQuarantine;
      o.String("quarantine_reason",
               by_compromise ? "compromised_key" : "inbound_policy");
    }
  }
  o.Bool("quarantined", row.quarantined);
  if (row.received_from) {
    o.String("received_from", *row.received_from);
  } else {
    o.Null("received_from");
  }
  o.String("reshare", protocol::ReshareName(ind.reshare));
  o.Number("revision", row.revision);
  if (ind.revoked) {
    o.String("revoke_reason", ind.revoke_reason);
  } else {
    o.Null("revoke_reason");
  }
  o.Bool("revoked", ind.revoked);
  if (record != nullptr) {
    o.String("signed_record", record->signed_record_base64);
    if (!record->stix_id.empty()) o.String("stix_id", record->stix_id);
  }
  o.Time("stored_at", row.stored_at);
  AppendStrings(ind.tags, o.Key("tags"));
  o.String("tlp", protocol::TlpName(ind.tlp));
  o.String("type", protocol::TypeName(ind.type));
  o.Time("valid_until", ind.valid_until);
  o.String("value", ind.value);
  o.Number("variant", row.variant);
  if (marks.verified) {
    o.Bool("verified", *marks.verified);
  } else {
    o.Null("verified");
  }
  if (marks.warninglist != nullptr) {
    AppendWarninglist(*marks.warninglist, o.Key("warninglist"));
  } else {
    o.Null("warninglist");
  }
}

}  // namespace caravan::daemon
