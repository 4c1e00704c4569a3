// `caravan key export --encrypted FILE` and `caravan key import FILE`:
// this node's identity and link keys in one passphrase-encrypted file
// (crypto/key_backup.h; docs/deploy.md, Backup). Both work on the key files
// named by caravand.toml [keys] and never talk to caravand: export may run
// while it runs; import is for a stopped (or not yet started) node.
#include <fcntl.h>
#include <sys/stat.h>
#include <sodium.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/key_backup.h"
#include "crypto/key_file.h"
#include "protocol/config/node_config.h"
#include "tools/commands.h"

namespace caravan::tools {
namespace {

namespace fs = std::filesystem;

// Passphrases shorter than this are refused when exporting.
constexpr size_t kMinPassphrase = 12;
constexpr size_t kMaxPassphrase = 1024;

// A std::string wiped on destruction (a passphrase).
struct Wiped {
  std::string s;
  ~Wiped() {
    if (!s.empty()) sodium_memzero(s.data(), s.size());
  }
};

// The first line of `path` (without its newline), at most kMaxPassphrase.
Status ReadPassphraseFile(const std::string& path, Wiped* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return InvalidInput("--passphrase-file " + path + ": " + std::strerror(errno));
  }
  Wiped buf;
  buf.s.resize(kMaxPassphrase + 2);
  size_t used = 0;
  while (used < buf.s.size()) {
    const ssize_t n = ::read(fd, buf.s.data() + used, buf.s.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    used += static_cast<size_t>(n);
  }
  ::close(fd);
  const size_t nl = std::string_view(buf.s.data(), used).find('\n');
  const size_t len = nl == std::string::npos ? used : nl;
  if (len > kMaxPassphrase) {
    return InvalidInput("--passphrase-file " + path + ": the passphrase is longer than " +
                        std::to_string(kMaxPassphrase) + " bytes");
  }
  out->s.assign(buf.s.data(), len);
  if (!out->s.empty() && out->s.back() == '\r') out->s.pop_back();
  if (out->s.empty()) {
    return InvalidInput("--passphrase-file " + path + ": its first line is empty");
  }
  return Status::Ok();
}

// Asks on the terminal with echo off.
Status PromptPassphrase(const char* prompt, Wiped* out) {
  const int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return InvalidInput(
        "no terminal to ask for the passphrase; pass --passphrase-file FILE");
  }
  termios old{};
  const bool tty = ::tcgetattr(fd, &old) == 0;
  if (tty) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  (void)!::write(fd, prompt, std::strlen(prompt));
  Wiped line;
  char c = 0;
  while (line.s.size() <= kMaxPassphrase) {
    const ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n') break;
    line.s.push_back(c);
  }
  c = 0;
  if (tty) ::tcsetattr(fd, TCSAFLUSH, &old);
  (void)!::write(fd, "\n", 1);
  ::close(fd);
  if (line.s.size() > kMaxPassphrase) {
    return InvalidInput("the passphrase is longer than " + std::to_string(kMaxPassphrase) +
                        " bytes");
  }
  out->s = line.s;
  return Status::Ok();
}

Status GetPassphrase(const KeyBackupOptions& o, bool confirm, Wiped* out) {
  if (!o.passphrase_file.empty()) return ReadPassphraseFile(o.passphrase_file, out);
  CARAVAN_RETURN_IF_ERROR(PromptPassphrase("Passphrase: ", out));
  if (confirm) {
    Wiped again;
    CARAVAN_RETURN_IF_ERROR(PromptPassphrase("Passphrase again: ", &again));
    if (out->s.size() != again.s.size() ||
        sodium_memcmp(out->s.data(), again.s.data(), out->s.size()) != 0) {
      return InvalidInput("the passphrases differ");
    }
  }
  return Status::Ok();
}

// Writes `bytes` to a new file `path` (mode 0600, refusing an existing one).
Status WriteNewPrivateFile(const fs::path& path, const std::vector<uint8_t>& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      return InvalidInput(path.string() + " exists; choose a new file name (a backup is "
                                          "never written over another file)");
    }
    return Unavailable("cannot create " + path.string() + ": " + std::strerror(errno));
  }
  size_t done = 0;
  bool ok = ::fchmod(fd, 0600) == 0;
  while (ok && done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ok = false;
    else done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    const std::string why = std::strerror(errno);
    ::unlink(path.c_str());
    return Unavailable("cannot write " + path.string() + ": " + why);
  }
  return Status::Ok();
}

Result<std::vector<uint8_t>> ReadBackupFile(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound("cannot open " + path.string() + ": " + std::strerror(errno));
  // One byte more than a backup, so trailing bytes are seen and nothing
  // unbounded is read.
  std::vector<uint8_t> bytes(crypto::kKeyBackupSize + 1);
  size_t used = 0;
  while (used < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + used, bytes.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    used += static_cast<size_t>(n);
  }
  ::close(fd);
  bytes.resize(used);
  return bytes;
}

Result<protocol::NodeConfig> LoadConfig(const GlobalOptions& global) {
  auto config = protocol::LoadNodeConfig(ConfigPath(global));
  if (!config.ok() && config.status().code() == StatusCode::kNotFound) {
    return Status(config.status().code(),
                  config.status().message() + " (pass --config or set CARAVAN_CONFIG)");
  }
  return config;
}

}  // namespace

int RunKeyExport(const GlobalOptions& global, const KeyBackupOptions& o) {
  auto config = LoadConfig(global);
  if (!config.ok()) return Fail(config.status());
  std::string error;
  auto identity = crypto::LoadIdentityKey(config->keys.identity, &error);
  if (!identity) return Fail(InvalidInput(error));
  auto link = crypto::LoadLinkKeyFile(config->keys.link, &error);
  if (!link) return Fail(InvalidInput(error));
  Wiped passphrase;
  if (Status s = GetPassphrase(o, /*confirm=*/true, &passphrase); !s.ok()) return Fail(s);
  if (passphrase.s.size() < kMinPassphrase) {
    return Fail(InvalidInput("the passphrase has " + std::to_string(passphrase.s.size()) +
                             " characters; use at least " + std::to_string(kMinPassphrase)));
  }
  crypto::BackupKeys keys;
  std::memcpy(keys.identity_seed.data(), identity->seed().data(), 32);
  std::memcpy(keys.link_secret.data(), link->key->secret().data(), 32);
  keys.link_serial = link->serial;
  keys.link_not_before = link->not_before;
  auto sealed = crypto::SealKeyBackup(keys, passphrase.s, crypto::DefaultKeyBackupParams(),
                                      &error);
  if (!sealed) return Fail(Internal("key backup: " + error));
  if (Status s = WriteNewPrivateFile(o.file, *sealed); !s.ok()) return Fail(s);
  if (global.json) {
    std::cout << nlohmann::json({{"file", o.file}, {"bytes", sealed->size()}}).dump() << "\n";
  } else {
    std::cout << "identity and link keys written encrypted to " << o.file
              << " (mode 0600); keep the passphrase apart from it\n";
  }
  return 0;
}

int RunKeyImport(const GlobalOptions& global, const KeyBackupOptions& o) {
  auto config = LoadConfig(global);
  if (!config.ok()) return Fail(config.status());
  auto bytes = ReadBackupFile(o.file);
  if (!bytes.ok()) return Fail(bytes.status());
  std::string error;
  // Shape first: a wrong file is refused before asking for a passphrase.
  if (!crypto::ParseKeyBackupHeader(*bytes, &error)) {
    return Fail(InvalidInput(o.file + ": " + error));
  }
  if (!o.force) {
    for (const fs::path& p : {config->keys.identity, config->keys.link}) {
      std::error_code ec;
      if (fs::exists(fs::symlink_status(p, ec))) {
        return Fail(InvalidInput(p.string() + " exists; refusing to replace this node's "
                                              "keys (add --force to overwrite them)"));
      }
    }
  }
  Wiped passphrase;
  if (Status s = GetPassphrase(o, /*confirm=*/false, &passphrase); !s.ok()) return Fail(s);
  auto keys = crypto::OpenKeyBackup(*bytes, passphrase.s, &error);
  if (!keys) return Fail(InvalidInput(o.file + ": " + error));
  auto identity = crypto::IdentityKey::FromSeed(keys->identity_seed.span());
  crypto::LinkKeyFile link;
  link.key = crypto::LinkKey::FromSecret(keys->link_secret.span());
  link.serial = keys->link_serial;
  link.not_before = keys->link_not_before;
  if (!crypto::SaveIdentityKey(config->keys.identity, *identity, &error) ||
      !crypto::SaveLinkKeyFile(config->keys.link, link, &error)) {
    return Fail(Unavailable(error));
  }
  if (global.json) {
    std::cout << nlohmann::json({{"identity", config->keys.identity.string()},
                                 {"link", config->keys.link.string()}})
                     .dump()
              << "\n";
  } else {
    std::cout << "keys restored to " << config->keys.identity.string() << " and "
              << config->keys.link.string() << "\n";
  }
  return 0;
}

}  // namespace caravan::tools
