#include "daemon/feeds/taxii_accounts.h"

#include <sodium.h>

#include <array>
#include <fstream>
#include <sstream>
#include <toml++/toml.h>

namespace caravan::feeds {

struct TaxiiAccounts::Cache {
  std::array<uint8_t, crypto_generichash_KEYBYTES> key{};
  mutable std::mutex mu;
  std::set<std::string> verified;  // keyed digests of name \0 password
  Cache() { randombytes_buf(key.data(), key.size()); }
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

std::optional<TaxiiAccount> TaxiiAccounts::Authenticate(
    std::string_view name, std::string_view password) const {
  const TaxiiAccount* account = nullptr;
  for (const auto& a : accounts_) {
    if (a.name == name) account = &a;
  }
  if (account == nullptr || password.size() > 1024) return std::nullopt;
  const std::string digest = cache_->Digest(name, password);
  {
    std::lock_guard lock(cache_->mu);
    if (cache_->verified.count(digest)) return *account;
  }
  if (crypto_pwhash_str_verify(account->password_hash.c_str(),
                               password.data(), password.size()) != 0) {
    return std::nullopt;
  }
  std::lock_guard lock(cache_->mu);
  if (cache_->verified.size() < 1024) cache_->verified.insert(digest);
  return *account;
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
