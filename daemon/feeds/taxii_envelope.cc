#include "daemon/feeds/taxii_envelope.h"

#include "daemon/feeds/taxii_handler.h"
#include "protocol/formats/stix.h"
#include "protocol/formats/stix_json_writer.h"

namespace caravan::feeds {
namespace {

using protocol::AppendJsonString;

// `{"more":true,"next":"…"` or `{"more":false`: the members every listing
// starts with ("more" < "next" < "objects"/"versions").
std::string Head(bool more, const std::string& next, size_t reserve) {
  std::string body;
  body.reserve(reserve);
  if (more) {
    body += "{\"more\":true,\"next\":";
    AppendJsonString(next, body);
  } else {
    body += "{\"more\":false";
  }
  return body;
}

template <typename WriteOne>
std::string Listing(const std::vector<ListedObject>& objects, bool more,
                    const std::string& next, std::string_view key,
                    bool omit_empty, size_t per_object, WriteOne write_one) {
  std::string body = Head(more, next, 64 + next.size() +
                                          objects.size() * per_object);
  if (!objects.empty() || !omit_empty) {
    body += ",\"";
    body += key;
    body += "\":[";
    for (size_t i = 0; i < objects.size(); ++i) {
      if (i) body += ',';
      write_one(objects[i], body);
    }
    body += ']';
  }
  body += '}';
  return body;
}

}  // namespace

std::string EnvelopeBody(const std::vector<ListedObject>& objects, bool more,
                         const std::string& next) {
  size_t bytes = 0;
  for (const auto& o : objects) bytes += o.json.size() + 1;
  return Listing(objects, more, next, "objects", true,
                 objects.empty() ? 0 : bytes / objects.size(),
                 [](const ListedObject& o, std::string& body) {
                   body += o.json;
                 });
}

std::string ManifestBody(const std::vector<ListedObject>& objects, bool more,
                         const std::string& next) {
  return Listing(objects, more, next, "objects", true, 200,
                 [](const ListedObject& o, std::string& body) {
                   body += "{\"date_added\":";
                   AppendJsonString(TaxiiTime(o.date_added), body);
                   body += ",\"id\":";
                   AppendJsonString(o.id, body);
                   body += ",\"media_type\":\"application/stix+json;"
                           "version=2.1\",\"version\":";
                   AppendJsonString(protocol::StixTimeMillis(o.modified_millis),
                                    body);
                   body += '}';
                 });
}

std::string VersionsBody(const std::vector<ListedObject>& objects, bool more,
                         const std::string& next) {
  return Listing(objects, more, next, "versions", false, 32,
                 [](const ListedObject& o, std::string& body) {
                   AppendJsonString(protocol::StixTimeMillis(o.modified_millis),
                                    body);
                 });
}

}  // namespace caravan::feeds
