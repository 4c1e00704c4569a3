#pragma once
// SHA-256 of a few byte strings, concatenated: the hash of the record
// Merkle trees (RFC 6962 shape, docs/wire.md "Batch signatures").
//
// OpenSSL's implementation, not libsodium's: libsodium's SHA-256 is
// portable C, OpenSSL's uses the CPU's SHA extensions where there are
// some. On a 65-byte tree node (this machine, SHA-NI): 483 ns libsodium,
// 163 ns here; a /24 query hashes a 16-leaf chunk per row, and a
// catch-up hashes every leaf and node. Same function, same bytes: only
// the speed differs.
//
// Thread-safe (one digest context per thread, reused).

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>

namespace caravan::crypto {

std::array<uint8_t, 32> Sha256Of(
    std::initializer_list<std::span<const uint8_t>> parts);

}  // namespace caravan::crypto
