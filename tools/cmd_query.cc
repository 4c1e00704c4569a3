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
#include "protocol/time_text.h"
#include "tools/commands.h"
#include "tools/table.h"

namespace caravan::tools {
namespace {

// Page size for export: bounded replies, any number of indicators.
constexpr uint32_t kExportPage = 5000;

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
                                      "", o.include_revoked, kExportPage));
    q.setMaxTlp(Text(o.max_tlp));
    q.setAfter(Text(after));
    q.setFormat(Text(wire_format));
    auto doc = CallForJson(global, message);
    if (!doc.ok()) return doc.status();
    for (const auto& ind : (*doc)["indicators"]) {
      CARAVAN_RETURN_IF_ERROR(each(ind));
    }
    if ((*doc)["next"].is_null()) return Status::Ok();
    after = (*doc)["next"].get<std::string>();
  }
}

// `export --format stix|misp`: pages through the store like csv does, then
// writes one STIX bundle, or the MISP events (one per origin CERT) as a
// REST-search-shaped document {"response": [{"Event": ...}, ...]} that
// `caravan submit --format misp` and MISP itself read back.
int RunStructuredExport(const GlobalOptions& global, const ExportOptions& o) {
  std::vector<protocol::ExportItem> items;
  Status paged = ForEachExported(global, o, "records",
                                 [&](const nlohmann::json& ind) -> Status {
                                   auto item = ExportItemFromJson(ind);
                                   if (!item.ok()) return item.status();
                                   items.push_back(std::move(*item));
                                   return Status::Ok();
                                 });
  if (!paged.ok()) return Fail(paged);
  if (!o.output.empty()) {
    auto written = protocol::WriteMispFeed(o.output, items);
    if (!written.ok()) return Fail(written.status());
    std::cerr << o.output << ": " << written->event_uuids.size()
              << " MISP events, " << written->attributes << " attributes\n";
    return 0;
  }
  if (o.format == "stix") {
    std::cout << protocol::StixBundle(items).dump(1) << "\n" << std::flush;
    return 0;
  }
  std::map<protocol::PublicKey, std::vector<protocol::ExportItem>> by_origin;
  std::vector<protocol::PublicKey> order;
  for (auto& item : items) {
    auto [it, added] = by_origin.try_emplace(item.body.origin);
    if (added) order.push_back(item.body.origin);
    it->second.push_back(std::move(item));
  }
  nlohmann::json response = nlohmann::json::array();
  for (const auto& origin : order) {
    response.push_back(protocol::MispEventFor(by_origin[origin]));
  }
  std::cout << nlohmann::json{{"response", std::move(response)}}.dump(1) << "\n"
            << std::flush;
  return 0;
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
  if (o.format != "csv" && o.format != "plain") {
    return Fail(InvalidInput("unknown export --format '" + o.format +
                             "' (csv, plain, stix, misp)"));
  }
  if (o.format == "csv") {
    std::cout << "type,value,tlp,confidence,tags,origin,created,valid_until,"
                 "revoked,id\n";
  }
  Status paged =
      ForEachExported(global, o, "", [&](const nlohmann::json& ind) -> Status {
        if (o.format == "plain") {
          std::cout << ind["value"].get<std::string>() << "\n";
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
