#pragma once
// TAXII `next` tokens (docs/taxii.md, "Paging tokens"): a listing's filters
// and cursor, sealed with a keyed BLAKE2b MAC so a client can continue a
// listing but cannot forge or alter one. The MAC also covers the account
// name, so a token is only good for the account it was issued to.
//
// A token only says where a listing stands: whoever opens one must still
// apply every cap of the request it arrives with (page_size_max, the
// collection in the URL, the account's collections and TLP ceiling).
// TaxiiHandler does; Open() checks only authenticity and shape.
//
// The key is random per PageTokenSealer (one per TaxiiHandler, so per
// process): tokens do not survive a restart, and a client then resumes with
// `added_after` (the X-TAXII-Date-Added-Last header it already has), which
// is what TAXII clients do anyway. No key file to protect.
//
// Thread-safety: const methods only after construction; share freely.

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/status.h"

namespace caravan::feeds {

// A listing's state: what `next` continues.
struct PageSpec {
  std::string collection;          // collection name (received|own|all)
  uint64_t after_seq = 0;          // log cursor: list records after it
  std::vector<std::string> types;  // match[type]; empty = any
  std::vector<std::string> ids;    // match[id]; empty = any
  std::string version = "last";    // last | first | all | a timestamp
  size_t limit = 0;                // objects per page as asked (re-capped)

  bool operator==(const PageSpec&) const = default;
};

// Largest token accepted (a token carries the match[] lists of a request
// head, itself bounded by the server's header limit).
inline constexpr size_t kMaxPageTokenBytes = 64 * 1024;

class PageTokenSealer {
 public:
  PageTokenSealer();  // a fresh random key
  // For tests: a fixed key.
  explicit PageTokenSealer(const std::array<uint8_t, 32>& key);
  ~PageTokenSealer();
  PageTokenSealer(const PageTokenSealer&) = delete;
  PageTokenSealer& operator=(const PageTokenSealer&) = delete;

  // base64url(MAC || JSON of spec), for `account`. Never fails.
  std::string Seal(const PageSpec& spec, std::string_view account) const;
  // The spec of a token this sealer issued to `account`. InvalidInput
  // saying why otherwise: not base64url, too long or short, MAC mismatch
  // (forged, altered, another account's, or from before a restart), or a
  // payload that is not a listing. The MAC is compared in constant time
  // before the payload is parsed.
  Result<PageSpec> Open(std::string_view token, std::string_view account) const;

 private:
  std::array<uint8_t, crypto_generichash_KEYBYTES> key_{};
};

}  // namespace caravan::feeds
