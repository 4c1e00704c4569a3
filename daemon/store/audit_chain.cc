#include "daemon/store/audit_chain.h"

#include <sodium.h>

#include <string_view>

namespace caravan::store::internal {
namespace {

void UpdateU64(crypto_generichash_state& st, uint64_t v) {
  uint8_t be[8];
  for (int i = 7; i >= 0; --i) {
    be[i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
  crypto_generichash_update(&st, be, sizeof be);
}

void UpdateField(crypto_generichash_state& st, std::string_view field) {
  UpdateU64(st, field.size());
  crypto_generichash_update(
      &st, reinterpret_cast<const unsigned char*>(field.data()), field.size());
}

}  // namespace

AuditHash ComputeAuditHash(const AuditHash& prev_hash, uint64_t seq,
                           const AuditEvent& event) {
  static constexpr std::string_view kContext = "caravan audit v1";
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, crypto_generichash_BYTES);
  crypto_generichash_update(
      &st, reinterpret_cast<const unsigned char*>(kContext.data()),
      kContext.size());
  crypto_generichash_update(&st, prev_hash.data(), prev_hash.size());
  UpdateU64(st, seq);
  UpdateU64(st, static_cast<uint64_t>(event.time));
  UpdateField(st, event.actor);
  UpdateField(st, event.action);
  UpdateField(st, event.subject);
  UpdateField(st, event.peer);
  UpdateField(st, event.detail);
  AuditHash out;
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

}  // namespace caravan::store::internal
