#pragma once
// Streaming STIX and MISP export (`caravan export --format stix|misp`):
// objects are written as they come, so memory does not grow with the
// number of indicators (docs/stix.md, "Streaming export").
//
// StixBundleWriter writes the same objects as StixBundle, one per line:
// the caravan extension definition and its creator first, then each
// indicator preceded by its TLP marking and its origin's identity the
// first time they are used. The bundle id is derived from the items as
// StixBundle derives it; as it is only known at the end it is the last
// member of the bundle object (JSON members have no order).
//
// MispEventSpool groups attributes by origin CERT (one MISP event per
// origin, as MispEventFor/WriteMispFeed) by appending each attribute to a
// spool file of its origin; WriteEvent then copies one event out. An
// event's "Attribute" comes first, the members that summarise it
// (timestamp, date, Tag) after it, as MISP itself writes "Tag" last.
//
// One thread each.

#include <sodium.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/formats/misp.h"
#include "protocol/formats/stix.h"
#include "protocol/status.h"

namespace caravan::protocol {

class StixBundleWriter {
 public:
  // Writes the bundle's head and the two fixed objects.
  explicit StixBundleWriter(std::ostream& out);
  void Add(const ExportItem& item);
  // Closes "objects" and writes the bundle id; false when `out` failed.
  bool Finish();
  size_t indicators() const { return indicators_; }

 private:
  void Object(const nlohmann::json& object);

  std::ostream& out_;
  std::set<Tlp> tlps_;             // markings written
  std::set<PublicKey> origins_;    // identities written
  crypto_generichash_state id_hash_;  // what StixBundle hashes for its id
  size_t indicators_ = 0;
};

class MispEventSpool {
 public:
  // Spool files are made in `dir` (which must exist) and removed by the
  // destructor.
  explicit MispEventSpool(std::filesystem::path dir);
  ~MispEventSpool();
  MispEventSpool(const MispEventSpool&) = delete;
  MispEventSpool& operator=(const MispEventSpool&) = delete;

  // Appends the item's attribute to its origin's spool. Fails
  // (Unavailable) naming the file when it cannot be written.
  Status Add(const ExportItem& item);

  size_t events() const { return events_.size(); }
  size_t attributes() const { return attributes_; }
  // The event of origin number `i` (first-seen order) without
  // "Attribute", as MispEventShell gives it.
  nlohmann::json Shell(size_t i) const;
  // Writes {"Event": {"Attribute": [...], <shell members>}} of origin `i`.
  Status WriteEvent(size_t i, std::ostream& out);

 private:
  struct Origin {
    PublicKey key{};
    std::string name, country;
    int64_t newest = 0;
    Tlp tlp = Tlp::kClear;
    size_t attributes = 0;
    std::filesystem::path path;
    std::ofstream spool;
  };

  std::filesystem::path dir_;
  std::vector<std::unique_ptr<Origin>> events_;
  std::map<PublicKey, size_t> index_;
  size_t attributes_ = 0;
};

// Writes the feed directory WriteMispFeed writes (`<uuid>.json` per origin
// and manifest.json last, each through a temporary name and rename) from
// a spool, whose files may live in `dir` itself.
Result<MispFeedWritten> WriteMispFeedFromSpool(const std::filesystem::path& dir,
                                               MispEventSpool& spool);

}  // namespace caravan::protocol
