#include "crypto/key_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>

namespace caravan::crypto {
namespace {

constexpr std::string_view kIdentityHeader = "caravan-identity-key v1";
constexpr std::string_view kLinkHeader = "caravan-link-key v1";
// A rotated link key: a third line "serial N not_before T" (crypto/key_file.h).
constexpr std::string_view kLinkHeaderV2 = "caravan-link-key v2";
constexpr size_t kMaxKeyFileSize = 4096;
constexpr int kB64Variant = sodium_base64_VARIANT_ORIGINAL;

void SetError(std::string* error, std::string msg) {
  if (error != nullptr) *error = std::move(msg);
}

std::string Errno(const std::filesystem::path& path, const char* what) {
  return std::string(what) + " " + path.string() + ": " + std::strerror(errno);
}

// Closes an fd on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// A std::string that wipes itself: holds base64 of secret bytes.
struct WipedString {
  std::string s;
  ~WipedString() {
    if (!s.empty()) sodium_memzero(s.data(), s.size());
  }
};

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool SaveSecret(const std::filesystem::path& path, std::string_view header,
                std::span<const uint8_t, 32> secret, std::string* error,
                std::string_view third_line = {}) {
  EnsureSodium();
  WipedString contents;
  contents.s.reserve(header.size() + 64);
  contents.s.append(header);
  contents.s.push_back('\n');
  char b64[sodium_base64_ENCODED_LEN(32, kB64Variant)];
  sodium_bin2base64(b64, sizeof b64, secret.data(), secret.size(), kB64Variant);
  contents.s.append(b64);
  sodium_memzero(b64, sizeof b64);
  contents.s.push_back('\n');
  if (!third_line.empty()) {
    contents.s.append(third_line);
    contents.s.push_back('\n');
  }

  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  // Random suffix: O_EXCL then never collides with a stale temp file we'd
  // otherwise have to trust.
  uint8_t rnd[8];
  randombytes_buf(rnd, sizeof rnd);
  char rnd_hex[sizeof rnd * 2 + 1];
  sodium_bin2hex(rnd_hex, sizeof rnd_hex, rnd, sizeof rnd);
  std::filesystem::path tmp = path;
  tmp += std::string(".tmp-") + rnd_hex;

  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    SetError(error, Errno(tmp, "cannot create key file"));
    return false;
  }
  // The umask can only remove bits, but be explicit in case the file system
  // does something odd.
  if (::fchmod(fd.get(), 0600) != 0 || !WriteAll(fd.get(), contents.s) ||
      ::fsync(fd.get()) != 0) {
    SetError(error, Errno(tmp, "cannot write key file"));
    ::unlink(tmp.c_str());
    return false;
  }
  if (::close(fd.release()) != 0) {
    SetError(error, Errno(tmp, "cannot close key file"));
    ::unlink(tmp.c_str());
    return false;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    SetError(error, Errno(path, "cannot rename key file into place"));
    ::unlink(tmp.c_str());
    return false;
  }
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0 || ::fsync(dir_fd.get()) != 0) {
    SetError(error, Errno(dir, "cannot fsync directory of key file"));
    return false;
  }
  return true;
}

// `header_v2` (if not empty) is a second accepted first line, after which a
// third line is expected and returned in *third_line.
std::optional<SecretBytes<32>> LoadSecret(const std::filesystem::path& path,
                                          std::string_view header,
                                          std::string* error,
                                          std::string_view header_v2 = {},
                                          std::optional<std::string>* third_line = nullptr) {
  EnsureSodium();
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    SetError(error, Errno(path, "cannot open key file"));
    return std::nullopt;
  }
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) {
    SetError(error, Errno(path, "cannot stat key file"));
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    SetError(error, "key file " + path.string() + " is not a regular file");
    return std::nullopt;
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    SetError(error, "key file " + path.string() + " has mode " + mode +
                        ", readable or writable by group or others; refusing "
                        "to use it (fix: chmod 600 " + path.string() + ")");
    return std::nullopt;
  }
  if (st.st_size > static_cast<off_t>(kMaxKeyFileSize)) {
    SetError(error, "key file " + path.string() + " is too large (" +
                        std::to_string(st.st_size) + " bytes, at most " +
                        std::to_string(kMaxKeyFileSize) + ")");
    return std::nullopt;
  }
  WipedString contents;
  contents.s.resize(kMaxKeyFileSize + 1);
  size_t used = 0;
  while (used < contents.s.size()) {
    ssize_t n = ::read(fd.get(), contents.s.data() + used, contents.s.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      SetError(error, Errno(path, "cannot read key file"));
      return std::nullopt;
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  if (used > kMaxKeyFileSize) {
    SetError(error, "key file " + path.string() + " is too large");
    return std::nullopt;
  }
  std::string_view text(contents.s.data(), used);
  auto bad = [&](const std::string& why) {
    SetError(error, "key file " + path.string() + " is malformed: " + why);
    return std::nullopt;
  };
  size_t nl = text.find('\n');
  const std::string_view first =
      nl == std::string_view::npos ? std::string_view() : text.substr(0, nl);
  const bool v2 = !header_v2.empty() && first == header_v2;
  if (nl == std::string_view::npos || (first != header && !v2)) {
    return bad("first line must be \"" + std::string(header) + "\"" +
               (header_v2.empty() ? "" : " or \"" + std::string(header_v2) + "\""));
  }
  std::string_view rest = text.substr(nl + 1);
  size_t nl2 = rest.find('\n');
  if (v2) {
    const size_t nl3 = nl2 == std::string_view::npos ? nl2 : rest.find('\n', nl2 + 1);
    if (nl3 == std::string_view::npos || nl3 + 1 != rest.size()) {
      return bad("expected exactly three lines, each ending in a newline");
    }
    if (third_line != nullptr) {
      third_line->emplace(rest.substr(nl2 + 1, nl3 - nl2 - 1));
    }
  } else if (nl2 == std::string_view::npos || nl2 + 1 != rest.size()) {
    return bad("expected exactly two lines, each ending in a newline");
  }
  std::string_view b64 = rest.substr(0, nl2);
  SecretBytes<32> secret;
  size_t bin_len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(secret.data(), secret.size(), b64.data(), b64.size(),
                        /*ignore=*/nullptr, &bin_len, &end, kB64Variant) != 0 ||
      bin_len != secret.size() || end != b64.data() + b64.size()) {
    return bad("second line must be the base64 of exactly 32 bytes");
  }
  return secret;
}

}  // namespace

bool SaveIdentityKey(const std::filesystem::path& path, const IdentityKey& key,
                     std::string* error) {
  return SaveSecret(path, kIdentityHeader, key.seed(), error);
}

std::unique_ptr<IdentityKey> LoadIdentityKey(const std::filesystem::path& path,
                                             std::string* error) {
  std::optional<SecretBytes<32>> seed = LoadSecret(path, kIdentityHeader, error);
  if (!seed) return nullptr;
  return IdentityKey::FromSeed(seed->span());
}

bool SaveLinkKey(const std::filesystem::path& path, const LinkKey& key,
                 std::string* error) {
  return SaveSecret(path, kLinkHeader, key.secret(), error);
}

std::unique_ptr<LinkKey> LoadLinkKey(const std::filesystem::path& path,
                                     std::string* error) {
  std::optional<LinkKeyFile> file = LoadLinkKeyFile(path, error);
  if (!file) return nullptr;
  return std::move(file->key);
}

bool SaveLinkKeyFile(const std::filesystem::path& path, const LinkKeyFile& file,
                     std::string* error) {
  if (file.key == nullptr) {
    SetError(error, "no link key to save to " + path.string());
    return false;
  }
  if (file.serial == 0) return SaveSecret(path, kLinkHeader, file.key->secret(), error);
  const std::string third = "serial " + std::to_string(file.serial) + " not_before " +
                            std::to_string(file.not_before);
  return SaveSecret(path, kLinkHeaderV2, file.key->secret(), error, third);
}

std::optional<LinkKeyFile> LoadLinkKeyFile(const std::filesystem::path& path,
                                           std::string* error) {
  std::optional<std::string> third;  // set for a v2 file
  std::optional<SecretBytes<32>> secret =
      LoadSecret(path, kLinkHeader, error, kLinkHeaderV2, &third);
  if (!secret) return std::nullopt;
  LinkKeyFile file;
  if (third.has_value()) {
    // "serial N not_before T": N in 1..2^63-1, T >= 0 (decimal digits only).
    uint64_t serial = 0;
    int64_t not_before = -1;
    std::string_view line = *third;
    auto number = [&line](std::string_view label, auto& out) {
      if (line.substr(0, label.size()) != label) return false;
      line.remove_prefix(label.size());
      if (line.empty() || line[0] < '0' || line[0] > '9') return false;
      auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), out);
      if (ec != std::errc()) return false;
      line.remove_prefix(static_cast<size_t>(end - line.data()));
      return true;
    };
    const bool parsed = number("serial ", serial) && number(" not_before ", not_before) &&
                        line.empty() && serial >= 1 &&
                        serial <= static_cast<uint64_t>(INT64_MAX);
    if (!parsed) {
      SetError(error, "key file " + path.string() +
                          " is malformed: third line must be \"serial N not_before T\" "
                          "(N >= 1, T unix seconds)");
      return std::nullopt;
    }
    file.serial = serial;
    file.not_before = not_before;
  }
  file.key = LinkKey::FromSecret(secret->span());
  return file;
}

}  // namespace caravan::crypto
