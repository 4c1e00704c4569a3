#include "daemon/feeds/taxii_accounts.h"

#include <sodium.h>

#include <array>
#include <map>
#include <fstream>
#include <sstream>
#include <toml++/toml.h>

namespace caravan::feeds {

struct TaxiiAccounts::Cache {
  std::array<uint8_t, crypto_generichash_KEYBYTES> key{};
  mutable std::mutex mu;
  // keyed digest of name \0 password -> when the verification expires
  std::map<std::string, std::chrono::steady_clock::time_point> verified;
  Cache() { randombytes_buf(key.data(), key.size()); }
  bool Fresh(const std::string& digest) {
    std::lock_guard lock(mu);
    auto it = verified.find(digest);
    if (it == verified.end()) return false;
    if (it->second <= std::chrono::steady_clock::now()) {
      verified.erase(it);
      return false;
    }
    return true;
  }
  void Remember(const std::string& digest) {
    std::lock_guard lock(mu);
    const auto now = std::chrono::steady_clock::now();
    if (verified.size() >= kMaxVerifiedLogins) {
      std::erase_if(verified, [now](const auto& kv) { return kv.second <= now; });
    }
    if (verified.size() < kMaxVerifiedLogins) {
      verified[digest] = now + kVerifiedLoginTtl;
    }
  }
  std::string Digest(std::string_view name, std::string_view password) const {
    std::array<uint8_t, 32> out{};
    crypto_generichash_state st;
    crypto_generichash_init(&st, key.data(), key.size(), out.size());
    crypto_generichash_update(&st,
                              reinterpret_cast<const uint8_t*>(name.data()),
                              name.size());
    const uint8_t sep = 0;
    crypto_generichash_update(&st, &sep, 1);
    crypto_generichash_update(
        &st, reinterpret_cast<const uint8_t*>(password.data()),
        password.size());
    crypto_generichash_final(&st, out.data(), out.size());
    return std::string(out.begin(), out.end());
  }
};

TaxiiAccounts::TaxiiAccounts() : cache_(std::make_unique<Cache>()) {}
TaxiiAccounts::TaxiiAccounts(TaxiiAccounts&&) noexcept = default;
TaxiiAccounts& TaxiiAccounts::operator=(TaxiiAccounts&&) noexcept = default;
TaxiiAccounts::~TaxiiAccounts() = default;

Result<TaxiiAccounts> TaxiiAccounts::Parse(std::string_view text) {
  toml::table root;
  try {
    root = toml::parse(text);
  } catch (const toml::parse_error& e) {
    return InvalidInput("taxii accounts: line " +
                        std::to_string(e.source().begin.line) + ": " +
                        std::string(e.description()));
  }
  TaxiiAccounts out;
  for (auto&& [key, node] : root) {
    if (key.str() != "account") {
      return InvalidInput("taxii accounts: unknown key '" +
                          std::string(key.str()) + "'");
    }
  }
  const toml::array* list = root["account"].as_array();
  if (list == nullptr) return out;  // no accounts: everything is 401
  for (const toml::node& n : *list) {
    const toml::table* t = n.as_table();
    if (t == nullptr) return InvalidInput("taxii accounts: [[account]] expected");
    TaxiiAccount a;
    auto name = (*t)["name"].value<std::string>();
    if (!name || name->empty() || name->size() > 64 ||
        name->find(':') != std::string::npos) {
      return InvalidInput(
          "taxii accounts: an account needs a name (1..64 characters, no "
          "':')");
    }
    a.name = *name;
    const std::string where = "taxii account '" + a.name + "': ";
    for (auto&& [k, v] : *t) {
      static const std::set<std::string> kKeys = {
          "name", "password_hash", "collections", "max_tlp", "can_write"};
      if (!kKeys.count(std::string(k.str()))) {
        return InvalidInput(where + "unknown key '" + std::string(k.str()) +
                            "'");
      }
    }
    auto hash = (*t)["password_hash"].value<std::string>();
    if (!hash || hash->rfind("$argon2", 0) != 0 ||
        hash->size() >= crypto_pwhash_STRBYTES) {
      return InvalidInput(where +
                          "password_hash must be a crypto_pwhash_str string "
                          "(caravan-taxii-passwd prints one)");
    }
    a.password_hash = *hash;
    const toml::array* cols = (*t)["collections"].as_array();
    if (cols == nullptr) return InvalidInput(where + "collections missing");
    for (const toml::node& c : *cols) {
      auto s = c.value<std::string>();
      if (!s || (*s != kCollectionReceived && *s != kCollectionOwn &&
                 *s != kCollectionAll)) {
        return InvalidInput(where +
                            "collections: each is received, own or all");
      }
      a.collections.insert(*s);
    }
    auto tlp = (*t)["max_tlp"].value<std::string>();
    if (!tlp) return InvalidInput(where + "max_tlp missing");
    auto parsed = protocol::ParseTlpName(*tlp);
    if (!parsed) return InvalidInput(where + "unknown max_tlp '" + *tlp + "'");
    a.max_tlp = *parsed;
    a.can_write = (*t)["can_write"].value_or(false);
    for (const auto& other : out.accounts_) {
      if (other.name == a.name) return InvalidInput(where + "defined twice");
    }
    out.accounts_.push_back(std::move(a));
  }
  return out;
}

Result<TaxiiAccounts> TaxiiAccounts::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Unavailable("cannot read taxii accounts file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  auto parsed = Parse(text.str());
  if (!parsed.ok()) {
    return InvalidInput(path + ": " + parsed.status().message());
  }
  return parsed;
}

const TaxiiAccount* TaxiiAccounts::Find(std::string_view name) const {
  // Compare keyed digests of equal length with sodium_memcmp over every
  // account: the time does not depend on where (or whether) it matches.
  const std::string wanted = cache_->Digest(name, "");
  const TaxiiAccount* found = nullptr;
  for (const auto& a : accounts_) {
    const std::string have = cache_->Digest(a.name, "");
    if (sodium_memcmp(wanted.data(), have.data(), wanted.size()) == 0) {
      found = &a;
    }
  }
  return found;
}

bool TaxiiAccounts::Exists(std::string_view name) const {
  return Find(name) != nullptr;
}

std::optional<TaxiiAccount> TaxiiAccounts::Cached(
    std::string_view name, std::string_view password) const {
  const TaxiiAccount* account = Find(name);
  if (account == nullptr || password.size() > kMaxPasswordBytes) {
    return std::nullopt;
  }
  if (!cache_->Fresh(cache_->Digest(name, password))) return std::nullopt;
  return *account;
}

std::optional<TaxiiAccount> TaxiiAccounts::Authenticate(
    std::string_view name, std::string_view password) const {
  if (password.size() > kMaxPasswordBytes) return std::nullopt;
  const TaxiiAccount* account = Find(name);
  if (account != nullptr) {
    const std::string digest = cache_->Digest(name, password);
    if (cache_->Fresh(digest)) return *account;
    if (crypto_pwhash_str_verify(account->password_hash.c_str(),
                                 password.data(), password.size()) != 0) {
      return std::nullopt;
    }
    cache_->Remember(digest);
    return *account;
  }
  // Unknown name: spend what a wrong password for a real account costs.
  // The first account's hash with a password it cannot have (a random
  // 32-byte value is never the typed password, and the result is ignored)
  // has the same Argon2 parameters as the accounts an attacker probes.
  if (!accounts_.empty()) {
    std::array<char, 32> junk{};
    randombytes_buf(junk.data(), junk.size());
    const int ignored = crypto_pwhash_str_verify(
        accounts_.front().password_hash.c_str(), junk.data(), junk.size());
    (void)ignored;
  }
  return std::nullopt;
}

Result<std::string> HashTaxiiPassword(std::string_view password) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(),
                        crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return Unavailable("crypto_pwhash_str failed (out of memory)");
  }
  return std::string(out);
}

}  // namespace caravan::feeds
