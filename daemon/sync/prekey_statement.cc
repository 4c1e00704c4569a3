#include "daemon/sync/prekey_statement.h"

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
// an identity key makes ("caravan/1 record\0", "caravan/1 sealed batch\0").
constexpr char kPrefix[] = "caravan/1 prekey";

void PutU64(std::vector<uint8_t>& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<uint8_t>(v >> shift));
  }
}

std::vector<uint8_t> SignedMessage(const PrekeyStatement& s) {
  std::vector<uint8_t> m(kPrefix, kPrefix + sizeof kPrefix);
  m.insert(m.end(), s.member_key.begin(), s.member_key.end());
  PutU64(m, s.prekey_id);
  m.insert(m.end(), s.prekey_public.begin(), s.prekey_public.end());
  PutU64(m, static_cast<uint64_t>(s.not_before));
  PutU64(m, static_cast<uint64_t>(s.not_after));
  return m;
}

template <size_t N>
bool CopyFixed(capnp::Data::Reader data, std::array<uint8_t, N>& out) {
  if (data.size() != N) return false;
  std::copy(data.begin(), data.end(), out.begin());
  return true;
}

}  // namespace

PrekeyStatement SignPrekeyStatement(const crypto::IdentityKey& owner,
                                    uint64_t prekey_id,
                                    const crypto::X25519PublicKey& prekey,
                                    int64_t not_before, int64_t not_after) {
  PrekeyStatement s;
  s.member_key = owner.public_key();
  s.prekey_id = prekey_id;
  s.prekey_public = prekey;
  s.not_before = not_before;
  s.not_after = not_after;
  s.signature = owner.SignRaw(SignedMessage(s));
  return s;
}

bool PrekeySignatureValid(const PrekeyStatement& s) {
  crypto::EnsureSodium();
  const std::vector<uint8_t> m = SignedMessage(s);
  return crypto_sign_verify_detached(s.signature.data(), m.data(), m.size(),
                                     s.member_key.data()) == 0;
}

void FillPrekeyStatement(const PrekeyStatement& s,
                         protocol::wire::PrekeyStatement::Builder out) {
  out.setMemberKey(kj::arrayPtr(s.member_key.data(), s.member_key.size()));
  out.setPrekeyId(s.prekey_id);
  out.setPrekeyPublic(
      kj::arrayPtr(s.prekey_public.data(), s.prekey_public.size()));
  out.setNotBefore(s.not_before);
  out.setNotAfter(s.not_after);
  out.setSignature(kj::arrayPtr(s.signature.data(), s.signature.size()));
}

Result<PrekeyStatement> ReadPrekeyStatement(
    protocol::wire::PrekeyStatement::Reader in) {
  PrekeyStatement s;
  if (!CopyFixed(in.getMemberKey(), s.member_key)) {
    return InvalidInput("prekey statement: member key must be 32 bytes");
  }
  if (!CopyFixed(in.getPrekeyPublic(), s.prekey_public)) {
    return InvalidInput("prekey statement: prekey must be 32 bytes");
  }
  if (!CopyFixed(in.getSignature(), s.signature)) {
    return InvalidInput("prekey statement: signature must be 64 bytes");
  }
  s.prekey_id = in.getPrekeyId();
  s.not_before = in.getNotBefore();
  s.not_after = in.getNotAfter();
  if (s.prekey_id == 0) {
    return InvalidInput("prekey statement: prekey id starts at 1");
  }
  if (std::all_of(s.prekey_public.begin(), s.prekey_public.end(),
                  [](uint8_t b) { return b == 0; })) {
    return InvalidInput("prekey statement: prekey is all zeros");
  }
  if (s.not_before >= s.not_after) {
    return InvalidInput("prekey statement: not-before " +
                        std::to_string(s.not_before) +
                        " is not before not-after " +
                        std::to_string(s.not_after));
  }
  // Subtraction in unsigned arithmetic: not_after > not_before holds.
  if (static_cast<uint64_t>(s.not_after) - static_cast<uint64_t>(s.not_before) >
      static_cast<uint64_t>(kMaxPrekeyValiditySeconds)) {
    return InvalidInput("prekey statement: valid for longer than " +
                        std::to_string(kMaxPrekeyValiditySeconds / 86400) +
                        " days");
  }
  return s;
}

std::vector<uint8_t> EncodePrekeyStatement(const PrekeyStatement& s) {
  capnp::MallocMessageBuilder message;
  FillPrekeyStatement(s, message.initRoot<protocol::wire::PrekeyStatement>());
  kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  return {bytes.begin(), bytes.end()};
}

Result<PrekeyStatement> DecodePrekeyStatement(std::span<const uint8_t> bytes) {
  if (bytes.size() > kMaxPrekeyStatementBytes) {
    return InvalidInput("prekey statement larger than " +
                        std::to_string(kMaxPrekeyStatementBytes) + " bytes");
  }
  if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0) {
    return InvalidInput(
        "prekey statement is not a whole number of 8-byte words");
  }
  std::vector<capnp::word> words(bytes.size() / sizeof(capnp::word));
  std::memcpy(words.data(), bytes.data(), bytes.size());
  try {
    capnp::FlatArrayMessageReader reader(
        kj::arrayPtr(words.data(), words.size()),
        link::PeerReaderOptions(kMaxPrekeyStatementBytes));
    return ReadPrekeyStatement(
        reader.getRoot<protocol::wire::PrekeyStatement>());
  } catch (const kj::Exception& e) {
    return InvalidInput(std::string("prekey statement unreadable: ") +
                        e.getDescription().cStr());
  }
}

Result<PrekeyVerdict> CheckPrekeyStatement(const PrekeyStatement& s,
                                           const RosterIndex& roster,
                                           int64_t now,
                                           const PrekeyStatement* held) {
  const protocol::RosterMember* member = roster.Find(s.member_key);
  if (member == nullptr) {
    return InvalidInput("prekey statement for a key that is not in the "
                        "roster");
  }
  if (!PrekeySignatureValid(s)) {
    return InvalidInput("prekey statement for " + member->name +
                        " is not signed by its identity key");
  }
  if (s.not_after <= now) {
    return InvalidInput("prekey statement " + std::to_string(s.prekey_id) +
                        " of " + member->name + " expired at " +
                        std::to_string(s.not_after));
  }
  if (s.not_before > now + kPrekeyClockSkewSeconds) {
    return InvalidInput("prekey statement " + std::to_string(s.prekey_id) +
                        " of " + member->name + " is valid only from " +
                        std::to_string(s.not_before) + ", in our future");
  }
  if (held != nullptr && held->member_key == s.member_key) {
    if (s.prekey_id < held->prekey_id) {
      return InvalidInput("prekey statement " + std::to_string(s.prekey_id) +
                          " of " + member->name + " is older than the " +
                          std::to_string(held->prekey_id) +
                          " we hold (a replay)");
    }
    if (s.prekey_id == held->prekey_id) {
      if (s == *held) return PrekeyVerdict::kSame;
      return InvalidInput("prekey statement " + std::to_string(s.prekey_id) +
                          " of " + member->name +
                          " differs from the one we hold with that id");
    }
  }
  return PrekeyVerdict::kNewer;
}

std::vector<uint8_t> PrekeyKeyId(uint64_t prekey_id) {
  std::vector<uint8_t> out;
  PutU64(out, prekey_id);
  return out;
}

bool ParsePrekeyKeyId(std::span<const uint8_t> key_id, uint64_t& prekey_id) {
  if (key_id.size() != 8) return false;
  uint64_t v = 0;
  for (uint8_t b : key_id) v = (v << 8) | b;
  if (v == 0) return false;
  prekey_id = v;
  return true;
}

}  // namespace caravan::daemon::sync
