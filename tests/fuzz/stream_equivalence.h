#pragma once
// Whether the streaming importers (stix_stream.h, misp_stream.h) give the
// same result as the whole-document ones (ImportStixBundle,
// ImportMispEvent) on one input. Used by the fuzz targets and the unit
// tests. Returns "" when they agree, else what differs.
//
// "Agree": both refuse, or both accept with the same items and skips. For
// MISP the order may differ (streaming keeps document order; the
// whole-document import takes each event's "Attribute" before its
// "Object"), so items are compared as multisets without line numbers and
// skip reasons without their "#N" numbering. The one documented
// difference: the streaming importers refuse a repeated shape member
// ("objects", "Event", "Attribute", ...) that the whole-document parser
// silently collapses to its last value. Only inputs small enough that no
// object can reach kMaxStreamObjectBytes are compared.

#include <algorithm>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/formats/misp_stream.h"
#include "protocol/formats/stix_stream.h"

namespace caravan::protocol::testing {

inline std::string BulkItemKey(const BulkItem& b, bool with_line) {
  std::string k = (with_line ? std::to_string(b.line) : std::string()) + "|" +
                  b.type + "|" + b.value + "|" + b.tlp + "|" + b.description +
                  "|" + b.reshare + "|" + std::to_string(b.confidence) + "|" +
                  std::to_string(b.valid_until) + "|" + std::to_string(b.first_seen) +
                  "|" + std::to_string(b.last_seen) + "|" + (b.error ? *b.error : "");
  for (const auto& t : b.tags) k += "|t:" + t;
  return k;
}

// Inputs this long or shorter cannot hold an object over the per-object
// bound (text plus 32 bytes per value, a value being at least one byte).
inline bool SmallEnoughToCompare(std::string_view text) {
  return text.size() * 34 < kMaxStreamObjectBytes;
}

inline bool IsDuplicateRefusal(const Status& s) {
  return s.message().find("twice") != std::string::npos;
}

inline std::string StixStreamMismatch(std::string_view text) {
  if (!SmallEnoughToCompare(text)) return "";
  auto whole = ImportStixBundle(text);
  std::istringstream in{std::string(text)};
  StixImport streamed;
  StixStreamSink sink;
  sink.item = [&](StixImportItem&& it) {
    streamed.items.push_back(std::move(it));
    return Status::Ok();
  };
  sink.skipped = [&](const StixSkipped& s) { streamed.skipped.push_back(s); };
  auto totals = StreamStixImport(in, sink);
  if (!whole.ok() || !totals.ok()) {
    if (whole.ok() == totals.ok()) return "";
    if (whole.ok() && IsDuplicateRefusal(totals.status())) return "";
    return "whole: " + (whole.ok() ? std::string("ok") : whole.status().message()) +
           "; streamed: " +
           (totals.ok() ? std::string("ok") : totals.status().message());
  }
  if (whole->objects != totals->objects) return "objects count differs";
  if (whole->other_objects != totals->other_objects) return "other_objects differs";
  if (whole->items.size() != streamed.items.size()) {
    return "items: " + std::to_string(whole->items.size()) + " whole, " +
           std::to_string(streamed.items.size()) + " streamed";
  }
  for (size_t i = 0; i < whole->items.size(); ++i) {
    const auto& a = whole->items[i];
    const auto& b = streamed.items[i];
    if (a.stix_id != b.stix_id || a.revoked != b.revoked ||
        a.revoke_reason != b.revoke_reason || a.signed_record != b.signed_record ||
        a.origin_key != b.origin_key ||
        BulkItemKey(a.item, true) != BulkItemKey(b.item, true)) {
      return "item " + std::to_string(i) + " differs: " + BulkItemKey(a.item, true) +
             " vs " + BulkItemKey(b.item, true);
    }
  }
  if (whole->skipped.size() != streamed.skipped.size()) return "skipped count differs";
  for (size_t i = 0; i < whole->skipped.size(); ++i) {
    const auto& a = whole->skipped[i];
    const auto& b = streamed.skipped[i];
    if (a.stix_id != b.stix_id || a.index != b.index || a.reason != b.reason) {
      return "skip " + std::to_string(i) + " differs: " + a.reason + " vs " + b.reason;
    }
  }
  return "";
}

inline std::string MispStreamMismatch(std::string_view text) {
  if (!SmallEnoughToCompare(text)) return "";
  auto whole = ImportMispEvent(text);
  std::istringstream in{std::string(text)};
  std::vector<std::string> items, skips;
  MispStreamSink sink;
  sink.item = [&](MispImportItem&& it) {
    items.push_back(BulkItemKey(it.item, false) + "|" + it.event_uuid + "|" +
                    it.attribute_uuid + "|" + it.misp_type);
    return Status::Ok();
  };
  static const std::regex kNumbering("#[0-9]+");
  sink.skipped = [&](const MispSkipped& s) {
    skips.push_back(s.event_uuid + "|" + s.attribute_uuid + "|" +
                    std::regex_replace(s.reason, kNumbering, "#"));
  };
  auto totals = StreamMispImport(in, sink);
  if (!whole.ok() || !totals.ok()) {
    if (whole.ok() == totals.ok()) return "";
    if (whole.ok() && IsDuplicateRefusal(totals.status())) return "";
    return "whole: " + (whole.ok() ? std::string("ok") : whole.status().message()) +
           "; streamed: " +
           (totals.ok() ? std::string("ok") : totals.status().message());
  }
  if (whole->events != totals->events) return "events count differs";
  if (whole->attributes != totals->attributes) return "attributes count differs";
  std::vector<std::string> want_items, want_skips;
  for (const auto& it : whole->items) {
    want_items.push_back(BulkItemKey(it.item, false) + "|" + it.event_uuid + "|" +
                         it.attribute_uuid + "|" + it.misp_type);
  }
  for (const auto& s : whole->skipped) {
    want_skips.push_back(s.event_uuid + "|" + s.attribute_uuid + "|" +
                         std::regex_replace(s.reason, kNumbering, "#"));
  }
  for (auto* v : {&items, &skips, &want_items, &want_skips}) std::sort(v->begin(), v->end());
  if (items != want_items) {
    return "items differ: " + std::to_string(want_items.size()) + " whole, " +
           std::to_string(items.size()) + " streamed";
  }
  if (skips != want_skips) return "skips differ";
  return "";
}

}  // namespace caravan::protocol::testing
