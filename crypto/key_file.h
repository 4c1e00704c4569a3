#pragma once
// Key files: the identity and link secret keys on disk.
//
// Format (text, ASCII, exactly two lines, each ending in '\n'):
//
//   caravan-identity-key v1
//   <standard base64 with padding of the 32-byte Ed25519 seed>
//
//   caravan-link-key v1
//   <standard base64 with padding of the 32-byte X25519 secret scalar>
//
// A rotated link key (`caravan key rotate --link`) has a third line with the
// serial and not-before time its certificate carries
// (crypto/link_certificate.h); a v1 link key file is serial 0:
//
//   caravan-link-key v2
//   <standard base64 with padding of the 32-byte X25519 secret scalar>
//   serial <decimal, >= 1> not_before <decimal unix seconds>
//
// Saving is atomic and private: the key is written to a temporary file in the
// same directory created with open(O_CREAT|O_EXCL, 0600), fsync'd, renamed
// over the target, and the directory is fsync'd, so a crash leaves either the
// old file or the new one, never a torn or world-readable one.
//
// Loading refuses a file whose mode grants any permission to group or
// others (the message names the file, its mode and the fix, chmod 600), a
// file larger than 4 KiB, and anything that is not exactly the format above.
// Secrets read from disk are wiped from temporary buffers.
//
// Errors: functions return false / nullptr and set *error (if non-null) to a
// message naming the path and what was wrong. Thread-safe (no shared state);
// concurrent saves to the same path race like any two renames.

#include <filesystem>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "crypto/identity_key.h"
#include "crypto/link_key.h"

namespace caravan::crypto {

bool SaveIdentityKey(const std::filesystem::path& path, const IdentityKey& key,
                     std::string* error);
std::unique_ptr<IdentityKey> LoadIdentityKey(const std::filesystem::path& path,
                                             std::string* error);

bool SaveLinkKey(const std::filesystem::path& path, const LinkKey& key,
                 std::string* error);
// Either form; the serial and not-before time are dropped.
std::unique_ptr<LinkKey> LoadLinkKey(const std::filesystem::path& path,
                                     std::string* error);

// A link key with the serial and not-before time of its certificate.
struct LinkKeyFile {
  std::unique_ptr<LinkKey> key;
  uint64_t serial = 0;     // 0: never rotated (the v1 file)
  int64_t not_before = 0;  // unix seconds; 0 with serial 0
};
// Writes v1 for serial 0, v2 otherwise (atomic and private as above).
bool SaveLinkKeyFile(const std::filesystem::path& path, const LinkKeyFile& file,
                     std::string* error);
std::optional<LinkKeyFile> LoadLinkKeyFile(const std::filesystem::path& path,
                                           std::string* error);

}  // namespace caravan::crypto
