#pragma once
// The recipient's prekey secrets (forward secrecy for hub mode,
// docs/federation.md "Prekeys").
//
// Each prekey is an X25519 pair made by Rotate(); its public half goes out
// as a signed statement (prekey_statement.h). The secret is kept until its
// statement's not-after plus [hub] prekey_grace (so batches sealed late,
// resent or held in a hub's queue, still open), then EraseExpired() wipes
// it: in memory (the LinkKey's sodium_malloc'd bytes are zeroed on free)
// and on disk.
//
// On disk: DATA_DIR/prekeys, mode 0600, a fixed-size file of one header
// and kPrekeySlots slots of 128 bytes, each with a BLAKE2b checksum. A key
// is written into a free slot and erased by overwriting its slot with
// zeros in place (pwrite + fdatasync), never by rewriting the file: a
// rename would leave the old blocks, secret included, in free space, and
// an SQLite table keeps old page images in its WAL and free list. On a
// copy-on-write filesystem (btrfs, ZFS) or below an SSD's wear levelling
// even an in-place write may leave the old block; run the data directory
// on an encrypted volume there. A torn slot write fails its checksum and
// reads as empty (that prekey is lost; envelopes sealed to it are refused
// and re-sealed by their sender). The header holds the last id used, so
// ids keep growing across erasures and restarts (members refuse a lower
// id as a replay).
//
// Thread-safe (one mutex); Find() may run on the worker pool while the io
// thread rotates. Secrets are never logged.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "crypto/identity_key.h"
#include "crypto/link_key.h"
#include "daemon/sync/prekey_statement.h"
#include "protocol/status.h"

namespace caravan::daemon::sync {

inline constexpr size_t kPrekeySlots = 16;

class PrekeyKeyring {
 public:
  // Opens `path` (created 0600 when missing; a file of another size or
  // open to group or others is refused by name) for `owner`, which signs
  // the statements and must outlive the keyring.
  static Result<std::unique_ptr<PrekeyKeyring>> Open(
      const std::filesystem::path& path, const crypto::IdentityKey& owner);
  ~PrekeyKeyring();
  PrekeyKeyring(const PrekeyKeyring&) = delete;
  PrekeyKeyring& operator=(const PrekeyKeyring&) = delete;

  // A new prekey valid from `now` for `validity`, kept on disk before it
  // is returned. When every slot is taken the key that expires first is
  // erased to make room (logged).
  Result<PrekeyStatement> Rotate(int64_t now, std::chrono::seconds validity);

  // The newest prekey valid at `now`; nullopt when none is.
  std::optional<PrekeyStatement> Current(int64_t now) const;

  // The key pair of prekey `id`, or null when we do not hold it (never
  // made, or erased).
  std::shared_ptr<const crypto::LinkKey> Find(uint64_t id) const;

  // Erases every prekey whose not-after + grace <= now. Returns how many.
  Result<size_t> EraseExpired(int64_t now, std::chrono::seconds grace);

  // Ids held, ascending (tests, status).
  std::vector<uint64_t> HeldIds() const;

 private:
  struct Held {
    size_t slot = 0;
    int64_t not_before = 0;
    int64_t not_after = 0;
    std::shared_ptr<const crypto::LinkKey> key;
  };
  PrekeyKeyring(int fd, const crypto::IdentityKey& owner)
      : fd_(fd), owner_(owner) {}
  Status EraseSlotLocked(uint64_t id);
  Status WriteHeaderLocked(uint64_t last_id);

  mutable std::mutex mu_;
  int fd_ = -1;
  const crypto::IdentityKey& owner_;
  uint64_t last_id_ = 0;
  std::map<uint64_t, Held> held_;  // by prekey id
};

}  // namespace caravan::daemon::sync
