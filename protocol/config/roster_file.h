#pragma once
// The roster file (roster.toml): the federation members this node knows.
// Shared by caravand (which loads it at start and rewrites it on
// `caravan peers add/remove`) and the CLI. docs/config.md describes it:
//
//   [[member]]
//   name = "CERT-KZ"
//   country = "KZ"
//   key = "caravan:<base64url of the 32-byte Ed25519 identity key>"
//   endpoint = "kz.example.org:7420"    # optional
//   via = "HUB-1"     # optional: reached only through that member, a hub
//
// Loading is strict (unknown keys, wrong types, bad values, duplicate names
// or keys are errors) and reports every error as `path:LINE: reason`.
// Plain values and pure functions, except WriteRosterFile which writes one
// file; safe to call from any thread (no two writers on one file, though).

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/indicator.h"
#include "protocol/config/node_config.h"
#include "protocol/status.h"

namespace caravan::protocol {

struct RosterMember {
  std::string name;     // NameError(name) is empty; unique in a roster
  std::string country;  // IsCountryCode(country)
  PublicKey key{};      // Ed25519 identity key; unique in a roster
  std::optional<HostPort> endpoint;  // where to dial it; unset: it dials us
  // Hub mode: the name of the member (a hub, reached directly) through
  // which records for this member travel sealed; empty: a direct peer. A
  // member with `via` has no endpoint (it is never dialed).
  std::string via{};  // (default: aggregate initializers may omit it)

  bool operator==(const RosterMember&) const = default;
};

inline constexpr size_t kMaxRosterMembers = 4096;
inline constexpr size_t kMaxRosterFileBytes = 4 * 1024 * 1024;

// The text form of an identity key: "caravan:" + base64url without padding
// (43 characters). The same text `caravan key show` prints.
std::string PublicKeyToText(const PublicKey& key);
// Inverse of PublicKeyToText. On failure: kInvalidInput (missing prefix,
// bad base64url, not 32 bytes).
Result<PublicKey> ParsePublicKeyText(std::string_view text);

// Parses roster text; `path` names the file in error messages. On failure:
// kInvalidInput listing every problem, one `path:LINE: reason` per line.
Result<std::vector<RosterMember>> ParseRoster(std::string_view text,
                                              const std::filesystem::path& path);

// The checks ParseRoster makes across members, for one member about to be
// added to `roster` (`caravan peers add`): its name and key are not in
// `roster` yet, it is not `self_key` (this node), and a `via` names another
// member of `roster` that is itself direct, on a member without endpoint.
// On failure: kInvalidInput naming the option (--via, --endpoint, --key,
// NAME) and what is wrong with it; the loader's own wording for `via`.
Status CheckNewMember(const std::vector<RosterMember>& roster,
                      const RosterMember& member, const PublicKey& self_key);

// Whether `name` may leave `roster` without breaking it: no other member
// is routed `via` it. On failure: kInvalidInput naming those members.
// (kNotFound when no member is called `name`.)
Status CheckRemoveMember(const std::vector<RosterMember>& roster,
                         std::string_view name);

// Reads and parses `path`. A missing file is kNotFound (the daemon treats it
// as an empty roster only if it says so); otherwise as ParseRoster.
Result<std::vector<RosterMember>> LoadRosterFile(
    const std::filesystem::path& path);

// The roster as TOML with a header comment; ParseRoster of the result gives
// `members` back (same order).
std::string RenderRoster(const std::vector<RosterMember>& members);

// Atomically replaces `path` with RenderRoster(members): writes a temporary
// file beside it (mode 0644), fsyncs it, renames it over `path` and fsyncs
// the directory, so a crash leaves the old or the new roster, never a mix.
// On failure: kUnavailable naming the step and the OS error; `path` is
// unchanged.
Status WriteRosterFile(const std::filesystem::path& path,
                       const std::vector<RosterMember>& members);

}  // namespace caravan::protocol
