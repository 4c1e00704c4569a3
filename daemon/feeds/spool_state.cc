#include "daemon/feeds/spool_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>

namespace caravan::feeds {
namespace {

constexpr std::string_view kMagic = "caravan-spool-progress 1";

Status OsError(std::string_view what, const std::filesystem::path& path) {
  return Unavailable(std::string(what) + " " + path.string() + ": " +
                     std::strerror(errno));
}

// A final_dir/final_name value must stay a single component inside the
// spool: it names where a file is moved.
bool IsPlainName(std::string_view s) {
  return !s.empty() && s != "." && s != ".." &&
         s.find('/') == std::string_view::npos &&
         s.find('\0') == std::string_view::npos &&
         s.find('\n') == std::string_view::npos;
}

}  // namespace

std::string FormatSpoolProgress(const SpoolProgress& p) {
  std::string out(kMagic);
  out += "\n";
  auto num = [&](std::string_view key, uint64_t v) {
    out += key;
    out += " ";
    out += std::to_string(v);
    out += "\n";
  };
  num("position", p.position);
  num("report_bytes", p.report_bytes);
  num("accepted", p.accepted);
  num("rejected", p.rejected);
  num("inode", p.inode);
  num("size", p.size);
  out += "format " + p.format + "\n";
  out += "final_dir " + p.final_dir + "\n";
  out += "final_name " + p.final_name + "\n";
  return out;
}

Result<SpoolProgress> ParseSpoolProgress(std::string_view text) {
  if (text.size() > kMaxSpoolProgressBytes) {
    return InvalidInput("progress marker larger than " +
                        std::to_string(kMaxSpoolProgressBytes) + " bytes");
  }
  std::map<std::string, std::string, std::less<>> fields;
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      return InvalidInput("progress marker: line " +
                          std::to_string(line_no + 1) + " is not terminated");
    }
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    ++line_no;
    if (line_no == 1) {
      if (line != kMagic) {
        return InvalidInput("progress marker: line 1 is not '" +
                            std::string(kMagic) + "'");
      }
      continue;
    }
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos) {
      return InvalidInput("progress marker: line " + std::to_string(line_no) +
                          " has no value");
    }
    std::string key(line.substr(0, sp));
    if (!fields.emplace(key, std::string(line.substr(sp + 1))).second) {
      return InvalidInput("progress marker: line " + std::to_string(line_no) +
                          ": duplicate key '" + key + "'");
    }
  }
  SpoolProgress p;
  auto num = [&](std::string_view key, uint64_t* out) -> Status {
    auto it = fields.find(key);
    if (it == fields.end()) {
      return InvalidInput("progress marker: missing '" + std::string(key) +
                          "'");
    }
    const std::string& v = it->second;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
    if (ec != std::errc() || end != v.data() + v.size() || v.empty()) {
      return InvalidInput("progress marker: '" + std::string(key) +
                          "' is not a number");
    }
    fields.erase(it);
    return Status::Ok();
  };
  auto str = [&](std::string_view key, std::string* out) -> Status {
    auto it = fields.find(key);
    if (it == fields.end()) {
      return InvalidInput("progress marker: missing '" + std::string(key) +
                          "'");
    }
    *out = it->second;
    fields.erase(it);
    return Status::Ok();
  };
  CARAVAN_RETURN_IF_ERROR(num("position", &p.position));
  CARAVAN_RETURN_IF_ERROR(num("report_bytes", &p.report_bytes));
  CARAVAN_RETURN_IF_ERROR(num("accepted", &p.accepted));
  CARAVAN_RETURN_IF_ERROR(num("rejected", &p.rejected));
  CARAVAN_RETURN_IF_ERROR(num("inode", &p.inode));
  CARAVAN_RETURN_IF_ERROR(num("size", &p.size));
  CARAVAN_RETURN_IF_ERROR(str("format", &p.format));
  CARAVAN_RETURN_IF_ERROR(str("final_dir", &p.final_dir));
  CARAVAN_RETURN_IF_ERROR(str("final_name", &p.final_name));
  if (!fields.empty()) {
    return InvalidInput("progress marker: unknown key '" +
                        fields.begin()->first + "'");
  }
  if (!p.final_dir.empty() && p.final_dir != "done" &&
      p.final_dir != "failed") {
    return InvalidInput("progress marker: final_dir '" + p.final_dir +
                        "' is not done or failed");
  }
  if (p.final_dir.empty() != p.final_name.empty() ||
      (!p.final_name.empty() && !IsPlainName(p.final_name))) {
    return InvalidInput("progress marker: bad final_name");
  }
  return p;
}

Result<std::optional<SpoolProgress>> ReadSpoolProgress(
    const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<SpoolProgress>();
    return OsError("cannot open", path);
  }
  std::string text(kMaxSpoolProgressBytes + 1, '\0');
  size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = OsError("cannot read", path);
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  text.resize(got);
  auto parsed = ParseSpoolProgress(text);
  if (!parsed.ok()) {
    return InvalidInput(path.string() + ": " + parsed.status().message());
  }
  return std::optional<SpoolProgress>(std::move(*parsed));
}

Status SyncDirectory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return OsError("cannot open directory", dir);
  if (::fsync(fd) != 0) {
    Status s = OsError("cannot sync directory", dir);
    ::close(fd);
    return s;
  }
  ::close(fd);
  return Status::Ok();
}

Status WriteSpoolProgress(const std::filesystem::path& path,
                          const SpoolProgress& progress) {
  const std::string text = FormatSpoolProgress(progress);
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  const int fd = ::open(tmp.c_str(),
                        O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                        0640);
  if (fd < 0) return OsError("cannot create", tmp);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = OsError("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status s = OsError("cannot sync", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = OsError("cannot rename into place", path);
    ::unlink(tmp.c_str());
    return s;
  }
  return SyncDirectory(path.parent_path());
}

}  // namespace caravan::feeds
