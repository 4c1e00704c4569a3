#include "daemon/sync/hub_envelope.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "crypto/identity_x25519.h"
#include "crypto/seal.h"
#include "crypto/sealed_batch_signature.h"
#include "crypto/sodium_init.h"
#include "daemon/link/frame_codec.h"
#include "protocol/peer.capnp.h"

namespace caravan::daemon::sync {
namespace {

constexpr size_t kSignatureBytes = 64;
constexpr size_t kMaxSenderName = 64;

std::vector<uint8_t> Flat(capnp::MessageBuilder& message) {
  kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  return {bytes.begin(), bytes.end()};
}

// Cap'n Proto wants word-aligned input: copy into words (also bounds the
// size, which the caller checked).
Result<std::vector<capnp::word>> Words(std::span<const uint8_t> bytes,
                                       const char* what) {
  if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0) {
    return InvalidInput(std::string(what) +
                        " is not a whole number of 8-byte words");
  }
  std::vector<capnp::word> words(bytes.size() / sizeof(capnp::word));
  std::memcpy(words.data(), bytes.data(), bytes.size());
  return words;
}

bool CopyKey(capnp::Data::Reader data, protocol::PublicKey& out) {
  if (data.size() != out.size()) return false;
  std::copy(data.begin(), data.end(), out.begin());
  return true;
}

Result<crypto::X25519PublicKey> RecipientX25519(const protocol::PublicKey& k) {
  auto x = crypto::IdentityToX25519Public(k);
  if (!x) {
    return InvalidInput(
        "the recipient identity key is not a usable Ed25519 key");
  }
  return *x;
}

}  // namespace

store::HubEnvelopeId NewEnvelopeId() {
  crypto::EnsureSodium();
  store::HubEnvelopeId id{};
  randombytes_buf(id.data(), id.size());
  return id;
}

std::vector<uint8_t> EncodeSealedHeader(const SealedHeaderInfo& h) {
  capnp::MallocMessageBuilder message;
  auto b = message.initRoot<protocol::wire::SealedHeader>();
  b.setEnvelopeId(kj::arrayPtr(h.envelope_id.data(), h.envelope_id.size()));
  b.setSenderName(h.sender_name);
  b.setSenderKey(kj::arrayPtr(h.sender_key.data(), h.sender_key.size()));
  b.setRecipientKey(
      kj::arrayPtr(h.recipient_key.data(), h.recipient_key.size()));
  b.setFirstSeq(h.first_seq);
  b.setUpToSeq(h.up_to_seq);
  return Flat(message);
}

Result<SealedHeaderInfo> DecodeSealedHeader(std::span<const uint8_t> bytes) {
  if (bytes.size() > crypto::kMaxSealHeader) {
    return InvalidInput("sealed header larger than " +
                        std::to_string(crypto::kMaxSealHeader) + " bytes");
  }
  auto words = Words(bytes, "sealed header");
  if (!words.ok()) return words.status();
  SealedHeaderInfo h;
  try {
    capnp::FlatArrayMessageReader reader(
        kj::arrayPtr(words->data(), words->size()),
        link::PeerReaderOptions(crypto::kMaxSealHeader));
    auto r = reader.getRoot<protocol::wire::SealedHeader>();
    auto id = r.getEnvelopeId();
    if (id.size() != h.envelope_id.size()) {
      return InvalidInput("sealed header: envelope id must be 16 bytes");
    }
    std::copy(id.begin(), id.end(), h.envelope_id.begin());
    auto name = r.getSenderName();
    if (name.size() == 0 || name.size() > kMaxSenderName) {
      return InvalidInput("sealed header: sender name must be 1..64 bytes");
    }
    h.sender_name.assign(name.begin(), name.end());
    if (!CopyKey(r.getSenderKey(), h.sender_key)) {
      return InvalidInput("sealed header: sender key must be 32 bytes");
    }
    if (!CopyKey(r.getRecipientKey(), h.recipient_key)) {
      return InvalidInput("sealed header: recipient key must be 32 bytes");
    }
    h.first_seq = r.getFirstSeq();
    h.up_to_seq = r.getUpToSeq();
  } catch (const kj::Exception& e) {
    return InvalidInput(std::string("sealed header unreadable: ") +
                        e.getDescription().cStr());
  }
  if (h.first_seq > h.up_to_seq) {
    return InvalidInput("sealed header: firstSeq " +
                        std::to_string(h.first_seq) + " is above upToSeq " +
                        std::to_string(h.up_to_seq));
  }
  return h;
}

Result<std::vector<uint8_t>> SealBatch(
    const SealedHeaderInfo& header,
    const std::vector<std::pair<uint64_t, protocol::SignedRecord>>& entries,
    const crypto::IdentityKey& sender, size_t max_bytes) {
  if (sender.public_key() != header.sender_key) {
    return InvalidInput("sealed header names another sender than the signer");
  }
  auto x = RecipientX25519(header.recipient_key);
  if (!x.ok()) return x.status();
  capnp::MallocMessageBuilder message;
  auto records = message.initRoot<protocol::wire::Records>();
  auto list = records.initEntries(static_cast<unsigned>(entries.size()));
  for (unsigned i = 0; i < entries.size(); ++i) {
    const uint64_t seq = entries[i].first;
    if (seq < header.first_seq) {
      return InvalidInput("entry seq " + std::to_string(seq) +
                          " is below the sealed range");
    }
    list[i].setSenderSeq(seq);
    protocol::FillSignedRecord(entries[i].second, list[i].initRecord());
  }
  records.setUpToSeq(header.up_to_seq);
  const std::vector<uint8_t> batch = Flat(message);
  const std::vector<uint8_t> header_bytes = EncodeSealedHeader(header);
  const auto sig = crypto::SignSealedBatch(sender, header_bytes, batch);
  std::vector<uint8_t> plaintext(sig.begin(), sig.end());
  plaintext.insert(plaintext.end(), batch.begin(), batch.end());
  auto envelope = crypto::Seal(header_bytes, plaintext, {*x});
  if (!envelope || envelope->size() > max_bytes) {
    return InvalidInput("sealed batch of " + std::to_string(entries.size()) +
                        " records exceeds the envelope limit of " +
                        std::to_string(max_bytes) + " bytes");
  }
  return std::move(*envelope);
}

Result<SealedHeaderInfo> InspectSealed(std::span<const uint8_t> envelope,
                                       size_t max_bytes) {
  if (envelope.size() > max_bytes) {
    return InvalidInput("sealed envelope of " +
                        std::to_string(envelope.size()) +
                        " bytes exceeds the limit of " +
                        std::to_string(max_bytes));
  }
  auto info = crypto::InspectEnvelope(envelope);
  if (!info) return InvalidInput("sealed envelope is malformed");
  if (info->recipients.size() != 1) {
    return InvalidInput("sealed envelope must have exactly one recipient, "
                        "has " + std::to_string(info->recipients.size()));
  }
  auto header = DecodeSealedHeader(info->header);
  if (!header.ok()) return header.status();
  auto x = RecipientX25519(header->recipient_key);
  if (!x.ok()) return x.status();
  if (crypto::SealRecipientKeyId(*x) != info->recipients[0]) {
    return InvalidInput(
        "sealed envelope is not wrapped for the recipient its header names");
  }
  return header;
}

Result<OpenedBatch> OpenSealed(std::span<const uint8_t> envelope,
                               const crypto::LinkKey& me,
                               const protocol::PublicKey& my_identity,
                               size_t max_bytes) {
  auto header = InspectSealed(envelope, max_bytes);
  if (!header.ok()) return header.status();
  if (header->recipient_key != my_identity) {
    return InvalidInput("sealed envelope is addressed to another member");
  }
  auto opened = crypto::Open(envelope, me);
  if (!opened) {
    return InvalidInput("sealed envelope does not open (altered or not "
                        "sealed to our key)");
  }
  if (opened->plaintext.size() < kSignatureBytes) {
    return InvalidInput("sealed batch too short for the sender signature");
  }
  crypto::Ed25519Signature sig{};
  std::copy_n(opened->plaintext.begin(), kSignatureBytes, sig.begin());
  std::span<const uint8_t> batch(opened->plaintext.data() + kSignatureBytes,
                                 opened->plaintext.size() - kSignatureBytes);
  if (!crypto::VerifySealedBatch(header->sender_key, opened->header, batch,
                                 sig)) {
    return InvalidInput("sealed batch is not signed by the sender its header "
                        "names");
  }
  auto words = Words(batch, "sealed batch");
  if (!words.ok()) return words.status();
  OpenedBatch out;
  out.header = *header;
  try {
    capnp::FlatArrayMessageReader reader(
        kj::arrayPtr(words->data(), words->size()),
        link::PeerReaderOptions(max_bytes));
    auto records = reader.getRoot<protocol::wire::Records>();
    if (records.getUpToSeq() != header->up_to_seq) {
      return InvalidInput("sealed batch range does not match its header");
    }
    out.entries.reserve(records.getEntries().size());
    for (auto e : records.getEntries()) {
      const uint64_t seq = e.getSenderSeq();
      if (seq < header->first_seq) {
        return InvalidInput("sealed batch entry seq " + std::to_string(seq) +
                            " is below its header's range");
      }
      auto record = protocol::ReadSignedRecord(e.getRecord());
      if (!record.ok()) {
        return InvalidInput("sealed batch holds a malformed record: " +
                            record.status().message());
      }
      out.entries.push_back({seq, std::move(*record)});
    }
  } catch (const kj::Exception& e) {
    return InvalidInput(std::string("sealed batch unreadable: ") +
                        e.getDescription().cStr());
  }
  return out;
}

}  // namespace caravan::daemon::sync
