#include "protocol/record_codec.h"

#include <capnp/any.h>
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "protocol/indicator_parse.h"

namespace caravan::protocol {
namespace {

capnp::ReaderOptions RecordReaderOptions() {
  capnp::ReaderOptions o;
  o.traversalLimitInWords = kRecordTraversalLimitWords;
  o.nestingLimit = kRecordNestingLimit;
  return o;
}

// Cap'n Proto readers need word-aligned memory; untrusted spans may not be.
kj::Array<capnp::word> CopyToWords(std::span<const uint8_t> bytes) {
  auto words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), bytes.data(), words.size() * sizeof(capnp::word));
  return words;
}

capnp::Text::Reader AsText(const std::string& s) {
  return capnp::Text::Reader(s.c_str(), s.size());  // std::string is NUL-terminated
}

std::string ToString(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

Status CorruptBody(std::string_view why) {
  return Corrupt("record body: " + std::string(why));
}

Result<RecordBody> ReadBody(wire::RecordBody::Reader r) {
  RecordBody body;
  auto origin = r.getOrigin();
  if (origin.size() != body.origin.size()) {
    return CorruptBody("origin is " + std::to_string(origin.size()) +
                       " bytes, expected 32");
  }
  std::copy(origin.begin(), origin.end(), body.origin.begin());
  body.origin_seq = r.getOriginSeq();
  body.revision = r.getRevision();
  body.created = r.getCreated();
  body.variant = r.getVariant();
  body.created_millis = r.getCreatedMillis();
  if (body.created_millis > 999) {
    return CorruptBody("created_millis is " +
                       std::to_string(body.created_millis) + " (0..999)");
  }
  if (body.origin_seq == 0) return CorruptBody("origin_seq is 0 (starts at 1)");
  if (body.revision == 0) return CorruptBody("revision is 0 (starts at 1)");
  if (body.created < 0) return CorruptBody("created is negative");
  if (!r.hasIndicator()) return CorruptBody("no indicator");
  auto in = r.getIndicator();
  Indicator& ind = body.indicator;
  const auto type = static_cast<uint16_t>(in.getType());
  if (type >= kIndicatorTypeCount) {
    return CorruptBody("unknown indicator type " + std::to_string(type));
  }
  ind.type = static_cast<IndicatorType>(type);
  const auto tlp = static_cast<uint16_t>(in.getTlp());
  if (tlp > static_cast<uint16_t>(Tlp::kRed)) {
    return CorruptBody("unknown tlp " + std::to_string(tlp));
  }
  ind.tlp = static_cast<Tlp>(tlp);
  const auto reshare = static_cast<uint16_t>(in.getReshare());
  if (reshare > static_cast<uint16_t>(Reshare::kFederation)) {
    return CorruptBody("unknown reshare " + std::to_string(reshare));
  }
  ind.reshare = static_cast<Reshare>(reshare);
  auto value = in.getValue();
  if (value.size() > kMaxValueBytes) {
    return CorruptBody("value is longer than " + std::to_string(kMaxValueBytes) +
                       " bytes");
  }
  ind.value = ToString(value);
  ind.confidence = in.getConfidence();
  auto tags = in.getTags();
  if (tags.size() > kMaxTags) return CorruptBody("too many tags");
  for (auto t : tags) {
    if (t.size() > kMaxTagBytes) return CorruptBody("tag too long");
    ind.tags.push_back(ToString(t));
  }
  auto desc = in.getDescription();
  if (desc.size() > kMaxDescriptionBytes) return CorruptBody("description too long");
  ind.description = ToString(desc);
  ind.first_seen = in.getFirstSeen();
  ind.last_seen = in.getLastSeen();
  ind.valid_until = in.getValidUntil();
  ind.revoked = in.getRevoked();
  auto reason = in.getRevokeReason();
  if (reason.size() > kMaxRevokeReasonBytes) return CorruptBody("revoke reason too long");
  ind.revoke_reason = ToString(reason);

  auto valid = ValidateIndicator(ind);
  if (!valid.ok()) return CorruptBody(valid.status().message());
  if (valid->value != ind.value) {
    return CorruptBody("value is not in normalized form");
  }
  if (*valid != ind) return CorruptBody("tags are not sorted and unique");
  return body;
}

template <size_t N>
bool CopyFixed(capnp::Data::Reader d, std::array<uint8_t, N>* out) {
  if (d.size() != N) return false;
  std::copy(d.begin(), d.end(), out->begin());
  return true;
}

}  // namespace

std::vector<uint8_t> EncodeRecordBody(const RecordBody& body) {
  capnp::MallocMessageBuilder message;
  auto b = message.initRoot<wire::RecordBody>();
  b.setOrigin(capnp::Data::Reader(body.origin.data(), body.origin.size()));
  b.setOriginSeq(body.origin_seq);
  b.setRevision(body.revision);
  b.setCreated(body.created);
  b.setVariant(body.variant);
  b.setCreatedMillis(body.created_millis);
  const Indicator& ind = body.indicator;
  auto i = b.initIndicator();
  i.setType(static_cast<wire::IndicatorType>(ind.type));
  // Empty texts and lists are left as null pointers, always, so that one
  // body has one encoding (the decoder re-encodes and compares).
  if (!ind.value.empty()) i.setValue(AsText(ind.value));
  i.setTlp(static_cast<wire::Tlp>(ind.tlp));
  i.setConfidence(ind.confidence);
  std::vector<std::string> tags = ind.tags;
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  if (!tags.empty()) {
    auto list = i.initTags(static_cast<unsigned>(tags.size()));
    for (unsigned k = 0; k < tags.size(); ++k) list.set(k, AsText(tags[k]));
  }
  if (!ind.description.empty()) i.setDescription(AsText(ind.description));
  i.setFirstSeen(ind.first_seen);
  i.setLastSeen(ind.last_seen);
  i.setValidUntil(ind.valid_until);
  i.setReshare(static_cast<wire::Reshare>(ind.reshare));
  i.setRevoked(ind.revoked);
  if (!ind.revoke_reason.empty()) i.setRevokeReason(AsText(ind.revoke_reason));

  kj::Array<capnp::word> canonical =
      capnp::AnyStruct::Reader(b.asReader()).canonicalize();
  auto bytes = canonical.asBytes();
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

namespace {

// What DecodeRecordBody and DecodeStoredRecordBody share: limits, a
// well-formed message and valid fields; with `canonical`, the byte
// identity the signatures need too.
Result<RecordBody> Decode(std::span<const uint8_t> bytes, bool canonical) {
  if (bytes.empty()) return CorruptBody("empty");
  if (bytes.size() > kMaxRecordBodyBytes) {
    return CorruptBody(std::to_string(bytes.size()) + " bytes, limit " +
                       std::to_string(kMaxRecordBodyBytes));
  }
  if (bytes.size() % sizeof(capnp::word) != 0) {
    return CorruptBody("length " + std::to_string(bytes.size()) +
                       " is not a multiple of 8");
  }
  kj::Array<capnp::word> words = CopyToWords(bytes);
  Result<RecordBody> body = CorruptBody("unreachable");
  // Cap'n Proto reports malformed pointers by throwing; at this boundary
  // that is expected bad input, so it becomes a Status.
  try {
    kj::ArrayPtr<const capnp::word> segment = words.asPtr();
    capnp::SegmentArrayMessageReader message(kj::arrayPtr(&segment, 1),
                                             RecordReaderOptions());
    if (canonical && !message.isCanonical()) {
      return CorruptBody("not in canonical encoding");
    }
    body = ReadBody(message.getRoot<wire::RecordBody>());
  } catch (const kj::Exception& e) {
    return CorruptBody(std::string("malformed: ") + e.getDescription().cStr());
  }
  if (!body.ok() || !canonical) return body;
  // Unknown fields (a newer schema) or any other second spelling of the
  // same content would pass isCanonical(); signatures must cover exactly
  // one byte string per body, so require byte identity.
  const std::vector<uint8_t> again = EncodeRecordBody(*body);
  if (!std::equal(again.begin(), again.end(), bytes.begin(), bytes.end())) {
    return CorruptBody("not the canonical encoding of its content");
  }
  return body;
}

}  // namespace

Result<RecordBody> DecodeRecordBody(std::span<const uint8_t> bytes) {
  return Decode(bytes, /*canonical=*/true);
}

Result<RecordBody> DecodeStoredRecordBody(std::span<const uint8_t> bytes) {
  return Decode(bytes, /*canonical=*/false);
}

IndicatorId ComputeIndicatorId(const PublicKey& origin, IndicatorType type,
                               std::string_view normalized_value) {
  crypto_generichash_state state;
  IndicatorId id{};
  const uint8_t code = static_cast<uint8_t>(type);
  crypto_generichash_init(&state, nullptr, 0, id.size());
  crypto_generichash_update(&state, origin.data(), origin.size());
  crypto_generichash_update(&state, &code, 1);
  crypto_generichash_update(
      &state, reinterpret_cast<const unsigned char*>(normalized_value.data()),
      normalized_value.size());
  crypto_generichash_final(&state, id.data(), id.size());
  return id;
}

std::string IdToHex(const IndicatorId& id) {
  std::string out(id.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), id.data(), id.size());
  out.pop_back();
  return out;
}

std::optional<IndicatorId> IdFromHex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  IndicatorId id{};
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(id.data(), id.size(), hex.data(), hex.size(), nullptr,
                     &len, &end) != 0 ||
      len != id.size() || end != hex.data() + hex.size()) {
    return std::nullopt;
  }
  return id;
}

void FillSignedRecord(const SignedRecord& record,
                      wire::SignedRecord::Builder b) {
  b.setBody(capnp::Data::Reader(record.body.data(), record.body.size()));
  if (const auto* sig = std::get_if<std::array<uint8_t, 64>>(&record.signature)) {
    b.setSingle(capnp::Data::Reader(sig->data(), sig->size()));
    return;
  }
  const auto& proof = std::get<BatchProofData>(record.signature);
  auto p = b.initBatch();
  p.setSalt(capnp::Data::Reader(proof.salt.data(), proof.salt.size()));
  p.setLeafIndex(proof.leaf_index);
  p.setTreeSize(proof.tree_size);
  auto path = p.initPath(static_cast<unsigned>(proof.path.size()));
  for (unsigned k = 0; k < proof.path.size(); ++k) {
    path.set(k, capnp::Data::Reader(proof.path[k].data(), proof.path[k].size()));
  }
  p.setRootSignature(capnp::Data::Reader(proof.root_signature.data(),
                                         proof.root_signature.size()));
}

Result<SignedRecord> ReadSignedRecord(wire::SignedRecord::Reader r) {
  try {
    SignedRecord out;
    auto body = r.getBody();
    if (body.size() == 0) return Corrupt("signed record: empty body");
    if (body.size() > kMaxRecordBodyBytes) {
      return Corrupt("signed record: body of " + std::to_string(body.size()) +
                     " bytes, limit " + std::to_string(kMaxRecordBodyBytes));
    }
    out.body.assign(body.begin(), body.end());
    switch (r.which()) {
      case wire::SignedRecord::SINGLE: {
        std::array<uint8_t, 64> sig{};
        if (!CopyFixed(r.getSingle(), &sig)) {
          return Corrupt("signed record: signature is not 64 bytes");
        }
        out.signature = sig;
        return out;
      }
      case wire::SignedRecord::BATCH: {
        auto p = r.getBatch();
        BatchProofData proof;
        if (!CopyFixed(p.getSalt(), &proof.salt)) {
          return Corrupt("signed record: batch salt is not 32 bytes");
        }
        proof.leaf_index = p.getLeafIndex();
        proof.tree_size = p.getTreeSize();
        if (proof.tree_size == 0 || proof.leaf_index >= proof.tree_size) {
          return Corrupt("signed record: batch leaf index " +
                         std::to_string(proof.leaf_index) +
                         " outside tree of size " +
                         std::to_string(proof.tree_size));
        }
        auto path = p.getPath();
        if (path.size() > kMaxBatchPathEntries) {
          return Corrupt("signed record: batch path has " +
                         std::to_string(path.size()) + " entries, limit " +
                         std::to_string(kMaxBatchPathEntries));
        }
        for (auto h : path) {
          std::array<uint8_t, 32> hash{};
          if (!CopyFixed(h, &hash)) {
            return Corrupt("signed record: batch path entry is not 32 bytes");
          }
          proof.path.push_back(hash);
        }
        if (!CopyFixed(p.getRootSignature(), &proof.root_signature)) {
          return Corrupt("signed record: batch root signature is not 64 bytes");
        }
        out.signature = std::move(proof);
        return out;
      }
    }
    return Corrupt("signed record: unknown signature kind " +
                   std::to_string(static_cast<int>(r.which())));
  } catch (const kj::Exception& e) {
    return Corrupt(std::string("signed record: malformed: ") +
                   e.getDescription().cStr());
  }
}

std::vector<uint8_t> EncodeSignedRecord(const SignedRecord& record) {
  capnp::MallocMessageBuilder message;
  FillSignedRecord(record, message.initRoot<wire::SignedRecord>());
  kj::Array<capnp::word> flat = capnp::messageToFlatArray(message);
  auto bytes = flat.asBytes();
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

Status CheckSignedRecordLimits(const SignedRecord& record) {
  if (record.body.empty()) return Corrupt("signed record: empty body");
  if (record.body.size() > kMaxRecordBodyBytes) {
    return Corrupt("signed record: body of " +
                   std::to_string(record.body.size()) + " bytes, limit " +
                   std::to_string(kMaxRecordBodyBytes));
  }
  const auto* proof = std::get_if<BatchProofData>(&record.signature);
  if (proof == nullptr) return Status::Ok();
  if (proof->tree_size == 0 || proof->leaf_index >= proof->tree_size) {
    return Corrupt("signed record: batch leaf index " +
                   std::to_string(proof->leaf_index) +
                   " outside tree of size " + std::to_string(proof->tree_size));
  }
  if (proof->path.size() > kMaxBatchPathEntries) {
    return Corrupt("signed record: batch path has " +
                   std::to_string(proof->path.size()) + " entries, limit " +
                   std::to_string(kMaxBatchPathEntries));
  }
  return Status::Ok();
}

Result<SignedRecord> DecodeSignedRecord(std::span<const uint8_t> bytes) {
  // Body limit plus a proof of 64 path entries plus headers.
  constexpr size_t kMaxBytes = kMaxRecordBodyBytes + 8 * 1024;
  if (bytes.empty()) return Corrupt("signed record: empty");
  if (bytes.size() > kMaxBytes) {
    return Corrupt("signed record: " + std::to_string(bytes.size()) +
                   " bytes, limit " + std::to_string(kMaxBytes));
  }
  if (bytes.size() % sizeof(capnp::word) != 0) {
    return Corrupt("signed record: length is not a multiple of 8");
  }
  kj::Array<capnp::word> words = CopyToWords(bytes);
  try {
    capnp::FlatArrayMessageReader message(words.asPtr(), RecordReaderOptions());
    if (message.getEnd() != words.end()) {
      return Corrupt("signed record: trailing bytes after the message");
    }
    return ReadSignedRecord(message.getRoot<wire::SignedRecord>());
  } catch (const kj::Exception& e) {
    return Corrupt(std::string("signed record: malformed: ") +
                   e.getDescription().cStr());
  }
}

}  // namespace caravan::protocol
