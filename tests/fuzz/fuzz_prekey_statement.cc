// The prekey statement parser (daemon/sync/prekey_statement.h): what a
// member, or a hub relaying for one, sends in a PrekeyStatement. Input
// byte 0 selects the target; the rest is the untrusted bytes:
//   even: DecodePrekeyStatement on the bytes as they are;
//   odd:  the same bytes read back from a hub's prekey book (LoadPrekeyBook,
//         hub_prekey_book.h: a row of C's, id 5), then, when they
//         decode, CheckPrekeyStatement against a two-member roster
//         (signature, expiry, not-before, replay against a held one).
// Must never crash or read out of bounds, whatever the bytes.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "daemon/sync/hub_prekey_book.h"
#include "daemon/sync/prekey_statement.h"

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
  static const auto a = Key(7);
  static const auto c = Key(42);
  static const daemon::sync::RosterIndex roster(
      {Member("CERT-A", *a), Member("CERT-C", *c)});
  static const daemon::sync::PrekeyStatement held =
      daemon::sync::SignPrekeyStatement(*c, 5, {1, 2, 3}, 1'800'000'000,
                                        1'800'086'400);
  std::span<const uint8_t> in(data + 1, size - 1);
  if (data[0] % 2 == 1) {
    // A stored row's bytes are no more trusted than a peer's.
    store::HubPrekeyRow row;
    row.owner_key = c->public_key();
    row.prekey_id = 5;
    row.not_after = 1'800'086'400;
    row.statement.assign(in.begin(), in.end());
    (void)daemon::sync::LoadPrekeyBook({row}, roster, 1'800'000'100);
  }
  auto s = daemon::sync::DecodePrekeyStatement(in);
  if (data[0] % 2 == 0 || !s.ok()) return 0;
  (void)daemon::sync::CheckPrekeyStatement(*s, roster, 1'800'000'100, &held);
  (void)daemon::sync::CheckPrekeyStatement(*s, roster, 1'800'000'100, nullptr);
  return 0;
}
