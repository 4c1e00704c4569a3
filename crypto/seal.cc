#include "crypto/seal.h"

#include <sodium.h>

#include <algorithm>

#include "crypto/secret_bytes.h"

namespace caravan::crypto {
namespace {

constexpr size_t kWrappedSize = crypto_box_SEALBYTES + 32;  // 80
constexpr size_t kEntrySize = 8 + kWrappedSize;
constexpr size_t kNonceSize = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTagSize = crypto_aead_xchacha20poly1305_ietf_ABYTES;
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == 32);

void PutBe(std::vector<uint8_t>* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// The parsed layout; spans point into the envelope.
struct Layout {
  std::span<const uint8_t> header;
  std::span<const uint8_t> entries;  // R * kEntrySize
  std::span<const uint8_t> ad;       // everything before the nonce
  std::span<const uint8_t> nonce;
  std::span<const uint8_t> ciphertext;
};

// Reads fields front to back; every read is bounds checked.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}
  bool Take(size_t n, std::span<const uint8_t>* out) {
    if (in_.size() - pos_ < n) return false;
    *out = in_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  bool Be(int bytes, uint64_t* v) {
    std::span<const uint8_t> b;
    if (!Take(static_cast<size_t>(bytes), &b)) return false;
    *v = 0;
    for (uint8_t x : b) *v = (*v << 8) | x;
    return true;
  }
  size_t pos() const { return pos_; }
  std::span<const uint8_t> Rest() const { return in_.subspan(pos_); }

 private:
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

std::optional<Layout> Parse(std::span<const uint8_t> env) {
  Reader r(env);
  Layout l;
  uint64_t version = 0, header_len = 0, count = 0;
  if (!r.Be(1, &version) || version != kSealVersion) return std::nullopt;
  if (!r.Be(4, &header_len) || header_len > kMaxSealHeader) return std::nullopt;
  if (!r.Take(header_len, &l.header)) return std::nullopt;
  if (!r.Be(2, &count) || count == 0 || count > kMaxSealRecipients) return std::nullopt;
  if (!r.Take(count * kEntrySize, &l.entries)) return std::nullopt;
  l.ad = env.first(r.pos());
  if (!r.Take(kNonceSize, &l.nonce)) return std::nullopt;
  l.ciphertext = r.Rest();
  if (l.ciphertext.size() < kTagSize ||
      l.ciphertext.size() - kTagSize > kMaxSealPlaintext) {
    return std::nullopt;
  }
  return l;
}

}  // namespace

SealKeyId SealRecipientKeyId(const X25519PublicKey& pk) {
  EnsureSodium();
  uint8_t digest[32];
  crypto_generichash(digest, sizeof digest, pk.data(), pk.size(), nullptr, 0);
  SealKeyId id{};
  std::copy_n(digest, id.size(), id.begin());
  return id;
}

std::optional<std::vector<uint8_t>> Seal(std::span<const uint8_t> header,
                                         std::span<const uint8_t> plaintext,
                                         const std::vector<X25519PublicKey>& recipients) {
  EnsureSodium();
  std::vector<X25519PublicKey> unique = recipients;
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  if (unique.empty() || unique.size() > kMaxSealRecipients ||
      header.size() > kMaxSealHeader || plaintext.size() > kMaxSealPlaintext) {
    return std::nullopt;
  }
  SecretBytes<32> content_key;
  crypto_aead_xchacha20poly1305_ietf_keygen(content_key.data());

  std::vector<uint8_t> out;
  out.reserve(1 + 4 + header.size() + 2 + unique.size() * kEntrySize + kNonceSize +
              plaintext.size() + kTagSize);
  out.push_back(kSealVersion);
  PutBe(&out, header.size(), 4);
  out.insert(out.end(), header.begin(), header.end());
  PutBe(&out, unique.size(), 2);
  for (const X25519PublicKey& pk : unique) {
    SealKeyId id = SealRecipientKeyId(pk);
    out.insert(out.end(), id.begin(), id.end());
    size_t at = out.size();
    out.resize(at + kWrappedSize);
    if (crypto_box_seal(out.data() + at, content_key.data(), content_key.size(),
                        pk.data()) != 0) {
      return std::nullopt;  // not a valid curve point for sealing
    }
  }
  const size_t ad_len = out.size();
  size_t at = out.size();
  out.resize(at + kNonceSize);
  randombytes_buf(out.data() + at, kNonceSize);
  const size_t ct_at = out.size();
  out.resize(ct_at + plaintext.size() + kTagSize);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      out.data() + ct_at, &clen, plaintext.data(), plaintext.size(), out.data(),
      ad_len, nullptr, out.data() + at, content_key.data());
  return out;
}

std::optional<EnvelopeInfo> InspectEnvelope(std::span<const uint8_t> envelope) {
  std::optional<Layout> l = Parse(envelope);
  if (!l) return std::nullopt;
  EnvelopeInfo info;
  info.header = l->header;
  for (size_t i = 0; i < l->entries.size(); i += kEntrySize) {
    SealKeyId id{};
    std::copy_n(l->entries.begin() + i, id.size(), id.begin());
    info.recipients.push_back(id);
  }
  return info;
}

std::optional<OpenedEnvelope> Open(std::span<const uint8_t> envelope, const LinkKey& me) {
  EnsureSodium();
  std::optional<Layout> l = Parse(envelope);
  if (!l) return std::nullopt;
  const SealKeyId my_id = SealRecipientKeyId(me.public_key());
  SecretBytes<32> content_key;
  bool unwrapped = false;
  // Key ids can collide (64 bits), so try every matching entry.
  for (size_t i = 0; i < l->entries.size() && !unwrapped; i += kEntrySize) {
    if (!std::equal(my_id.begin(), my_id.end(), l->entries.begin() + i)) continue;
    unwrapped = crypto_box_seal_open(content_key.data(), l->entries.data() + i + 8,
                                     kWrappedSize, me.public_key().data(),
                                     me.secret().data()) == 0;
  }
  if (!unwrapped) return std::nullopt;
  OpenedEnvelope opened;
  opened.plaintext.resize(l->ciphertext.size() - kTagSize);
  unsigned long long mlen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          opened.plaintext.data(), &mlen, nullptr, l->ciphertext.data(),
          l->ciphertext.size(), l->ad.data(), l->ad.size(), l->nonce.data(),
          content_key.data()) != 0) {
    return std::nullopt;
  }
  opened.header.assign(l->header.begin(), l->header.end());
  return opened;
}

}  // namespace caravan::crypto
