#pragma once
// TAXII accounts: who may read which collections, up to which TLP, and who
// may add objects. Loaded from the TOML file named by [taxii] accounts:
//
//   [[account]]
//   name = "splunk"
//   password_hash = "$argon2id$v=19$..."   # caravan-taxii-passwd output
//   collections = ["received", "own", "all"]
//   max_tlp = "amber"
//   can_write = false
//
// Passwords are checked with crypto_pwhash_str_verify. That is slow on
// purpose (Argon2id), so a successful check is remembered for
// kVerifiedLoginTtl as a keyed BLAKE2b of name and password (random key per
// process): a SIEM paging through a collection pays for one hash, not one
// per page. A name that matches no account is checked against a dummy hash
// with the same parameters as the first account's, and the name is looked
// up without an early exit, so an unknown name and a wrong password take
// the same time (no user enumeration by timing).
//
// Thread-safety: Authenticate may be called from any thread.

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/indicator.h"
#include "protocol/status.h"

namespace caravan::feeds {

// How long a verified name and password skip Argon2, and how many such
// pairs are remembered at most.
inline constexpr std::chrono::seconds kVerifiedLoginTtl{300};
inline constexpr size_t kMaxVerifiedLogins = 1024;
// Longest password verified; longer ones fail without hashing.
inline constexpr size_t kMaxPasswordBytes = 1024;

// The collections caravan serves (docs/taxii.md).
inline constexpr std::string_view kCollectionReceived = "received";
inline constexpr std::string_view kCollectionOwn = "own";
inline constexpr std::string_view kCollectionAll = "all";

struct TaxiiAccount {
  std::string name;
  std::string password_hash;       // crypto_pwhash_str output
  std::set<std::string> collections;  // subset of received, own, all
  protocol::Tlp max_tlp = protocol::Tlp::kClear;
  bool can_write = false;
};

class TaxiiAccounts {
 public:
  // Parses the accounts file text. InvalidInput naming the account and key
  // for a missing or bad field, an unknown collection or TLP, a duplicate
  // name, or a hash that is not a crypto_pwhash_str string.
  static Result<TaxiiAccounts> Parse(std::string_view text);
  // Reads and parses `path`; Unavailable when it cannot be read.
  static Result<TaxiiAccounts> Load(const std::string& path);

  TaxiiAccounts();
  TaxiiAccounts(TaxiiAccounts&&) noexcept;
  TaxiiAccounts& operator=(TaxiiAccounts&&) noexcept;
  ~TaxiiAccounts();

  // The account whose name and password match; nullopt otherwise (unknown
  // name and wrong password are not told apart, in result or in time).
  // Runs Argon2 unless the pair was verified within kVerifiedLoginTtl.
  std::optional<TaxiiAccount> Authenticate(std::string_view name,
                                           std::string_view password) const;
  // The account if this exact name and password were verified within
  // kVerifiedLoginTtl; nullopt otherwise. Cheap (one BLAKE2b), never runs
  // Argon2: the server calls it on its io thread before queueing a login.
  std::optional<TaxiiAccount> Cached(std::string_view name,
                                     std::string_view password) const;
  // Whether `name` names an account (for log lines only, after the login
  // has been answered).
  bool Exists(std::string_view name) const;
  size_t size() const { return accounts_.size(); }

 private:
  struct Cache;
  // The account named `name`, found without an early exit; null if none.
  const TaxiiAccount* Find(std::string_view name) const;
  std::vector<TaxiiAccount> accounts_;
  std::unique_ptr<Cache> cache_;
};

// crypto_pwhash_str with the interactive limits. Unavailable if libsodium
// runs out of memory.
Result<std::string> HashTaxiiPassword(std::string_view password);

}  // namespace caravan::feeds
