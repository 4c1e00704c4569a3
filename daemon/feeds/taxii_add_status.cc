#include "daemon/feeds/taxii_add_status.h"

#include <map>

namespace caravan::feeds {
namespace {

using nlohmann::json;

std::string StringField(const json& o, const char* key) {
  if (!o.is_object()) return "";
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : "";
}

PostedObject Describe(const json& o) {
  PostedObject p;
  p.id = StringField(o, "id");
  p.type = StringField(o, "type");
  p.version = StringField(o, "modified");
  if (p.version.empty()) p.version = StringField(o, "created");
  return p;
}

// What an object that yielded no item and no skip reason was.
std::string NotStoredReason(const PostedObject& p) {
  if (p.type.empty()) return "not a STIX object (no string type)";
  return "caravan stores indicator and vulnerability objects only; this " +
         p.type + " object was not stored";
}

}  // namespace

Result<std::vector<PostedObject>> ListPostedObjects(std::string_view body,
                                                    size_t max_bytes) {
  auto parsed = protocol::ParseBoundedJson(body, max_bytes, "stix");
  if (!parsed.ok()) return parsed.status();
  const json& root = *parsed;
  if (!root.is_object()) {
    return InvalidInput("stix: top level is not a JSON object");
  }
  std::vector<PostedObject> out;
  const auto type = root.find("type");
  const bool bundle = type != root.end() && *type == "bundle";
  const bool envelope = type == root.end() && root.contains("objects");
  if (!bundle && !envelope) {
    if (type != root.end() && type->is_string()) {
      out.push_back(Describe(root));
      return out;
    }
    return InvalidInput("stix: neither a bundle, an envelope nor a STIX object");
  }
  if (!root.contains("objects")) return out;
  const json& objects = root.at("objects");
  if (!objects.is_array()) return InvalidInput("stix: objects is not an array");
  if (objects.size() > protocol::kMaxStixObjects) {
    return InvalidInput("stix: too many objects");
  }
  out.reserve(objects.size());
  for (const json& o : objects) out.push_back(Describe(o));
  return out;
}

json BuildAddStatus(std::string_view status_id,
                    std::string_view request_timestamp,
                    const std::vector<PostedObject>& objects,
                    const protocol::StixImport& imported,
                    const std::vector<ItemResult>& results) {
  // Per object (1-based index): the reasons it failed, and the versions
  // its stored items are served as.
  std::map<size_t, std::vector<std::string>> errors;
  std::map<size_t, std::vector<std::string>> stored;
  for (size_t i = 0; i < imported.items.size(); ++i) {
    const size_t index = imported.items[i].item.line;
    const ItemResult none{"not submitted", ""};
    const ItemResult& r = i < results.size() ? results[i] : none;
    if (r.error.empty()) {
      stored[index].push_back(r.stored_version);
    } else {
      errors[index].push_back(imported.items[i].item.value + ": " + r.error);
    }
  }
  for (const auto& sk : imported.skipped) errors[sk.index].push_back(sk.reason);

  json successes = json::array(), failures = json::array();
  for (size_t i = 0; i < objects.size(); ++i) {
    const size_t index = i + 1;
    const PostedObject& p = objects[i];
    json entry = {{"id", p.id}, {"version", p.version}};
    auto failed = errors.find(index);
    auto ok = stored.find(index);
    if (failed != errors.end()) {
      std::string message;
      for (const auto& e : failed->second) {
        message += (message.empty() ? "" : "; ") + e;
      }
      entry["message"] = message;
      failures.push_back(std::move(entry));
    } else if (ok != stored.end()) {
      std::string message = "stored; served as version";
      for (const auto& v : ok->second) message += " " + v;
      entry["message"] = message;
      successes.push_back(std::move(entry));
    } else {
      entry["message"] = NotStoredReason(p);
      failures.push_back(std::move(entry));
    }
  }
  return json{{"id", std::string(status_id)},
              {"status", "complete"},
              {"request_timestamp", std::string(request_timestamp)},
              {"total_count", objects.size()},
              {"success_count", successes.size()},
              {"successes", successes},
              {"failure_count", failures.size()},
              {"failures", failures},
              {"pending_count", 0},
              {"pendings", json::array()}};
}

}  // namespace caravan::feeds
