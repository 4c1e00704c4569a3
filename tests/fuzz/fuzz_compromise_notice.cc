// The compromise notice parser (daemon/sync/compromise_notice.h): what a
// peer sends in a CompromiseNotice (issue 16). Input byte 0 selects the
// target; the rest is the untrusted bytes:
//   even: DecodeCompromiseNotice on the bytes as they are;
//   odd:  the same, then CheckCompromiseNotice against a two-member roster
//         (issuer, signature, compromised key, clock) and its digest, and
//         against the same roster where UZ rotated twice (K0 -> K1 -> K2:
//         a notice about a retired key issued by the newest of its chain).
// Must never crash or read out of bounds, whatever the bytes.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "crypto/identity_rotation.h"
#include "daemon/sync/compromise_notice.h"

using namespace caravan;

namespace {

std::unique_ptr<crypto::IdentityKey> Key(uint8_t seed_byte) {
  std::array<uint8_t, 32> seed{};
  seed[0] = seed_byte;
  return crypto::IdentityKey::FromSeed(seed);
}

protocol::RosterMember Member(const char* name,
                              const crypto::IdentityKey& key) {
  protocol::RosterMember m;
  m.name = name;
  m.country = "KZ";
  m.key = key.public_key();
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const auto kz = Key(7);
  static const auto uz = Key(42);
  static const daemon::sync::RosterIndex roster(
      {Member("CERT-KZ", *kz), Member("CERT-UZ", *uz)});
  static const auto uz1 = Key(43);
  static const auto uz2 = Key(44);
  static const daemon::sync::RosterIndex rotated(
      {Member("CERT-KZ", *kz), Member("CERT-UZ", *uz)},
      daemon::sync::KeyChains({crypto::SignRotation(*uz, *uz1, 1'800'000'000, 1'800'000'000),
                               crypto::SignRotation(*uz1, *uz2, 1'800'000'050, 1'800'000'050)}));
  std::span<const uint8_t> in(data + 1, size - 1);
  auto n = daemon::sync::DecodeCompromiseNotice(in);
  if (data[0] % 2 == 0 || !n.ok()) return 0;
  (void)daemon::sync::CheckCompromiseNotice(*n, roster, 1'800'000'100);
  (void)daemon::sync::CheckCompromiseNotice(*n, rotated, 1'800'000'100);
  (void)daemon::sync::NoticeDigest(*n);
  return 0;
}
