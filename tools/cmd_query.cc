// `caravan query`, `show` and `export`: reads of the indicator store.
#include <sodium.h>

#include <ctime>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>

#include "protocol/formats/misp.h"
#include "protocol/record_codec.h"
#include "protocol/formats/stix.h"
#include "protocol/formats/stream_export.h"
#include "protocol/time_text.h"
#include "tools/commands.h"
#include "tools/spool_directory.h"
#include "tools/table.h"

namespace caravan::tools {
namespace {

// Page size for export: bounded replies, any number of indicators.
constexpr uint32_t kExportPage = 5000;
// Pages with signed records (STIX/MISP) are several times larger per
// indicator and are parsed into a JSON tree: a smaller page keeps the
// CLI's peak memory well under 64 MiB (issue 19) at no measurable cost.
constexpr uint32_t kRecordsExportPage = 1000;

Status FillQuery(protocol::wire::Query::Builder q, const std::string& value,
                 const std::string& type, const std::string& origin,
                 const std::string& tag, const std::string& since,
                 const std::string& cidr, bool include_revoked,
                 uint32_t limit) {
  q.setValue(Text(value));
  q.setType(Text(type));
  q.setOrigin(Text(origin));
  q.setTag(Text(tag));
  q.setCidr(Text(cidr));
  q.setIncludeRevoked(include_revoked);
  q.setLimit(limit);
  if (!since.empty()) {
    auto t = protocol::ParseTime(since, std::time(nullptr));
    if (!t.ok()) {
      return InvalidInput("--since: '" + since +
                          "' is neither an RFC 3339 time nor a duration "
                          "like 2h");
    }
    q.setSince(*t);
  }
  return Status::Ok();
}

// "warninglist: NAME (ENTRY)" plus " forced" when stored with --force;
// empty when the indicator matched no warninglist.
std::string WarninglistText(const nlohmann::json& ind) {
  const auto wl = ind.value("warninglist", nlohmann::json());
  if (!wl.is_object()) return "";
  std::string text = "warninglist: " + wl.value("name", std::string("?")) +
                     " (" + wl.value("entry", std::string("?")) + ")";
  if (wl.value("forced", false)) text += " forced";
  return text;
}

std::string Flags(const nlohmann::json& ind) {
  std::string flags;
  if (ind.value("revoked", false)) flags += "revoked ";
  if (ind.value("quarantined", false)) flags += "quarantined ";
  if (const std::string wl = WarninglistText(ind); !wl.empty()) {
    flags += wl + " ";
  }
  if (!ind.value("verified", true)) flags += "UNVERIFIED ";
  if (!flags.empty()) flags.pop_back();
  return flags;
}

std::string FromText(const nlohmann::json& ind) {
  const auto& r = ind["received_from"];
  return r.is_null() ? std::string("local") : r.get<std::string>();
}

// Rebuilds the ExportItem of one "records"-format export entry: the body
// comes from the signed record itself, so STIX/MISP carry exactly what the
// origin signed.
Result<protocol::ExportItem> ExportItemFromJson(const nlohmann::json& ind) {
  const std::string b64 = ind.value("signed_record", "");
  std::vector<uint8_t> bytes(b64.size() / 4 * 3 + 3);
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(bytes.data(), bytes.size(), b64.data(), b64.size(),
                        nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != b64.data() + b64.size()) {
    return Corrupt("caravand sent a bad signed_record for " +
                   ind.value("id", std::string("?")));
  }
  bytes.resize(len);
  auto record = protocol::DecodeSignedRecord(bytes);
  if (!record.ok()) return record.status();
  auto body = protocol::DecodeRecordBody(record->body);
  if (!body.ok()) return body.status();
  auto id = protocol::IdFromHex(ind.value("id", ""));
  if (!id) return Corrupt("caravand sent a bad indicator id");
  protocol::ExportItem item;
  item.body = std::move(*body);
  item.id = *id;
  item.origin_name = ind.value("origin_name", "");
  item.origin_country = ind.value("origin", "");
  item.signed_record = std::move(bytes);
  if (ind.contains("first_created") && ind["first_created"].is_string()) {
    auto t = protocol::ParseTime(ind["first_created"].get<std::string>(), 0);
    if (t.ok()) item.first_created = *t;
  }
  item.stix_id = ind.value("stix_id", std::string());  // a TAXII posted id
  return item;
}

// Pages through the store's export for `o` (`wire_format` "records" adds
// signed records for STIX/MISP) and hands each indicator to `each`.
Status ForEachExported(
    const GlobalOptions& global, const ExportOptions& o,
    const std::string& wire_format,
    const std::function<Status(const nlohmann::json&)>& each) {
  std::string after;
  for (;;) {
    capnp::MallocMessageBuilder message;
    auto q = message.initRoot<protocol::wire::Request>().initExport();
    CARAVAN_RETURN_IF_ERROR(FillQuery(q, "", o.type, o.origin, o.tag, o.since,
                                      "", o.include_revoked,
                                      wire_format == "records"
                                          ? kRecordsExportPage
                                          : kExportPage));
    q.setMaxTlp(Text(o.max_tlp));
    q.setAfter(Text(after));
    q.setFormat(Text(wire_format));
    q.setIncludeRemoved(o.include_removed);
    auto doc = CallForJson(global, message);
    if (!doc.ok()) return doc.status();
    for (const auto& ind : (*doc)["indicators"]) {
      CARAVAN_RETURN_IF_ERROR(each(ind));
    }
    if ((*doc)["next"].is_null()) return Status::Ok();
    after = (*doc)["next"].get<std::string>();
  }
}

// One `export --format jsonl` line: the fields `submit --format jsonl`
// reads (protocol/formats/bulk_reader.h), unset ones left out.
std::string JsonlLine(const nlohmann::json& ind) {
  nlohmann::json line = nlohmann::json::object();
  for (const char* key : {"type", "value", "tlp", "confidence", "tags",
                          "description", "valid_until", "first_seen",
                          "last_seen", "reshare"}) {
    const auto it = ind.find(key);
    if (it == ind.end() || it->is_null()) continue;
    if (it->is_string() && it->get_ref<const std::string&>().empty()) continue;
    line[key] = *it;
  }
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// `export --format stix|misp`: pages through the store like csv does and
// writes each indicator as its page arrives (protocol/formats/
// stream_export.h), so memory stays bounded by one page whatever the
// store's size. STIX: one bundle on stdout. MISP: the events (one per
// origin CERT) as a REST-search-shaped document {"response": [{"Event":
// ...}, ...]} on stdout, or a feed directory with --output; attributes are
// grouped by origin through spool files (in the feed directory, or in
// $TMPDIR for stdout). `caravan submit --format stix|misp` and MISP itself
// read both back. On a failure half way the output is cut short (a STIX
// bundle or MISP document without its end is not valid JSON) and the exit
// code says so.
int RunStructuredExport(const GlobalOptions& global, const ExportOptions& o) {
  auto for_each_item =
      [&](const std::function<Status(const protocol::ExportItem&)>& consume) {
        return ForEachExported(global, o, "records",
                               [&](const nlohmann::json& ind) -> Status {
                                 auto item = ExportItemFromJson(ind);
                                 if (!item.ok()) return item.status();
                                 return consume(*item);
                               });
      };
  if (o.format == "stix") {
    protocol::StixBundleWriter writer(std::cout);
    Status paged = for_each_item([&](const protocol::ExportItem& item) {
      writer.Add(item);
      return std::cout ? Status::Ok()
                       : Unavailable("cannot write the bundle to stdout");
    });
    if (!paged.ok()) return Fail(paged);
    if (!writer.Finish()) {
      return Fail(Unavailable("cannot write the bundle to stdout"));
    }
    return 0;
  }
  auto spool_dir = MispSpoolDirectory(o.output);
  if (!spool_dir.ok()) return Fail(spool_dir.status());
  Status done = Status::Ok();
  {
    protocol::MispEventSpool spool(spool_dir->path());
    done = for_each_item(
        [&](const protocol::ExportItem& item) { return spool.Add(item); });
    if (done.ok() && !o.output.empty()) {
      auto written = protocol::WriteMispFeedFromSpool(o.output, spool);
      if (written.ok()) {
        std::cerr << o.output << ": " << written->event_uuids.size()
                  << " MISP events, " << written->attributes
                  << " attributes\n";
      }
      done = written.status();
    } else if (done.ok()) {
      std::cout << "{\"response\":[\n";
      for (size_t i = 0; i < spool.events() && done.ok(); ++i) {
        if (i > 0) std::cout << ",\n";
        done = spool.WriteEvent(i, std::cout);
      }
      std::cout << "\n]}\n" << std::flush;
      if (done.ok() && !std::cout) {
        done = Unavailable("cannot write the MISP document to stdout");
      }
    }
  }
  return done.ok() ? 0 : Fail(done);
}

}  // namespace

int RunQuery(const GlobalOptions& global, const QueryOptions& o) {
  if (o.limit > kMaxQueryPage) {
    std::cerr << "caravan: --limit " << o.limit << " is above the maximum of "
              << kMaxQueryPage
              << " per page; read further pages with --after CURSOR\n";
    return 2;
  }
  capnp::MallocMessageBuilder message;
  auto q = message.initRoot<protocol::wire::Request>().initQuery();
  Status s = FillQuery(q, o.value, o.type, o.origin, o.tag, o.since, o.cidr,
                       o.include_revoked, static_cast<uint32_t>(o.limit));
  if (!s.ok()) return Fail(s);
  q.setAfter(Text(o.after));
  auto doc = CallForJson(global, message);
  if (!doc.ok()) return Fail(doc.status());
  const auto& list = (*doc)["indicators"];
  if (global.json) {
    PrintJson(*doc);
  } else {
    Table table({"ID", "TYPE", "VALUE", "TLP", "CONF", "ORIGIN", "REV", "FROM",
                 "FLAGS"});
    for (const auto& ind : list) {
      table.AddRow({ind["id"].get<std::string>().substr(0, 12), ind["type"],
                    ind["value"], ind["tlp"],
                    std::to_string(ind["confidence"].get<int>()), ind["origin"],
                    std::to_string(ind["revision"].get<int>()), FromText(ind),
                    Flags(ind)});
    }
    table.Print(std::cout);
    if (list.empty()) std::cerr << "no indicators match\n";
    // Say so when the page did not hold everything, and how to go on.
    const auto next = doc->value("next", nlohmann::json());
    if (next.is_string()) {
      std::cout << doc->value("more", uint64_t{0})
                << (doc->value("more_capped", false) ? "+" : "")
                << " more: --after " << next.get<std::string>() << "\n";
    }
  }
  // A lookup of one value that finds nothing is "not found" to scripts.
  return list.empty() && !o.value.empty() ? 3 : 0;
}

int RunShow(const GlobalOptions& global, const std::string& id) {
  capnp::MallocMessageBuilder message;
  message.initRoot<protocol::wire::Request>().setShow(Text(id));
  auto doc = CallForJson(global, message);
  if (!doc.ok()) return Fail(doc.status());
  if (global.json) {
    PrintJson(*doc);
    return 0;
  }
  const auto& cur = (*doc)["indicator"];
  std::cout << cur["type"].get<std::string>() << " "
            << cur["value"].get<std::string>() << "\n"
            << "  id:          " << cur["id"].get<std::string>() << "\n"
            << "  origin:      " << cur["origin_name"].get<std::string>()
            << " (" << cur["origin"].get<std::string>() << ") "
            << cur["origin_key"].get<std::string>() << "\n"
            << "  tlp:         " << cur["tlp"].get<std::string>()
            << "   confidence: " << cur["confidence"].get<int>() << "\n"
            << "  tags:        " << cur["tags"].dump() << "\n"
            << "  description: " << cur["description"].get<std::string>()
            << "\n"
            << "  received:    " << FromText(cur) << "\n";
  if (const std::string wl = WarninglistText(cur); !wl.empty()) {
    std::cout << "  " << wl
              << (cur["warninglist"].value("forced", false)
                      ? ": shared as usual"
                      : ": not shared automatically")
              << "\n";
  }
  if (cur.value("revoked", false)) {
    std::cout << "  REVOKED:     " << cur["revoke_reason"].get<std::string>()
              << "\n";
  }
  Table table(
      {"REV", "VARIANT", "CREATED", "SEQ", "SIGNATURE", "VERIFIED", "FROM"});
  for (const auto& r : (*doc)["revisions"]) {
    table.AddRow({std::to_string(r["revision"].get<int>()),
                  std::to_string(r["variant"].get<int>()), r["created"],
                  std::to_string(r["origin_seq"].get<uint64_t>()),
                  r["signature"], r["verified"].get<bool>() ? "yes" : "NO",
                  FromText(r)});
  }
  std::cout << "\n";
  table.Print(std::cout);
  const auto& sightings = (*doc)["sightings"];
  if (!sightings.empty()) {
    std::cout << "\nsightings:\n";
    for (const auto& s : sightings) {
      std::cout << "  " << s["time"].get<std::string>() << "  "
                << s["actor"].get<std::string>() << "  "
                << s["note"].get<std::string>() << "\n";
    }
  }
  return 0;
}

int RunExport(const GlobalOptions& global, const ExportOptions& o) {
  if (!o.output.empty() && o.format != "misp") {
    return Fail(InvalidInput("--output is for --format misp (a feed "
                             "directory); other formats go to stdout"));
  }
  if (o.format == "stix" || o.format == "misp") {
    return RunStructuredExport(global, o);
  }
  if (o.format != "csv" && o.format != "plain" && o.format != "txt" &&
      o.format != "jsonl") {
    return Fail(InvalidInput("unknown export --format '" + o.format +
                             "' (csv, jsonl, plain or txt, stix, misp)"));
  }
  if (o.format == "csv") {
    std::cout << "type,value,tlp,confidence,tags,origin,created,valid_until,"
                 "revoked,id\n";
  }
  Status paged =
      ForEachExported(global, o, "", [&](const nlohmann::json& ind) -> Status {
        if (o.format == "plain" || o.format == "txt") {
          std::cout << ind["value"].get<std::string>() << "\n";
          return Status::Ok();
        }
        if (o.format == "jsonl") {
          std::cout << JsonlLine(ind) << "\n";
          return Status::Ok();
        }
        std::string tags;
        for (const auto& t : ind["tags"]) {
          if (!tags.empty()) tags += ";";
          tags += t.get<std::string>();
        }
        std::cout << ind["type"].get<std::string>() << ","
                  << CsvField(ind["value"]) << ","
                  << ind["tlp"].get<std::string>() << ","
                  << ind["confidence"].get<int>() << "," << CsvField(tags)
                  << "," << ind["origin"].get<std::string>() << ","
                  << ind["created"].get<std::string>() << ","
                  << (ind["valid_until"].is_null()
                          ? std::string()
                          : ind["valid_until"].get<std::string>())
                  << "," << (ind["revoked"].get<bool>() ? "true" : "false")
                  << "," << ind["id"].get<std::string>() << "\n";
        return Status::Ok();
      });
  std::cout << std::flush;
  return paged.ok() ? 0 : Fail(paged);
}

}  // namespace caravan::tools
