#include "daemon/sync/prekey_keyring.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "crypto/secret_bytes.h"
#include "crypto/sodium_init.h"
#include "daemon/observe/log.h"

namespace caravan::daemon::sync {
namespace {

constexpr size_t kHeaderBytes = 64;
constexpr size_t kSlotBytes = 128;
constexpr size_t kFileBytes = kHeaderBytes + kPrekeySlots * kSlotBytes;
constexpr size_t kChecksumBytes = 32;
constexpr char kHeaderMagic[8] = {'C', 'V', 'P', 'K', 'H', 'D', 'R', '1'};
constexpr char kSlotMagic[8] = {'C', 'V', 'P', 'K', 'S', 'L', 'T', '1'};
// Slot: magic(8) id(8) not_before(8) not_after(8) secret(32), then the
// checksum of those 64 bytes at kSlotChecksumAt, zeros elsewhere.
constexpr size_t kSlotBody = 64;
constexpr size_t kSlotChecksumAt = kSlotBytes - kChecksumBytes;
// Header: magic(8) last_id(8), checksum at kHeaderChecksumAt.
constexpr size_t kHeaderBody = 16;
constexpr size_t kHeaderChecksumAt = kHeaderBytes - kChecksumBytes;

void PutU64(uint8_t* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
}
uint64_t GetU64(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}

void Checksum(const uint8_t* body, size_t n, uint8_t* out) {
  crypto_generichash(out, kChecksumBytes, body, n, nullptr, 0);
}
bool ChecksumOk(const uint8_t* body, size_t n, const uint8_t* sum) {
  uint8_t want[kChecksumBytes];
  Checksum(body, n, want);
  return sodium_memcmp(want, sum, kChecksumBytes) == 0;
}

Status Errno(const std::string& what) {
  return Unavailable(what + ": " + std::strerror(errno));
}

Status WriteAt(int fd, const uint8_t* data, size_t n, size_t offset) {
  size_t done = 0;
  while (done < n) {
    ssize_t w = ::pwrite(fd, data + done, n - done,
                         static_cast<off_t>(offset + done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Errno("writing the prekeys file");
    done += static_cast<size_t>(w);
  }
  if (::fdatasync(fd) != 0) return Errno("syncing the prekeys file");
  return Status::Ok();
}

size_t SlotOffset(size_t slot) { return kHeaderBytes + slot * kSlotBytes; }

}  // namespace

Result<std::unique_ptr<PrekeyKeyring>> PrekeyKeyring::Open(
    const std::filesystem::path& path, const crypto::IdentityKey& owner) {
  crypto::EnsureSodium();
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  bool created = false;
  if (fd < 0 && errno == ENOENT) {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    created = true;
  }
  if (fd < 0) return Errno("opening the prekeys file " + path.string());
  std::unique_ptr<PrekeyKeyring> ring(new PrekeyKeyring(fd, owner));
  struct stat st{};
  if (::fstat(fd, &st) != 0) return Errno("reading " + path.string());
  if (created) {
    if (::fchmod(fd, 0600) != 0) return Errno("chmod " + path.string());
    const std::vector<uint8_t> zeros(kFileBytes, 0);
    CARAVAN_RETURN_IF_ERROR(WriteAt(fd, zeros.data(), zeros.size(), 0));
    CARAVAN_RETURN_IF_ERROR(ring->WriteHeaderLocked(0));
    return ring;
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o",
                  static_cast<unsigned>(st.st_mode & 0777));
    return InvalidInput("the prekeys file " + path.string() +
                        " is open to group or others (mode " + mode +
                        "); it must be 0600");
  }
  if (static_cast<size_t>(st.st_size) != kFileBytes) {
    return InvalidInput("the prekeys file " + path.string() + " has " +
                        std::to_string(st.st_size) + " bytes, not " +
                        std::to_string(kFileBytes));
  }
  crypto::SecretBytes<kFileBytes> file;
  size_t got = 0;
  while (got < kFileBytes) {
    ssize_t r = ::pread(fd, file.data() + got, kFileBytes - got,
                        static_cast<off_t>(got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return Errno("reading " + path.string());
    got += static_cast<size_t>(r);
  }
  const uint8_t* h = file.data();
  if (std::memcmp(h, kHeaderMagic, sizeof kHeaderMagic) == 0 &&
      ChecksumOk(h, kHeaderBody, h + kHeaderChecksumAt)) {
    ring->last_id_ = GetU64(h + 8);
  } else {
    LogWarning("the prekeys file header is damaged; prekey ids continue "
               "after the highest slot");
  }
  for (size_t slot = 0; slot < kPrekeySlots; ++slot) {
    const uint8_t* s = file.data() + SlotOffset(slot);
    if (std::memcmp(s, kSlotMagic, sizeof kSlotMagic) != 0) continue;
    if (!ChecksumOk(s, kSlotBody, s + kSlotChecksumAt)) {
      LogWarning("prekeys file slot ", slot,
                 " fails its checksum (torn write?); read as empty");
      continue;
    }
    Held held;
    held.slot = slot;
    const uint64_t id = GetU64(s + 8);
    held.not_before = static_cast<int64_t>(GetU64(s + 16));
    held.not_after = static_cast<int64_t>(GetU64(s + 24));
    held.key = crypto::LinkKey::FromSecret(
        std::span<const uint8_t, 32>(s + 32, 32));
    ring->last_id_ = std::max(ring->last_id_, id);
    ring->held_[id] = std::move(held);
  }
  return ring;
}

PrekeyKeyring::~PrekeyKeyring() {
  if (fd_ >= 0) ::close(fd_);
}

Status PrekeyKeyring::WriteHeaderLocked(uint64_t last_id) {
  std::array<uint8_t, kHeaderBytes> h{};
  std::memcpy(h.data(), kHeaderMagic, sizeof kHeaderMagic);
  PutU64(h.data() + 8, last_id);
  Checksum(h.data(), kHeaderBody, h.data() + kHeaderChecksumAt);
  return WriteAt(fd_, h.data(), h.size(), 0);
}

Status PrekeyKeyring::EraseSlotLocked(uint64_t id) {
  auto it = held_.find(id);
  if (it == held_.end()) return Status::Ok();
  const std::array<uint8_t, kSlotBytes> zeros{};
  CARAVAN_RETURN_IF_ERROR(
      WriteAt(fd_, zeros.data(), zeros.size(), SlotOffset(it->second.slot)));
  held_.erase(it);  // the last reference wipes the secret (sodium_free)
  return Status::Ok();
}

Result<PrekeyStatement> PrekeyKeyring::Rotate(int64_t now,
                                              std::chrono::seconds validity) {
  std::lock_guard lock(mu_);
  std::array<bool, kPrekeySlots> taken{};
  for (const auto& [id, h] : held_) taken[h.slot] = true;
  size_t slot = kPrekeySlots;
  for (size_t i = 0; i < kPrekeySlots; ++i) {
    if (!taken[i]) {
      slot = i;
      break;
    }
  }
  if (slot == kPrekeySlots) {
    // Full: the key that expires first goes (its grace is cut short).
    auto oldest = held_.begin();
    for (auto it = held_.begin(); it != held_.end(); ++it) {
      if (it->second.not_after < oldest->second.not_after) oldest = it;
    }
    LogWarning("prekeys file full: erasing prekey ", oldest->first,
               " before its grace period ends");
    slot = oldest->second.slot;
    CARAVAN_RETURN_IF_ERROR(EraseSlotLocked(oldest->first));
  }
  const uint64_t id = last_id_ + 1;
  // The id is spent before the key exists: a crash between the two loses
  // an id, never reuses one.
  CARAVAN_RETURN_IF_ERROR(WriteHeaderLocked(id));
  last_id_ = id;
  std::unique_ptr<crypto::LinkKey> key = crypto::LinkKey::Generate();
  Held held;
  held.slot = slot;
  held.not_before = now;
  held.not_after = now + validity.count();
  crypto::SecretBytes<kSlotBytes> s;
  std::memcpy(s.data(), kSlotMagic, sizeof kSlotMagic);
  PutU64(s.data() + 8, id);
  PutU64(s.data() + 16, static_cast<uint64_t>(held.not_before));
  PutU64(s.data() + 24, static_cast<uint64_t>(held.not_after));
  std::memcpy(s.data() + 32, key->secret().data(), 32);
  Checksum(s.data(), kSlotBody, s.data() + kSlotChecksumAt);
  CARAVAN_RETURN_IF_ERROR(
      WriteAt(fd_, s.data(), kSlotBytes, SlotOffset(slot)));
  const crypto::X25519PublicKey pub = key->public_key();
  held.key = std::move(key);
  const int64_t nb = held.not_before, na = held.not_after;
  held_[id] = std::move(held);
  return SignPrekeyStatement(owner_, id, pub, nb, na);
}

std::optional<PrekeyStatement> PrekeyKeyring::Current(int64_t now) const {
  std::lock_guard lock(mu_);
  for (auto it = held_.rbegin(); it != held_.rend(); ++it) {
    const Held& h = it->second;
    if (h.not_before <= now && now < h.not_after) {
      return SignPrekeyStatement(owner_, it->first, h.key->public_key(),
                                 h.not_before, h.not_after);
    }
  }
  return std::nullopt;
}

std::shared_ptr<const crypto::LinkKey> PrekeyKeyring::Find(uint64_t id) const {
  std::lock_guard lock(mu_);
  auto it = held_.find(id);
  return it == held_.end() ? nullptr : it->second.key;
}

Result<size_t> PrekeyKeyring::EraseExpired(int64_t now,
                                           std::chrono::seconds grace) {
  std::lock_guard lock(mu_);
  std::vector<uint64_t> due;
  for (const auto& [id, h] : held_) {
    if (h.not_after + grace.count() <= now) due.push_back(id);
  }
  for (uint64_t id : due) CARAVAN_RETURN_IF_ERROR(EraseSlotLocked(id));
  return due.size();
}

std::vector<uint64_t> PrekeyKeyring::HeldIds() const {
  std::lock_guard lock(mu_);
  std::vector<uint64_t> out;
  for (const auto& [id, h] : held_) out.push_back(id);
  return out;
}

}  // namespace caravan::daemon::sync
