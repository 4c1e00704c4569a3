#include "protocol/config/roster_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <sstream>
#include <toml++/toml.h>

#include "protocol/country_codes.h"

namespace caravan::protocol {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kKeyPrefix = "caravan:";
constexpr int kBase64Variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;

std::string TypeName(const toml::node& n) {
  if (n.is_table()) return "a table";
  if (n.is_array()) return "an array";
  if (n.is_string()) return "a string";
  if (n.is_integer()) return "an integer";
  if (n.is_floating_point()) return "a float";
  if (n.is_boolean()) return "a boolean";
  return "a date or time";
}

uint32_t LineOf(const toml::node& n) { return n.source().begin.line; }

// What is wrong with `m.via` on its own (empty: nothing). The one wording
// for the loader and for `caravan peers add`.
std::string ViaOwnError(const RosterMember& m) {
  if (std::string why = NameError(m.via); !why.empty()) {
    return "'" + m.via + "' " + why;
  }
  if (m.via == m.name) return "a member cannot be its own hub";
  if (m.endpoint.has_value()) {
    return "a member reached through a hub has no endpoint (remove one of "
           "the two)";
  }
  return "";
}

// What is wrong with `hub` as the hub of a member of `roster` (empty:
// nothing). A hub must be a member we link to directly: not unknown, not
// itself behind another hub (no multi-hop routing).
std::string ViaHubError(const std::vector<RosterMember>& roster,
                        const std::string& hub) {
  auto it = std::find_if(roster.begin(), roster.end(),
                         [&](const RosterMember& o) { return o.name == hub; });
  if (it == roster.end()) return "no member named '" + hub + "'";
  if (!it->via.empty()) {
    return "'" + hub +
           "' is itself reached through a hub; a hub must be a direct peer";
  }
  return "";
}

// What is wrong with `cc` as a member's country (empty: nothing). Only
// assigned codes: "ZZ" or a typo would put a member in no country, so no
// policy would ever name it.
std::string CountryError(const std::string& cc) {
  if (!IsCountryCode(cc)) {
    return "'" + cc + "' is not an ISO 3166-1 alpha-2 code (two uppercase "
           "letters)";
  }
  if (!IsAssignedCountryCode(cc)) {
    return "'" + cc + "' is not an assigned ISO 3166-1 alpha-2 country code";
  }
  return "";
}

// What is wrong with `key` as a member's identity key (empty: nothing). A
// key that is not a canonical point of the prime-order subgroup (the
// all-zero key, the identity, other small-order points) is accepted by no
// honest signer and lets weak signatures verify under some checkers.
std::string IdentityKeyError(const PublicKey& key) {
  if (sodium_init() < 0) return "libsodium cannot be initialised";
  if (key == PublicKey{}) return "the all-zero key is not an identity key";
  if (crypto_core_ed25519_is_valid_point(key.data()) != 1) {
    return "not a valid Ed25519 public key (small-order or non-canonical "
           "point)";
  }
  return "";
}

}  // namespace

std::string PublicKeyToText(const PublicKey& key) {
  char b64[sodium_base64_ENCODED_LEN(32, kBase64Variant)];
  sodium_bin2base64(b64, sizeof b64, key.data(), key.size(), kBase64Variant);
  return std::string(kKeyPrefix) + b64;
}

Result<PublicKey> ParsePublicKeyText(std::string_view text) {
  if (text.substr(0, kKeyPrefix.size()) != kKeyPrefix) {
    return InvalidInput("key does not start with 'caravan:'");
  }
  std::string_view b64 = text.substr(kKeyPrefix.size());
  // 32 bytes are exactly 43 unpadded base64 characters.
  if (b64.size() != 43) {
    return InvalidInput("key must be 'caravan:' and 43 base64url characters, "
                        "got " + std::to_string(b64.size()));
  }
  PublicKey key{};
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(key.data(), key.size(), b64.data(), b64.size(),
                        nullptr, &len, &end, kBase64Variant) != 0 ||
      len != key.size() || end != b64.data() + b64.size()) {
    return InvalidInput("key is not valid base64url of 32 bytes");
  }
  return key;
}

Result<std::vector<RosterMember>> ParseRoster(std::string_view text,
                                              const fs::path& path) {
  LineErrors errors(path.string());
  toml::table root;
  try {
    root = toml::parse(text, path.string());
  } catch (const toml::parse_error& e) {
    errors.Add(e.source().begin.line, std::string(e.description()));
    return errors.ToStatus();
  }

  std::vector<RosterMember> members;
  for (auto&& [key, node] : root) {
    if (key.str() != "member") {
      errors.Add(key.source().begin.line,
                 "unknown key '" + std::string(key.str()) +
                     "' (a roster holds only [[member]] tables)");
    }
  }
  const toml::node* list = root.get("member");
  const toml::array* array = list != nullptr ? list->as_array() : nullptr;
  if (list != nullptr && (array == nullptr || !array->is_array_of_tables())) {
    errors.Add(LineOf(*list), "'member' must be written as [[member]] tables");
    array = nullptr;
  }
  if (array != nullptr && array->size() > kMaxRosterMembers) {
    errors.Add(LineOf(*list), "more than " + std::to_string(kMaxRosterMembers) +
                                  " members");
    array = nullptr;
  }

  std::map<std::string, uint32_t> name_lines;
  std::map<PublicKey, uint32_t> key_lines;
  // members index -> line of its `via`, checked once every name is known.
  std::map<size_t, uint32_t> via_lines;
  if (array != nullptr) {
    for (const toml::node& element : *array) {
      const toml::table& t = *element.as_table();
      const uint32_t line = LineOf(t);
      RosterMember m;
      bool good = true;
      auto fail = [&](uint32_t at, std::string reason) {
        errors.Add(at, std::move(reason));
        good = false;
      };
      for (auto&& [k, v] : t) {
        if (k.str() != "name" && k.str() != "country" && k.str() != "key" &&
            k.str() != "endpoint" && k.str() != "via") {
          fail(k.source().begin.line,
               "unknown key '" + std::string(k.str()) + "' in [[member]]");
        }
      }
      // A required or optional string field; nullopt when absent or wrong.
      auto field = [&](std::string_view name,
                       bool required) -> std::optional<std::string> {
        const toml::node* n = t.get(name);
        if (n == nullptr) {
          if (required) {
            fail(line, "[[member]] " + std::string(name) + ": is required");
          }
          return std::nullopt;
        }
        if (!n->is_string()) {
          fail(LineOf(*n), "[[member]] " + std::string(name) +
                               ": must be a string, not " + TypeName(*n));
          return std::nullopt;
        }
        return std::string(**n->as_string());
      };
      auto line_of = [&](std::string_view name) {
        const toml::node* n = t.get(name);
        return n != nullptr ? LineOf(*n) : line;
      };

      if (std::optional<std::string> name = field("name", true)) {
        std::string why = NameError(*name);
        if (!why.empty()) {
          fail(line_of("name"), "[[member]] name: '" + *name + "' " + why);
        } else {
          m.name = *name;
        }
      }
      if (std::optional<std::string> cc = field("country", true)) {
        if (std::string why = CountryError(*cc); !why.empty()) {
          fail(line_of("country"), "[[member]] country: " + why);
        } else {
          m.country = *cc;
        }
      }
      if (std::optional<std::string> k = field("key", true)) {
        Result<PublicKey> key = ParsePublicKeyText(*k);
        if (!key.ok()) {
          fail(line_of("key"), "[[member]] key: " + key.status().message());
        } else if (std::string why = IdentityKeyError(*key); !why.empty()) {
          fail(line_of("key"), "[[member]] key: " + why);
        } else {
          m.key = *key;
        }
      }
      if (std::optional<std::string> e = field("endpoint", false)) {
        if (!e->empty()) {
          Result<HostPort> hp = ParseHostPort(*e);
          if (!hp.ok()) {
            fail(line_of("endpoint"),
                 "[[member]] endpoint: " + hp.status().message());
          } else {
            m.endpoint = *hp;
          }
        }
      }
      if (std::optional<std::string> via = field("via", false)) {
        m.via = *via;
        if (std::string why = ViaOwnError(m); !why.empty()) {
          m.via.clear();
          fail(line_of("via"), "[[member]] via: " + why);
        } else {
          via_lines[members.size()] = line_of("via");
        }
      }
      if (!m.name.empty()) {
        auto [it, inserted] = name_lines.emplace(m.name, line);
        if (!inserted) {
          fail(line_of("name"), "duplicate member name '" + m.name +
                                    "' (first at line " +
                                    std::to_string(it->second) + ")");
        }
      }
      if (t.get("key") != nullptr && m.key != PublicKey{}) {
        auto [it, inserted] = key_lines.emplace(m.key, line);
        if (!inserted) {
          fail(line_of("key"), "duplicate member key (first at line " +
                                   std::to_string(it->second) + ")");
        }
      }
      if (good) {
        members.push_back(std::move(m));
      } else {
        via_lines.erase(members.size());
      }
    }
  }
  for (const auto& [index, at] : via_lines) {
    if (std::string why = ViaHubError(members, members[index].via);
        !why.empty()) {
      errors.Add(at, "[[member]] via: " + why);
    }
  }
  if (!errors.empty()) return errors.ToStatus();
  return members;
}

Status CheckNewMember(const std::vector<RosterMember>& roster,
                      const RosterMember& member, const PublicKey& self_key) {
  if (std::string why = NameError(member.name); !why.empty()) {
    return InvalidInput("NAME '" + member.name + "' " + why);
  }
  if (std::string why = CountryError(member.country); !why.empty()) {
    return InvalidInput("--country " + why);
  }
  if (std::string why = IdentityKeyError(member.key); !why.empty()) {
    return InvalidInput("--key: " + why);
  }
  if (member.key == self_key) return InvalidInput("--key is this node's own key");
  for (const RosterMember& m : roster) {
    if (m.name == member.name) {
      return InvalidInput("the roster already has a member named " + m.name);
    }
    if (m.key == member.key) {
      return InvalidInput("--key: that key is already in the roster as " +
                          m.name);
    }
  }
  if (member.via.empty()) return Status::Ok();
  if (member.endpoint.has_value()) {
    return InvalidInput("--via and --endpoint exclude each other: a member "
                        "reached through a hub is never dialed");
  }
  std::string why = ViaOwnError(member);
  if (why.empty()) why = ViaHubError(roster, member.via);
  if (!why.empty()) return InvalidInput("--via: " + why);
  return Status::Ok();
}

Status CheckRemoveMember(const std::vector<RosterMember>& roster,
                         std::string_view name) {
  if (std::none_of(roster.begin(), roster.end(),
                   [&](const RosterMember& m) { return m.name == name; })) {
    return NotFound("no roster member " + std::string(name));
  }
  std::string routed;
  for (const RosterMember& m : roster) {
    if (m.via == name) routed += (routed.empty() ? "" : ", ") + m.name;
  }
  if (routed.empty()) return Status::Ok();
  return InvalidInput(std::string(name) + " is the hub of " + routed +
                      " (via = \"" + std::string(name) +
                      "\"): remove or re-route those members first");
}

Result<std::vector<RosterMember>> LoadRosterFile(const fs::path& path) {
  Result<std::string> text = ReadBoundedFile(path, kMaxRosterFileBytes);
  if (!text.ok()) return text.status();
  return ParseRoster(*text, path);
}

std::string RenderRoster(const std::vector<RosterMember>& members) {
  std::ostringstream o;
  o << "# roster.toml: the federation members this node knows.\n"
       "# Edited by `caravan peers add/remove`; see docs/config.md.\n"
       "# Records whose origin is not listed here are rejected.\n";
  for (const RosterMember& m : members) {
    o << "\n[[member]]\n"
      << "name = " << QuoteTomlString(m.name) << "\n"
      << "country = " << QuoteTomlString(m.country) << "\n"
      << "key = " << QuoteTomlString(PublicKeyToText(m.key)) << "\n";
    if (m.endpoint.has_value()) {
      o << "endpoint = " << QuoteTomlString(m.endpoint->ToString()) << "\n";
    }
    if (!m.via.empty()) o << "via = " << QuoteTomlString(m.via) << "\n";
  }
  return o.str();
}

namespace {

Status OsError(std::string_view step, const fs::path& path) {
  return Unavailable(std::string(step) + " " + path.string() + ": " +
                     std::strerror(errno));
}

Status WriteAll(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return OsError("write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

}  // namespace

Status WriteRosterFile(const fs::path& path,
                       const std::vector<RosterMember>& members) {
  const std::string text = RenderRoster(members);
  fs::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  fs::path tmp = path;
  tmp += ".tmp";

  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return OsError("create", tmp);
  Status s = WriteAll(fd, text, tmp);
  if (s.ok() && ::fsync(fd) != 0) s = OsError("fsync", tmp);
  if (::close(fd) != 0 && s.ok()) s = OsError("close", tmp);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    s = OsError("rename to", path);
  }
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return OsError("open directory", dir);
  if (::fsync(dfd) != 0) s = OsError("fsync directory", dir);
  ::close(dfd);
  return s;
}

}  // namespace caravan::protocol
