// Read requests: status, query/export, show, audit, key, quarantine list.
#include <ctime>

#include "crypto/key_text.h"
#include "daemon/feeds/export_item.h"
#include "daemon/node/control_dispatcher.h"
#include "daemon/node/control_wire.h"
#include "daemon/node/hub_delay_json.h"
#include "daemon/node/id_lookup.h"
#include "daemon/node/indicator_json.h"
#include "daemon/node/indicator_json_writer.h"
#include "daemon/node/member_trust_json.h"
#include "daemon/node/node.h"
#include "daemon/node/node_health.h"
#include "daemon/sync/origin_signer.h"
#include "daemon/sync/record_signing.h"
#include "protocol/id_prefix.h"
#include "protocol/indicator_parse.h"
#include "protocol/record_codec.h"

namespace caravan::daemon {
namespace {

constexpr size_t kDefaultQueryLimit = 100;

// A query page says how many more rows match, counted up to this (one
// index pass that stops there): "100000+ more" is as useful as the exact
// figure, and the count stays bounded on any store.
constexpr uint64_t kMoreCountCap = 100000;

// An audit page ends once its details reach this, far under a control
// frame (protocol::kMaxControlFrameBytes) even with JSON escaping: batch
// entries' details are up to 64 KB each.
constexpr size_t kAuditPageDetailBytes = 4 << 20;

// Whether `record` is signed as the receiver rule wants (origin_signer.h):
// by the origin chain's key valid at its creation or a later key of that
// chain (after an identity rotation, variants and revisions of an old
// indicator are signed by the member's current key). `cache` may be null.
bool SignedByItsChain(const sync::KeyChains& chains,
                      const protocol::SignedRecord& record,
                      BatchRootCache* cache = nullptr) {
  auto body = protocol::DecodeRecordBody(record.body);
  return body.ok() && sync::CheckRecordSigner(chains, record, *body, cache) ==
                          sync::SignerVerdict::kGood;
}

// Checks the signature of the record that is `row`'s current view.
bool RowVerifies(store::Reader& reader, const sync::KeyChains& chains,
                 const store::IndicatorRow& row) {
  // Batch roots whose signature this thread has checked already: a query's
  // rows mostly come from batches seen before, and one Ed25519
  // verification per row was most of a /24 query's time (issue 17). The
  // cache binds origin, root, tree size and signature; it is bounded.
  thread_local BatchRootCache verified_roots;
  // By the current record's log entry (one primary-key lookup); by id if
  // that entry is not it (never expected: both come from one snapshot).
  auto bytes = reader.GetRecordBytesAt(row.record_seq, row.id, row.revision,
                                       row.variant);
  if (!bytes.ok()) {
    bytes = reader.GetRecordBytes(row.id, row.revision, row.variant);
  }
  if (!bytes.ok()) return false;
  auto record = protocol::DecodeSignedRecord(*bytes);
  return record.ok() && SignedByItsChain(chains, *record, &verified_roots);
}

// Builds the store filter from a control Query. A value is parsed like a
// submission (defanged accepted, type detected); an IP address or network
// finds the networks that contain it.
Result<store::QueryFilter> FilterFrom(protocol::wire::Query::Reader q) {
  store::QueryFilter f;
  const std::string type_text = Str(q.getType());
  if (!type_text.empty()) {
    auto type = protocol::ParseTypeName(type_text);
    if (!type) return InvalidInput("unknown type '" + type_text + "'");
    f.type = *type;
  }
  const std::string value = Str(q.getValue());
  if (!value.empty()) {
    protocol::IndicatorType type;
    std::string normalized;
    if (f.type) {
      auto v = protocol::NormalizeValue(*f.type, value);
      if (!v.ok()) return v.status();
      type = *f.type;
      normalized = std::move(*v);
    } else {
      auto parsed = protocol::DetectAndNormalize(value);
      if (!parsed.ok()) return parsed.status();
      type = parsed->type;
      normalized = std::move(parsed->value);
    }
    if (type == protocol::IndicatorType::kIpv4 ||
        type == protocol::IndicatorType::kIpv6) {
      f.covering = protocol::ParseIpNetwork(normalized);
      f.type.reset();  // an ipv4 address may sit in an ipv4 network: same type
    } else {
      f.value = normalized;
      f.type = type;
    }
  }
  const std::string cidr = Str(q.getCidr());
  if (!cidr.empty()) {
    auto net = protocol::ParseIpNetwork(protocol::Refang(cidr));
    if (!net) return InvalidInput("--cidr: '" + cidr + "' is not a network");
    f.within = *net;
  }
  if (q.getOrigin().size() > 0) f.origin_country = Str(q.getOrigin());
  if (q.getTag().size() > 0) f.tag = Str(q.getTag());
  if (q.getSince() != 0) f.since = q.getSince();
  f.include_revoked = q.getIncludeRevoked();
  if (q.getLimit() > store::kMaxQueryLimit) {
    return InvalidInput("limit " + std::to_string(q.getLimit()) +
                        " is above the maximum of " +
                        std::to_string(store::kMaxQueryLimit) +
                        " per page; read further pages with --after");
  }
  f.limit = q.getLimit() == 0 ? kDefaultQueryLimit : q.getLimit();
  const std::string after = Str(q.getAfter());
  if (!after.empty()) {
    try {
      f.after = std::stoull(after);
    } catch (...) {
      return InvalidInput("bad page cursor '" + after + "'");
    }
  }
  return f;
}

}  // namespace

Result<std::string> ControlDispatcher::NodeStatus() {
  return node_.WithReader([&](store::Reader& reader) -> Result<std::string> {
    auto counts = node_.StoreCounts(reader);
    if (!counts.ok()) return counts.status();
    const auto& cfg = node_.config();
    const auto& key = node_.identity().public_key();
    const uint64_t own =
        counts->by_origin_country.count(cfg.node.country)
            ? counts->by_origin_country.at(cfg.node.country)
            : 0;
    auto info = node_.policy().info();
    nlohmann::json doc = {
        {"node",
         {{"name", cfg.node.name},
          {"country", cfg.node.country},
          {"key", crypto::KeyText(key)},
          {"fingerprint", crypto::Fingerprint(key)}}},
        {"uptime_seconds", std::time(nullptr) - node_.started_at()},
        {"counts",
         {{"indicators", counts->indicators},
          {"own", own},
          {"received", counts->indicators - own},
          {"quarantined", counts->quarantined},
          {"records", counts->records},
          {"log_seq", counts->last_log_seq},
          {"by_origin", counts->by_origin_country}}},
        {"policy",
         {{"state", info.last_error ? "loaded (last reload refused)"
                                    : "loaded"},
          {"dir", node_.policy().dir().string()},
          {"files", info.files},
          {"loaded_at", TimeOrNull(info.loaded_at)},
          {"last_error", info.last_error ? nlohmann::json(*info.last_error)
                                         : nlohmann::json(nullptr)}}},
        {"peers", nlohmann::json::array()},
        {"hub", {{"enabled", cfg.hub.enabled}}},
    };
    if (cfg.hub.enabled) {
      // Per member in "peers"; the totals here.
      auto depths = reader.HubQueueDepths();
      if (!depths.ok()) return depths.status();
      uint64_t envelopes = 0, bytes = 0;
      for (const auto& d : *depths) {
        envelopes += d.envelopes;
        bytes += d.bytes;
      }
      doc["hub"]["queued_envelopes"] = envelopes;
      doc["hub"]["queued_bytes"] = bytes;
    }
    // Hub accountability: the worst recent delay through each hub.
    doc["hub_delays"] = HubDelaysByHubJson(node_.HubDelayViews());
    auto peers = PeersJson(reader);
    if (peers.ok()) doc["peers"] = std::move(*peers);
    AddHealthJson(doc);
    return DumpJson(doc);
  });
}

void ControlDispatcher::AddHealthJson(nlohmann::json& status) {
  uint64_t store_errors = 0;
  for (const auto& [labels, counter] :
       node_.metrics().store_errors.Children()) {
    store_errors += counter->value();
  }
  auto reasons = DegradedReasons(status, std::time(nullptr),
                                 node_.started_at(), store_errors);
  status["health"] = {{"state", reasons.empty() ? "ok" : "degraded"},
                      {"reasons", std::move(reasons)}};
}

Result<std::string> ControlDispatcher::Query(protocol::wire::Query::Reader q,
                                             bool for_export) {
  auto filter = FilterFrom(q);
  if (!filter.ok()) return filter.status();
  std::optional<protocol::Tlp> max_tlp;
  if (q.getMaxTlp().size() > 0) {
    max_tlp = protocol::ParseTlpName(Str(q.getMaxTlp()));
    if (!max_tlp) {
      return InvalidInput("unknown TLP '" + Str(q.getMaxTlp()) +
                          "' (clear, green, amber, amber+strict, red)");
    }
  }
  const std::string format = Str(q.getFormat());
  if (!format.empty() && (format != "records" || !for_export)) {
    return InvalidInput("unknown export format '" + format + "' (records)");
  }
  return node_.WithReader([&](store::Reader& reader) -> Result<std::string> {
    auto page = reader.Query(*filter);
    if (!page.ok()) return page.status();
    // Export leaves out removed members' records unless asked to keep
    // them (docs/federation.md, "Leaving").
    auto t = reader.GetMemberTrust();
    if (!t.ok()) return t.status();
    const store::MemberTrust& trust = *t;
    const auto roster = node_.roster();  // its key chains, held for the page
    const bool keep_removed = !for_export || q.getIncludeRemoved();
    // Per-row warninglist lookups only when some indicator has a hit.
    auto any_hits = reader.HasWarninglistHits();
    if (!any_hits.ok()) return any_hits.status();
    // The rows' JSON is written as text (indicator_json_writer.h): the
    // DOM was a third of a dense /24 query's time.
    std::string rows;
    size_t count = 0;
    IndicatorJsonMarks::Record record;
    for (const auto& row : page->rows) {
      if (max_tlp && row.indicator.tlp > *max_tlp) continue;
      if (!keep_removed && trust.IsDeparted(row.origin)) continue;
      IndicatorJsonMarks marks;
      if (!for_export) {
        // Export pages are large and their consumers (firewalls) do not
        // show provenance; a query shows whether each signature checks.
        marks.verified = RowVerifies(reader, roster->chains(), row);
        marks.trust = IndicatorJsonMarks::Trust{
            CompromiseCovering(trust, &roster->chains(), row),
            trust.IsDeparted(row.origin)};
      }
      std::optional<store::WarninglistHit> hit;
      if (*any_hits) {
        auto looked_up = reader.GetWarninglistHit(row.id);
        if (!looked_up.ok()) return looked_up.status();
        hit = std::move(*looked_up);
      }
      if (hit) marks.warninglist = &*hit;
      if (format == "records") {
        // STIX/MISP export: the CLI rebuilds ExportItems from these; the
        // id a TAXII client posted is exported in place of the derived one.
        auto item = feeds::LoadExportItem(reader, row);
        if (!item.ok()) return item.status();
        record.signed_record_base64 = feeds::ToBase64(item->signed_record);
        record.first_created = item->first_created;
        record.stix_id = item->stix_id;
        marks.record = &record;
      }
      if (count++ > 0) rows += ',';
      AppendIndicatorJson(row, marks, rows);
    }
    // {"count", "indicators", "more", "more_capped", "next"}: the members
    // sorted, as DumpJson writes a document.
    std::string doc =
        "{\"count\":" + std::to_string(count) + ",\"indicators\":[";
    doc += rows;
    doc += ']';
    uint64_t next_after = page->next_after;
    if (!for_export) {
      // A query says how many more match (a full last page has none).
      uint64_t more = 0;
      if (next_after != 0) {
        store::QueryFilter rest = *filter;
        rest.after = next_after;
        auto counted = reader.CountMatching(rest, kMoreCountCap);
        if (!counted.ok()) return counted.status();
        more = *counted;
        if (more == 0) next_after = 0;
      }
      doc += ",\"more\":" + std::to_string(more);
      doc += more == kMoreCountCap ? ",\"more_capped\":true"
                                   : ",\"more_capped\":false";
    }
    doc += next_after == 0
               ? ",\"next\":null}"
               : ",\"next\":\"" + std::to_string(next_after) + "\"}";
    return doc;
  });
}

Result<std::string> ControlDispatcher::Show(const std::string& id_text) {
  return node_.WithReader([&](store::Reader& reader) -> Result<std::string> {
    auto id = ResolveId(reader, id_text);
    if (!id.ok()) return id.status();
    auto row = reader.Get(*id);
    if (!row.ok()) return row.status();
    if (!row->has_value()) return NotFound("no indicator " + id_text);
    auto revisions = reader.GetRevisions(*id);
    if (!revisions.ok()) return revisions.status();
    const auto roster = node_.roster();  // its key chains
    nlohmann::json revs = nlohmann::json::array();
    for (const auto& rec : *revisions) {
      auto decoded = protocol::DecodeSignedRecord(rec.signed_bytes);
      const bool verified = decoded.ok() && SignedByItsChain(roster->chains(), *decoded);
      const char* form =
          !decoded.ok() ? "unreadable"
          : std::holds_alternative<protocol::BatchProofData>(
                decoded->signature)
              ? "batch"
              : "single";
      revs.push_back(
          {{"revision", rec.revision},
           {"variant", rec.variant},
           {"origin_seq", rec.origin_seq},
           {"created", TimeOrNull(rec.created)},
           {"stored_at", TimeOrNull(rec.stored_at)},
           {"signature", form},
           {"verified", verified},
           {"signed_bytes", rec.signed_bytes.size()},
           {"received_from", rec.received_from
                                 ? nlohmann::json(*rec.received_from)
                                 : nlohmann::json(nullptr)}});
    }
    auto sightings = reader.Sightings(*id);
    if (!sightings.ok()) return sightings.status();
    nlohmann::json sights = nlohmann::json::array();
    for (const auto& s : *sightings) {
      sights.push_back({{"time", TimeOrNull(s.time)},
                        {"note", s.note},
                        {"actor", s.actor}});
    }
    const bool current_verifies = RowVerifies(reader, roster->chains(), **row);
    nlohmann::json indicator = IndicatorJson(**row, current_verifies);
    auto trust = reader.GetMemberTrust();
    if (!trust.ok()) return trust.status();
    AddMemberTrustJson(*trust, &roster->chains(), **row, indicator);
    CARAVAN_RETURN_IF_ERROR(AddWarninglistJson(reader, (*row)->id, indicator));
    return DumpJson({{"indicator", std::move(indicator)},
                     {"revisions", std::move(revs)},
                     {"sightings", std::move(sights)}});
  });
}

Result<std::string> ControlDispatcher::Audit(
    protocol::wire::AuditQuery::Reader q) {
  store::AuditFilter filter;
  filter.since = q.getSince();
  filter.peer = Str(q.getPeer());
  filter.limit = q.getLimit() == 0 ? 1000
                                   : std::min<size_t>(q.getLimit(),
                                                      store::kMaxQueryLimit);
  filter.after = q.getAfterSeq();
  filter.until = q.getUntil();
  filter.action = Str(q.getAction());
  if (q.getIdPrefix().size() > 0) {
    auto prefix = protocol::ParseIdPrefix(Str(q.getIdPrefix()));
    if (!prefix.ok()) return prefix.status();
    filter.subject_prefix = prefix->hex;
  }
  filter.max_detail_bytes = kAuditPageDetailBytes;
  return node_.WithReader([&](store::Reader& reader) -> Result<std::string> {
    auto page = reader.ReadAudit(filter);
    if (!page.ok()) return page.status();
    nlohmann::json list = nlohmann::json::array();
    for (const auto& e : page->entries) list.push_back(AuditEntryJson(e));
    // The client asks again from here while more follow.
    nlohmann::json next = nullptr;
    if (page->more) next = page->entries.back().seq;
    return DumpJson({{"entries", std::move(list)}, {"next", std::move(next)}});
  });
}

Result<std::string> ControlDispatcher::AuditVerify() {
  return node_.WithReader([&](store::Reader& reader) -> Result<std::string> {
    auto n = reader.VerifyAuditChain();
    if (!n.ok()) return n.status();
    return DumpJson({{"ok", true}, {"entries", *n}});
  });
}

Result<std::string> ControlDispatcher::KeyShow() {
  const auto& key = node_.identity().public_key();
  // Where peers dial this node ([peers] listen), for `key show --invite`;
  // null when it only dials out.
  const auto& listen = node_.config().peers.listen;
  return DumpJson({{"key", crypto::KeyText(key)},
                   {"fingerprint", crypto::Fingerprint(key)},
                   {"name", node_.config().node.name},
                   {"country", node_.config().node.country},
                   {"endpoint", listen ? nlohmann::json(listen->ToString())
                                       : nlohmann::json(nullptr)}});
}

Result<std::string> ControlDispatcher::QuarantineList() {
  return node_.WithReader([&](store::Reader& reader) -> Result<std::string> {
    store::QueryFilter f;
    f.quarantine = store::QuarantineFilter::kOnly;
    f.include_revoked = true;
    f.limit = store::kMaxQueryLimit;
    auto page = reader.Query(f);
    if (!page.ok()) return page.status();
    auto trust = reader.GetMemberTrust();
    if (!trust.ok()) return trust.status();
    const auto roster = node_.roster();
    nlohmann::json list = nlohmann::json::array();
    for (const auto& row : page->rows) {
      list.push_back(IndicatorJson(row, std::nullopt));
      AddMemberTrustJson(*trust, &roster->chains(), row, list.back());
      CARAVAN_RETURN_IF_ERROR(AddWarninglistJson(reader, row.id, list.back()));
    }
    return DumpJson({{"indicators", std::move(list)}});
  });
}

}  // namespace caravan::daemon
