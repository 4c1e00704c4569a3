#pragma once
// HandshakeSlots: who may start an inbound link handshake now. Before the
// handshake ends nobody is authenticated, so a flood of connections that
// never finish (or fail) must not keep the real federation members out
// (issue 14). Three rules, checked in this order:
// - at most `max_handshakes` handshakes in progress at once;
// - a quarter of them (at least 1) are kept for known addresses (the
//   resolved address of a member's endpoint, or the address a member last
//   linked from): unknown addresses together hold at most the rest;
// - one address holds at most `max_per_source` of them; a known address at
//   most max(max_per_source, the reserve), since several members may share
//   it (a NAT, a test on loopback).
// So a single host, even one that is somehow known, can never take every
// slot, and a crowd of unknown hosts cannot take the reserve.
//
// Plain bookkeeping, no I/O, no clock: the LinkManager asks before it runs
// a handshake and releases afterwards. Memory: one entry per address with a
// handshake in progress (at most max_handshakes entries).
// Thread-safety: none; use from the io thread.

#include <cstddef>
#include <map>
#include <string>

namespace caravan::daemon::link {

class HandshakeSlots {
 public:
  struct Options {
    size_t max_handshakes = 64;  // >= 1
    size_t max_per_source = 4;   // >= 1
  };

  enum class Decision {
    kAdmitted,
    kSourceFull,  // this address already holds its share
    kAllFull,     // no slot left for this kind of address
  };

  explicit HandshakeSlots(Options options);

  // Takes a slot for a handshake from `source` (an address; `known` as
  // described above). kAdmitted: call Release(source, known) when the
  // handshake ends, with the same `known`.
  Decision Acquire(const std::string& source, bool known);
  void Release(const std::string& source, bool known);

  size_t reserved() const { return reserved_; }
  size_t in_use() const { return known_in_use_ + unknown_in_use_; }
  size_t unknown_in_use() const { return unknown_in_use_; }
  size_t known_in_use() const { return known_in_use_; }
  // The cap for one address of the given kind.
  size_t PerSourceCap(bool known) const;

 private:
  Options options_;
  size_t reserved_;  // slots unknown addresses may not take
  size_t known_in_use_ = 0;
  size_t unknown_in_use_ = 0;
  std::map<std::string, size_t> by_source_;  // entries are > 0
};

// The short reason names used for pre-authentication failures on the link
// port: log lines, audit summaries and the /metrics label `reason`.
inline constexpr const char* kPreauthReasons[] = {
    "timeout",           // no handshake (or no first message) in time
    "closed",            // the connection ended mid-handshake
    "malformed",         // bad lengths, decryption or link certificate
    "unknown_identity",  // a valid handshake by a key not in the roster
    "over_capacity",     // refused: no handshake slot for this address
    "retired_link_key",  // a member's link key older than one it has shown
    "other",
};

}  // namespace caravan::daemon::link
