#include "daemon/sync/hub_envelope.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "crypto/identity_x25519.h"
#include "crypto/seal.h"
#include "crypto/sealed_batch_signature.h"
#include "crypto/sodium_init.h"
#include "daemon/link/frame_codec.h"
#include "daemon/sync/prekey_keyring.h"
#include "daemon/sync/prekey_statement.h"
#include "protocol/peer.capnp.h"

namespace caravan::daemon::sync {
namespace {

constexpr size_t kSignatureBytes = 64;
constexpr size_t kMaxSenderName = 64;
constexpr size_t kMaxInner = 4096;
constexpr size_t kInnerLengthBytes = 4;
// seal.h's fixed bytes around header and plaintext: version, header
// length, recipient count, one recipient entry, nonce, tag.
constexpr size_t kSealOverhead = 1 + 4 + 2 + (8 + 80) + 24 + 16;

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

// The sealing time stated inside an envelope (SealedInner.sealedAtMs):
// this host's wall clock, Unix ms.
int64_t SealingTimeMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
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

bool CopyHash(capnp::Data::Reader data, ChainHash& out) {
  if (data.size() != out.size()) return false;
  std::copy(data.begin(), data.end(), out.begin());
  return true;
}

void PutU32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<uint8_t>(v >> shift));
  }
}

// signature || u32be(len(inner)) || inner || batch || padding, signed over
// the header and the signed part (everything from the length to the
// padding), sealed to the header's recipient.
Result<std::vector<uint8_t>> SealPlaintext(const SealedHeaderInfo& header,
                                           const SealedInnerInfo& inner,
                                           std::span<const uint8_t> batch,
                                           const crypto::IdentityKey& sender,
                                           size_t max_bytes,
                                           const std::string& what,
                                           const crypto::X25519PublicKey* prekey) {
  if (sender.public_key() != header.sender_key) {
    return InvalidInput("sealed header names another sender than the signer");
  }
  if (header.format_version != kSealedFormat) {
    return InvalidInput("sealed header must be format 2");
  }
  uint64_t prekey_id = 0;
  if ((prekey != nullptr) !=
      ParsePrekeyKeyId(header.recipient_key_id, prekey_id)) {
    return InvalidInput("sealed header's recipient key id must name the "
                        "prekey sealed to (and be empty without one)");
  }
  Result<crypto::X25519PublicKey> x =
      prekey != nullptr ? Result<crypto::X25519PublicKey>(*prekey)
                        : RecipientX25519(header.recipient_key);
  if (!x.ok()) return x.status();
  const std::vector<uint8_t> inner_bytes = EncodeSealedInner(inner);
  std::vector<uint8_t> signed_part;
  signed_part.reserve(kInnerLengthBytes + inner_bytes.size() + batch.size());
  PutU32(signed_part, static_cast<uint32_t>(inner_bytes.size()));
  signed_part.insert(signed_part.end(), inner_bytes.begin(), inner_bytes.end());
  signed_part.insert(signed_part.end(), batch.begin(), batch.end());
  const std::vector<uint8_t> header_bytes = EncodeSealedHeader(header);
  const auto sig = crypto::SignSealedBatch(sender, header_bytes, signed_part);
  const size_t unpadded = kSignatureBytes + signed_part.size();
  const size_t overhead = kSealOverhead + header_bytes.size();
  const size_t max_plaintext =
      std::min(crypto::kMaxSealPlaintext,
               max_bytes > overhead ? max_bytes - overhead : size_t{0});
  const size_t padded = PaddedPlaintextSize(unpadded, max_plaintext);
  if (padded == 0) {
    return InvalidInput("sealed " + what + " exceeds the envelope limit of " +
                        std::to_string(max_bytes) + " bytes");
  }
  std::vector<uint8_t> plaintext(padded, 0);
  std::copy(sig.begin(), sig.end(), plaintext.begin());
  std::copy(signed_part.begin(), signed_part.end(),
            plaintext.begin() + kSignatureBytes);
  size_t padded_len = 0;
  if (sodium_pad(&padded_len, plaintext.data(), unpadded, padded, padded) !=
          0 ||
      padded_len != padded) {
    return InvalidInput("sealed " + what + " could not be padded");
  }
  auto envelope = crypto::Seal(header_bytes, plaintext, {*x});
  if (!envelope || envelope->size() > max_bytes) {
    return InvalidInput("sealed " + what + " exceeds the envelope limit of " +
                        std::to_string(max_bytes) + " bytes");
  }
  return std::move(*envelope);
}


}  // namespace

store::HubEnvelopeId NewEnvelopeId() {
  crypto::EnsureSodium();
  store::HubEnvelopeId id{};
  randombytes_buf(id.data(), id.size());
  return id;
}

ChainHash EnvelopeHash(std::span<const uint8_t> envelope) {
  crypto::EnsureSodium();
  ChainHash out{};
  crypto_generichash(out.data(), out.size(), envelope.data(), envelope.size(),
                     nullptr, 0);
  return out;
}

std::vector<uint8_t> EncodeSealedInner(const SealedInnerInfo& inner) {
  capnp::MallocMessageBuilder message;
  auto b = message.initRoot<protocol::wire::SealedInner>();
  b.setPairSeq(inner.link.pair_seq);
  b.setPrevHash(kj::arrayPtr(inner.link.prev_hash.data(),
                             inner.link.prev_hash.size()));
  b.setSealedAtMs(inner.sealed_at_ms);
  if (!inner.notices.empty()) {
    auto list =
        b.initNotices(static_cast<unsigned>(inner.notices.size()));
    for (unsigned i = 0; i < inner.notices.size(); ++i) {
      FillCompromiseNotice(inner.notices[i], list[i]);
    }
  }
  if (inner.restart) {
    const SealedRestartInfo& r = *inner.restart;
    auto rb = b.initRestart();
    rb.setNextSeq(r.next_seq);
    rb.setPrevHash(kj::arrayPtr(r.prev_hash.data(), r.prev_hash.size()));
    rb.setLostFrom(r.lost_from);
    rb.setReason(r.reason.substr(0, kMaxReceiptReason));
  }
  if (inner.receipt) {
    const SealedReceiptInfo& r = *inner.receipt;
    auto rb = b.initReceipt();
    rb.setCommittedSeq(r.committed_seq);
    rb.setCommittedHash(
        kj::arrayPtr(r.committed_hash.data(), r.committed_hash.size()));
    rb.setResendFrom(r.resend_from);
    if (r.refused_envelope) {
      rb.setRefusedEnvelope(kj::arrayPtr(r.refused_envelope->data(),
                                         r.refused_envelope->size()));
      const std::string reason =
          r.refused_reason.substr(0, kMaxReceiptReason);
      rb.setRefusedReason(reason);
    }
  }
  return Flat(message);
}

Result<SealedInnerInfo> DecodeSealedInner(std::span<const uint8_t> bytes) {
  if (bytes.size() > kMaxInner) {
    return InvalidInput("sealed inner header larger than " +
                        std::to_string(kMaxInner) + " bytes");
  }
  auto words = Words(bytes, "sealed inner header");
  if (!words.ok()) return words.status();
  SealedInnerInfo out;
  try {
    capnp::FlatArrayMessageReader reader(
        kj::arrayPtr(words->data(), words->size()),
        link::PeerReaderOptions(kMaxInner));
    auto r = reader.getRoot<protocol::wire::SealedInner>();
    out.link.pair_seq = r.getPairSeq();
    if (!CopyHash(r.getPrevHash(), out.link.prev_hash)) {
      return InvalidInput("sealed inner header: prevHash must be 32 bytes");
    }
    out.sealed_at_ms = r.getSealedAtMs();
    if (out.sealed_at_ms < 0) {
      return InvalidInput("sealed inner header: sealedAtMs " +
                          std::to_string(out.sealed_at_ms) +
                          " is before 1970");
    }
    if (r.hasNotices()) {
      auto list = r.getNotices();
      if (out.link.pair_seq == 0 || r.hasReceipt() || r.hasRestart()) {
        return InvalidInput("sealed inner header: compromise notices ride "
                            "only in a batch (pairSeq >= 1)");
      }
      if (list.size() > kMaxSealedNotices) {
        return InvalidInput("sealed inner header: " +
                            std::to_string(list.size()) +
                            " compromise notices, more than the " +
                            std::to_string(kMaxSealedNotices) + " allowed");
      }
      for (auto n : list) {
        auto notice = ReadCompromiseNotice(n);
        if (!notice.ok()) {
          return InvalidInput("sealed inner header: compromise notice " +
                              std::to_string(out.notices.size() + 1) + ": " +
                              notice.status().message());
        }
        out.notices.push_back(*notice);
      }
    }
    if (r.hasRestart()) {
      if (out.link.pair_seq != 0 || r.hasReceipt()) {
        return InvalidInput("sealed inner header: a chain restart has "
                            "pairSeq 0 and no receipt");
      }
      auto rr = r.getRestart();
      SealedRestartInfo restart;
      restart.next_seq = rr.getNextSeq();
      restart.lost_from = rr.getLostFrom();
      if (restart.next_seq < 2 || restart.lost_from == 0 ||
          restart.lost_from >= restart.next_seq) {
        return InvalidInput("sealed chain restart: needs 1 <= lostFrom (" +
                            std::to_string(restart.lost_from) +
                            ") < nextSeq (" +
                            std::to_string(restart.next_seq) + ")");
      }
      if (!CopyHash(rr.getPrevHash(), restart.prev_hash)) {
        return InvalidInput("sealed chain restart: prevHash must be 32 bytes");
      }
      auto reason = rr.getReason();
      if (reason.size() == 0 || reason.size() > kMaxReceiptReason) {
        return InvalidInput("sealed chain restart: reason must be 1..512 "
                            "bytes");
      }
      restart.reason.assign(reason.begin(), reason.end());
      out.restart = std::move(restart);
      return out;
    }
    if (r.hasReceipt()) {
      if (out.link.pair_seq != 0) {
        return InvalidInput("sealed inner header: a receipt has pairSeq 0, "
                            "not " + std::to_string(out.link.pair_seq));
      }
      auto rr = r.getReceipt();
      SealedReceiptInfo receipt;
      receipt.committed_seq = rr.getCommittedSeq();
      if (!CopyHash(rr.getCommittedHash(), receipt.committed_hash)) {
        return InvalidInput("sealed receipt: committedHash must be 32 bytes");
      }
      receipt.resend_from = rr.getResendFrom();
      if (receipt.resend_from != 0 &&
          receipt.resend_from != receipt.committed_seq + 1) {
        return InvalidInput("sealed receipt: resendFrom " +
                            std::to_string(receipt.resend_from) +
                            " is not the pair seq after committedSeq " +
                            std::to_string(receipt.committed_seq));
      }
      if (rr.hasRefusedEnvelope()) {
        auto id = rr.getRefusedEnvelope();
        store::HubEnvelopeId refused{};
        if (id.size() != refused.size()) {
          return InvalidInput("sealed receipt: refusedEnvelope must be 16 "
                              "bytes");
        }
        std::copy(id.begin(), id.end(), refused.begin());
        receipt.refused_envelope = refused;
        auto reason = rr.getRefusedReason();
        if (reason.size() == 0 || reason.size() > kMaxReceiptReason) {
          return InvalidInput("sealed receipt: refusedReason must be 1..512 "
                              "bytes");
        }
        receipt.refused_reason.assign(reason.begin(), reason.end());
      } else if (rr.hasRefusedReason()) {
        return InvalidInput("sealed receipt: refusedReason without "
                            "refusedEnvelope");
      }
      out.receipt = std::move(receipt);
    } else if (out.link.pair_seq == 0) {
      return InvalidInput("sealed inner header: a batch needs pairSeq >= 1");
    }
  } catch (const kj::Exception& e) {
    return InvalidInput(std::string("sealed inner header unreadable: ") +
                        e.getDescription().cStr());
  }
  return out;
}

size_t PaddedPlaintextSize(size_t unpadded, size_t max_plaintext) {
  // ISO/IEC 7816-4 padding adds at least one byte: a class is always
  // larger than the unpadded size.
  size_t bucket = kSealedPadFloor;
  while (bucket <= unpadded && bucket < kSealedPadLargeStep) bucket *= 2;
  if (bucket <= unpadded) {
    // Above 64 KiB: the doubling (power, 2 * power] that holds the size,
    // cut into equal classes (each a multiple of 64 KiB, and 2 * power is
    // one of them, so the class stays within the doubling).
    size_t power = kSealedPadLargeStep;
    while (power <= unpadded / 2) power *= 2;
    const size_t step = std::max(kSealedPadLargeStep,
                                 power / kSealedPadClassesPerDoubling);
    bucket = (unpadded / step + 1) * step;
  }
  if (bucket <= max_plaintext) return bucket;
  const size_t step =
      (unpadded / kSealedPadLargeStep + 1) * kSealedPadLargeStep;
  return step <= max_plaintext ? step : 0;
}

// Every class PaddedPlaintextSize makes (and every one older senders
// made: powers of two, multiples of 64 KiB) passes; the finer classes
// above 64 KiB are multiples of 64 KiB, so this check did not change.
bool IsSealedSizeClass(size_t padded) {
  if (padded < kSealedPadFloor || padded > crypto::kMaxSealPlaintext) {
    return false;
  }
  const bool power_of_two = (padded & (padded - 1)) == 0;
  return power_of_two || padded % kSealedPadLargeStep == 0;
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
  b.setFormatVersion(h.format_version);
  if (!h.recipient_key_id.empty()) {
    b.setRecipientKeyId(
        kj::arrayPtr(h.recipient_key_id.data(), h.recipient_key_id.size()));
  }
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
    h.format_version = r.getFormatVersion();
    auto key_id = r.getRecipientKeyId();
    if (key_id.size() > 64) {
      return InvalidInput("sealed header: recipient key id longer than 64 "
                          "bytes");
    }
    h.recipient_key_id.assign(key_id.begin(), key_id.end());
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

Result<std::vector<uint8_t>> EncodeSealedBatch(
    const SealedHeaderInfo& header,
    const std::vector<std::pair<uint64_t, protocol::SignedRecord>>& entries) {
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
  return Flat(message);
}

Result<std::vector<uint8_t>> SealEncodedBatch(
    const SealedHeaderInfo& header, const ChainLink& link,
    std::span<const uint8_t> batch, const crypto::IdentityKey& sender,
    size_t max_bytes, const crypto::X25519PublicKey* prekey,
    std::span<const CompromiseNotice> notices) {
  if (link.pair_seq == 0) {
    return InvalidInput("a sealed batch's pair seq starts at 1");
  }
  if (notices.size() > kMaxSealedNotices) {
    return InvalidInput("a sealed batch carries at most " +
                        std::to_string(kMaxSealedNotices) +
                        " compromise notices");
  }
  const SealedInnerInfo inner{link, std::nullopt, std::nullopt,
                              SealingTimeMs(),
                              {notices.begin(), notices.end()}};
  return SealPlaintext(header, inner, batch, sender, max_bytes,
                       "batch of " + std::to_string(batch.size()) + " bytes",
                       prekey);
}

Result<std::vector<uint8_t>> SealBatch(
    const SealedHeaderInfo& header, const ChainLink& link,
    const std::vector<std::pair<uint64_t, protocol::SignedRecord>>& entries,
    const crypto::IdentityKey& sender, size_t max_bytes,
    const crypto::X25519PublicKey* prekey) {
  auto batch = EncodeSealedBatch(header, entries);
  if (!batch.ok()) return batch.status();
  auto sealed =
      SealEncodedBatch(header, link, *batch, sender, max_bytes, prekey);
  if (!sealed.ok() && entries.size() > 0) {
    return InvalidInput(std::string(sealed.status().message()) + " (" +
                        std::to_string(entries.size()) + " records)");
  }
  return sealed;
}

Result<std::vector<uint8_t>> SealReceipt(const SealedHeaderInfo& header,
                                         const SealedReceiptInfo& receipt,
                                         const crypto::IdentityKey& sender,
                                         size_t max_bytes) {
  if (header.first_seq != 0 || header.up_to_seq != 0) {
    return InvalidInput("a sealed receipt decides no log range");
  }
  const SealedInnerInfo inner{ChainLink{}, receipt, std::nullopt,
                              SealingTimeMs(), {}};
  return SealPlaintext(header, inner, {}, sender, max_bytes, "receipt",
                       nullptr);
}

Result<std::vector<uint8_t>> SealRestart(const SealedHeaderInfo& header,
                                         const SealedRestartInfo& restart,
                                         const crypto::IdentityKey& sender,
                                         size_t max_bytes) {
  if (header.first_seq != 0 || header.up_to_seq != 0) {
    return InvalidInput("a sealed chain restart decides no log range");
  }
  const SealedInnerInfo inner{ChainLink{}, std::nullopt, restart,
                              SealingTimeMs(), {}};
  // What the recipient would refuse is refused here, by the same check.
  auto checked = DecodeSealedInner(EncodeSealedInner(inner));
  if (!checked.ok()) return checked.status();
  return SealPlaintext(header, inner, {}, sender, max_bytes, "chain restart",
                       nullptr);
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
  if (!header->recipient_key_id.empty()) {
    uint64_t prekey_id = 0;
    if (!ParsePrekeyKeyId(header->recipient_key_id, prekey_id)) {
      return InvalidInput("sealed header: recipient key id must be 8 bytes "
                          "naming a prekey id >= 1");
    }
    return header;
  }
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
                               size_t max_bytes,
                               const PrekeyKeyring* prekeys) {
  auto header = InspectSealed(envelope, max_bytes);
  if (!header.ok()) return header.status();
  if (header->recipient_key != my_identity) {
    return InvalidInput("sealed envelope is addressed to another member");
  }
  if (header->format_version != kSealedFormat) {
    return InvalidInput("sealed envelope has format " +
                        std::to_string(header->format_version) +
                        "; this node reads only format " +
                        std::to_string(kSealedFormat) +
                        " (chained); the sender must upgrade");
  }
  std::shared_ptr<const crypto::LinkKey> prekey;
  if (!header->recipient_key_id.empty()) {
    uint64_t prekey_id = 0;
    ParsePrekeyKeyId(header->recipient_key_id, prekey_id);  // InspectSealed
    if (prekeys != nullptr) prekey = prekeys->Find(prekey_id);
    if (prekey == nullptr) {
      return InvalidInput(std::string(kPrekeyUnknownReason) + " (id " +
                          std::to_string(prekey_id) +
                          ": expired and erased, or never ours); seal "
                          "again to our current prekey");
    }
    auto info = crypto::InspectEnvelope(envelope);
    if (!info ||
        info->recipients[0] != crypto::SealRecipientKeyId(prekey->public_key())) {
      return InvalidInput("sealed envelope names our prekey " +
                          std::to_string(prekey_id) +
                          " but is wrapped for another key");
    }
  }
  auto opened = crypto::Open(envelope, prekey != nullptr ? *prekey : me);
  if (!opened) {
    return InvalidInput("sealed envelope does not open (altered or not "
                        "sealed to our key)");
  }
  std::vector<uint8_t>& plain = opened->plaintext;
  if (!IsSealedSizeClass(plain.size())) {
    return InvalidInput("sealed plaintext of " + std::to_string(plain.size()) +
                        " bytes is not padded to a size class");
  }
  size_t unpadded = 0;
  if (sodium_unpad(&unpadded, plain.data(), plain.size(), plain.size()) != 0) {
    return InvalidInput("sealed plaintext padding is malformed");
  }
  if (unpadded < kSignatureBytes + kInnerLengthBytes) {
    return InvalidInput("sealed plaintext too short for signature and inner "
                        "header");
  }
  crypto::Ed25519Signature sig{};
  std::copy_n(plain.begin(), kSignatureBytes, sig.begin());
  std::span<const uint8_t> signed_part(plain.data() + kSignatureBytes,
                                       unpadded - kSignatureBytes);
  if (!crypto::VerifySealedBatch(header->sender_key, opened->header,
                                 signed_part, sig)) {
    return InvalidInput("sealed batch is not signed by the sender its header "
                        "names");
  }
  uint32_t inner_len = 0;
  for (size_t i = 0; i < kInnerLengthBytes; ++i) {
    inner_len = (inner_len << 8) | signed_part[i];
  }
  if (inner_len > signed_part.size() - kInnerLengthBytes) {
    return InvalidInput("sealed inner header length " +
                        std::to_string(inner_len) + " runs past the batch");
  }
  auto inner =
      DecodeSealedInner(signed_part.subspan(kInnerLengthBytes, inner_len));
  if (!inner.ok()) return inner.status();
  std::span<const uint8_t> batch =
      signed_part.subspan(kInnerLengthBytes + inner_len);
  OpenedBatch out;
  out.header = *header;
  out.hash = EnvelopeHash(envelope);
  out.inner = *inner;
  out.padding = plain.size() - unpadded;
  if (out.inner.receipt || out.inner.restart) {
    if (!batch.empty() || header->first_seq != 0 || header->up_to_seq != 0) {
      return InvalidInput(std::string("sealed ") +
                          (out.inner.receipt ? "receipt" : "chain restart") +
                          " carries a batch or a log range");
    }
    return out;
  }
  auto words = Words(batch, "sealed batch");
  if (!words.ok()) return words.status();
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
