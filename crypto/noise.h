#pragma once
// Noise protocol framework (revision 34) for the suite 25519 / ChaChaPoly /
// BLAKE2b: Noise_<pattern>_25519_ChaChaPoly_BLAKE2b. caravan links use
// Noise_XX_25519_ChaChaPoly_BLAKE2b with prologue "caravan/1" (DESIGN.md,
// Links); the implementation is table driven and also supports the other
// fundamental, one-way and deferred patterns and the pskN modifiers, so it can
// be checked against every published test vector for this suite.
//
// Primitives, all from libsodium: X25519 (crypto_scalarmult),
// ChaCha20-Poly1305 IETF with nonce = 4 zero bytes || 8-byte little-endian
// counter (crypto_aead_chacha20poly1305_ietf), BLAKE2b-512
// (crypto_generichash); HMAC-BLAKE2b (RFC 2104, BLOCKLEN 128, HASHLEN 64) and
// HKDF are composed from crypto_generichash as the spec defines them.
//
// Every Noise message, handshake or transport, is at most 65535 bytes
// (kNoiseMaxMessage); longer input is refused. The caller frames messages
// (caravan: a 2-byte big-endian length before each).
//
// Ownership: keys live in SecretBytes. A HandshakeState borrows the local
// static LinkKey given at creation, which must outlive it. CipherState and
// HandshakeState are move-only resources.
// Thread-safety: none; one connection uses one state from one thread (or
// strand) at a time.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/link_key.h"
#include "crypto/secret_bytes.h"

namespace caravan::crypto {

inline constexpr size_t kNoiseMaxMessage = 65535;
inline constexpr size_t kNoiseTagSize = 16;
inline constexpr size_t kNoiseMaxPayload = kNoiseMaxMessage - kNoiseTagSize;
inline constexpr size_t kNoiseHashSize = 64;
using NoiseHash = std::array<uint8_t, kNoiseHashSize>;

// CipherState (Noise section 5.1): a ChaChaPoly key (maybe empty) and a
// 64-bit nonce counter.
class CipherState {
 public:
  // A state with no key: Encrypt/Decrypt pass data through unchanged (as the
  // spec requires during a handshake before the first MixKey).
  CipherState() = default;
  explicit CipherState(std::span<const uint8_t, 32> key) { InitializeKey(key); }

  CipherState(CipherState&&) noexcept = default;
  CipherState& operator=(CipherState&&) noexcept = default;

  // Sets the key and resets the nonce to zero.
  void InitializeKey(std::span<const uint8_t, 32> key);
  bool HasKey() const { return key_.has_value(); }
  void SetNonce(uint64_t nonce) { nonce_ = nonce; }
  uint64_t nonce() const { return nonce_; }

  // AEAD-encrypts `plaintext` with associated data `ad` and appends the
  // ciphertext (plaintext + 16-byte tag) to *out, then increments the nonce.
  // Returns false, appending nothing and leaving the nonce unchanged, if the
  // result would exceed kNoiseMaxMessage or the nonce is exhausted
  // (2^64-1 is reserved by the spec; the link must be re-established).
  bool EncryptWithAd(std::span<const uint8_t> ad, std::span<const uint8_t> plaintext,
                     std::vector<uint8_t>* out);

  // Inverse of EncryptWithAd. Returns false, appending nothing and leaving
  // the nonce unchanged, on a bad tag, a too-short or too-long ciphertext, or
  // an exhausted nonce.
  bool DecryptWithAd(std::span<const uint8_t> ad, std::span<const uint8_t> ciphertext,
                     std::vector<uint8_t>* out);

  // Transport convenience with empty associated data; nullopt on failure as
  // above.
  std::optional<std::vector<uint8_t>> Encrypt(std::span<const uint8_t> plaintext);
  std::optional<std::vector<uint8_t>> Decrypt(std::span<const uint8_t> ciphertext);

  // Noise section 4.2 REKEY: k = first 32 bytes of ENCRYPT(k, 2^64-1, "",
  // zeros(32)). Both sides must rekey at the same point. No-op without a key.
  void Rekey();

 private:
  std::optional<SecretBytes<32>> key_;
  uint64_t nonce_ = 0;
};

// The two transport ciphers of one side after the handshake.
struct NoiseTransport {
  CipherState send;
  CipherState receive;
};

struct NoiseConfig {
  // Full protocol name, e.g. "Noise_XX_25519_ChaChaPoly_BLAKE2b" or
  // "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b".
  std::string protocol_name;
  bool initiator = false;
  std::vector<uint8_t> prologue;
  // This side's static key; required if the pattern uses it. Borrowed: must
  // outlive the HandshakeState.
  const LinkKey* local_static = nullptr;
  // The peer's static key known in advance; required by patterns with a
  // pre-message from the peer (e.g. the responder key in IK).
  std::optional<X25519PublicKey> remote_static;
  // One 32-byte PSK per psk modifier, in the order the tokens occur.
  std::vector<SecretBytes<32>> psks;
  // Test hook (test vectors): use this ephemeral key instead of a fresh one.
  std::unique_ptr<LinkKey> ephemeral_for_testing;
};

// HandshakeState (Noise section 5.3).
class HandshakeState {
 public:
  // Returns nullptr if the protocol name is not a supported
  // Noise_*_25519_ChaChaPoly_BLAKE2b, or a key or PSK the pattern needs is
  // missing, or too many PSKs are given.
  static std::unique_ptr<HandshakeState> Create(NoiseConfig config);

  ~HandshakeState();
  HandshakeState(const HandshakeState&) = delete;
  HandshakeState& operator=(const HandshakeState&) = delete;

  // True when it is this side's turn to write a handshake message.
  bool IsMyTurn() const;

  // Writes the next handshake message carrying `payload`. Returns nullopt if
  // it is not our turn, the handshake is complete or has failed, or the
  // message would exceed kNoiseMaxMessage.
  std::optional<std::vector<uint8_t>> WriteMessage(std::span<const uint8_t> payload);

  // Reads the peer's next handshake message and returns its payload.
  // Returns nullopt on any failure (wrong length, bad tag, low-order key,
  // not the peer's turn, oversize); after a failure the handshake is dead and
  // every later call fails too.
  std::optional<std::vector<uint8_t>> ReadMessage(std::span<const uint8_t> message);

  bool IsComplete() const;
  bool HasFailed() const { return failed_; }

  // The spec's Split(): (c1, c2); the initiator sends with c1 and receives
  // with c2. Aborts if the handshake is not complete (a bug).
  std::pair<CipherState, CipherState> Split() const;

  // Split() arranged for this side's role.
  NoiseTransport SplitTransport() const;

  // h: the handshake hash, a channel binding once the handshake is complete.
  const NoiseHash& handshake_hash() const;

  // The peer's static key, once received (or given up front).
  const std::optional<X25519PublicKey>& remote_static() const { return rs_; }

 private:
  struct Impl;
  HandshakeState() = default;

  std::unique_ptr<Impl> impl_;
  std::optional<X25519PublicKey> rs_;
  bool failed_ = false;
};

}  // namespace caravan::crypto
