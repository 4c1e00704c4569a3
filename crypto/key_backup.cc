#include "crypto/key_backup.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "crypto/sodium_init.h"

namespace caravan::crypto {
namespace {

constexpr std::string_view kMagic = "caravan-keys-bak";
static_assert(kMagic.size() == 16);
constexpr uint8_t kVersion = 1;
constexpr uint8_t kAlgorithm = crypto_pwhash_ALG_ARGON2ID13;
static_assert(crypto_secretstream_xchacha20poly1305_HEADERBYTES == 24);
static_assert(crypto_secretstream_xchacha20poly1305_ABYTES == 17);
static_assert(crypto_secretstream_xchacha20poly1305_KEYBYTES == 32);
static_assert(crypto_pwhash_SALTBYTES == 16);

void Put64(uint64_t v, uint8_t* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

uint64_t Get64(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}

std::nullopt_t Fail(std::string* error, std::string why) {
  if (error != nullptr) *error = std::move(why);
  return std::nullopt;
}

std::string ParamsError(const KeyBackupParams& p) {
  if (p.opslimit < crypto_pwhash_OPSLIMIT_MIN || p.opslimit > kMaxOpsLimit) {
    return "Argon2 opslimit " + std::to_string(p.opslimit) + " is out of range " +
           std::to_string(crypto_pwhash_OPSLIMIT_MIN) + ".." + std::to_string(kMaxOpsLimit);
  }
  if (p.memlimit < crypto_pwhash_MEMLIMIT_MIN || p.memlimit > kMaxMemLimit) {
    return "Argon2 memlimit " + std::to_string(p.memlimit) + " bytes is out of range " +
           std::to_string(crypto_pwhash_MEMLIMIT_MIN) + ".." + std::to_string(kMaxMemLimit);
  }
  return "";
}

// The secretstream key for `passphrase` under `params`; nullopt when
// Argon2 fails (out of memory).
std::optional<SecretBytes<32>> DeriveKey(std::string_view passphrase,
                                         const KeyBackupParams& params) {
  SecretBytes<32> key;
  if (crypto_pwhash(key.data(), key.size(), passphrase.data(), passphrase.size(),
                    params.salt.data(), params.opslimit, static_cast<size_t>(params.memlimit),
                    kAlgorithm) != 0) {
    return std::nullopt;
  }
  return key;
}

void WriteHeader(const KeyBackupParams& params, const uint8_t* stream_header, uint8_t* out) {
  std::memcpy(out, kMagic.data(), kMagic.size());
  out[16] = kVersion;
  out[17] = kAlgorithm;
  Put64(params.opslimit, out + 18);
  Put64(params.memlimit, out + 26);
  std::memcpy(out + 34, params.salt.data(), params.salt.size());
  std::memcpy(out + 50, stream_header, 24);
}

}  // namespace

KeyBackupParams DefaultKeyBackupParams() {
  EnsureSodium();
  KeyBackupParams p;
  p.opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
  p.memlimit = crypto_pwhash_MEMLIMIT_MODERATE;
  randombytes_buf(p.salt.data(), p.salt.size());
  return p;
}

std::optional<KeyBackupHeader> ParseKeyBackupHeader(std::span<const uint8_t> file,
                                                    std::string* error) {
  if (file.size() < kMagic.size() ||
      std::memcmp(file.data(), kMagic.data(), kMagic.size()) != 0) {
    return Fail(error, "not a caravan key backup (it does not start with \"caravan-keys-bak\")");
  }
  if (file.size() < kKeyBackupHeaderSize) {
    return Fail(error, "key backup is truncated: " + std::to_string(file.size()) +
                           " bytes, expected " + std::to_string(kKeyBackupSize));
  }
  if (file[16] != kVersion) {
    return Fail(error, "key backup format version " + std::to_string(file[16]) +
                           " is not known (this caravan reads version 1)");
  }
  if (file[17] != kAlgorithm) {
    return Fail(error, "key backup KDF algorithm " + std::to_string(file[17]) +
                           " is not Argon2id (2)");
  }
  KeyBackupHeader h;
  h.params.opslimit = Get64(file.data() + 18);
  h.params.memlimit = Get64(file.data() + 26);
  std::copy_n(file.data() + 34, h.params.salt.size(), h.params.salt.begin());
  std::copy_n(file.data() + 50, h.stream_header.size(), h.stream_header.begin());
  if (std::string why = ParamsError(h.params); !why.empty()) {
    return Fail(error, "key backup header: " + why);
  }
  if (file.size() < kKeyBackupSize) {
    return Fail(error, "key backup is truncated: " + std::to_string(file.size()) +
                           " bytes, expected " + std::to_string(kKeyBackupSize));
  }
  if (file.size() > kKeyBackupSize) {
    return Fail(error, "key backup has " + std::to_string(file.size() - kKeyBackupSize) +
                           " bytes after its end (" + std::to_string(kKeyBackupSize) +
                           " expected)");
  }
  return h;
}

std::optional<std::vector<uint8_t>> SealKeyBackup(const BackupKeys& keys,
                                                  std::string_view passphrase,
                                                  const KeyBackupParams& params,
                                                  std::string* error) {
  EnsureSodium();
  if (passphrase.empty()) return Fail(error, "the passphrase is empty");
  if (std::string why = ParamsError(params); !why.empty()) return Fail(error, why);
  auto key = DeriveKey(passphrase, params);
  if (!key) return Fail(error, "Argon2 key derivation failed (out of memory?)");
  std::vector<uint8_t> out(kKeyBackupSize);
  crypto_secretstream_xchacha20poly1305_state state;
  uint8_t stream_header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  crypto_secretstream_xchacha20poly1305_init_push(&state, stream_header, key->data());
  WriteHeader(params, stream_header, out.data());
  SecretBytes<kKeyBackupPlainSize> plain;
  std::memcpy(plain.data(), keys.identity_seed.data(), 32);
  std::memcpy(plain.data() + 32, keys.link_secret.data(), 32);
  Put64(keys.link_serial, plain.data() + 64);
  Put64(static_cast<uint64_t>(keys.link_not_before), plain.data() + 72);
  crypto_secretstream_xchacha20poly1305_push(
      &state, out.data() + kKeyBackupHeaderSize, nullptr, plain.data(), plain.size(),
      out.data(), kKeyBackupHeaderSize, crypto_secretstream_xchacha20poly1305_TAG_FINAL);
  sodium_memzero(&state, sizeof state);
  return out;
}

std::optional<BackupKeys> OpenKeyBackup(std::span<const uint8_t> file,
                                        std::string_view passphrase, std::string* error) {
  EnsureSodium();
  std::optional<KeyBackupHeader> h = ParseKeyBackupHeader(file, error);
  if (!h) return std::nullopt;
  auto key = DeriveKey(passphrase, h->params);
  if (!key) return Fail(error, "Argon2 key derivation failed (out of memory?)");
  crypto_secretstream_xchacha20poly1305_state state;
  if (crypto_secretstream_xchacha20poly1305_init_pull(&state, h->stream_header.data(),
                                                      key->data()) != 0) {
    return Fail(error, "wrong passphrase, or the key backup was changed");
  }
  SecretBytes<kKeyBackupPlainSize> plain;
  unsigned long long plain_len = 0;
  unsigned char tag = 0;
  const int rc = crypto_secretstream_xchacha20poly1305_pull(
      &state, plain.data(), &plain_len, &tag, file.data() + kKeyBackupHeaderSize,
      kKeyBackupSize - kKeyBackupHeaderSize, file.data(), kKeyBackupHeaderSize);
  sodium_memzero(&state, sizeof state);
  if (rc != 0 || plain_len != kKeyBackupPlainSize ||
      tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
    return Fail(error, "wrong passphrase, or the key backup was changed");
  }
  BackupKeys keys;
  std::memcpy(keys.identity_seed.data(), plain.data(), 32);
  std::memcpy(keys.link_secret.data(), plain.data() + 32, 32);
  keys.link_serial = Get64(plain.data() + 64);
  keys.link_not_before = static_cast<int64_t>(Get64(plain.data() + 72));
  return keys;
}

}  // namespace caravan::crypto
