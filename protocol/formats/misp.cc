#include "protocol/formats/misp.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "protocol/indicator_parse.h"
#include "protocol/time_text.h"

namespace caravan::protocol {
namespace {

using nlohmann::json;

struct Part {
  IndicatorType type;
  std::string raw;
};

// The MISP type export writes for each caravan type (index = type code).
constexpr std::string_view kExportType[kIndicatorTypeCount] = {
    "ip-dst", "ip-dst", "domain", "url", "email-src",
    "md5",    "sha1",   "sha256", "vulnerability", "AS"};

// MISP types a value of each caravan type may be exported as, when the
// import recorded it with a "misp:type=" tag.
const std::map<std::string, IndicatorType, std::less<>>& SimpleTypes() {
  static const auto* m = new std::map<std::string, IndicatorType, std::less<>>{
      {"domain", IndicatorType::kDomain},   {"hostname", IndicatorType::kDomain},
      {"url", IndicatorType::kUrl},         {"uri", IndicatorType::kUrl},
      {"email", IndicatorType::kEmail},     {"email-src", IndicatorType::kEmail},
      {"email-dst", IndicatorType::kEmail}, {"email-reply-to", IndicatorType::kEmail},
      {"whois-registrant-email", IndicatorType::kEmail},
      {"md5", IndicatorType::kMd5},         {"sha1", IndicatorType::kSha1},
      {"sha256", IndicatorType::kSha256},   {"vulnerability", IndicatorType::kCve},
      {"AS", IndicatorType::kAsn}};
  return *m;
}

std::string_view Category(std::string_view misp_type) {
  if (misp_type == "vulnerability") return "External analysis";
  if (misp_type == "md5" || misp_type == "sha1" || misp_type == "sha256" ||
      misp_type == "email-src" || misp_type == "email" ||
      misp_type == "email-reply-to") {
    return "Payload delivery";
  }
  if (misp_type == "whois-registrant-email") return "Attribution";
  return "Network activity";
}

IndicatorType IpType(std::string_view v) {
  return v.find(':') != std::string_view::npos ? IndicatorType::kIpv6
                                               : IndicatorType::kIpv4;
}

// The caravan values an attribute holds, or why none.
Result<std::vector<Part>> MapAttribute(const std::string& type, const std::string& value) {
  const size_t bar = value.find('|');
  const std::string left = value.substr(0, bar);
  const std::string right = bar == std::string::npos ? "" : value.substr(bar + 1);
  if (type == "ip-src" || type == "ip-dst") return std::vector<Part>{{IpType(value), value}};
  if (type == "ip-src|port" || type == "ip-dst|port") {
    const size_t last = value.rfind('|');  // IPv6 never holds '|'
    const std::string ip = value.substr(0, last);
    return std::vector<Part>{{IpType(ip), ip}};
  }
  if (type == "hostname|port") return std::vector<Part>{{IndicatorType::kDomain, left}};
  if (type == "domain|ip") {
    if (bar == std::string::npos) return InvalidInput("domain|ip value has no '|'");
    return std::vector<Part>{{IndicatorType::kDomain, left}, {IpType(right), right}};
  }
  if (type == "filename|md5" || type == "malware-sample") {
    return std::vector<Part>{{IndicatorType::kMd5, right}};
  }
  if (type == "filename|sha1") return std::vector<Part>{{IndicatorType::kSha1, right}};
  if (type == "filename|sha256") return std::vector<Part>{{IndicatorType::kSha256, right}};
  if (type == "AS") {
    const bool digits = !value.empty() &&
                        value.find_first_not_of("0123456789") == std::string::npos;
    return std::vector<Part>{{IndicatorType::kAsn, digits ? "AS" + value : value}};
  }
  if (auto it = SimpleTypes().find(type); it != SimpleTypes().end()) {
    return std::vector<Part>{{it->second, value}};
  }
  if (type == "link" || type == "comment" || type == "text" || type == "other" ||
      type == "filename") {
    return InvalidInput("MISP type '" + type + "' is context, not an indicator");
  }
  return InvalidInput("MISP type '" + type + "' has no caravan type");
}

// MISP writes booleans as true/false, "0"/"1" or 0/1 depending on version.
std::optional<bool> Bool(const json& v) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer()) return v.get<int64_t>() != 0;
  if (v.is_string()) {
    if (v == "1" || v == "true") return true;
    if (v == "0" || v == "false") return false;
  }
  return std::nullopt;
}

std::string Str(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : "";
}

std::optional<Tlp> TlpTag(std::string_view name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.rfind("tlp:", 0) != 0) return std::nullopt;
  const std::string level = lower.substr(4);
  if (level == "white") return Tlp::kClear;
  return ParseTlpName(level);
}

// Tag names of an event or attribute; TLP tags go to *tlp (the most
// restrictive wins), the rest to *tags.
void ReadTags(const json& o, std::optional<Tlp>* tlp, std::vector<std::string>* tags) {
  auto it = o.find("Tag");
  if (it == o.end() || !it->is_array()) return;
  for (const json& t : *it) {
    const std::string name = t.is_object() ? Str(t, "name") : "";
    if (name.empty()) continue;
    if (auto level = TlpTag(name)) {
      *tlp = *tlp ? std::max(**tlp, *level) : *level;
    } else {
      tags->push_back(name);
    }
  }
}

using EventContext = MispEventContext;

void ImportAttribute(const json& a, const EventContext& ev, MispImport* out) {
  ++out->attributes;
  const std::string uuid = a.is_object() ? Str(a, "uuid") : "";
  const std::string type = a.is_object() ? Str(a, "type") : "";
  auto skip = [&](std::string why) {
    out->skipped.push_back({ev.uuid, uuid,
                            "attribute " + (uuid.empty() ? "#" + std::to_string(out->attributes) : uuid) +
                                (type.empty() ? "" : " (" + type + ")") + ": " + why});
  };
  if (!a.is_object()) return skip("not a JSON object");
  if (type.empty()) return skip("no type");
  if (!a.contains("value") || !a.at("value").is_string()) return skip("value is not a string");
  if (a.contains("deleted") && Bool(a.at("deleted")).value_or(false)) {
    return skip("attribute is deleted");
  }
  auto parts = MapAttribute(type, a.at("value").get<std::string>());
  if (!parts.ok()) return skip(parts.status().message());

  BulkItem base;
  std::optional<Tlp> tlp;
  base.tags = ev.tags;
  ReadTags(a, &tlp, &base.tags);
  if (!tlp) tlp = ev.tlp;  // an attribute's own TLP wins over the event's
  if (tlp) base.tlp = std::string(TlpName(*tlp));
  base.description = Str(a, "comment");
  if (a.contains("to_ids") && !Bool(a.at("to_ids")).value_or(true)) {
    base.tags.emplace_back(kMispNotToIdsTag);
  }
  for (auto [key, field] : {std::pair{"first_seen", &base.first_seen},
                            std::pair{"last_seen", &base.last_seen}}) {
    const std::string text = Str(a, key);
    if (text.empty()) continue;
    auto t = ParseAbsoluteTime(text);
    if (!t.ok()) return skip(std::string(key) + ": " + t.status().message());
    *field = *t;
  }
  // caravan's own export carries confidence as a tag; read it back.
  for (auto it = base.tags.begin(); it != base.tags.end();) {
    constexpr std::string_view kConf = "caravan:confidence=\"";
    if (it->rfind(kConf, 0) == 0 && it->size() > kConf.size() + 1 && it->back() == '"') {
      const std::string n = it->substr(kConf.size(), it->size() - kConf.size() - 1);
      if (n.size() <= 3 && n.find_first_not_of("0123456789") == std::string::npos &&
          std::stoi(n) <= 100) {
        base.confidence = std::stoi(n);
        it = base.tags.erase(it);
        continue;
      }
    }
    ++it;
  }
  const bool simple = parts->size() == 1 && SimpleTypes().count(type) +
                                                    (type == "ip-src" || type == "ip-dst") > 0;
  for (const Part& p : *parts) {
    auto v = NormalizeValue(p.type, p.raw);
    if (!v.ok() && p.type == IndicatorType::kUrl && p.raw.find("://") == std::string::npos) {
      v = NormalizeValue(p.type, "http://" + p.raw);  // MISP urls often lack a scheme
    }
    if (!v.ok()) {
      skip(v.status().message());
      continue;
    }
    MispImportItem it;
    it.item = base;
    it.item.line = out->attributes;
    it.item.type = std::string(TypeName(p.type));
    it.item.value = std::move(*v);
    if (simple && type != kExportType[static_cast<int>(p.type)]) {
      it.item.tags.push_back("misp:type=" + type);  // keeps ip-src, hostname, ...
    }
    std::sort(it.item.tags.begin(), it.item.tags.end());
    it.item.tags.erase(std::unique(it.item.tags.begin(), it.item.tags.end()),
                       it.item.tags.end());
    it.event_uuid = ev.uuid;
    it.attribute_uuid = uuid;
    it.misp_type = type;
    out->items.push_back(std::move(it));
  }
}

Status ImportEvent(const json& e, MispImport* out) {
  if (!e.is_object()) return InvalidInput("misp: event is not a JSON object");
  ++out->events;
  const EventContext ev = MispEventContextOf(e);
  auto attrs = [&](const json& holder) -> Status {
    auto it = holder.find("Attribute");
    if (it == holder.end()) return Status::Ok();
    if (!it->is_array()) return InvalidInput("misp: Attribute is not an array");
    for (const json& a : *it) {
      if (out->attributes >= kMaxMispAttributes) {
        return InvalidInput("misp: more than " + std::to_string(kMaxMispAttributes) +
                            " attributes");
      }
      ImportAttribute(a, ev, out);
    }
    return Status::Ok();
  };
  CARAVAN_RETURN_IF_ERROR(attrs(e));
  if (auto objs = e.find("Object"); objs != e.end()) {
    if (!objs->is_array()) return InvalidInput("misp: Object is not an array");
    for (const json& o : *objs) {
      if (!o.is_object()) {
        out->skipped.push_back({ev.uuid, "", "object is not a JSON object"});
        continue;
      }
      CARAVAN_RETURN_IF_ERROR(attrs(o));
    }
  }
  return Status::Ok();
}

Result<std::string> ReadBoundedFile(const std::filesystem::path& path, size_t max) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return Unavailable("cannot read " + path.string() + ": " + ec.message());
  if (size > max) {
    return InvalidInput(path.string() + ": " + std::to_string(size) +
                        " bytes, limit " + std::to_string(max));
  }
  std::ifstream in(path, std::ios::binary);
  std::string text(size, '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(size))) {
    return Unavailable("cannot read " + path.string());
  }
  return text;
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < 36; ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (s[i] == '-')) return false;
    if (!dash && !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

Status WriteAtomically(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) return Unavailable("cannot write " + tmp.string());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Unavailable("cannot rename " + tmp.string() + ": " + ec.message());
  return Status::Ok();
}

std::string Date(int64_t t) { return FormatTime(t).substr(0, 10); }

}  // namespace

MispEventContext MispEventContextOf(const json& event) {
  MispEventContext ev;
  if (!event.is_object()) return ev;
  ev.uuid = Str(event, "uuid");
  ReadTags(event, &ev.tlp, &ev.tags);
  return ev;
}

void ImportMispAttribute(const json& attribute, const MispEventContext& event,
                         MispImport* out) {
  ImportAttribute(attribute, event, out);
}

Result<MispImport> ImportMispEvent(std::string_view json_text) {
  auto parsed = ParseBoundedJson(json_text, kMaxMispBytes, "misp");
  if (!parsed.ok()) return parsed.status();
  const json& root = *parsed;
  if (!root.is_object()) return InvalidInput("misp: top level is not a JSON object");
  MispImport out;
  if (auto r = root.find("response"); r != root.end()) {
    const json list = r->is_array() ? *r : json::array({*r});
    for (const json& e : list) {
      if (!e.is_object() || !e.contains("Event")) {
        return InvalidInput("misp: response entry without Event");
      }
      CARAVAN_RETURN_IF_ERROR(ImportEvent(e.at("Event"), &out));
    }
  } else if (auto e = root.find("Event"); e != root.end()) {
    CARAVAN_RETURN_IF_ERROR(ImportEvent(*e, &out));
  } else if (root.contains("Attribute") || root.contains("Object") ||
             (root.contains("uuid") && root.contains("info"))) {
    CARAVAN_RETURN_IF_ERROR(ImportEvent(root, &out));
  } else {
    return InvalidInput("misp: no Event (expected {\"Event\": …}, a bare event or "
                        "{\"response\": […]})");
  }
  if (out.events == 0) return InvalidInput("misp: no event");
  return out;
}

Result<MispImport> ImportMispFeedDir(const std::filesystem::path& dir) {
  auto text = ReadBoundedFile(dir / "manifest.json", kMaxMispBytes);
  if (!text.ok()) return text.status();
  auto manifest = ParseBoundedJson(*text, kMaxMispBytes, "misp manifest");
  if (!manifest.ok()) return manifest.status();
  if (!manifest->is_object()) return InvalidInput("misp manifest: not a JSON object");
  if (manifest->size() > kMaxMispFeedEvents) {
    return InvalidInput("misp manifest: " + std::to_string(manifest->size()) +
                        " events, limit " + std::to_string(kMaxMispFeedEvents));
  }
  MispImport out;
  for (const auto& [uuid, entry] : manifest->items()) {
    (void)entry;
    if (!IsUuid(uuid)) {
      out.skipped.push_back({"", "", "manifest key '" + uuid.substr(0, 64) +
                                         "' is not a UUID"});
      continue;
    }
    auto ev_text = ReadBoundedFile(dir / (uuid + ".json"), kMaxMispBytes);
    if (!ev_text.ok()) {
      out.skipped.push_back({uuid, "", ev_text.status().message()});
      continue;
    }
    auto one = ImportMispEvent(*ev_text);
    if (!one.ok()) {
      out.skipped.push_back({uuid, "", uuid + ".json: " + one.status().message()});
      continue;
    }
    if (out.attributes + one->attributes > kMaxMispAttributes) {
      return InvalidInput("misp feed: more than " + std::to_string(kMaxMispAttributes) +
                          " attributes");
    }
    for (MispImportItem& it : one->items) {
      it.item.line += out.attributes;
      out.items.push_back(std::move(it));
    }
    for (MispSkipped& s : one->skipped) out.skipped.push_back(std::move(s));
    out.events += one->events;
    out.attributes += one->attributes;
  }
  return out;
}

json MispAttributeFor(const ExportItem& it) {
  const Indicator& ind = it.body.indicator;
  std::string type(kExportType[static_cast<int>(ind.type)]);
  bool to_ids = true;
  json tags = json::array({{{"name", "tlp:" + std::string(TlpName(ind.tlp))}}});
  for (const std::string& t : ind.tags) {
    if (t == kMispNotToIdsTag) {
      to_ids = false;
      continue;
    }
    if (t.rfind("misp:type=", 0) == 0) {
      const std::string wanted = t.substr(10);
      const bool ip = ind.type == IndicatorType::kIpv4 || ind.type == IndicatorType::kIpv6;
      auto st = SimpleTypes().find(wanted);
      if ((ip && (wanted == "ip-src" || wanted == "ip-dst")) ||
          (st != SimpleTypes().end() && st->second == ind.type)) {
        type = wanted;
        continue;
      }
    }
    tags.push_back({{"name", t}});
  }
  tags.push_back({{"name", "caravan:confidence=\"" + std::to_string(ind.confidence) + "\""}});
  json a = {{"uuid", UuidFromDigest(it.id)},
            {"type", type},
            {"category", std::string(Category(type))},
            {"value", ind.value},
            {"to_ids", to_ids && !ind.revoked},
            {"comment", ind.description},
            {"timestamp", std::to_string(it.body.created)},
            {"Tag", tags}};
  if (ind.first_seen > 0) a["first_seen"] = FormatTime(ind.first_seen);
  if (ind.last_seen > 0) a["last_seen"] = FormatTime(ind.last_seen);
  if (ind.revoked) a["deleted"] = true;
  return a;
}

json MispEventShell(const PublicKey& origin, std::string_view name,
                    std::string_view country, int64_t newest, Tlp event_tlp) {
  json orgc = {{"name", name.empty() ? OriginKeyText(origin) : std::string(name)},
               {"uuid", DerivedUuid("caravan misp org", origin)}};
  return {{"uuid", DerivedUuid("caravan misp event", origin)},
          {"info", "caravan: indicators from " + orgc["name"].get<std::string>() +
                       (country.empty() ? "" : " (" + std::string(country) + ")")},
          {"date", Date(newest)},
          {"timestamp", std::to_string(newest)},
          {"publish_timestamp", std::to_string(newest)},
          {"published", true},
          {"analysis", "2"},
          {"threat_level_id", "4"},
          {"Orgc", orgc},
          {"Tag", json::array({{{"name", "tlp:" + std::string(TlpName(event_tlp))}}})}};
}

json MispEventFor(const std::vector<ExportItem>& items) {
  const PublicKey origin = items.empty() ? PublicKey{} : items.front().body.origin;
  const std::string name = items.empty() ? "" : items.front().origin_name;
  const std::string country = items.empty() ? "" : items.front().origin_country;
  int64_t newest = 0;
  Tlp event_tlp = Tlp::kClear;
  json attributes = json::array();
  for (const ExportItem& it : items) {
    newest = std::max(newest, it.body.created);
    event_tlp = std::max(event_tlp, it.body.indicator.tlp);
    attributes.push_back(MispAttributeFor(it));
  }
  json event = MispEventShell(origin, name, country, newest, event_tlp);
  event["Attribute"] = std::move(attributes);
  return {{"Event", std::move(event)}};
}

json MispManifestEntry(const json& event) {
  return {{"Orgc", event.at("Orgc")},
          {"Tag", event.at("Tag")},
          {"info", event.at("info")},
          {"date", event.at("date")},
          {"analysis", 2},
          {"threat_level_id", 4},
          {"timestamp", std::stoll(event.at("timestamp").get<std::string>())}};
}

Result<MispFeedWritten> WriteMispFeed(const std::filesystem::path& dir,
                                      const std::vector<ExportItem>& items) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Unavailable("cannot create " + dir.string() + ": " + ec.message());
  // Group by origin, keeping first-seen order.
  std::vector<std::vector<ExportItem>> groups;
  std::map<PublicKey, size_t> index;
  for (const ExportItem& it : items) {
    auto [pos, added] = index.emplace(it.body.origin, groups.size());
    if (added) groups.emplace_back();
    groups[pos->second].push_back(it);
  }
  MispFeedWritten written;
  json manifest = json::object();
  for (const auto& group : groups) {
    json event = MispEventFor(group);
    const json& e = event.at("Event");
    const std::string uuid = e.at("uuid");
    CARAVAN_RETURN_IF_ERROR(WriteAtomically(
        dir / (uuid + ".json"), event.dump(-1, ' ', false, json::error_handler_t::replace)));
    manifest[uuid] = MispManifestEntry(e);
    written.event_uuids.push_back(uuid);
    written.attributes += group.size();
  }
  CARAVAN_RETURN_IF_ERROR(WriteAtomically(
      dir / "manifest.json", manifest.dump(-1, ' ', false, json::error_handler_t::replace)));
  return written;
}

}  // namespace caravan::protocol
