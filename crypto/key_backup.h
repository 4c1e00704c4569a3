#pragma once
// Encrypted key backups: `caravan key export --encrypted FILE` and
// `caravan key import FILE` (docs/deploy.md, Backup).
//
// A backup holds the identity key seed, the link key secret and the link
// key's certificate serial and not-before (crypto/key_file.h), encrypted
// with libsodium's crypto_secretstream_xchacha20poly1305 under a key
// derived from a passphrase with crypto_pwhash (Argon2id 1.3).
//
// Exact bytes (171 in all; integers big-endian):
//
//   offset size
//   0      16   magic "caravan-keys-bak" (16 ASCII bytes)
//   16     1    format version, 1
//   17     1    KDF algorithm, 2 (crypto_pwhash_ALG_ARGON2ID13)
//   18     8    Argon2 opslimit   (1..kMaxOpsLimit)
//   26     8    Argon2 memlimit in bytes (8 KiB..kMaxMemLimit)
//   34     16   Argon2 salt
//   50     24   secretstream header
//   74     97   one secretstream message (tag FINAL), additional data the
//               74 header bytes above, plaintext 80 bytes:
//               identity seed (32) || link secret (32) || link serial (8)
//               || link not_before (8, unix seconds)
//
// The header is authenticated (as additional data), so a changed parameter
// or salt, a flipped bit anywhere, a truncated or extended file is refused;
// a wrong passphrase and tampering cannot be told apart (both fail the
// authentication) and are reported as one error.
//
// Secrets live in SecretBytes (sodium_malloc'd, mlock'd, wiped) and are
// never logged. Pure functions; thread-safe.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/secret_bytes.h"

namespace caravan::crypto {

inline constexpr size_t kKeyBackupHeaderSize = 74;
inline constexpr size_t kKeyBackupPlainSize = 80;
inline constexpr size_t kKeyBackupSize = kKeyBackupHeaderSize + kKeyBackupPlainSize + 17;
// Bounds on what a backup may ask of the machine that opens it.
inline constexpr uint64_t kMaxOpsLimit = 16;
inline constexpr uint64_t kMaxMemLimit = uint64_t{1} << 30;  // 1 GiB

struct KeyBackupParams {
  uint64_t opslimit = 0;
  uint64_t memlimit = 0;
  std::array<uint8_t, 16> salt{};
};

// libsodium's MODERATE Argon2id limits (about a second, 256 MiB) and a
// random salt.
KeyBackupParams DefaultKeyBackupParams();

// The secrets of one node.
struct BackupKeys {
  SecretBytes<32> identity_seed;
  SecretBytes<32> link_secret;
  uint64_t link_serial = 0;
  int64_t link_not_before = 0;  // unix seconds
};

// The file's header fields, checked for shape and bounds only.
struct KeyBackupHeader {
  KeyBackupParams params;
  std::array<uint8_t, 24> stream_header{};
};

// Parses the first kKeyBackupHeaderSize bytes of `file` and checks the whole
// file's size. nullopt and *error (naming what is wrong: not a caravan key
// backup, an unknown version or algorithm, a parameter out of bounds,
// truncated, trailing bytes) otherwise.
std::optional<KeyBackupHeader> ParseKeyBackupHeader(std::span<const uint8_t> file,
                                                    std::string* error);

// The whole backup file. nullopt and *error if the passphrase is empty, the
// parameters are out of bounds or Argon2 fails (out of memory).
std::optional<std::vector<uint8_t>> SealKeyBackup(const BackupKeys& keys,
                                                  std::string_view passphrase,
                                                  const KeyBackupParams& params,
                                                  std::string* error);

// Opens a backup file. nullopt and *error: the header's own error, or
// "wrong passphrase, or the file was changed" when authentication fails.
std::optional<BackupKeys> OpenKeyBackup(std::span<const uint8_t> file,
                                        std::string_view passphrase, std::string* error);

}  // namespace caravan::crypto
