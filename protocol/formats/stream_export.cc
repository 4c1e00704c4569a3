#include "protocol/formats/stream_export.h"

#include <unistd.h>

#include <algorithm>
#include <functional>

namespace caravan::protocol {

using nlohmann::json;

namespace {

// What every writer here passes to dump: compact, and text that is not
// UTF-8 (a description cut mid-character by an old client) replaced
// rather than throwing.
std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

constexpr std::string_view kBundleIdDomain = "caravan stix bundle";

}  // namespace

StixBundleWriter::StixBundleWriter(std::ostream& out) : out_(out) {
  // DerivedUuid(domain, key) = BLAKE2b-256(domain || 0 || key), fed as
  // the items come.
  crypto_generichash_init(&id_hash_, nullptr, 0, 32);
  crypto_generichash_update(&id_hash_,
                            reinterpret_cast<const uint8_t*>(kBundleIdDomain.data()),
                            kBundleIdDomain.size());
  const uint8_t zero = 0;
  crypto_generichash_update(&id_hash_, &zero, 1);
  out_ << "{\"type\":\"bundle\",\"objects\":[\n";
  out_ << Dump(StixProjectIdentity());
  Object(StixProvenanceExtensionDefinition());
}

void StixBundleWriter::Object(const json& object) { out_ << ",\n" << Dump(object); }

void StixBundleWriter::Add(const ExportItem& item) {
  if (tlps_.insert(item.body.indicator.tlp).second) {
    Object(StixTlpMarking(item.body.indicator.tlp));
  }
  if (origins_.insert(item.body.origin).second) {
    Object(StixIdentityFor(item));
  }
  Object(StixIndicator(item));
  ++indicators_;
  uint8_t key[32 + 8];
  std::copy(item.id.begin(), item.id.end(), key);
  size_t n = item.id.size();
  for (uint32_t v : {item.body.revision, item.body.variant}) {
    for (int s = 0; s < 32; s += 8) key[n++] = static_cast<uint8_t>(v >> s);
  }
  crypto_generichash_update(&id_hash_, key, n);
}

bool StixBundleWriter::Finish() {
  uint8_t digest[32];
  crypto_generichash_final(&id_hash_, digest, sizeof digest);
  out_ << "\n],\"id\":\"bundle--" << UuidFromDigest(digest) << "\"}\n";
  out_.flush();
  return static_cast<bool>(out_);
}

MispEventSpool::MispEventSpool(std::filesystem::path dir) : dir_(std::move(dir)) {}

MispEventSpool::~MispEventSpool() {
  for (auto& o : events_) {
    o->spool.close();
    std::error_code ec;
    std::filesystem::remove(o->path, ec);
  }
}

Status MispEventSpool::Add(const ExportItem& item) {
  auto [pos, added] = index_.emplace(item.body.origin, events_.size());
  if (added) {
    auto o = std::make_unique<Origin>();
    o->key = item.body.origin;
    o->name = item.origin_name;
    o->country = item.origin_country;
    o->path = dir_ / (".caravan-misp-" + std::to_string(getpid()) + "-" +
                      std::to_string(events_.size()) + ".attributes.tmp");
    o->spool.open(o->path, std::ios::binary | std::ios::trunc);
    if (!o->spool) return Unavailable("cannot write " + o->path.string());
    events_.push_back(std::move(o));
  }
  Origin& o = *events_[pos->second];
  o.newest = std::max(o.newest, item.body.created);
  o.tlp = std::max(o.tlp, item.body.indicator.tlp);
  if (o.attributes++ > 0) o.spool << ",\n";
  o.spool << Dump(MispAttributeFor(item));
  ++attributes_;
  if (!o.spool) return Unavailable("cannot write " + o.path.string() + " (disk full?)");
  return Status::Ok();
}

json MispEventSpool::Shell(size_t i) const {
  const Origin& o = *events_.at(i);
  return MispEventShell(o.key, o.name, o.country, o.newest, o.tlp);
}

Status MispEventSpool::WriteEvent(size_t i, std::ostream& out) {
  Origin& o = *events_.at(i);
  o.spool.flush();
  if (!o.spool) return Unavailable("cannot write " + o.path.string() + " (disk full?)");
  std::ifstream in(o.path, std::ios::binary);
  if (!in) return Unavailable("cannot read back " + o.path.string());
  out << "{\"Event\":{\"Attribute\":[\n";
  char block[64 * 1024];
  while (in.read(block, sizeof block) || in.gcount() > 0) out.write(block, in.gcount());
  const std::string shell = Dump(Shell(i));  // {"Orgc":…,…}: members go after
  out << "\n]," << std::string_view(shell).substr(1) << "}";
  if (!out) return Unavailable("cannot write the MISP event (output failed)");
  return Status::Ok();
}

Result<MispFeedWritten> WriteMispFeedFromSpool(const std::filesystem::path& dir,
                                               MispEventSpool& spool) {
  MispFeedWritten written;
  json manifest = json::object();
  auto write_atomically = [](const std::filesystem::path& path,
                             const std::function<Status(std::ostream&)>& body) -> Status {
    const std::filesystem::path tmp = path.string() + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out) return Unavailable("cannot write " + tmp.string());
      CARAVAN_RETURN_IF_ERROR(body(out));
      out.flush();
      if (!out) return Unavailable("cannot write " + tmp.string());
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) return Unavailable("cannot rename " + tmp.string() + ": " + ec.message());
    return Status::Ok();
  };
  for (size_t i = 0; i < spool.events(); ++i) {
    const json shell = spool.Shell(i);
    const std::string uuid = shell.at("uuid");
    CARAVAN_RETURN_IF_ERROR(write_atomically(
        dir / (uuid + ".json"), [&](std::ostream& out) { return spool.WriteEvent(i, out); }));
    manifest[uuid] = MispManifestEntry(shell);
    written.event_uuids.push_back(uuid);
  }
  written.attributes = spool.attributes();
  CARAVAN_RETURN_IF_ERROR(write_atomically(dir / "manifest.json", [&](std::ostream& out) {
    out << Dump(manifest);
    return Status::Ok();
  }));
  return written;
}

}  // namespace caravan::protocol
