#include "daemon/sync/compromise_notice.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "crypto/sodium_init.h"
#include "daemon/link/frame_codec.h"

namespace caravan::daemon::sync {
namespace {

// sizeof includes the NUL: domain separation from every other signature
// an identity key makes (records, batches, prekeys, link certificates).
constexpr char kPrefix[] = "caravan/1 compromise notice";

void PutI64(std::vector<uint8_t>& out, int64_t value) {
  const auto v = static_cast<uint64_t>(value);
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<uint8_t>(v >> shift));
  }
}

std::vector<uint8_t> SignedMessage(const CompromiseNotice& n) {
  std::vector<uint8_t> m(kPrefix, kPrefix + sizeof kPrefix);
  m.insert(m.end(), n.issuer.begin(), n.issuer.end());
  m.insert(m.end(), n.compromised.begin(), n.compromised.end());
  PutI64(m, n.since);
  PutI64(m, n.issued_at);
  return m;
}

template <size_t N>
bool CopyFixed(capnp::Data::Reader data, std::array<uint8_t, N>& out) {
  if (data.size() != N) return false;
  std::copy(data.begin(), data.end(), out.begin());
  return true;
}

NoticeCheck Refuse(NoticeRefusal r, std::string reason) {
  NoticeCheck c;
  c.refusal = r;
  c.reason = std::move(reason);
  return c;
}

}  // namespace

CompromiseNotice SignCompromiseNotice(const crypto::IdentityKey& issuer,
                                      const protocol::PublicKey& compromised,
                                      int64_t since, int64_t issued_at) {
  CompromiseNotice n;
  n.issuer = issuer.public_key();
  n.compromised = compromised;
  n.since = since;
  n.issued_at = issued_at;
  n.signature = issuer.SignRaw(SignedMessage(n));
  return n;
}

std::array<uint8_t, 32> NoticeDigest(const CompromiseNotice& n) {
  crypto::EnsureSodium();
  std::vector<uint8_t> m = SignedMessage(n);
  m.insert(m.end(), n.signature.begin(), n.signature.end());
  std::array<uint8_t, 32> out{};
  crypto_generichash(out.data(), out.size(), m.data(), m.size(), nullptr, 0);
  return out;
}

void FillCompromiseNotice(const CompromiseNotice& n,
                          protocol::wire::CompromiseNotice::Builder out) {
  out.setIssuerKey(kj::arrayPtr(n.issuer.data(), n.issuer.size()));
  out.setCompromisedKey(
      kj::arrayPtr(n.compromised.data(), n.compromised.size()));
  out.setSince(n.since);
  out.setIssuedAt(n.issued_at);
  out.setSignature(kj::arrayPtr(n.signature.data(), n.signature.size()));
}

Result<CompromiseNotice> ReadCompromiseNotice(
    protocol::wire::CompromiseNotice::Reader in) {
  CompromiseNotice n;
  if (!CopyFixed(in.getIssuerKey(), n.issuer)) {
    return InvalidInput("compromise notice: issuer key must be 32 bytes");
  }
  if (!CopyFixed(in.getCompromisedKey(), n.compromised)) {
    return InvalidInput("compromise notice: compromised key must be 32 bytes");
  }
  if (!CopyFixed(in.getSignature(), n.signature)) {
    return InvalidInput("compromise notice: signature must be 64 bytes");
  }
  n.since = in.getSince();
  n.issued_at = in.getIssuedAt();
  if (n.since < 0 || n.issued_at < 0) {
    return InvalidInput("compromise notice: times must not be before 1970");
  }
  // Written so nothing overflows: both are >= 0 here.
  if (n.since - kNoticeClockSkewSeconds > n.issued_at) {
    return InvalidInput("compromise notice: since " + std::to_string(n.since) +
                        " is after its issue time " +
                        std::to_string(n.issued_at));
  }
  return n;
}

std::vector<uint8_t> EncodeCompromiseNotice(const CompromiseNotice& n) {
  capnp::MallocMessageBuilder message;
  FillCompromiseNotice(n, message.initRoot<protocol::wire::CompromiseNotice>());
  kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  return {bytes.begin(), bytes.end()};
}

Result<CompromiseNotice> DecodeCompromiseNotice(
    std::span<const uint8_t> bytes) {
  if (bytes.size() > kMaxCompromiseNoticeBytes) {
    return InvalidInput("compromise notice larger than " +
                        std::to_string(kMaxCompromiseNoticeBytes) + " bytes");
  }
  if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0) {
    return InvalidInput(
        "compromise notice is not a whole number of 8-byte words");
  }
  std::vector<capnp::word> words(bytes.size() / sizeof(capnp::word));
  std::memcpy(words.data(), bytes.data(), bytes.size());
  try {
    capnp::FlatArrayMessageReader reader(
        kj::arrayPtr(words.data(), words.size()),
        link::PeerReaderOptions(kMaxCompromiseNoticeBytes));
    return ReadCompromiseNotice(
        reader.getRoot<protocol::wire::CompromiseNotice>());
  } catch (const kj::Exception& e) {
    return InvalidInput(std::string("compromise notice unreadable: ") +
                        e.getDescription().cStr());
  }
}

std::string_view NoticeRefusalName(NoticeRefusal r) {
  switch (r) {
    case NoticeRefusal::kMalformed: return "malformed";
    case NoticeRefusal::kUnknownIssuer: return "unknown_issuer";
    case NoticeRefusal::kBadSignature: return "bad_signature";
    case NoticeRefusal::kUnknownKey: return "unknown_key";
    case NoticeRefusal::kInFuture: return "in_future";
    case NoticeRefusal::kReplayed: return "replayed";
  }
  return "malformed";
}

NoticeCheck CheckCompromiseNotice(const CompromiseNotice& n,
                                  const RosterIndex& roster, int64_t now) {
  const protocol::RosterMember* issuer = roster.Find(n.issuer);
  if (issuer == nullptr) {
    return Refuse(NoticeRefusal::kUnknownIssuer,
                  "compromise notice from a key that is not in the roster");
  }
  crypto::EnsureSodium();
  const std::vector<uint8_t> m = SignedMessage(n);
  if (crypto_sign_verify_detached(n.signature.data(), m.data(), m.size(),
                                  n.issuer.data()) != 0) {
    return Refuse(NoticeRefusal::kBadSignature,
                  "compromise notice said to be from " + issuer->name +
                      " is not signed by its identity key");
  }
  const protocol::RosterMember* compromised = roster.Find(n.compromised);
  if (compromised == nullptr && roster.chains().RetiredBy(n.compromised) != nullptr &&
      roster.chains().CurrentKey(n.compromised) == n.issuer) {
    // The victim, after rotating, about a key it rotated away from: the
    // issuer is that key's successor in the chain we hold (key
    // compromised --since, docs/federation.md "Compromise").
    compromised = issuer;
  }
  if (compromised == nullptr) {
    return Refuse(NoticeRefusal::kUnknownKey,
                  "compromise notice from " + issuer->name +
                      " names a key that is not in the roster");
  }
  if (n.since > now + kNoticeClockSkewSeconds ||
      n.issued_at > now + kNoticeClockSkewSeconds) {
    return Refuse(NoticeRefusal::kInFuture,
                  "compromise notice from " + issuer->name +
                      " is dated in our future (since " +
                      std::to_string(n.since) + ", issued " +
                      std::to_string(n.issued_at) + ", now " +
                      std::to_string(now) + ")");
  }
  NoticeCheck c;
  c.issuer = issuer;
  c.compromised = compromised;
  return c;
}

}  // namespace caravan::daemon::sync
