#include "crypto/identity_rotation.h"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "crypto/big_endian.h"
#include "crypto/sodium_init.h"

namespace caravan::crypto {
namespace {

// Both prefixes end in NUL, so neither is a prefix of the other or of
// another caravan domain ("caravan/1 record\0", ...).
constexpr std::string_view kOldKeyDomain{"caravan/1 identity rotation by old key\0", 39};
constexpr std::string_view kNewKeyDomain{"caravan/1 identity rotation by new key\0", 39};

std::array<uint8_t, kRotationSignedBytes> SignedPart(const RotationStatement& s) {
  std::array<uint8_t, kRotationSignedBytes> out{};
  uint8_t* p = out.data();
  *p++ = kRotationStatementVersion;
  p = std::copy(s.old_key.begin(), s.old_key.end(), p);
  p = std::copy(s.new_key.begin(), s.new_key.end(), p);
  PutBigEndian(static_cast<uint64_t>(s.rotated_at), p);
  PutBigEndian(static_cast<uint64_t>(s.issued_at), p + 8);
  return out;
}

std::vector<uint8_t> DomainMessage(std::string_view domain, const RotationStatement& s) {
  const auto part = SignedPart(s);
  std::vector<uint8_t> msg(domain.begin(), domain.end());
  msg.insert(msg.end(), part.begin(), part.end());
  return msg;
}

bool VerifyOne(std::string_view domain, const RotationStatement& s,
               const Ed25519PublicKey& key, const Ed25519Signature& sig) {
  const auto msg = DomainMessage(domain, s);
  return crypto_sign_verify_detached(sig.data(), msg.data(), msg.size(), key.data()) == 0;
}

// The checks of the fields alone; nullptr when they hold.
const char* FieldProblem(const RotationStatement& s) {
  if (s.old_key == s.new_key) return "rotation statement names the same key twice";
  if (s.issued_at <= 0 || s.rotated_at <= 0) return "rotation statement times must be positive";
  if (s.rotated_at < s.issued_at) {
    return "rotation time is before the statement was issued (would retire a key "
           "retroactively)";
  }
  if (s.rotated_at - s.issued_at > kMaxRotationLeadSeconds) {
    return "rotation time is more than 7 days after the statement was issued";
  }
  return nullptr;
}

std::nullopt_t Fail(std::string* error, std::string why) {
  if (error != nullptr) *error = std::move(why);
  return std::nullopt;
}

}  // namespace

RotationStatement SignRotation(const IdentityKey& old_key, const IdentityKey& new_key,
                               int64_t rotated_at, int64_t issued_at) {
  RotationStatement s;
  s.old_key = old_key.public_key();
  s.new_key = new_key.public_key();
  s.rotated_at = rotated_at;
  s.issued_at = issued_at;
  if (FieldProblem(s) != nullptr) std::abort();  // a caller bug: fail closed
  s.old_signature = old_key.SignRaw(DomainMessage(kOldKeyDomain, s));
  s.new_signature = new_key.SignRaw(DomainMessage(kNewKeyDomain, s));
  return s;
}

std::vector<uint8_t> EncodeRotationStatement(const RotationStatement& s) {
  const auto part = SignedPart(s);
  std::vector<uint8_t> out(part.begin(), part.end());
  out.insert(out.end(), s.old_signature.begin(), s.old_signature.end());
  out.insert(out.end(), s.new_signature.begin(), s.new_signature.end());
  return out;
}

std::optional<RotationStatement> ParseRotationStatement(std::span<const uint8_t> bytes,
                                                        std::string* error) {
  if (bytes.size() != kRotationStatementBytes) {
    return Fail(error, "rotation statement is " + std::to_string(bytes.size()) +
                           " bytes, expected " + std::to_string(kRotationStatementBytes));
  }
  const uint8_t* p = bytes.data();
  if (*p != kRotationStatementVersion) {
    return Fail(error, "rotation statement version " + std::to_string(*p) +
                           " is not supported (expected 1)");
  }
  ++p;
  RotationStatement s;
  std::copy_n(p, 32, s.old_key.begin());
  std::copy_n(p + 32, 32, s.new_key.begin());
  s.rotated_at = static_cast<int64_t>(GetBigEndian(p + 64));
  s.issued_at = static_cast<int64_t>(GetBigEndian(p + 72));
  std::copy_n(p + 80, 64, s.old_signature.begin());
  std::copy_n(p + 144, 64, s.new_signature.begin());
  if (const char* why = FieldProblem(s)) return Fail(error, why);
  return s;
}

bool VerifyRotationSignatures(const RotationStatement& s, std::string* error) {
  EnsureSodium();
  if (!VerifyOne(kOldKeyDomain, s, s.old_key, s.old_signature)) {
    if (error != nullptr) *error = "rotation statement is not signed by the old key";
    return false;
  }
  if (!VerifyOne(kNewKeyDomain, s, s.new_key, s.new_signature)) {
    if (error != nullptr) *error = "rotation statement is not signed by the new key";
    return false;
  }
  return true;
}

std::optional<RotationStatement> ReadRotationStatement(std::span<const uint8_t> bytes,
                                                       std::string* error) {
  auto s = ParseRotationStatement(bytes, error);
  if (!s) return std::nullopt;
  if (!VerifyRotationSignatures(*s, error)) return std::nullopt;
  return s;
}

}  // namespace caravan::crypto
