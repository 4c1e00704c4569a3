// `caravan peers remove`, `caravan peers compromised` and `caravan key
// compromised` (issue 16, docs/federation.md "Leaving" and "Compromise").
#include <unistd.h>

#include <ctime>
#include <iostream>
#include <optional>
#include <string>

#include "protocol/time_text.h"
#include "tools/commands.h"

namespace caravan::tools {
namespace {

using Request = protocol::wire::Request;

uint64_t Count(const nlohmann::json& doc, const char* group,
               const char* field) {
  if (!doc.contains(group) || !doc.at(group).is_object()) return 0;
  return doc.at(group).value(field, uint64_t{0});
}

// --since TIME (RFC 3339, a date or a relative time), or a message on
// stderr and nullopt.
std::optional<int64_t> SinceOption(const std::string& text) {
  auto since = protocol::ParseTime(text, std::time(nullptr));
  if (!since.ok()) {
    std::cerr << "caravan: --since: '" << text << "': " << since.status().message() << "\n";
    return std::nullopt;
  }
  return *since;
}

// How many peers a compromise notice went to (the reply's "notified").
size_t NotifiedCount(const nlohmann::json& doc) {
  const auto notified = doc.find("notified");
  return notified != doc.end() && notified->is_array() ? notified->size() : 0;
}

// A purge deletes evidence: on a terminal the operator types the member's
// name; anywhere else --yes must say so (a script never purges by accident).
Status ConfirmPurge(const PeerRemoveOptions& o) {
  if (o.yes) return Status::Ok();
  if (!isatty(STDIN_FILENO)) {
    return InvalidInput("--purge deletes " + o.name +
                        "'s records; add --yes to confirm (stdin is not a "
                        "terminal to ask on)");
  }
  std::cerr << "This deletes every record " << o.name
            << " made, with its revisions and sightings (the audit log "
               "keeps the removal).\nType the member's name to confirm: ";
  std::string typed;
  std::getline(std::cin, typed);
  if (typed != o.name) return InvalidInput("not confirmed; nothing changed");
  return Status::Ok();
}

// A string field of the reply, or "-" when absent or not a string.
std::string TextOr(const nlohmann::json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : "-";
}

}  // namespace

int RunPeersRemove(const GlobalOptions& global, const PeerRemoveOptions& o) {
  if (o.yes && !o.purge) {
    std::cerr << "caravan: --yes only confirms --purge\n";
    return 2;
  }
  if (o.purge) {
    if (Status s = ConfirmPurge(o); !s.ok()) {
      std::cerr << "caravan: " << s.message() << "\n";
      return 2;
    }
  }
  capnp::MallocMessageBuilder message;
  auto r = message.initRoot<Request>().initPeersDepart();
  r.setName(Text(o.name));
  r.setPurge(o.purge);
  auto doc = CallForJson(global, message);
  if (!doc.ok()) return Fail(doc.status());
  if (global.json) {
    PrintJson(*doc);
    return 0;
  }
  const std::string name = TextOr(*doc, "name");
  if (o.purge) {
    std::cout << "purged " << name << ": deleted "
              << Count(*doc, "deleted", "indicators") << " indicators ("
              << Count(*doc, "deleted", "records") << " records, "
              << Count(*doc, "deleted", "sightings")
              << " sightings); the audit log keeps the removal\n";
  } else {
    std::cout << "removed " << name << "; kept its "
              << Count(*doc, "kept", "indicators") << " indicators ("
              << Count(*doc, "kept", "records")
              << " records) with their signatures. They no longer leave "
                 "this node, export and TAXII leave them out "
                 "(--include-removed keeps them); `caravan peers remove "
              << name << " --purge` deletes them\n";
  }
  return 0;
}

int RunPeersCompromised(const GlobalOptions& global,
                        const PeerCompromisedOptions& o) {
  const auto since = SinceOption(o.since);
  if (!since) return 2;
  capnp::MallocMessageBuilder message;
  auto r = message.initRoot<Request>().initPeersCompromised();
  r.setName(Text(o.name));
  r.setSince(*since);
  auto doc = CallForJson(global, message);
  if (!doc.ok()) return Fail(doc.status());
  if (global.json) {
    PrintJson(*doc);
    return 0;
  }
  std::cout << "key of " << TextOr(*doc, "name") << " ("
            << TextOr(*doc, "fingerprint") << ") declared compromised since "
            << TextOr(*doc, "since") << ": "
            << doc->value("quarantined", uint64_t{0})
            << " indicators quarantined; notice sent to " << NotifiedCount(*doc)
            << " peers; handshakes with that key are refused\n";
  return 0;
}

int RunKeyCompromised(const GlobalOptions& global, const std::string& since_text,
                      const std::string& key) {
  const auto since = SinceOption(since_text);
  if (!since) return 2;
  capnp::MallocMessageBuilder message;
  auto r = message.initRoot<Request>().initKeyCompromised();
  r.setSince(*since);
  // The daemon matches it against our keys (and names what it is if it is
  // not one of our retired ones).
  r.setKey(Text(key));
  auto doc = CallForJson(global, message);
  if (!doc.ok()) return Fail(doc.status());
  if (global.json) {
    PrintJson(*doc);
    return 0;
  }
  std::cout << "retired identity key " << TextOr(*doc, "fingerprint")
            << " declared compromised since " << TextOr(*doc, "since") << ": "
            << doc->value("quarantined", uint64_t{0})
            << " of our indicators quarantined; notice signed by the current key sent to "
            << NotifiedCount(*doc) << " peers\n";
  return 0;
}

}  // namespace caravan::tools
